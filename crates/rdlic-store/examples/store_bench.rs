//! Store-only figures (not a test): durable single-row insert rate (the floor the server benchmark compares
//! against) and CAL issuance rates of the store alone, per backend.
//!
//! `cargo run --release -p rdlic-store --example store_bench -- [sqlite|postgres] [N] [THREADS]`
//! (PostgreSQL at `RDLIC_TEST_PG_URL`, in a fresh database).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use openssl::pkey::PKey;
use rdlic_core::{
    CalType, CalVersion, Clearinghouse, HardwareId, KeyPack, KeyPackId, LicenseProgram, ServerId,
};
use rdlic_store::{DeviceCalRequest, LicenseStore, SqliteStore, UserCalRequest};

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

fn rate(label: &str, ops: u32, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    let s = t.elapsed().as_secs_f64();
    println!("{label:<58} {ops:>7} ops  {:>9.0} ops/s", f64::from(ops) / s);
}

fn parallel(store: &Arc<dyn LicenseStore>, threads: u32, n: u32, f: fn(&dyn LicenseStore, u32)) {
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let s = store.clone();
            std::thread::spawn(move || {
                for i in (0..n).filter(|i| i % threads == t) {
                    f(s.as_ref(), i);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".to_owned());
    let n: u32 = args.next().map_or(2000, |a| a.parse().unwrap());
    let threads: u32 = args.next().map_or(8, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LicenseStore> = match backend.as_str() {
        "sqlite" => Arc::new(SqliteStore::open_in_dir(dir.path()).unwrap()),
        _ => Arc::new(rdlic_store::testing::fresh_postgres("bench", 16).expect("RDLIC_TEST_PG_URL is unset")),
    };
    println!("backend {backend}, N = {n}, threads = {threads}");

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
    for (i, t) in [(1u8, CalType::PerDevice), (2, CalType::PerUser)] {
        let pack = KeyPack {
            id: KeyPackId([i; 16]),
            cal_type: t,
            version: CalVersion(2022),
            program: LicenseProgram::VOLUME,
            count: 10_000_000,
            issued_at: NOW,
            expires_at: None,
            issued_to: id,
        };
        let v = ch
            .public_key()
            .verify_key_pack(&ch.issue_key_pack(pack).unwrap(), id, NOW)
            .unwrap();
        store.install_key_pack(&v, "bench", NOW).unwrap();
    }

    rate("durable single-row insert, 1 thread", n, || {
        store.measure_durable_inserts(n).unwrap();
    });
    rate(
        &format!("durable single-row insert, {threads} threads"),
        n,
        || {
            parallel(&store, threads, n, |s, _| {
                s.measure_durable_inserts(1).unwrap();
            })
        },
    );
    rate("temporary CAL (first request), 1 thread", n, || {
        for i in 0..n {
            store.request_device_cal(&req(i, NOW)).unwrap();
        }
    });
    rate(&format!("permanent CAL (upgrade), {threads} threads"), n, || {
        parallel(&store, threads, n, |s, i| {
            s.request_device_cal(&req(i, NOW + 1)).unwrap();
        })
    });
    rate(
        &format!("unchanged (valid permanent), {threads} threads"),
        n,
        || {
            parallel(&store, threads, n, |s, i| {
                s.request_device_cal(&req(i, NOW + 2)).unwrap();
            })
        },
    );
    let batch = 64u32;
    rate(
        &format!("temporary + permanent, batches of {batch} per commit, 1 thread"),
        2 * n,
        || {
            for now in [NOW, NOW + 1] {
                let all: Vec<_> = (0..n).map(|i| req(1_000_000 + i, now)).collect();
                for chunk in all.chunks(64) {
                    store.request_device_cals(chunk).unwrap();
                }
            }
        },
    );
    let user = |i: u32, now: i64| UserCalRequest {
        user: format!("user{i}"),
        host_name: "bench".to_owned(),
        host_version: CalVersion(2022),
        now,
        enforce: false,
    };
    rate(
        &format!("per-user checkout (allocate), {threads} threads"),
        n,
        || {
            parallel(&store, threads, n, |s, i| {
                s.checkout_user_cal(&UserCalRequest {
                    user: format!("user{i}"),
                    host_name: "bench".to_owned(),
                    host_version: CalVersion(2022),
                    now: NOW,
                    enforce: false,
                })
                .unwrap();
            })
        },
    );
    rate("per-user refresh (sign-in record), 1 thread", n, || {
        for i in 0..n {
            store.checkout_user_cal(&user(i, NOW + 5)).unwrap();
        }
    });
    rate(
        &format!("availability (status endpoint read), {threads} threads"),
        n,
        || {
            parallel(&store, threads, n, |s, _| {
                s.availability(NOW + 3).unwrap();
            })
        },
    );
}
