//! Versioned schema migrations, shared by both backends.
//!
//! `schema_version` holds one row per applied migration. On open, every migration newer than the database is
//! applied in order inside one write transaction; a database newer than this build is refused. A migration, once
//! released, is never edited: a change is a new migration appended to [`MIGRATIONS`].
//!
//! The SQL is written once with three placeholders that differ between dialects: `{id}` (an auto-increment
//! primary key that never reuses values), `{int}` (64-bit integer) and `{blob}` (bytes).

use crate::db::{Db, Get, Value};
use crate::StoreError;

/// SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn render(self, sql: &str) -> String {
        let (id, int, blob) = match self {
            Self::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "BLOB"),
            Self::Postgres => (
                "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                "BIGINT",
                "BYTEA",
            ),
        };
        sql.replace("{id}", id)
            .replace("{int}", int)
            .replace("{blob}", blob)
    }
}

/// Version 1: the first released schema.
pub(crate) const V1: &str = "
CREATE TABLE server_identity (
    id {int} PRIMARY KEY CHECK (id = 1),
    server_id {blob} NOT NULL,
    public_key {blob} NOT NULL,
    created_at {int} NOT NULL,
    activation TEXT,
    activated_at {int}
);
CREATE TABLE key_packs (
    id {blob} PRIMARY KEY,
    cal_type TEXT NOT NULL,
    version {int} NOT NULL,
    program {int} NOT NULL,
    count {int} NOT NULL,
    issued {int} NOT NULL DEFAULT 0,
    issued_at {int} NOT NULL,
    expires_at {int},
    issued_to {blob} NOT NULL,
    signer {blob} NOT NULL,
    signature {blob} NOT NULL,
    installed_at {int} NOT NULL,
    CHECK (issued >= 0 AND issued <= count)
);
CREATE TABLE devices (
    hardware_id {blob} PRIMARY KEY,
    client_name TEXT NOT NULL,
    first_seen {int} NOT NULL,
    last_seen {int} NOT NULL
);
CREATE TABLE device_cals (
    serial {id},
    hardware_id {blob} NOT NULL,
    client_name TEXT NOT NULL,
    user_name TEXT NOT NULL,
    host_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    version {int} NOT NULL,
    pack_id {blob} REFERENCES key_packs (id),
    issued_at {int} NOT NULL,
    expires_at {int} NOT NULL,
    status TEXT NOT NULL,
    status_at {int},
    replaces {int}
);
CREATE INDEX device_cals_by_device ON device_cals (hardware_id, status);
CREATE INDEX device_cals_by_pack ON device_cals (pack_id, status, expires_at);
CREATE INDEX device_cals_revoked ON device_cals (version, expires_at) WHERE status = 'revoked';
CREATE TABLE user_cals (
    user_name TEXT PRIMARY KEY,
    version {int} NOT NULL,
    pack_id {blob} REFERENCES key_packs (id),
    last_host TEXT NOT NULL,
    first_seen {int} NOT NULL,
    last_seen {int} NOT NULL,
    expires_at {int} NOT NULL,
    over_allocated {int} NOT NULL
);
CREATE INDEX user_cals_by_pack ON user_cals (pack_id, expires_at);
CREATE INDEX user_cals_over ON user_cals (expires_at) WHERE over_allocated = 1;
CREATE TABLE hosts (
    id {id},
    name TEXT NOT NULL,
    cert_fingerprint {blob} NOT NULL UNIQUE,
    enrolled_at {int} NOT NULL,
    revoked {int} NOT NULL DEFAULT 0,
    revoked_at {int}
);
CREATE TABLE enrollment_tokens (
    token_hash {blob} PRIMARY KEY,
    host_name TEXT,
    created_at {int} NOT NULL,
    expires_at {int} NOT NULL,
    used_at {int},
    used_by {int}
);
CREATE TABLE audit_log (
    id {id},
    at {int} NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
)";

/// Version 2: host last contact, the benchmark table, audit by time.
pub(crate) const V2: &str = "
ALTER TABLE hosts ADD COLUMN last_contact {int};
CREATE TABLE bench_rows (
    id {id},
    at {int} NOT NULL,
    payload {blob} NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at)";

