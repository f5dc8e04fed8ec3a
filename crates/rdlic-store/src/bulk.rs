//! Batches in a few multi-row statements (PostgreSQL only: `unnest($1::bytea[], ...)` array parameters).
//!
//! A batch of requests from the server's group commit runs in one transaction either way. Request by request
//! (`logic.rs`) that is five or six statements per issuance — one network round trip and one executor start in the
//! PostgreSQL backend each, on the same cores that sign the CALs. Here the common cases of a whole batch cost a
//! fixed number of statements:
//!
//! - per-device: (1) upsert every device row (its row lock, as in `logic::device_request`, taken in hardware-id
//!   order), read the activation and look the batch's request ids up; (2) read the CALs of every device; (3)
//!   insert every new temporary CAL with its audit entry and request id; (4) the upgrades of temporary CALs to
//!   permanent ones: lock the candidate key packs, then one statement adds to their `issued` counts, supersedes
//!   the temporary CALs and inserts the permanent CALs with their audit entries and request ids. Devices whose CAL
//!   needs nothing (or that are refused), and retried requests, are answered from (2). The pack rows are the one
//!   lock that every server of a cluster meets, held from (4) to COMMIT: (4) comes last and is two statements,
//!   however many upgrades the batch holds. What else involves a key pack (renewal, a pack found full, an expired
//!   or moved permanent CAL) and every request of a device that appears twice in the batch runs request by request
//!   through `logic::device_request`, after the rows were locked, in request order; the ids of those grants (and
//!   of a CAL kept) are recorded in one more statement;
//! - per-user: one statement reads the activation and every user row; a sign-in that changes nothing
//!   ([`logic::user_needs_no_write`]) is answered from it, everything else runs through `logic::user_checkout` in
//!   request order (and so does every later request of a user that was written). A batch in which nothing is to
//!   be written ([`users_unchanged`], the steady state of sign-ins) is that one statement outside any transaction
//!   block: one round trip for the batch.
//!
//! Requests of distinct devices (users) that need no key pack do not see each other, so answering them out of
//! request order is the same as answering them in order; the outcomes are returned in request order.

use std::collections::{HashMap, HashSet};

use rdlic_core::policy::{choose_pack, current_device_cal, permanent_expiry, plan_device_request, DeviceCalKind, DeviceStep};
use rdlic_core::{CalType, HardwareId};

use crate::cluster::{self, RequestId};
use crate::db::{Db, Get, Row, Value};
use crate::logic::{self, cal_columns};
use crate::{
    AuditKind, DeviceAction, DeviceCal, DeviceCalOutcome, DeviceCalRequest, StoreError, UserAction, UserCal,
    UserCalOutcome, UserCalRequest, LAST_SEEN_PRECISION,
};

/// (1): the device rows, locked (`ON CONFLICT DO UPDATE` locks the row even where its `WHERE` skips the write:
/// `last_seen` is kept to [`LAST_SEEN_PRECISION`], as in `logic::device_unchanged`), the activation, and the
/// request ids `$5` already recorded with their serials (one row with NULL columns when none is).
const UPSERT_DEVICES: &str = "WITH up AS (\
     INSERT INTO devices (hardware_id, client_name, first_seen, last_seen) \
     SELECT h, n, t, t FROM unnest($1::bytea[], $2::text[], $3::bigint[]) AS r(h, n, t) \
     ON CONFLICT (hardware_id) DO UPDATE SET client_name = excluded.client_name, last_seen = excluded.last_seen \
     WHERE devices.client_name <> excluded.client_name OR excluded.last_seen < devices.last_seen \
     OR excluded.last_seen - devices.last_seen >= $4::bigint) \
     SELECT EXISTS (SELECT 1 FROM server_identity WHERE id = 1 AND activation IS NOT NULL), k.request_id, k.serial \
     FROM (SELECT 1) AS one LEFT JOIN cal_requests k ON k.request_id = ANY($5::text[])";

/// (2): what `logic::device_cals_for_planning` reads, for every device at once.
const DEVICE_CALS: &str = concat!(
    "SELECT ",
    cal_columns!(),
    ", p.expires_at FROM device_cals c LEFT JOIN key_packs p ON p.id = c.pack_id \
     WHERE c.hardware_id = ANY($1::bytea[]) AND c.status IN ('active', 'expired') ORDER BY c.serial"
);

