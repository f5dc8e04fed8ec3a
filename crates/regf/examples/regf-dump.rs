//! Prints every key and value of a hive, one line each (`path\name = TYPE data-hex`), to compare with other
//! readers: `cargo run -p regf --example regf-dump -- HIVE [KEY]`.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: regf-dump HIVE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let hive = match regf::Hive::parse(bytes.as_slice()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    let r = hive.walk(|path, key| {
        out.push_str(&format!("[{path}]\n"));
        for v in key.values()? {
            let v = v?;
            let data = v.data()?;
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!("{:?} {} {hex}\n", v.name(), v.kind()));
        }
        Ok(())
    });
    print!("{out}");
    if let Err(e) = r {
        eprintln!("{file}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
