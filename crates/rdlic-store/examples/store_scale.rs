//! Does issuance cost grow with the number of CALs issued? Issues N CALs (temporary then permanent, batches of 256
//! per commit) into a SQLite store and prints the rate per slice, the status-read latency and the process RSS.
//!
//! `cargo run --release -p rdlic-store --example store_scale -- [N]`

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use openssl::pkey::PKey;
use rdlic_core::{
    CalType, CalVersion, Clearinghouse, HardwareId, KeyPack, KeyPackId, LicenseProgram, ServerId,
};
use rdlic_store::{DeviceCalRequest, LicenseStore, SqliteStore};

const NOW: i64 = 1_800_000_000;

fn req(n: u32, now: i64) -> DeviceCalRequest {
    let mut id = [0u8; 20];
    id[4..8].copy_from_slice(&n.to_le_bytes());
    DeviceCalRequest {
        hardware_id: HardwareId(id),
        client_name: format!("c{n}"),
        user_name: format!("u{n}"),
        host_name: "bench".to_owned(),
        host_version: CalVersion(2022),
        now,
        random: u64::from(n),
    }
}

fn rss_kib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?")
        .to_owned()
}

fn main() {
    let n: u32 = std::env::args().nth(1).map_or(200_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in_dir(dir.path()).unwrap();
    let ch = Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap();
    let pk = PKey::generate_ed25519().unwrap().public_key_to_der().unwrap();
    let id = ServerId::from_public_key_der(&pk);
    store.init_server_identity(&pk, NOW).unwrap();
    let cert = ch.activate(&pk, NOW).unwrap();
    store
        .activate(
            &ch.public_key().verify_activation(&cert, &pk).unwrap(),
            "bench",
            NOW,
        )
        .unwrap();
    let pack = KeyPack {
        id: KeyPackId([1; 16]),
        cal_type: CalType::PerDevice,
        version: CalVersion(2022),
        program: LicenseProgram::VOLUME,
        count: 100_000_000,
        issued_at: NOW,
        expires_at: None,
        issued_to: id,
    };
    let v = ch
        .public_key()
        .verify_key_pack(&ch.issue_key_pack(pack).unwrap(), id, NOW)
        .unwrap();
    store.install_key_pack(&v, "bench", NOW).unwrap();

    let slice = (n / 5).max(256);
    let mut done = 0u32;
    while done < n {
        let end = (done + slice).min(n);
        let t = Instant::now();
        let mut i = done;
        while i < end {
            let hi = (i + 256).min(end);
            let first: Vec<_> = (i..hi).map(|d| req(d, NOW)).collect();
            store.request_device_cals(&first).unwrap();
            let second: Vec<_> = (i..hi).map(|d| req(d, NOW + 1)).collect();
            store.request_device_cals(&second).unwrap();
            i = hi;
        }
        let rate = f64::from(2 * (end - done)) / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..100 {
            store.availability(NOW + 2).unwrap();
        }
        let status_us = t.elapsed().as_secs_f64() * 1e6 / 100.0;
        let t = Instant::now();
        for d in (0..100).map(|k| k * (end / 100).max(1)) {
            store.request_device_cal(&req(d, NOW + 3)).unwrap();
        }
        let lookup_us = t.elapsed().as_secs_f64() * 1e6 / 100.0;
        println!(
            "{:>8} devices ({:>8} CALs issued): {rate:>7.0} issuances/s batched, status {status_us:>6.0} us, \
             unchanged lookup {lookup_us:>5.0} us, {}",
            end,
            2 * end,
            rss_kib()
        );
        done = end;
    }
}