/// A multi-row insert of CALs, their audit entries and their request ids, returning the CALs (in serial order):
/// `$1`–`$4` hardware ids, client, user and host names, `$5` kind, `$6`–`$8` versions, issue and expiry times,
/// `$9` the audit kind, `$10` the audit details, `$11` the request ids (`''` for none), `$12` the server and `$13`
/// the time recorded with them; `$with` data-modifying statements to run first, `$select` the values of `pack_id`
/// and `replaces`, `$more` further `unnest` arrays and `$names` their column names.
macro_rules! insert_cals {
    ($with:literal, $select:literal, $more:literal, $names:literal) => {
        concat!(
            "WITH ",
            $with,
            "ins AS (\
             INSERT INTO device_cals (hardware_id, client_name, user_name, host_name, kind, version, pack_id, \
             issued_at, expires_at, status, replaces) \
             SELECT h, cn, un, hn, $5::text, v, ",
            $select,
            " FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $6::bigint[], $7::bigint[], $8::bigint[]",
            $more,
            ") AS r(h, cn, un, hn, v, t, e",
            $names,
            ") RETURNING ",
            cal_columns!(bare),
            "), aud AS (\
             INSERT INTO audit_log (at, kind, actor, subject, detail) \
             SELECT ins.issued_at, $9::text, ins.host_name, ins.serial::text, d.detail \
             FROM ins JOIN unnest($1::bytea[], $10::text[]) AS d(h, detail) ON d.h = ins.hardware_id \
             ORDER BY ins.serial), req AS (\
             INSERT INTO cal_requests (request_id, hardware_id, serial, server, at) \
             SELECT d.id, ins.hardware_id, ins.serial, $12::text, $13::bigint \
             FROM ins JOIN unnest($1::bytea[], $11::text[]) AS d(h, id) ON d.h = ins.hardware_id WHERE d.id <> '' \
             ON CONFLICT (request_id) DO NOTHING) SELECT ",
            cal_columns!(bare),
            " FROM ins"
        )
    };
}

/// (3): the temporary CALs, their audit entries and request ids.
const INSERT_TEMPORARY: &str = insert_cals!("", "NULL::bytea, t, e, 'active', NULL::bigint", "", "");

/// (4), in one statement: add to the `issued` counts of the key packs (`$16` ids, `$17` how many; their rows
/// locked by `logic::lock_packs`), supersede the temporary CALs being upgraded (`$15` serials, `$18` when: the
/// batch's latest request time; a primary-key lookup), and insert the permanent CALs (`$14` packs, replacing
/// `$15`) with their audit entries and request ids.
const UPGRADE: &str = insert_cals!(
    "packs AS (\
     UPDATE key_packs SET issued = key_packs.issued + u.n FROM unnest($16::bytea[], $17::bigint[]) AS u(id, n) \
     WHERE key_packs.id = u.id), sup AS (\
     UPDATE device_cals SET status = 'superseded', status_at = $18::bigint \
     WHERE serial = ANY($15::bigint[]) AND status = 'active'), ",
    "p, t, e, 'active', rp",
    ", $14::bytea[], $15::bigint[]",
    ", p, rp"
);

/// A temporary CAL to upgrade to a permanent one in (4).
struct Upgrade {
    index: usize,
    temporary: i64,
}

/// The activation and the rows of every user of a batch (one row with NULL user columns when none exists).
const USERS: &str = "SELECT EXISTS (SELECT 1 FROM server_identity WHERE id = 1 AND activation IS NOT NULL), \
     u.user_name, u.version, u.pack_id, u.last_host, u.first_seen, u.last_seen, u.expires_at, u.over_allocated \
     FROM (SELECT 1) AS one LEFT JOIN user_cals u ON u.user_name = ANY($1::text[])";

fn flag(rows: &[Row], table: &'static str) -> Result<bool, StoreError> {
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Database("query returned no row".to_owned()))?;
    Ok(Get { row, table }.int(0)? != 0)
}

/// A temporary CAL to insert: the index of its request and its expiry.
struct Temporary {
    index: usize,
    expires_at: i64,
}

/// The request ids of a batch (`ids[i]` is the id of request `i`), and what `cal_requests` records with them.
pub(crate) struct RequestIds<'a> {
    pub(crate) ids: &'a [Option<RequestId>],
    /// The server that answers.
    pub(crate) server: &'a str,
    /// When.
    pub(crate) now: i64,
}

