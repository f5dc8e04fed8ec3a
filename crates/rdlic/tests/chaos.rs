//! Chaos: two `rdlic server` processes on one PostgreSQL database (the second joined from the first's sealed
//! bundle), two `rdlic host run` processes listing both (each starting with a different one, so that both servers
//! issue from the same key pack at once), simulated RDP clients (`rdlic_diag::probe`) connecting
//! continuously, and three kill cycles: `kill -9` of one server, its restart, then the other. Afterwards the
//! database (read directly) and the hosts' `decisions.jsonl` must show: no permanent CAL over the installed count,
//! no device with two active permanent CALs, every CAL a client received held by the database, every refused
//! connection logged with its reason, and no connection refused or failed while a server lived (one always did).
//!
//! Needs PostgreSQL (`RDLIC_TEST_PG_URL`, started by `scripts/test`); skipped with a note without it, failing when
//! `RDLIC_REQUIRE_PEERS=1`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Tmp, RDLIC};

#[test]
fn two_servers_three_kill_cycles_lose_nothing_and_refuse_no_one() {
    let Ok(pg) = std::env::var("RDLIC_TEST_PG_URL") else {
        common::skip_unless_required("RDLIC_TEST_PG_URL is unset");
        return;
    };
    let tmp = Tmp::new("chaos");
    let options = rdlic_bench::failover::FailoverOptions {
        exe: RDLIC.into(),
        database: rdlic_bench::failover::fresh_database(&pg).unwrap(),
        dir: tmp.0.clone(),
        servers: 2,
        // Two hosts, each starting its list at a different server: both servers issue from the one pack at once.
        hosts: 2,
        // Fewer permanent CALs than devices: the pack runs out during the run, so over-issuance would show.
        permanent: 60,
        concurrency: 8,
        kill_after: 3.0,
        kills: 3,
        down: 2.0,
        restart: true,
        between: 2.0,
    };
    let run = rdlic_bench::failover::run(&options).unwrap();
    let report = run.json();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    let c = &run.checks;

    // The run did what it says: three kills, both servers killed, clients connecting throughout, the pack used up.
    assert_eq!(run.kills.len(), 3);
    assert_eq!(run.kills.iter().map(|k| k.server).collect::<Vec<_>>(), [0, 1, 0]);
    for k in &run.kills {
        let during = run.connections.iter().filter(|x| x.start >= k.at && Some(x.end) <= k.back).count();
        assert!(during > 0, "no connection while server {} was down: {report:#}", k.server);
    }
    assert!(c.given > u64::from(options.permanent), "{report:#}");
    assert_eq!(c.installed, u64::from(options.permanent));
    assert_eq!(c.pack_issued, c.installed, "the pack was used up: {report:#}");
    // Both servers answered at some point.
    assert_eq!(c.answered_by.len(), 2, "{report:#}");

    // What must hold.
    assert_eq!(c.over_issued, 0, "{report:#}");
    assert!(c.active_permanent <= c.installed, "{report:#}");
    assert_eq!(c.devices_with_two_permanent, 0, "{report:#}");
    assert_eq!(c.lost, 0, "CALs a client received are missing from the database: {report:#}");
    assert_eq!(c.refused_not_logged, 0, "{report:#}");
    assert_eq!(c.refused, 0, "a connection was refused while a server lived: {report:#}");
    assert!(run.errors().is_empty(), "{report:#}");
    // Connections in flight when their server died failed over (the decision log shows the failed attempt).
    assert!(c.failovers_logged > 0, "{report:#}");
}
