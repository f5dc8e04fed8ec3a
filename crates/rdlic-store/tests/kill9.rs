//! Durability under `kill -9`: a child process (this test binary, re-executed on its ignored helper test) issues
//! CALs in a loop and prints each serial only after the store call returned, i.e. after COMMIT — the moment the
//! server would answer the host. The parent SIGKILLs it mid-load, reopens the database and checks that every
//! printed serial is there and that the pack counters match the CALs. Both backends.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use common::{device_req, NOW};
use rdlic_core::policy::DeviceCalKind;
use rdlic_core::CalType;
use rdlic_store::{CalSerial, DeviceCalOutcome, LicenseStore, PostgresStore, SqliteStore};

const CHILD_ENV: &str = "RDLIC_KILL9_CHILD";
/// Serials the parent waits for before it kills the child.
const KILL_AFTER: usize = 300;

fn open(spec: &str) -> Box<dyn LicenseStore> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        return Box::new(SqliteStore::open_in_dir(std::path::Path::new(path)).unwrap());
    }
    let db = spec.strip_prefix("pg:").unwrap();
    let mut config: rdlic_store::postgres::Config = std::env::var(rdlic_store::testing::PG_URL_ENV)
        .unwrap()
        .parse()
        .unwrap();
    config.dbname(db);
    Box::new(PostgresStore::with_config(config, 2).unwrap())
}

/// The child: not a test by itself (ignored), run only by [`run_and_kill`].
#[test]
#[ignore = "helper process of the kill -9 tests"]
fn kill9_child() {
    let spec = std::env::var(CHILD_ENV).expect("run by the kill -9 tests only");
    let store = open(&spec);
    let mut out = std::io::stdout().lock();
    let mut print = |o: &DeviceCalOutcome| {
        if let DeviceCalOutcome::Granted { cal, .. } = o {
            writeln!(out, "serial {}", cal.serial.0).unwrap();
            out.flush().unwrap();
        }
    };
    // Bounded: the parent kills it long before the end.
    for n in 0..50_000u32 {
        // Single requests (temporary, then permanent) ...
        print(&store.request_device_cal(&device_req(n, 2022, NOW)).unwrap());
        print(&store.request_device_cal(&device_req(n, 2022, NOW + 1)).unwrap());
        // ... and a group commit of four new devices.
        if n % 8 == 0 {
            let batch: Vec<_> = (0..4)
                .map(|i| device_req(1_000_000 + n * 4 + i, 2022, NOW))
                .collect();
            for o in store.request_device_cals(&batch).unwrap() {
                print(&o);
            }
        }
    }
}

fn run_and_kill(spec: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill9_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut serials = Vec::new();
    let mut killed = false;
    for line in lines.by_ref() {
        if let Some(s) = line.unwrap().strip_prefix("serial ") {
            serials.push(CalSerial(s.parse().unwrap()));
        }
        if !killed && serials.len() >= KILL_AFTER {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child must die by SIGKILL mid-load, not finish: {status:?}"
    );
    assert!(serials.len() >= KILL_AFTER);

    let store = open(spec);
    for s in &serials {
        assert!(
            store.device_cal_by_serial(*s).unwrap().is_some(),
            "serial {s} was answered but is lost"
        );
    }
    // No half-written issuance: the pack counter equals the active permanent CALs.
    let active = store
        .list_device_cals(CalSerial(0), 1_000_000, true, NOW + 2)
        .unwrap();
    let perms = active
        .iter()
        .filter(|c| c.kind == DeviceCalKind::Permanent)
        .count();
    let packs = store.list_key_packs(NOW + 2).unwrap();
    assert_eq!(usize::try_from(packs[0].issued).unwrap(), perms);
    assert!(perms > 0);
    eprintln!(
        "kill -9: {} answered serials, all committed; {perms} permanent CALs",
        serials.len()
    );
}

fn prepare(fx: &common::Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 1_000_000);
}

#[test]
fn sqlite_kill9_mid_load_loses_no_answered_cal() {
    let fx = common::sqlite_fx("kill9");
    prepare(&fx);
    let dir = fx.dir.as_ref().unwrap().path().to_str().unwrap().to_owned();
    run_and_kill(&format!("sqlite:{dir}"));
}

#[test]
fn postgres_kill9_mid_load_loses_no_answered_cal() {
    let Some(fx) = common::pg_fx("kill9", 2) else {
        return;
    };
    prepare(&fx);
    run_and_kill(&format!("pg:{}", fx.pg_db.clone().unwrap()));
}
