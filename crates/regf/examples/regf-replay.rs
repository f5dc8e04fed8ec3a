//! Replays transaction logs into a dirty hive: `cargo run -p regf --example regf-replay -- HIVE OUT LOG...`.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: regf-replay HIVE OUT LOG...");
        return ExitCode::from(2);
    }
    let read = |p: &String| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let run = || -> Result<regf::Replayed, String> {
        let hive = read(&args[1])?;
        let logs = args[3..].iter().map(read).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&[u8]> = logs.iter().map(Vec::as_slice).collect();
        let r = regf::replay(&hive, &refs).map_err(|e| e.to_string())?;
        std::fs::write(&args[2], &r.hive).map_err(|e| format!("{}: {e}", args[2]))?;
        Ok(r)
    };
    match run() {
        Ok(r) => {
            println!("{} log entries, {} dirty pages, sequence {}", r.entries, r.pages, r.sequence);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
