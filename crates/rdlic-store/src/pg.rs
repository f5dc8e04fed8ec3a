//! The PostgreSQL backend (synchronous `postgres` client, plain TCP or Unix socket, or TLS with rustls when the
//! URL asks for it: `sslmode=require|verify-ca|verify-full` and `sslrootcert=`, see [`crate::pgtls`]).
//!
//! Write transactions run at READ COMMITTED; every invariant is guarded by row locks taken inside the
//! transaction: the device row (`INSERT ... ON CONFLICT DO UPDATE`), the candidate key pack rows
//! (`SELECT ... FOR UPDATE`, always in id order, so two issuers cannot deadlock), the per-user row and the
//! enrollment token row. A deadlock, serialization failure or unique violation (two first requests racing) rolls the
//! transaction back and runs it again, up to [`MAX_ATTEMPTS`] times.
//!
//! Durability: every connection sets `synchronous_commit = on`, so COMMIT returns after the WAL is flushed.
//! Concurrent commits share WAL flushes inside PostgreSQL (its own group commit); issuances from one pack still
//! serialize on that pack's row lock, held until COMMIT.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use postgres::error::SqlState;
use postgres::types::private::BytesMut;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Statement};

use crate::backend::{Backend, GroupCommit, TxFn};
use crate::db::{Db, Row, Value};
use crate::schema::{self, Dialect};
use crate::StoreError;

/// Connections per store unless told otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Attempts of one transaction before [`StoreError::Conflict`].
pub const MAX_ATTEMPTS: u32 = 20;

/// The PostgreSQL store: a pool of connections to one database.
pub struct PostgresStore {
    config: Config,
    /// TLS to the server, when the URL asked for it.
    tls: Option<crate::pgtls::RustlsConnector>,
    pool: Mutex<Pool>,
    freed: Condvar,
    group: GroupCommit,
}

/// A connection with its prepared statements (the synchronous client has no statement cache of its own).
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    open: usize,
    max: usize,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The config may hold a password: print only where it points.
        f.debug_struct("PostgresStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish_non_exhaustive()
    }
}

