//! Several license servers on one database (schema version 4): their heartbeats, the request ids that make a
//! retried per-device request idempotent, and the web sign-ins every server accepts.
//!
//! # Idempotent per-device requests
//! A session host gives each licensing attempt a request id and sends it with the request; when the server it
//! asked dies before answering, the host asks the next server with the same id. The issuing transaction records
//! `request id → CAL serial` in `cal_requests` next to the CAL itself, so:
//! - a retry that arrives after the first transaction committed finds the id and gets the same CAL (the same
//!   serial), whatever the policy would decide now;
//! - a retry racing a first attempt that has not committed yet waits on the device's row lock (both take it
//!   before reading the device's CALs) and then finds the device's current CAL: the policy keeps it, so no
//!   second permanent CAL is taken from a pack. Its id insert then meets the first one's and is skipped.
//!
//! Ids older than [`REQUEST_RETENTION`] are purged by the servers' housekeeping ([`purge_requests`]): a retry
//! comes seconds after the first attempt, not days.

use std::collections::HashMap;

use crate::db::{Db, Get, Value};
use crate::logic::{self, cal_columns};
use crate::{DeviceAction, DeviceCal, DeviceCalOutcome, StoreError};

/// How long a request id is remembered (seconds).
pub const REQUEST_RETENTION: i64 = 86_400;

/// Longest request id accepted (bytes); ids are printable ASCII.
pub const MAX_REQUEST_ID: usize = 64;

