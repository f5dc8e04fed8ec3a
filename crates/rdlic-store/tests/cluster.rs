//! Several license servers on one database: request ids make a retried per-device request return the CAL of the
//! first attempt (on either server, also when both attempts race), the server list and heartbeats, and web
//! sign-ins shared by every server. Each test runs on SQLite (two stores on one file) and PostgreSQL (two pools on
//! one database).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::{device_req, Fx, DAY, NOW};
use rdlic_core::policy::DeviceCalKind;
use rdlic_core::CalType;
use rdlic_store::{DeviceAction, DeviceCalOutcome, LicenseStore, RequestId, ServerNode, REQUEST_RETENTION};

/// The fixture and a second store on the same database (a second license server).
fn pair(fx: &Fx) -> Arc<dyn LicenseStore> {
    match (&fx.dir, &fx.pg_db) {
        (Some(dir), _) => Arc::new(rdlic_store::SqliteStore::open_in_dir(dir.path()).unwrap()),
        (None, Some(db)) => {
            let url = std::env::var(rdlic_store::testing::PG_URL_ENV).unwrap();
            let mut config: rdlic_store::postgres::Config = url.parse().unwrap();
            config.dbname(db);
            Arc::new(rdlic_store::PostgresStore::with_config(config, 8).unwrap())
        }
        _ => panic!("fixture without a database"),
    }
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(crate::common::sqlite_fx(stringify!($name))); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(fx) = crate::common::pg_fx(stringify!($name), 8) { super::$name(fx); }
            } )*
        }
    };
}

both_backends!(
    a_retried_request_id_gets_the_first_cal_on_any_server,
    racing_retries_of_one_request_take_one_permanent_cal,
    batches_replay_record_and_decide_as_request_by_request,
    servers_heartbeat_and_stop,
    web_sign_ins_are_shared,
);

fn id(s: &str) -> Option<RequestId> {
    Some(RequestId::parse(s).unwrap())
}

fn one(store: &dyn LicenseStore, req: &rdlic_store::DeviceCalRequest, rid: Option<RequestId>, server: &str) -> (rdlic_store::DeviceCal, DeviceAction) {
    let mut early = None;
    let out = store
        .request_device_cals_idempotent(std::slice::from_ref(req), &[rid], server, &mut |o| early = Some(o.to_vec()))
        .unwrap();
    assert_eq!(early.as_deref(), Some(out.as_slice()), "the early outcomes are the committed ones");
    match out.into_iter().next().unwrap() {
        Ok(DeviceCalOutcome::Granted { cal, action }) => (cal, action),
        Ok(DeviceCalOutcome::Refused(r)) => panic!("refused: {r}"),
        Err(e) => panic!("the request failed alone: {e}"),
    }
}

fn a_retried_request_id_gets_the_first_cal_on_any_server(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 5);
    let other = pair(&fx);
    let (t, a) = one(fx.store.as_ref(), &device_req(1, 2022, NOW), id("attempt-1"), "ls1");
    assert_eq!((t.kind, a), (DeviceCalKind::Temporary, DeviceAction::IssuedTemporary));
    // The same attempt retried a day later on the other server: the temporary CAL again, not an upgrade.
    let (again, a) = one(other.as_ref(), &device_req(1, 2022, NOW + DAY), id("attempt-1"), "ls2");
    assert_eq!((again.serial, a), (t.serial, DeviceAction::Unchanged));
    // A new attempt is decided: permanent; its retry on the first server returns that permanent CAL.
    let (p, a) = one(other.as_ref(), &device_req(1, 2022, NOW + DAY), id("attempt-2"), "ls2");
    assert_eq!((p.kind, a), (DeviceCalKind::Permanent, DeviceAction::IssuedPermanent));
    let (p2, a) = one(fx.store.as_ref(), &device_req(1, 2022, NOW + DAY + 1), id("attempt-2"), "ls1");
    assert_eq!((p2.serial, a), (p.serial, DeviceAction::Unchanged));
    // The first attempt's CAL was superseded: its id no longer answers, the request is decided again.
    let (cur, a) = one(fx.store.as_ref(), &device_req(1, 2022, NOW + 2 * DAY), id("attempt-1"), "ls1");
    assert_eq!((cur.serial, a), (p.serial, DeviceAction::Unchanged));
    let packs = fx.store.list_key_packs(NOW + 2 * DAY).unwrap();
    assert_eq!(packs[0].issued, 1);
    // Without an id nothing is recorded; ids expire after the retention.
    one(fx.store.as_ref(), &device_req(2, 2022, NOW), None, "ls1");
    assert_eq!(fx.store.purge_cal_requests(NOW + 2 * DAY + REQUEST_RETENTION + 1).unwrap(), 2);
    assert!(RequestId::parse("").is_none() && RequestId::parse("a b").is_none());
    assert!(RequestId::parse(&"x".repeat(65)).is_none());
}