/// The error and its causes (`postgres::Error` shows "db error" or "error performing TLS handshake" alone; the
/// server's message or the certificate problem is in its source).
fn chain(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = StdError::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn err(e: postgres::Error) -> StoreError {
    let text = chain(&e);
    let e = PgErrorText { code: e.code().cloned(), text };
    if let Some(code) = &e.code {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::UNIQUE_VIOLATION
        {
            return StoreError::Conflict(e.text);
        }
        if code.code().starts_with("08") || code.code().starts_with("57") || code.code().starts_with("53") {
            return StoreError::Unavailable(e.text);
        }
        return StoreError::Database(e.text);
    }
    // No SQLSTATE: the connection itself failed.
    StoreError::Unavailable(e.text)
}

struct PgErrorText {
    code: Option<SqlState>,
    text: String,
}

fn lock(m: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/dbname`) with up to `pool_size` connections and
    /// migrates the schema (several servers may start at once: migrations take an advisory lock).
    ///
    /// TLS: `sslmode=require`, `verify-ca` or `verify-full` with `sslrootcert=PATH` (see [`crate::pgtls`]). Errors
    /// show the URL without its password ([`crate::pgtls::redact`]).
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let settings = crate::pgtls::split_tls(url)
            .map_err(|e| StoreError::BadUrl(format!("{}: {e}", crate::pgtls::redact(url))))?;
        let mut config: Config = settings.rest.parse().map_err(|e: postgres::Error| {
            StoreError::BadUrl(format!("{}: {e}", crate::pgtls::redact(url)))
        })?;
        let tls = crate::pgtls::RustlsConnector::new(&settings)?;
        if tls.is_some() {
            // TLS or nothing: never fall back to plain TCP.
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        Self::open(config, tls, pool_size, schema::LATEST)
    }

    /// As [`PostgresStore::connect`], from a parsed configuration (no TLS).
    pub fn with_config(config: Config, pool_size: usize) -> Result<Self, StoreError> {
        Self::with_config_at_version(config, pool_size, schema::LATEST)
    }

    pub(crate) fn with_config_at_version(
        config: Config,
        pool_size: usize,
        version: i64,
    ) -> Result<Self, StoreError> {
        Self::open(config, None, pool_size, version)
    }

    fn open(
        config: Config,
        tls: Option<crate::pgtls::RustlsConnector>,
        pool_size: usize,
        version: i64,
    ) -> Result<Self, StoreError> {
        let store = Self {
            config,
            tls,
            pool: Mutex::new(Pool {
                max: pool_size.max(1),
                ..Pool::default()
            }),
            freed: Condvar::new(),
            group: GroupCommit::default(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        store.write(&mut |db| {
            // Several license servers starting at once: one migrates, the others wait and find nothing to do.
            db.exec("SELECT pg_advisory_xact_lock(727463001)", &[])?;
            schema::migrate_to(db, Dialect::Postgres, now, version)
        })?;
        Ok(store)
    }

    /// Whether a pooled connection to the server is encrypted (`pg_stat_ssl` of its backend).
    pub fn connection_uses_tls(&self) -> Result<bool, StoreError> {
        let mut conn = self.take()?;
        let row = conn
            .client
            .query_one("SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)", &[])
            .map_err(err);
        self.give_back(conn);
        Ok(row?.get(0))
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(&mut crate::logic::schema_version)
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(c) = pool.idle.pop() {
                if !c.client.is_closed() {
                    return Ok(c);
                }
                pool.open = pool.open.saturating_sub(1);
                continue;
            }
            if pool.open < pool.max {
                pool.open += 1;
                drop(pool);
                let connected = match &self.tls {
                    Some(tls) => self.config.connect(tls.clone()),
                    None => self.config.connect(NoTls),
                }
                .and_then(|mut client| {
                    // The durability contract (an answered CAL is on disk) must not depend on the DBA's defaults.
                    // Custom plans: statements are prepared once per connection, and PostgreSQL may switch a
                    // statement to a generic plan costed while its tables were nearly empty (a new cluster); such
                    // plans (a nested loop over every CAL, a sequential scan) stay until the connection closes and
                    // made an issuance cost O(CALs). Planning each execution costs about 30 µs a statement.
                    client.batch_execute("SET synchronous_commit = on; SET plan_cache_mode = force_custom_plan")?;
                    Ok(client)
                });
                return match connected {
                    Ok(client) => Ok(Conn {
                        client,
                        statements: HashMap::new(),
                    }),
                    Err(e) => {
                        let mut pool = lock(&self.pool);
                        pool.open = pool.open.saturating_sub(1);
                        self.freed.notify_one();
                        Err(StoreError::Unavailable(chain(&e)))
                    }
                };
            }
            pool = self.freed.wait(pool).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, client: Conn) {
        let mut pool = lock(&self.pool);
        if client.client.is_closed() {
            pool.open = pool.open.saturating_sub(1);
        } else {
            pool.idle.push(client);
        }
        self.freed.notify_one();
    }

    fn run<T>(&self, read_only: bool, f: TxFn<'_, T>) -> Result<T, StoreError> {
        let mut conn = self.take()?;
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let r = (|| {
                let mut tx = conn
                    .client
                    .build_transaction()
                    .isolation_level(IsolationLevel::ReadCommitted)
                    .read_only(read_only)
                    .start()
                    .map_err(err)?;
                let v = f(&mut Tx {
                    tx: &mut tx,
                    statements: &mut conn.statements,
                })?;
                tx.commit().map_err(err)?;
                Ok(v)
            })();
            match r {
                Err(StoreError::Conflict(_)) if attempt < MAX_ATTEMPTS => continue,
                other => break other,
            }
        };
        self.give_back(conn);
        result
    }
}

impl PostgresStore {
    /// Runs `f` on a pooled connection outside any transaction block: each statement commits (or, for a read, takes
    /// its snapshot) on its own — one round trip where `BEGIN; ...; COMMIT` takes three. Only for closures whose
    /// statements need no common snapshot: a single read.
    fn run_autocommit<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        let mut conn = self.take()?;
        let result = f(&mut Tx {
            tx: &mut conn.client,
            statements: &mut conn.statements,
        });
        self.give_back(conn);
        result
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            // Parameters are inferred by PostgreSQL; every column is BIGINT, but an expression may infer a narrower type.
            Value::Int(v) => match *ty {
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
            // The statements cast array parameters (`$1::bigint[]`), so the element types are exact.
            Value::Ints(v) => v.to_sql(ty, out),
            Value::Texts(v) => v.to_sql(ty, out),
            Value::Blobs(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Statements on a transaction, or on the bare connection (autocommit: [`PostgresStore::run_autocommit`]).
struct Tx<'a, C> {
    tx: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
}

impl<C: GenericClient> Tx<'_, C> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(err)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| -> &(dyn ToSql + Sync) { v }).collect()
}

impl<C: GenericClient> Db for Tx<'_, C> {
    fn exec(&mut self, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
        let stmt = self.prepare(sql)?;
        self.tx.execute(&stmt, &params(values)).map_err(err)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.prepare(sql)?;
        let rows = self.tx.query(&stmt, &params(values)).map_err(err)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Value>(i).map_err(err))
                    .collect()
            })
            .collect()
    }

    fn for_update(&self) -> &'static str {
        " FOR UPDATE"
    }
}

impl Backend for PostgresStore {
    const MULTI_ROW: bool = true;
    const GROUP_COMMIT: bool = false;
    const NAME: &'static str = "postgres";

    fn write<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        self.run(false, f)
    }

    fn read<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        self.run(true, f)
    }

    fn group(&self) -> &GroupCommit {
        &self.group
    }

    fn read_one_statement<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        self.run_autocommit(f)
    }
}

/// A database made for one run on a PostgreSQL server (`CREATE DATABASE`) and dropped (`DROP DATABASE ... WITH
/// (FORCE)`) with this value, so that a run that initialises a license server identity (`rdlic bench server
/// --database URL`) can be repeated against the same server. Create it off any async runtime (the client is
/// synchronous).
#[derive(Debug)]
pub struct ScratchDatabase {
    base: Config,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `PREFIX_PID_NANOS` on the server of `url` (which needs the CREATEDB privilege).
    pub fn create(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let base: Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::BadUrl(format!("{}: {e}", crate::pgtls::redact(url))))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("{prefix}_{}_{nanos}", std::process::id());
        create_database(&base, &name)?;
        let url = with_dbname(url, &name);
        Ok(Self { base, name, url })
    }

    /// The URL of the scratch database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl ScratchDatabase {
    /// Drops the database now (off any async runtime), closing what is still connected to it.
    pub fn remove(mut self) -> Result<(), StoreError> {
        let result = drop_database(&self.base, &self.name);
        self.name.clear();
        result
    }
}

/// `CREATE DATABASE name` on the server of `base`; the configuration of the new database.
pub(crate) fn create_database(base: &Config, name: &str) -> Result<Config, StoreError> {
    let mut admin = base.connect(NoTls).map_err(err)?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .map_err(err)?;
    let mut config = base.clone();
    config.dbname(name);
    Ok(config)
}

fn drop_database(base: &Config, name: &str) -> Result<(), StoreError> {
    let mut admin = base.connect(NoTls).map_err(err)?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .map_err(err)
}

impl Drop for ScratchDatabase {
    /// Best effort when [`ScratchDatabase::remove`] was not called (an early error of the run).
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (base, name) = (self.base.clone(), std::mem::take(&mut self.name));
        // A thread of its own: the synchronous client cannot run on an async runtime's thread.
        let _ = std::thread::spawn(move || drop_database(&base, &name)).join();
    }
}

/// `url` naming the database `name` instead of its own (URL or `key=value` form).
fn with_dbname(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // key=value form: a later key wins.
        return format!("{url} dbname={name}");
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let authority = path.split_once('/').map_or(path, |(a, _)| a);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn the_database_of_a_url_is_replaced_and_the_rest_kept() {
        assert_eq!(with_dbname("postgres://u@h:5/postgres", "x"), "postgres://u@h:5/x");
        assert_eq!(with_dbname("postgresql://u:p@h/db?sslmode=disable", "x"), "postgresql://u:p@h/x?sslmode=disable");
        assert_eq!(with_dbname("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(with_dbname("host=h user=u dbname=d", "x"), "host=h user=u dbname=d dbname=x");
    }
}
