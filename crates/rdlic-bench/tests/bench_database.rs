//! `rdlic bench server --database URL` against a real PostgreSQL server: the bench runs in a scratch database of
//! its own, so that a second run against the same server works (each run initialises a new license server
//! identity, which a database keeps), and it drops that database at the end. Not a timing test: tiny phases, the
//! assertions are on what was issued and what is left on the server.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rdlic_bench::server::{run, BenchOptions};
use rdlic_store::testing::fresh_postgres_config;

fn bench_databases(config: &rdlic_store::postgres::Config) -> Vec<String> {
    let mut client = config.connect(rdlic_store::postgres::NoTls).unwrap();
    client
        .query("SELECT datname FROM pg_database WHERE datname LIKE 'rdlic\\_bench\\_%'", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_against_one_postgres_server_each_in_a_scratch_database() {
    // A database of this test's own for the connection URL; the bench's scratch databases sit beside it.
    let Some(config) = tokio::task::spawn_blocking(|| fresh_postgres_config("scratch_host")).await.unwrap() else {
        return;
    };
    let url = format!(
        "postgres://{}@{}:{}/{}",
        config.get_user().unwrap(),
        match &config.get_hosts()[0] {
            rdlic_store::postgres::config::Host::Tcp(h) => h.clone(),
            other => panic!("unexpected host {other:?}"),
        },
        config.get_ports()[0],
        config.get_dbname().unwrap()
    );
    for run_number in 1..=2 {
        let options = BenchOptions {
            hosts: 4,
            duration: Duration::from_millis(300),
            database: Some(url.clone()),
            floor_rows: 20,
            ..BenchOptions::default()
        };
        let report = run(options).await.unwrap_or_else(|e| panic!("run {run_number}: {e}"));
        assert_eq!(report.backend, "postgres");
        assert!(report.issuance.requests > 0, "run {run_number}: no CAL issued");
        assert_eq!(report.issuance.errors, 0, "run {run_number}");
        // Every issuance of the run was a new device's temporary CAL, counted by the server.
        assert_eq!(report.cals_issued, report.issuance.requests, "run {run_number}");
        // The cluster runs on this machine: its processes' CPU is reported beside the bench's own.
        assert!(report.issuance.database_cpu_per_request.is_some(), "run {run_number}: PostgreSQL's CPU not measured");
        let cfg = config.clone();
        let left = tokio::task::spawn_blocking(move || bench_databases(&cfg)).await.unwrap();
        assert!(left.is_empty(), "run {run_number} left {left:?} on the server");
    }
}
