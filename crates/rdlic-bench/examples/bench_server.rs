//! Same as `rdlic bench server`, without building the whole binary:
//! `cargo run --release -p rdlic-bench --example bench_server -- [HOSTS] [SECONDS] [PREFILL] [postgres://...]`.
#![allow(clippy::unwrap_used)]

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = rdlic_bench::server::BenchOptions::default();
    if let Some(h) = args.first() {
        opts.hosts = h.parse().unwrap();
    }
    if let Some(s) = args.get(1) {
        opts.duration = std::time::Duration::from_secs(s.parse().unwrap());
    }
    if let Some(p) = args.get(2) {
        opts.prefill = p.parse().unwrap();
    }
    opts.database = args.get(3).cloned();
    let report = rdlic_bench::server::run(opts).await.unwrap();
    print!("{report}");
}