/// Version 3: what session hosts report (latest report and diagnose findings per host, recent refusals), and
/// administrator settings (the admin password hash).
pub(crate) const V3: &str = "
CREATE TABLE host_reports (
    host_id {int} PRIMARY KEY,
    received_at {int} NOT NULL,
    licensing_mode TEXT NOT NULL,
    grace_state TEXT NOT NULL,
    grace_days_left {int},
    can_license {int}
);
CREATE TABLE host_findings (
    host_id {int} NOT NULL,
    ordinal {int} NOT NULL,
    check_name TEXT NOT NULL,
    server TEXT,
    severity TEXT NOT NULL,
    cause TEXT,
    cause_text TEXT,
    evidence TEXT NOT NULL,
    fixes TEXT NOT NULL,
    PRIMARY KEY (host_id, ordinal)
);
CREATE TABLE host_refusals (
    id {id},
    host_id {int} NOT NULL,
    host_name TEXT NOT NULL,
    at {int} NOT NULL,
    received_at {int} NOT NULL,
    client_name TEXT NOT NULL,
    user_name TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    errinfo {int},
    license_server TEXT
);
CREATE INDEX host_refusals_by_host ON host_refusals (host_id, id);
CREATE TABLE admin_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at {int} NOT NULL
)";

/// Version 4: the certificates a host renewed (`POST /api/v1/host/renew`), each accepted next to the one it
/// enrolled with until it expires.
pub(crate) const V4: &str = "
CREATE TABLE host_certificates (
    cert_fingerprint {blob} PRIMARY KEY,
    host_id {int} NOT NULL,
    issued_at {int} NOT NULL,
    expires_at {int} NOT NULL
);
CREATE INDEX host_certificates_by_host ON host_certificates (host_id)";

/// Version 5: several license servers on one database. `servers` holds each server's heartbeat; `cal_requests`
/// maps the request id a session host sends with a per-device request to the CAL it got (written in the issuing
/// transaction, so a retry of the same request on another server returns that CAL instead of a second one);
/// `admin_sessions` holds web sign-ins (hash of the session token) so that every server accepts them.
pub(crate) const V5: &str = "
CREATE TABLE servers (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    pid {int} NOT NULL,
    started_at {int} NOT NULL,
    last_heartbeat {int} NOT NULL,
    stopped_at {int}
);
CREATE TABLE cal_requests (
    request_id TEXT PRIMARY KEY,
    hardware_id {blob} NOT NULL,
    serial {int} NOT NULL,
    server TEXT NOT NULL,
    at {int} NOT NULL
);
CREATE INDEX cal_requests_at ON cal_requests (at);
CREATE TABLE admin_sessions (
    token_hash {blob} PRIMARY KEY,
    created_at {int} NOT NULL,
    expires_at {int} NOT NULL
)";

/// Every migration, in order; index + 1 is the version it produces.
pub(crate) const MIGRATIONS: [&str; 5] = [V1, V2, V3, V4, V5];

/// The version a fresh database gets.
pub(crate) const LATEST: i64 = 5;

/// Creates `schema_version` if needed and applies the missing migrations up to `target` ([`LATEST`] in
/// production; tests build old databases with a lower one). Call inside a write transaction. Returns the version
/// found before migrating (0 for an empty database).
pub(crate) fn migrate_to(
    db: &mut dyn Db,
    dialect: Dialect,
    now: i64,
    target: i64,
) -> Result<i64, StoreError> {
    db.exec(
        &dialect.render(
            "CREATE TABLE IF NOT EXISTS schema_version (version {int} NOT NULL, applied_at {int} NOT NULL)",
        ),
        &[],
    )?;
    let rows = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?;
    let found = match rows.first() {
        Some(row) => Get {
            row,
            table: "schema_version",
        }
        .int(0)?,
        None => 0,
    };
    if found > LATEST {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    for (version, sql) in (1i64..).zip(MIGRATIONS) {
        if version <= found || version > target {
            continue;
        }
        for stmt in dialect
            .render(sql)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            db.exec(stmt, &[])?;
        }
        db.exec(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[Value::Int(version), Value::Int(now)],
        )?;
    }
    Ok(found)
}