/// The id of request `i`, if it has one.
fn id_at<'a>(ids: Option<&'a RequestIds<'_>>, i: usize) -> Option<&'a RequestId> {
    ids.and_then(|r| r.ids.get(i)).and_then(Option::as_ref)
}

/// The request id of each request of `indexes` (`''` for none), the `$11` of [`insert_cals!`].
fn ids_param<'a>(ids: Option<&RequestIds<'_>>, indexes: impl Iterator<Item = &'a usize>) -> Value {
    Value::Texts(indexes.map(|i| id_at(ids, *i).map(|id| id.as_str().to_owned()).unwrap_or_default()).collect())
}

/// Per-device requests of one batch, in request order (see the module docs). With `ids`, as
/// `cluster::known` and `cluster::record` do it in their own statements: a request whose id is recorded with a
/// CAL still active gets that CAL back ([`cluster::replayed`]), and the id of every other granted request is
/// recorded (in the statement that inserts its CAL, when it is new).
pub(crate) fn device_requests(
    db: &mut dyn Db,
    reqs: &[DeviceCalRequest],
    ids: Option<&RequestIds<'_>>,
) -> Result<Vec<DeviceCalOutcome>, StoreError> {
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen: HashMap<HardwareId, usize> = HashMap::with_capacity(reqs.len());
    for r in reqs {
        *seen.entry(r.hardware_id).or_default() += 1;
    }
    // Devices asked for once, in hardware-id order: the lock order of the upsert (two batches on two servers
    // sharing the database cannot deadlock on device rows).
    let mut single: Vec<(HardwareId, usize)> = reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| seen.get(&r.hardware_id) == Some(&1))
        .map(|(i, r)| (r.hardware_id, i))
        .collect();
    single.sort_unstable();

    let mut outcomes: Vec<Option<DeviceCalOutcome>> = vec![None; reqs.len()];
    // Whether the request's id is recorded by the statement that inserts its CAL, or needs no recording.
    let mut recorded = vec![false; reqs.len()];
    let mut temporaries = Vec::new();
    let mut upgrades = Vec::new();

    let of_single = || single.iter().filter_map(|(_, i)| reqs.get(*i));
    let hwids: Vec<Vec<u8>> = of_single().map(|r| r.hardware_id.0.to_vec()).collect();
    let rows = db.query(
        UPSERT_DEVICES,
        &[
            Value::Blobs(hwids.clone()),
            Value::Texts(of_single().map(|r| r.client_name.clone()).collect()),
            Value::Ints(of_single().map(|r| r.now).collect()),
            LAST_SEEN_PRECISION.into(),
            Value::Texts((0..reqs.len()).filter_map(|i| id_at(ids, i)).map(|id| id.as_str().to_owned()).collect()),
        ],
    )?;
    let activated = flag(&rows, "server_identity")?;
    let mut known: HashMap<String, i64> = HashMap::new();
    for row in &rows {
        if !matches!(row.get(1), Some(Value::Null) | None) {
            let g = Get { row, table: "cal_requests" };
            known.insert(g.text(1)?, g.int(2)?);
        }
    }
    // Replays are answered from the CALs of their devices: read those too when asked for more than once.
    let replays: Vec<(usize, i64)> = (0..reqs.len())
        .filter_map(|i| id_at(ids, i).and_then(|id| known.get(id.as_str())).map(|serial| (i, *serial)))
        .collect();
    let mut repeated: Vec<HardwareId> = replays
        .iter()
        .filter_map(|(i, _)| reqs.get(*i).map(|r| r.hardware_id))
        .filter(|h| seen.get(h) != Some(&1))
        .collect();
    repeated.sort_unstable();
    repeated.dedup();
    let mut read = hwids;
    read.extend(repeated.into_iter().map(|h| h.0.to_vec()));
    let mut by_device: HashMap<HardwareId, (Vec<DeviceCal>, Vec<_>)> = HashMap::new();
    if !read.is_empty() {
        for row in &db.query(DEVICE_CALS, &[Value::Blobs(read)])? {
            let (cal, view) = logic::planning_row(row)?;
            let entry = by_device.entry(cal.hardware_id).or_default();
            entry.0.push(cal);
            entry.1.push(view);
        }
    }
    for (i, serial) in replays {
        let cal = reqs.get(i).and_then(|r| by_device.get(&r.hardware_id)).and_then(|(cals, _)| {
            cals.iter().find(|c| c.serial.0 == serial && c.status == crate::CalStatus::Active)
        });
        if let (Some(cal), Some(slot)) = (cal, outcomes.get_mut(i)) {
            *slot = Some(cluster::replayed(cal.clone()));
            if let Some(r) = recorded.get_mut(i) {
                *r = true;
            }
        }
    }

    for (hw, i) in &single {
        let Some(req) = reqs.get(*i) else { continue };
        if outcomes.get(*i).is_some_and(Option::is_some) {
            continue;
        }
        let (cals, views) = by_device.remove(hw).unwrap_or_default();
        let idx = current_device_cal(&views, req.host_version, req.now);
        let step = plan_device_request(idx.and_then(|k| views.get(k)), activated, req.now);
        let outcome = match step {
            DeviceStep::IssueTemporary { expires_at } => {
                temporaries.push(Temporary { index: *i, expires_at });
                None
            }
            DeviceStep::KeepCurrent => idx
                .and_then(|k| cals.get(k))
                .cloned()
                .map(|cal| DeviceCalOutcome::Granted { cal, action: DeviceAction::Unchanged }),
            DeviceStep::Refuse(r) => Some(DeviceCalOutcome::Refused(r)),
            // A temporary CAL to upgrade: (4), in bulk.
            DeviceStep::AllocatePermanent { .. } => {
                if let Some(cal) = idx.and_then(|k| cals.get(k)).filter(|c| c.kind == DeviceCalKind::Temporary) {
                    upgrades.push(Upgrade { index: *i, temporary: cal.serial.0 });
                }
                None
            }
            // Needs a key pack otherwise: request by request below.
            DeviceStep::Renew => None,
        };
        if let Some(slot) = outcomes.get_mut(*i) {
            *slot = outcome;
        }
    }

    if !temporaries.is_empty() {
        let reqs_of = || temporaries.iter().filter_map(|t| reqs.get(t.index).map(|r| (t, r)));
        let params = [
            Value::Blobs(reqs_of().map(|(_, r)| r.hardware_id.0.to_vec()).collect()),
            Value::Texts(reqs_of().map(|(_, r)| r.client_name.clone()).collect()),
            Value::Texts(reqs_of().map(|(_, r)| r.user_name.clone()).collect()),
            Value::Texts(reqs_of().map(|(_, r)| r.host_name.clone()).collect()),
            DeviceCalKind::Temporary.as_str().into(),
            Value::Ints(reqs_of().map(|(_, r)| i64::from(r.host_version.0)).collect()),
            Value::Ints(reqs_of().map(|(_, r)| r.now).collect()),
            Value::Ints(reqs_of().map(|(t, _)| t.expires_at).collect()),
            AuditKind::CAL_TEMPORARY.into(),
            Value::Texts(
                reqs_of()
                    .map(|(t, r)| {
                        format!("hwid={} version={} expires_at={}", r.hardware_id, r.host_version, t.expires_at)
                    })
                    .collect(),
            ),
            ids_param(ids, reqs_of().map(|(t, _)| &t.index)),
            ids.map_or("", |r| r.server).into(),
            ids.map_or(0, |r| r.now).into(),
        ];
        let mut inserted: HashMap<HardwareId, DeviceCal> = HashMap::with_capacity(temporaries.len());
        for row in &db.query(INSERT_TEMPORARY, &params)? {
            let cal = logic::device_cal(&Get { row, table: "device_cals" })?;
            inserted.insert(cal.hardware_id, cal);
        }
        for t in &temporaries {
            let cal = reqs
                .get(t.index)
                .and_then(|r| inserted.remove(&r.hardware_id))
                .ok_or_else(|| StoreError::Database("insert returned no row".to_owned()))?;
            if let Some(slot) = outcomes.get_mut(t.index) {
                *slot = Some(DeviceCalOutcome::Granted { cal, action: DeviceAction::IssuedTemporary });
            }
            if let Some(r) = recorded.get_mut(t.index) {
                *r = true;
            }
        }
    }

    // Key packs are taken in request order: (4) takes the upgrades that come before every other request left to
    // `logic::device_request` (repeated devices, renewals...), in request order, up to the first one no pack has
    // room for; those after it wait for their turn below.
    let pending = |i: usize| outcomes.get(i).is_some_and(Option::is_none);
    let first_other = (0..reqs.len())
        .find(|i| pending(*i) && !upgrades.iter().any(|u: &Upgrade| u.index == *i))
        .unwrap_or(reqs.len());
    upgrades.retain(|u| u.index < first_other);
    upgrades.sort_unstable_by_key(|u| u.index);
    if !upgrades.is_empty() {
        upgrade_in_bulk(db, reqs, &upgrades, ids, &mut outcomes, &mut recorded)?;
    }

    // Other key-pack work, upgrades (4) found no pack for, and repeated devices, in request order.
    let outcomes: Vec<DeviceCalOutcome> = reqs
        .iter()
        .zip(outcomes)
        .map(|(req, outcome)| match outcome {
            Some(o) => Ok(o),
            None => logic::device_request(db, req),
        })
        .collect::<Result<_, _>>()?;
    if let Some(ids) = ids {
        // The ids of the grants no insert above recorded: a CAL kept, or decided request by request.
        let (rest_ids, rest): (Vec<_>, Vec<_>) = (0..reqs.len())
            .filter(|i| recorded.get(*i) == Some(&false))
            .filter_map(|i| Some((ids.ids.get(i)?.clone(), outcomes.get(i)?.clone())))
            .filter(|(id, o)| id.is_some() && matches!(o, DeviceCalOutcome::Granted { .. }))
            .unzip();
        cluster::record(db, &rest_ids, &rest, ids.server, ids.now, true)?;
    }
    Ok(outcomes)
}

