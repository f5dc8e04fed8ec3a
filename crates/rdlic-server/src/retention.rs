//! Retention of temporary per-device CALs: hardware ids are chosen by the clients, so every new one makes a device
//! row and a temporary CAL, for ever unless something deletes them. The server deletes, at start and then every
//! [`RETENTION_INTERVAL`], the temporary CALs that expired more than
//! [`ServerOptions::temporary_cal_retention_days`](crate::ServerOptions::temporary_cal_retention_days) days ago (90
//! by default; 0 keeps them for ever), each deletion recorded in the audit log (`cal-purge`), and the device rows
//! left without any CAL. Permanent CALs and revoked ones are never deleted (the revocation rule counts them).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::AppState;
use crate::error::ApiError;

/// Time between two purges.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);
/// Default of `--temporary-cal-retention-days`.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// CALs deleted per transaction (a purge runs several while there are more).
const PURGE_CHUNK: u32 = 500;

impl AppState {
    /// Deletes the temporary CALs that expired more than `retention_days` before `now` (Unix seconds); returns how
    /// many. Each deletion is audited with the actor `retention`.
    pub async fn purge_expired_temporary_cals(&self, retention_days: u32, now: i64) -> Result<u64, ApiError> {
        let cutoff = now.saturating_sub(i64::from(retention_days).saturating_mul(rdlic_core::DAY));
        let mut total = 0u64;
        loop {
            let n = self
                .blocking(move |s| s.purge_expired_temporary_cals(cutoff, PURGE_CHUNK, "retention", now))
                .await?;
            total += u64::from(n);
            if n < PURGE_CHUNK {
                break;
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, retention_days, "temporary CALs expired long ago deleted");
        }
        Ok(total)
    }
}

/// Purges at once and then every [`RETENTION_INTERVAL`] until `stopped` changes; does nothing when
/// `retention_days` is 0.
pub(crate) async fn run(state: Arc<AppState>, retention_days: u32, mut stopped: watch::Receiver<bool>) {
    if retention_days == 0 {
        return;
    }
    loop {
        let now = i64::try_from(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        )
        .unwrap_or(i64::MAX);
        if let Err(error) = state.purge_expired_temporary_cals(retention_days, now).await {
            tracing::warn!(error = %error.message, "cannot delete the temporary CALs expired long ago; retrying later");
        }
        tokio::select! {
            () = tokio::time::sleep(RETENTION_INTERVAL) => {}
            _ = stopped.changed() => return,
        }
    }
}