fn racing_retries_of_one_request_take_one_permanent_cal(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 1);
    let (t, _) = one(fx.store.as_ref(), &device_req(7, 2022, NOW), id("first"), "ls1");
    let stores: Vec<Arc<dyn LicenseStore>> = vec![pair(&fx), pair(&fx)];
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                one(store.as_ref(), &device_req(7, 2022, NOW + DAY), id("upgrade"), if i % 2 == 0 { "ls1" } else { "ls2" }).0
            })
        })
        .collect();
    let cals: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(cals.iter().all(|c| c.serial == cals[0].serial && c.kind == DeviceCalKind::Permanent), "{cals:?}");
    assert_ne!(cals[0].serial, t.serial);
    let active: Vec<_> = fx
        .store
        .device_cals_by_hardware_id(&common::hwid(7))
        .unwrap()
        .into_iter()
        .filter(|c| c.status == rdlic_store::CalStatus::Active)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(fx.store.list_key_packs(NOW + DAY).unwrap()[0].issued, 1);
}

/// One batch of `(device, request id)` at `now`: (serial, kind, action) of each grant, in request order.
fn batch(
    store: &dyn LicenseStore,
    reqs: &[(u32, Option<&str>)],
    now: i64,
    server: &str,
) -> Vec<(i64, DeviceCalKind, DeviceAction)> {
    let requests: Vec<_> = reqs.iter().map(|(n, _)| device_req(*n, 2022, now)).collect();
    let ids: Vec<_> = reqs.iter().map(|(_, r)| r.and_then(id)).collect();
    let mut early = None;
    let out = store
        .request_device_cals_idempotent(&requests, &ids, server, &mut |o| early = Some(o.to_vec()))
        .unwrap();
    assert_eq!(early.as_deref(), Some(out.as_slice()), "the early outcomes are the committed ones");
    out.into_iter()
        .map(|o| match o {
            Ok(DeviceCalOutcome::Granted { cal, action }) => (cal.serial.0, cal.kind, action),
            other => panic!("not granted: {other:?}"),
        })
        .collect()
}