/// (4): the upgrades that a locked pack has room for, in one statement after the lock; the others are left to
/// `logic::device_request` (which reclaims expired CALs of full packs, then keeps the temporary CAL or refuses,
/// as the policy says).
fn upgrade_in_bulk(
    db: &mut dyn Db,
    reqs: &[DeviceCalRequest],
    upgrades: &[Upgrade],
    ids: Option<&RequestIds<'_>>,
    outcomes: &mut [Option<DeviceCalOutcome>],
    recorded: &mut [bool],
) -> Result<(), StoreError> {
    let Some(min_version) = upgrades.iter().filter_map(|u| reqs.get(u.index)).map(|r| r.host_version).min() else {
        return Ok(());
    };
    let packs = logic::lock_packs(db, CalType::PerDevice, min_version)?;
    let mut candidates = logic::candidates(&packs);
    // (upgrade, its request, the pack row it takes a CAL from)
    let mut chosen = Vec::with_capacity(upgrades.len());
    for u in upgrades {
        let Some(req) = reqs.get(u.index) else { break };
        let Some(id) = choose_pack(&candidates, req.host_version, req.now) else { break };
        if let Some(c) = candidates.iter_mut().find(|c| c.id == id) {
            c.free = c.free.saturating_sub(1);
        }
        if let Some(pack) = packs.iter().find(|p| p.id == id) {
            chosen.push((u, req, pack));
        }
    }
    if chosen.is_empty() {
        return Ok(());
    }
    let mut per_pack: HashMap<rdlic_core::KeyPackId, i64> = HashMap::new();
    for (_, _, pack) in &chosen {
        *per_pack.entry(pack.id).or_default() += 1;
    }
    let expiry = |r: &DeviceCalRequest, p: &logic::PackRow| permanent_expiry(r.now, r.random, p.expires_at);
    let params = [
        Value::Blobs(chosen.iter().map(|(_, r, _)| r.hardware_id.0.to_vec()).collect()),
        Value::Texts(chosen.iter().map(|(_, r, _)| r.client_name.clone()).collect()),
        Value::Texts(chosen.iter().map(|(_, r, _)| r.user_name.clone()).collect()),
        Value::Texts(chosen.iter().map(|(_, r, _)| r.host_name.clone()).collect()),
        DeviceCalKind::Permanent.as_str().into(),
        Value::Ints(chosen.iter().map(|(_, _, p)| i64::from(p.version.0)).collect()),
        Value::Ints(chosen.iter().map(|(_, r, _)| r.now).collect()),
        Value::Ints(chosen.iter().map(|(_, r, p)| expiry(r, p)).collect()),
        AuditKind::CAL_PERMANENT.into(),
        Value::Texts(
            chosen
                .iter()
                .map(|(_, r, p)| {
                    format!("hwid={} pack={} version={} expires_at={}", r.hardware_id, p.id, p.version, expiry(r, p))
                })
                .collect(),
        ),
        ids_param(ids, chosen.iter().map(|(u, _, _)| &u.index)),
        ids.map_or("", |r| r.server).into(),
        ids.map_or(0, |r| r.now).into(),
        Value::Blobs(chosen.iter().map(|(_, _, p)| p.id.0.to_vec()).collect()),
        Value::Ints(chosen.iter().map(|(u, _, _)| u.temporary).collect()),
        Value::Blobs(per_pack.keys().map(|id| id.0.to_vec()).collect()),
        Value::Ints(per_pack.values().copied().collect()),
        chosen.iter().map(|(_, r, _)| r.now).max().unwrap_or_default().into(),
    ];
    let mut inserted: HashMap<HardwareId, DeviceCal> = HashMap::with_capacity(chosen.len());
    for row in &db.query(UPGRADE, &params)? {
        let cal = logic::device_cal(&Get { row, table: "device_cals" })?;
        inserted.insert(cal.hardware_id, cal);
    }
    for (u, r, _) in &chosen {
        let cal = inserted
            .remove(&r.hardware_id)
            .ok_or_else(|| StoreError::Database("insert returned no row".to_owned()))?;
        if let Some(slot) = outcomes.get_mut(u.index) {
            *slot = Some(DeviceCalOutcome::Granted { cal, action: DeviceAction::IssuedPermanent });
        }
        if let Some(done) = recorded.get_mut(u.index) {
            *done = true;
        }
    }
    Ok(())
}

