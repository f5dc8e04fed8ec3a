//! The small SQL surface both backends share: positional `$N` parameters, four value types, one transaction at a
//! time. The licensing logic (`logic.rs`) is written once against [`Db`]; each backend implements it on its own
//! transaction type.

use crate::StoreError;

/// A SQL value: every column of the schema is BIGINT/INTEGER, TEXT or BLOB/BYTEA.
///
/// The array variants are parameters of the PostgreSQL-only multi-row statements (`unnest($1::bytea[], ...)`, see
/// `bulk.rs`): SQLite has no array type and refuses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    /// `bigint[]`.
    Ints(Vec<i64>),
    /// `text[]`.
    Texts(Vec<String>),
    /// `bytea[]`.
    Blobs(Vec<Vec<u8>>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self::Blob(v.to_vec())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Int(i64::from(v))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

pub(crate) type Row = Vec<Value>;

/// One open transaction.
pub(crate) trait Db {
    /// Runs a statement; returns the number of rows changed.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a query; returns all rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// `" FOR UPDATE"` where row locks exist (PostgreSQL), `""` where the transaction already holds the write lock
    /// (SQLite `BEGIN IMMEDIATE`).
    fn for_update(&self) -> &'static str;
}

/// Typed access to a row, with [`StoreError::Corrupt`] naming the table on a type mismatch.
pub(crate) struct Get<'a> {
    pub(crate) row: &'a Row,
    pub(crate) table: &'static str,
}

impl Get<'_> {
    fn bad(&self, i: usize, want: &str) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            detail: format!("column {i}: expected {want}, got {:?}", self.row.get(i)),
        }
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.row.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            _ => Err(self.bad(i, "integer")),
        }
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.row.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub(crate) fn u32(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| self.bad(i, "u32"))
    }

    pub(crate) fn u16(&self, i: usize) -> Result<u16, StoreError> {
        u16::try_from(self.int(i)?).map_err(|_| self.bad(i, "u16"))
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.row.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            _ => Err(self.bad(i, "text")),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.row.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub(crate) fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.row.get(i) {
            Some(Value::Blob(v)) => Ok(v.clone()),
            _ => Err(self.bad(i, "blob")),
        }
    }

    pub(crate) fn array<const N: usize>(&self, i: usize) -> Result<[u8; N], StoreError> {
        self.blob(i)?
            .try_into()
            .map_err(|_| self.bad(i, "fixed-size blob"))
    }

    pub(crate) fn opt_array<const N: usize>(&self, i: usize) -> Result<Option<[u8; N]>, StoreError> {
        match self.row.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.array(i).map(Some),
        }
    }
}
