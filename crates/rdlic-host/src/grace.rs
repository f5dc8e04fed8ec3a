//! The licensing grace period ([rds-facts 2.3]): 120 days (configurable) from the host's first start, persisted
//! in the data directory (`grace.toml`), ended early by the first permanent CAL (MS-RDPELE glossary).
//!
//! Time is passed in as seconds since the Unix epoch ([`Clock`] gives the host's, possibly advanced, time).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the grace record inside the host data directory.
pub const GRACE_FILE: &str = "grace.toml";

const SECONDS_PER_DAY: u64 = 86_400;

/// The host's clock: the system time shifted by a whole number of days, so that tests and demos can run a host
/// "121 days later" without waiting (`rdlic host run --clock-offset-days 121`, or env `RDLIC_CLOCK_OFFSET_DAYS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Days added to the system time (may be negative).
    pub offset_days: i64,
}

impl Clock {
    /// A clock `offset_days` ahead of the system time.
    pub fn with_offset_days(offset_days: i64) -> Self {
        Self { offset_days }
    }

    /// Seconds since the Unix epoch, shifted.
    pub fn now(&self) -> u64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let offset = self.offset_days.unsigned_abs().saturating_mul(SECONDS_PER_DAY);
        if self.offset_days >= 0 {
            system.saturating_add(offset)
        } else {
            system.saturating_sub(offset)
        }
    }
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraceError {
    #[error("cannot read the grace period record {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the grace period record {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the grace period record {path} is damaged ({message}); delete it to start a new grace period")]
    Parse { path: PathBuf, message: String },
}

/// The persisted grace period state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraceRecord {
    /// When the host first started (Unix seconds).
    pub first_start: u64,
    /// When the host first received a permanent CAL, which ends the grace period.
    #[serde(default)]
    pub ended_by_permanent_cal: Option<u64>,
}

/// Where the grace period stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraceStatus {
    /// Still running: whole days left (rounded up, like `GetGracePeriodDays`) and the instant it ends.
    Running { days_left: u32, ends_at: u64 },
    /// Over because its duration elapsed.
    Expired { ended_at: u64 },
    /// Over because a permanent CAL was received.
    EndedByPermanentCal { at: u64 },
}

impl GraceStatus {
    /// Whether clients may still be admitted without a license server.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Running { .. })
    }

    /// Days left as `GetGracePeriodDays` reports them: 0 once over.
    pub fn days_left(self) -> u32 {
        match self {
            Self::Running { days_left, .. } => days_left,
            _ => 0,
        }
    }
}

impl GraceRecord {
    /// A record for a host first started at `now`.
    pub fn new(now: u64) -> Self {
        Self { first_start: now, ended_by_permanent_cal: None }
    }

    /// The grace period status at `now` for a period of `period_days`.
    pub fn status(&self, now: u64, period_days: u32) -> GraceStatus {
        if let Some(at) = self.ended_by_permanent_cal {
            if at <= now {
                return GraceStatus::EndedByPermanentCal { at };
            }
        }
        let ends_at = self.first_start.saturating_add(u64::from(period_days).saturating_mul(SECONDS_PER_DAY));
        if now >= ends_at {
            return GraceStatus::Expired { ended_at: ends_at };
        }
        let left = ends_at - now;
        let days_left = u32::try_from(left.div_ceil(SECONDS_PER_DAY)).unwrap_or(u32::MAX);
        GraceStatus::Running { days_left, ends_at }
    }

    /// Records the first permanent CAL; returns whether this call ended the grace period.
    pub fn end_by_permanent_cal(&mut self, now: u64) -> bool {
        if self.ended_by_permanent_cal.is_some() {
            return false;
        }
        self.ended_by_permanent_cal = Some(now);
        true
    }

    /// Path of the record in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(GRACE_FILE)
    }

    /// Reads the record of `dir`, if the host has started before.
    pub fn load(dir: &Path) -> Result<Option<Self>, GraceError> {
        let path = Self::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map(Some).map_err(|e| GraceError::Parse { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(GraceError::Read { path, source }),
        }
    }

    /// Reads the record of `dir`, creating it with `now` as the first start when there is none.
    pub fn load_or_start(dir: &Path, now: u64) -> Result<Self, GraceError> {
        if let Some(record) = Self::load(dir)? {
            return Ok(record);
        }
        let record = Self::new(now);
        record.save(dir)?;
        Ok(record)
    }

    /// Writes the record atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), GraceError> {
        let path = Self::path(dir);
        let write_err = |source| GraceError::Write { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let text = toml::to_string(self).map_err(|e| GraceError::Parse { path: path.clone(), message: e.to_string() })?;
        let tmp = dir.join(format!("{GRACE_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(write_err)?;
        std::fs::rename(&tmp, &path).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DAY: u64 = SECONDS_PER_DAY;
    const T0: u64 = 1_780_000_000;

    #[test]
    fn counts_down_like_get_grace_period_days() {
        let record = GraceRecord::new(T0);
        assert_eq!(record.status(T0, 120).days_left(), 120);
        assert_eq!(record.status(T0 + 1, 120).days_left(), 120);
        assert_eq!(record.status(T0 + DAY, 120).days_left(), 119);
        assert_eq!(record.status(T0 + 119 * DAY + 1, 120).days_left(), 1);
        assert_eq!(record.status(T0 + 120 * DAY, 120), GraceStatus::Expired { ended_at: T0 + 120 * DAY });
        assert_eq!(record.status(T0 + 400 * DAY, 120).days_left(), 0);
        assert!(record.status(T0 + 10 * DAY, 7).days_left() == 0);
    }

    #[test]
    fn first_permanent_cal_ends_it_once() {
        let mut record = GraceRecord::new(T0);
        assert!(record.end_by_permanent_cal(T0 + 3 * DAY));
        assert!(!record.end_by_permanent_cal(T0 + 4 * DAY));
        assert_eq!(record.status(T0 + 5 * DAY, 120), GraceStatus::EndedByPermanentCal { at: T0 + 3 * DAY });
        assert_eq!(record.status(T0 + 5 * DAY, 120).days_left(), 0);
    }

    #[test]
    fn persisted_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(GraceRecord::load(dir.path()).unwrap(), None);
        let first = GraceRecord::load_or_start(dir.path(), T0).unwrap();
        // A later start keeps the first start.
        let again = GraceRecord::load_or_start(dir.path(), T0 + 50 * DAY).unwrap();
        assert_eq!(first, again);
        std::fs::write(GraceRecord::path(dir.path()), "first_start = \"x\"").unwrap();
        assert!(matches!(GraceRecord::load(dir.path()), Err(GraceError::Parse { .. })));
    }

    #[test]
    fn clock_offset_moves_days() {
        let now = Clock::default().now();
        let later = Clock::with_offset_days(121).now();
        assert!(later >= now + 121 * DAY && later <= now + 121 * DAY + 5);
    }
}