/// Batches of several requests, as the group commit makes them: PostgreSQL looks the ids up and records them in
/// the batch's own statements, SQLite in statements of their own; both answer as one request at a time would.
fn batches_replay_record_and_decide_as_request_by_request(fx: Fx) {
    use DeviceAction::{IssuedPermanent, IssuedTemporary, Unchanged};
    use DeviceCalKind::{Permanent, Temporary};
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 5);
    let other = pair(&fx);
    let first = batch(fx.store.as_ref(), &[(1, Some("a")), (2, Some("b")), (3, None)], NOW, "ls1");
    assert!(first.iter().all(|(_, k, a)| (*k, *a) == (Temporary, IssuedTemporary)), "{first:?}");
    let t1 = first[0].0;

    // A day later on the other server: "a" retried (its temporary CAL back) and, in the same batch, device 1
    // asking again (upgraded); device 2 upgraded, device 4 new, device 3 upgraded without an id before.
    let second = batch(
        other.as_ref(),
        &[(1, Some("a")), (2, Some("c")), (1, Some("d")), (4, Some("e")), (3, Some("f"))],
        NOW + DAY,
        "ls2",
    );
    assert_eq!(second[0], (t1, Temporary, Unchanged));
    assert_eq!(
        second[1..].iter().map(|(_, k, a)| (*k, *a)).collect::<Vec<_>>(),
        [
            (Permanent, IssuedPermanent),
            (Permanent, IssuedPermanent),
            (Temporary, IssuedTemporary),
            (Permanent, IssuedPermanent)
        ]
    );
    assert!(second.iter().all(|(s, _, _)| *s != first[1].0 && *s != first[2].0), "every temporary CAL was replaced");

    // Every id of the second batch retried at once on the first server gets its CAL back, unchanged, except "a":
    // its CAL was superseded, so it is decided again and device 1 keeps its permanent CAL.
    let retried = batch(
        fx.store.as_ref(),
        &[(3, Some("f")), (1, Some("d")), (4, Some("e")), (2, Some("c")), (1, Some("a"))],
        NOW + DAY + 1,
        "ls1",
    );
    let serial = |out: &[(i64, DeviceCalKind, DeviceAction)], i: usize| out[i].0;
    assert_eq!(
        retried,
        [
            (serial(&second, 4), Permanent, Unchanged),
            (serial(&second, 2), Permanent, Unchanged),
            (serial(&second, 3), Temporary, Unchanged),
            (serial(&second, 1), Permanent, Unchanged),
            (serial(&second, 2), Permanent, Unchanged),
        ]
    );
    assert_eq!(fx.store.list_key_packs(NOW + DAY).unwrap()[0].issued, 3);
    // Recorded: a, b (first batch), c, d, e, f (second); the retries add none.
    assert_eq!(fx.store.purge_cal_requests(NOW + DAY + 2).unwrap(), 6);
}

fn servers_heartbeat_and_stop(fx: Fx) {
    let other = pair(&fx);
    let node = |id: &str, url: &str| ServerNode {
        id: id.into(),
        url: url.into(),
        version: "1".into(),
        pid: 42,
        started_at: NOW,
        last_heartbeat: NOW,
        stopped_at: None,
    };
    fx.store.register_server(&node("a", "https://ls1:8443")).unwrap();
    other.register_server(&node("b", "https://ls2:8443")).unwrap();
    assert!(other.server_heartbeat("b", NOW + 20).unwrap());
    let list = fx.store.list_servers().unwrap();
    assert_eq!(list.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(!list[0].is_alive(NOW + 20, 10), "a's last heartbeat is 20 s old");
    assert!(list[1].is_alive(NOW + 20, 10));
    other.server_stopped("b", NOW + 21).unwrap();
    let b = fx.store.list_servers().unwrap().pop().unwrap();
    assert_eq!(b.stopped_at, Some(NOW + 21));
    assert!(!b.is_alive(NOW + 21, 10));
    // A restart registers again under the same id: one row.
    other.register_server(&node("b", "https://ls2:9443")).unwrap();
    let list = fx.store.list_servers().unwrap();
    assert_eq!((list.len(), list[1].url.as_str(), list[1].stopped_at), (2, "https://ls2:9443", None));
    assert!(fx.store.forget_server("a").unwrap());
    assert!(!fx.store.server_heartbeat("a", NOW + 30).unwrap());
    assert_eq!(fx.store.list_servers().unwrap().len(), 1);
}

fn web_sign_ins_are_shared(fx: Fx) {
    let other = pair(&fx);
    let h = [7u8; 32];
    fx.store.create_admin_session(&h, NOW, NOW + 3600).unwrap();
    assert_eq!(other.admin_session_expiry(&h).unwrap(), Some(NOW + 3600));
    other.end_admin_session(&h).unwrap();
    assert_eq!(fx.store.admin_session_expiry(&h).unwrap(), None);
    // Expired sign-ins are dropped when a new one is made.
    fx.store.create_admin_session(&[1; 32], NOW, NOW + 10).unwrap();
    fx.store.create_admin_session(&[2; 32], NOW + 20, NOW + 3600).unwrap();
    assert_eq!(other.admin_session_expiry(&[1; 32]).unwrap(), None);
}
