//! `rdlic server init`: the data directory and the database made ahead of the first run, and the admin password.
//! `rdlic server run` still initialises a missing data directory by itself; `init` is for setting the password
//! (and for provisioning tools that want the admin token before the service starts).

use std::path::{Path, PathBuf};

use crate::datadir::DataDir;

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// Keys, certificates or the directory.
    #[error(transparent)]
    Pki(#[from] rdlic_api::pki::PkiError),
    /// The password is unusable.
    #[error(transparent)]
    Password(#[from] crate::password::PasswordError),
    /// The database could not be opened, migrated or written.
    #[error("license database: {0}")]
    Store(#[from] rdlic_store::StoreError),
}

/// What `init` did.
#[derive(Debug, Clone)]
pub struct Initialised {
    /// The data directory.
    pub dir: PathBuf,
    /// The admin bearer token (also in `DIR/admin.token`).
    pub admin_token: String,
    /// The license server id.
    pub server_id: rdlic_core::ServerId,
    /// Whether an admin password was set now.
    pub password_set: bool,
}

/// Creates what is missing in `dir` (as the first `rdlic server run` does), opens and migrates the database
/// (`database` as for `--database`: `postgres://...`, `sqlite://PATH`, a SQLite path, or `None` for `DIR/rdlic.db`),
/// records the server identity, and sets the admin password when one is given. Blocking.
pub fn init(
    dir: &Path,
    database: Option<&str>,
    sans: &[String],
    admin_password: Option<&str>,
) -> Result<Initialised, InitError> {
    let hash = admin_password.map(crate::password::hash).transpose()?;
    let dd = DataDir::open_or_init(dir, sans)?;
    let url = database.map(|u| if u.contains("://") { u.to_owned() } else { format!("sqlite://{u}") });
    let store = rdlic_store::open_store(&dd.dir, url.as_deref())?;
    let spki = dd.identity_key.public_key_to_der().map_err(rdlic_api::pki::PkiError::from)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    store.init_server_identity(&spki, now)?;
    if let Some(hash) = &hash {
        store.set_admin_password_hash(hash, "cli", now)?;
    }
    Ok(Initialised { dir: dd.dir, admin_token: dd.admin_token, server_id: dd.server_id, password_set: hash.is_some() })
}