/// A per-device request id sent by a session host (printable ASCII, 1 to [`MAX_REQUEST_ID`] bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Checks `id`; `None` when empty, too long or not printable ASCII.
    pub fn parse(id: &str) -> Option<Self> {
        (!id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| Self(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One license server of the cluster, as recorded in `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNode {
    /// Stable id of this server (kept in its data directory).
    pub id: String,
    /// The URL hosts reach it at.
    pub url: String,
    /// rdlic version.
    pub version: String,
    /// Process id.
    pub pid: i64,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds.
    pub last_heartbeat: i64,
    /// Unix seconds, when it stopped cleanly (a killed server keeps `None` and an old heartbeat).
    pub stopped_at: Option<i64>,
}

impl ServerNode {
    /// Alive: not stopped, and a heartbeat less than `stale_after` seconds before `now`.
    pub fn is_alive(&self, now: i64, stale_after: i64) -> bool {
        self.stopped_at.is_none() && now.saturating_sub(self.last_heartbeat) < stale_after
    }
}

/// Records a server start (insert, or replace the row of the same id).
pub(crate) fn register(db: &mut dyn Db, node: &ServerNode) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO servers (id, url, version, pid, started_at, last_heartbeat, stopped_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL) \
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, version = excluded.version, pid = excluded.pid, \
         started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat, stopped_at = NULL",
        &[
            node.id.as_str().into(),
            node.url.as_str().into(),
            node.version.as_str().into(),
            node.pid.into(),
            node.started_at.into(),
            node.last_heartbeat.into(),
        ],
    )?;
    Ok(())
}

/// Records a heartbeat of `id`; `false` when the row is gone (an admin removed the server).
pub(crate) fn heartbeat(db: &mut dyn Db, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE servers SET last_heartbeat = $2, stopped_at = NULL WHERE id = $1",
        &[id.into(), now.into()],
    )? > 0)
}

/// Records a clean stop.
pub(crate) fn stopped(db: &mut dyn Db, id: &str, now: i64) -> Result<(), StoreError> {
    db.exec("UPDATE servers SET stopped_at = $2 WHERE id = $1", &[id.into(), now.into()])?;
    Ok(())
}

/// Removes a server's row (it was taken out of the cluster); `false` when there was none.
pub(crate) fn forget(db: &mut dyn Db, id: &str) -> Result<bool, StoreError> {
    Ok(db.exec("DELETE FROM servers WHERE id = $1", &[id.into()])? > 0)
}

/// Every server, by id.
pub(crate) fn list(db: &mut dyn Db) -> Result<Vec<ServerNode>, StoreError> {
    db.query(
        "SELECT id, url, version, pid, started_at, last_heartbeat, stopped_at FROM servers ORDER BY id",
        &[],
    )?
    .iter()
    .map(|row| {
        let g = Get { row, table: "servers" };
        Ok(ServerNode {
            id: g.text(0)?,
            url: g.text(1)?,
            version: g.text(2)?,
            pid: g.int(3)?,
            started_at: g.int(4)?,
            last_heartbeat: g.int(5)?,
            stopped_at: g.opt_int(6)?,
        })
    })
    .collect()
}

/// The CALs already given for these request ids (index in `ids` → CAL), when still active: a retry gets them
/// back. A CAL replaced since (renewed, revoked) is not returned: the request is decided again.
pub(crate) fn known(
    db: &mut dyn Db,
    ids: &[Option<RequestId>],
    multi_row: bool,
) -> Result<HashMap<usize, DeviceCal>, StoreError> {
    let mut out = HashMap::new();
    let wanted: Vec<(usize, &RequestId)> = ids.iter().enumerate().filter_map(|(i, id)| id.as_ref().map(|id| (i, id))).collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    // Two single-table lookups by primary key rather than a join: a prepared statement's generic plan is chosen
    // while the tables are nearly empty (a new cluster), and for the join PostgreSQL kept a nested loop over every
    // active CAL, probing `cal_requests` for each, so a request cost O(CALs) until the connection closed. Each of
    // these has no plan but its primary key's index worth keeping.
    let mut serials: HashMap<String, i64> = HashMap::with_capacity(wanted.len());
    let id_rows = if multi_row {
        db.query(
            "SELECT request_id, serial FROM cal_requests WHERE request_id = ANY($1::text[])",
            &[Value::Texts(wanted.iter().map(|(_, id)| id.0.clone()).collect())],
        )?
    } else {
        let mut rows = Vec::new();
        for (_, id) in &wanted {
            rows.extend(db.query("SELECT request_id, serial FROM cal_requests WHERE request_id = $1", &[id.0.as_str().into()])?);
        }
        rows
    };
    for row in &id_rows {
        let g = Get { row, table: "cal_requests" };
        serials.insert(g.text(0)?, g.int(1)?);
    }
    if serials.is_empty() {
        return Ok(out);
    }
    let sql_one = concat!("SELECT ", cal_columns!(bare), " FROM device_cals WHERE serial = $1 AND status = 'active'");
    let sql_many =
        concat!("SELECT ", cal_columns!(bare), " FROM device_cals WHERE serial = ANY($1::bigint[]) AND status = 'active'");
    let rows = if multi_row {
        db.query(sql_many, &[Value::Ints(serials.values().copied().collect())])?
    } else {
        let mut rows = Vec::new();
        for serial in serials.values() {
            rows.extend(db.query(sql_one, &[(*serial).into()])?);
        }
        rows
    };
    let mut by_serial: HashMap<i64, DeviceCal> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let cal = logic::device_cal(&Get { row, table: "device_cals" })?;
        by_serial.insert(cal.serial.0, cal);
    }
    let by_id: HashMap<&String, &DeviceCal> =
        serials.iter().filter_map(|(id, serial)| by_serial.get(serial).map(|c| (id, c))).collect();
    for (i, id) in wanted {
        if let Some(cal) = by_id.get(&id.0) {
            out.insert(i, (*cal).clone());
        }
    }
    Ok(out)
}

/// Records `request id → serial` for every granted outcome that has an id (an id already recorded is left as is).
pub(crate) fn record(
    db: &mut dyn Db,
    ids: &[Option<RequestId>],
    outcomes: &[DeviceCalOutcome],
    server: &str,
    now: i64,
    multi_row: bool,
) -> Result<(), StoreError> {
    let rows: Vec<(&RequestId, &DeviceCal)> = ids
        .iter()
        .zip(outcomes)
        .filter_map(|(id, o)| match (id, o) {
            (Some(id), DeviceCalOutcome::Granted { cal, .. }) => Some((id, cal)),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    if multi_row {
        db.exec(
            "INSERT INTO cal_requests (request_id, hardware_id, serial, server, at) \
             SELECT i, h, s, $4::text, $5::bigint FROM unnest($1::text[], $2::bytea[], $3::bigint[]) AS r(i, h, s) \
             ON CONFLICT (request_id) DO NOTHING",
            &[
                Value::Texts(rows.iter().map(|(id, _)| id.0.clone()).collect()),
                Value::Blobs(rows.iter().map(|(_, c)| c.hardware_id.0.to_vec()).collect()),
                Value::Ints(rows.iter().map(|(_, c)| c.serial.0).collect()),
                server.into(),
                now.into(),
            ],
        )?;
    } else {
        for (id, cal) in rows {
            db.exec(
                "INSERT INTO cal_requests (request_id, hardware_id, serial, server, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (request_id) DO NOTHING",
                &[
                    id.0.as_str().into(),
                    cal.hardware_id.0.as_slice().into(),
                    cal.serial.0.into(),
                    server.into(),
                    now.into(),
                ],
            )?;
        }
    }
    Ok(())
}

/// A retried request's answer: the CAL it got the first time.
pub(crate) fn replayed(cal: DeviceCal) -> DeviceCalOutcome {
    DeviceCalOutcome::Granted { cal, action: DeviceAction::Unchanged }
}

/// Forgets request ids recorded before `before`; returns how many.
pub(crate) fn purge_requests(db: &mut dyn Db, before: i64) -> Result<u64, StoreError> {
    db.exec("DELETE FROM cal_requests WHERE at < $1", &[before.into()])
}

/// Stores a web sign-in (SHA-256 of its token) until `expires_at`; drops expired ones.
pub(crate) fn create_session(db: &mut dyn Db, hash: &[u8; 32], now: i64, expires_at: i64) -> Result<(), StoreError> {
    db.exec("DELETE FROM admin_sessions WHERE expires_at <= $1", &[now.into()])?;
    db.exec(
        "INSERT INTO admin_sessions (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
        &[hash.as_slice().into(), now.into(), expires_at.into()],
    )?;
    Ok(())
}

/// The expiry of a web sign-in, `None` when unknown (signed out, never signed in).
pub(crate) fn session_expiry(db: &mut dyn Db, hash: &[u8; 32]) -> Result<Option<i64>, StoreError> {
    let rows = db.query("SELECT expires_at FROM admin_sessions WHERE token_hash = $1", &[hash.as_slice().into()])?;
    rows.first().map(|row| Get { row, table: "admin_sessions" }.int(0)).transpose()
}

/// Ends a web sign-in.
pub(crate) fn end_session(db: &mut dyn Db, hash: &[u8; 32]) -> Result<(), StoreError> {
    db.exec("DELETE FROM admin_sessions WHERE token_hash = $1", &[hash.as_slice().into()])?;
    Ok(())
}
