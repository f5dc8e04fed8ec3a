//! What the binary's integration tests share: the binary, temporary directories, child processes killed on drop,
//! starting a service until it prints a marker, and one-shot runs in English.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const RDLIC: &str = env!("CARGO_BIN_EXE_rdlic");

/// For a test whose peer is missing (`missing` says which): fails when `RDLIC_REQUIRE_PEERS=1` (scripts/test sets
/// it), else prints a skip note.
pub fn skip_unless_required(missing: &str) {
    assert!(
        std::env::var("RDLIC_REQUIRE_PEERS").as_deref() != Ok("1"),
        "RDLIC_REQUIRE_PEERS=1 but {missing}: run ./scripts/test"
    );
    eprintln!("skipping: {missing} (set RDLIC_REQUIRE_PEERS=1 to fail instead, as ./scripts/test does)");
}

/// A directory under the system temp dir, removed on drop.
pub struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(tag: &str) -> Self {
        let mut r = [0u8; 6];
        openssl::rand::rand_bytes(&mut r).unwrap();
        let p = std::env::temp_dir().join(format!("rdlic-test-{tag}-{}", hex::encode(r)));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    /// `name` inside, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL, by its own pid) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits (60 s at most) for a line of its stdout or stderr containing `marker`; returns the
/// process and what follows the marker on that line.
pub fn start_until(cmd: &mut Command, marker: &str) -> (Proc, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
    let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
    for reader in [stdout, stderr] {
        let tx = tx.clone();
        let marker = marker.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once(marker.as_str()) {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
    }
    let rest = rx.recv_timeout(Duration::from_secs(60)).expect("process did not start in time");
    (Proc(child), rest)
}

/// Runs `rdlic ARGS` in English: exit code, stdout, stderr.
pub fn rdlic(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(RDLIC).args(args).env("RDLIC_LOG", "warn").env("RDLIC_LANG", "en").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