/// The activation and the rows of the users of `reqs` (one statement).
fn read_users(
    db: &mut dyn Db,
    reqs: &[UserCalRequest],
) -> Result<(bool, HashMap<String, UserCal>), StoreError> {
    let names: HashSet<&str> = reqs.iter().map(|r| r.user.as_str()).collect();
    let rows = db.query(
        USERS,
        &[Value::Texts(names.into_iter().map(str::to_owned).collect())],
    )?;
    let activated = flag(&rows, "server_identity")?;
    let mut users: HashMap<String, UserCal> = HashMap::with_capacity(rows.len());
    for row in &rows {
        if matches!(row.get(1), Some(Value::Null) | None) {
            continue;
        }
        let user_row: Row = row.iter().skip(1).cloned().collect();
        let cal = logic::user_cal(&Get {
            row: &user_row,
            table: "user_cals",
        })?;
        users.insert(cal.user.clone(), cal);
    }
    Ok((activated, users))
}

/// The answers of a batch in which no checkout writes anything (every sign-in is on the same host within
/// [`LAST_SEEN_PRECISION`] with a CAL that needs no refresh, or the server is not activated), read in ONE statement;
/// `None` when any request has something to write.
pub(crate) fn users_unchanged(
    db: &mut dyn Db,
    reqs: &[UserCalRequest],
) -> Result<Option<Vec<UserCalOutcome>>, StoreError> {
    if reqs.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let (activated, users) = read_users(db, reqs)?;
    Ok(reqs
        .iter()
        .map(|req| {
            if !activated {
                return Some(UserCalOutcome::Refused(rdlic_core::UserRefusal::NotActivated));
            }
            let c = users.get(&req.user)?;
            logic::user_needs_no_write(c, req).then(|| UserCalOutcome::Granted {
                cal: c.clone(),
                action: UserAction::Touched,
            })
        })
        .collect())
}

/// Per-user checkouts of one batch, in request order (see the module docs).
pub(crate) fn user_requests(
    db: &mut dyn Db,
    reqs: &[UserCalRequest],
) -> Result<Vec<UserCalOutcome>, StoreError> {
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    let (activated, users) = read_users(db, reqs)?;
    let mut written: HashSet<&str> = HashSet::new();
    reqs.iter()
        .map(|req| {
            if !activated {
                return Ok(UserCalOutcome::Refused(rdlic_core::UserRefusal::NotActivated));
            }
            if !written.contains(req.user.as_str()) {
                if let Some(c) = users.get(&req.user) {
                    if logic::user_needs_no_write(c, req) {
                        return Ok(UserCalOutcome::Granted {
                            cal: c.clone(),
                            action: UserAction::Touched,
                        });
                    }
                }
            }
            written.insert(req.user.as_str());
            logic::user_checkout(db, req)
        })
        .collect()
}
