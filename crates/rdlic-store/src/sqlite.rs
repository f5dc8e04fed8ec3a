//! The embedded backend: one SQLite file, WAL, `synchronous=FULL`.
//!
//! Concurrent single requests are group-committed (see the crate docs): with one fsync costing ~3 ms, this is what
//! lets a single SQLite file issue thousands of CALs per second to many hosts.
//!
//! Writes go through one writer connection per store (a mutex avoids busy-waiting between threads of one process)
//! and run in `BEGIN IMMEDIATE`, which takes SQLite's write lock at the start of the transaction: every invariant
//! check and the write it guards happen under that lock, also against another process (or another `SqliteStore`)
//! using the same file, which waits up to the busy timeout. Reads use a small pool of reader connections, each
//! read in its own snapshot, so they do not wait for the fsync of a writer.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql};

use crate::backend::{Backend, GroupCommit, TxFn};
use crate::db::{Db, Row, Value};
use crate::schema::{self, Dialect};
use crate::StoreError;

#[cfg(doc)]
use crate::LicenseStore;

/// File name of the database in the data directory.
pub const FILE_NAME: &str = "rdlic.db";

/// How long a writer waits for another process holding the write lock before [`StoreError::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const MAX_IDLE_READERS: usize = 8;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    group: GroupCommit,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen | ErrorCode::DiskFull,
        ) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Database(e.to_string()),
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the connection leaves no transaction open (rusqlite rolls back on the next BEGIN
    // failure path below), so the connection stays usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/rdlic.db`.
    pub fn open_in_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::open(&dir.join(FILE_NAME))
    }

    /// Opens (creating if needed) the database file at `path` and migrates its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at_version(path, schema::LATEST)
    }

    pub(crate) fn open_at_version(path: &Path, version: i64) -> Result<Self, StoreError> {
        let writer = connect(path)?;
        let store = Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            group: GroupCommit::default(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        store.write(&mut |db| schema::migrate_to(db, Dialect::Sqlite, now, version))?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(&mut crate::logic::schema_version)
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // WAL: readers never block the writer; FULL: the WAL is fsynced at every COMMIT, so a CAL the host received
    // survives a power loss, not only a crash of the process.
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    // Query planner stability guarantee: a plan does not depend on the values bound to it. Without it SQLite marks
    // statements such as the per-device CAL lookup (a partial index on `status`) to be re-parsed and re-planned at
    // every new binding, which made that one query 8 % of the license server's CPU per issuance.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// `$N` → `?N` (SQLite's numbered parameter form).
fn dialect_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Ints(_) | Value::Texts(_) | Value::Blobs(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "array parameters exist only on PostgreSQL".into(),
                ))
            }
        })
    }
}

struct Tx<'c>(&'c Connection);

impl Db for Tx<'_> {
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(&dialect_sql(sql)).map_err(err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(err)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(&dialect_sql(sql)).map_err(err)?;
        let cols = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let mut r = Vec::with_capacity(cols);
            for i in 0..cols {
                r.push(match row.get_ref(i).map_err(err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                    ValueRef::Real(_) => {
                        return Err(StoreError::Corrupt {
                            table: "?",
                            detail: format!("real value in column {i}"),
                        })
                    }
                });
            }
            out.push(r);
        }
        Ok(out)
    }

    fn for_update(&self) -> &'static str {
        ""
    }
}

/// Runs `sql` (BEGIN, COMMIT) from the statement cache: `execute_batch` would parse it again on every transaction.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn run<T>(conn: &Connection, begin: &str, f: TxFn<'_, T>) -> Result<T, StoreError> {
    control(conn, begin).map_err(err)?;
    match f(&mut Tx(conn)) {
        Ok(v) => match control(conn, "COMMIT") {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(err(e))
            }
        },
        Err(e) => {
            // Nothing half-written: the whole transaction goes.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl Backend for SqliteStore {
    const MULTI_ROW: bool = false;
    const GROUP_COMMIT: bool = true;
    const NAME: &'static str = "sqlite";

    fn write<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        let conn = lock(&self.writer);
        run(&conn, "BEGIN IMMEDIATE", f)
    }

    fn group(&self) -> &GroupCommit {
        &self.group
    }

    fn read<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let result = run(&conn, "BEGIN", f);
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}
