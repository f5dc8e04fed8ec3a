//! Issuance policy as pure functions (`reference/rds-facts.md` §2.1, §2.2).
//!
//! The store reads the state it needs inside a database transaction, asks these functions what to do, and writes
//! the result in the same transaction. Nothing here reads a clock or draws a random number.
//!
//! Per device ([§2.1]): a temporary CAL (90 days) at the first request; at the next connection a permanent CAL when
//! the server is activated and a pack of a fitting version has a free CAL; a permanent CAL lives a random 52–89 days
//! and is renewed when ≤ 7 days are left; one that expires un-renewed returns to the pool.
//! Revocation ([§2.2]): per-device permanent CALs only; the slot is free again at once, but the revoked CAL counts
//! against the limit max(1, 20 % of the installed CALs of its version) until the instant it would have expired.
//! Per user: tracked, 60 days, extended when the user signs in within the last 7 days; over-allocation is allowed
//! and reported unless the operator enforces it.

use crate::ids::KeyPackId;
use crate::version::CalVersion;
use crate::DAY;

/// [§2.1] "Temporary RDS CALs … are valid for 90 days."
pub const TEMPORARY_CAL_DAYS: i64 = 90;
/// [§2.1] "Permanent RDS CALs are valid for a random period of 52–89 days before renewal."
pub const PERMANENT_MIN_DAYS: i64 = 52;
/// Upper bound (inclusive) of the permanent validity.
pub const PERMANENT_MAX_DAYS: i64 = 89;
/// [§2.1] renewal "if the expiration date … is within seven days".
pub const RENEWAL_WINDOW_DAYS: i64 = 7;
/// [§2.1] "Per user RDS CALs show as expiring 60 days after they're issued."
pub const PER_USER_DAYS: i64 = 60;
/// [§2.2] "You can only revoke 20% of a specific version of a CAL or one CAL, whichever is more."
pub const REVOCATION_PERCENT: u32 = 20;

/// Temporary or permanent (per-device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceCalKind {
    /// 90 days, issued without taking a CAL from a pack.
    Temporary,
    /// Taken from a key pack.
    Permanent,
}

impl DeviceCalKind {
    /// `temporary` / `permanent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Permanent => "permanent",
        }
    }

    /// Inverse of [`DeviceCalKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "temporary" => Some(Self::Temporary),
            "permanent" => Some(Self::Permanent),
            _ => None,
        }
    }
}

/// What the policy needs to know about one active (not revoked, not superseded) per-device CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCalView {
    /// Temporary or permanent.
    pub kind: DeviceCalKind,
    /// Its CAL version.
    pub version: CalVersion,
    /// Unix seconds.
    pub expires_at: i64,
    /// For a permanent CAL: the expiry of its pack (`None`: the pack never expires). Ignored for temporary CALs.
    pub pack_expires_at: Option<i64>,
}

/// Why a per-device request gets no CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceRefusal {
    /// The device's temporary CAL expired and no permanent CAL could be issued.
    #[error("the temporary CAL of this device expired at {expired_at} and no permanent CAL is available: install and activate CALs")]
    TemporaryExpired {
        /// Unix seconds.
        expired_at: i64,
    },
    /// The device's permanent CAL expired un-renewed (it returned to the pool) and the pool is empty now.
    #[error("the permanent CAL of this device expired at {expired_at} and no CAL is free: install more CALs or revoke unused ones")]
    NoPermanentAvailable {
        /// Unix seconds.
        expired_at: i64,
    },
    /// The device's permanent CAL expired and the server is not activated, so it may not issue a new one.
    #[error("the license server is not activated: activate it to issue permanent CALs")]
    NotActivated,
}

/// What to do with one per-device request, before looking at the packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStep {
    /// Return the current CAL unchanged.
    KeepCurrent,
    /// Issue a temporary CAL expiring at `expires_at` (first request of this device for this version).
    IssueTemporary {
        /// Unix seconds.
        expires_at: i64,
    },
    /// Take a permanent CAL from a pack chosen by [`choose_pack`] (releasing the current CAL's slot first if it is
    /// permanent); if no pack has a free CAL, do `fallback`.
    AllocatePermanent {
        /// What to do when the pool is empty.
        fallback: Fallback,
    },
    /// Extend the current permanent CAL in its pack slot, to [`permanent_expiry`].
    Renew,
    /// No CAL.
    Refuse(DeviceRefusal),
}

/// What to do when [`DeviceStep::AllocatePermanent`] finds no free CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The current CAL stays valid (a temporary still within its 90 days, or a permanent within its last 7 days).
    KeepCurrent,
    /// Refuse.
    Refuse(DeviceRefusal),
}

/// Expiry of a temporary CAL issued at `now`.
pub fn temporary_expiry(now: i64) -> i64 {
    now.saturating_add(TEMPORARY_CAL_DAYS * DAY)
}

/// Expiry of a permanent CAL issued or renewed at `now`: a validity of 52–89 days picked by `random` (uniform
/// enough for any u64 source; the bias of the modulo is below 10⁻¹⁷), never past the pack's own expiry.
pub fn permanent_expiry(now: i64, random: u64, pack_expires_at: Option<i64>) -> i64 {
    let span = u64::try_from(PERMANENT_MAX_DAYS - PERMANENT_MIN_DAYS + 1).unwrap_or(1);
    let extra = i64::try_from(random % span).unwrap_or(0);
    let t = now.saturating_add((PERMANENT_MIN_DAYS + extra) * DAY);
    match pack_expires_at {
        Some(p) => t.min(p),
        None => t,
    }
}

/// Among the active CALs of one device, the one that licenses a host of `host_version`: CALs that do not serve the
/// host are ignored; an unexpired permanent CAL beats an unexpired temporary one, which beats an expired one; then
/// the lowest version (keep the newer CALs for newer hosts). Returns the index into `cals`.
pub fn current_device_cal(cals: &[DeviceCalView], host_version: CalVersion, now: i64) -> Option<usize> {
    let rank = |c: &DeviceCalView| -> (u8, CalVersion) {
        let live = now < c.expires_at;
        let r = match (live, c.kind) {
            (true, DeviceCalKind::Permanent) => 0,
            (true, DeviceCalKind::Temporary) => 1,
            (false, DeviceCalKind::Permanent) => 2,
            (false, DeviceCalKind::Temporary) => 3,
        };
        (r, c.version)
    };
    cals.iter()
        .enumerate()
        .filter(|(_, c)| c.version.serves(host_version))
        .min_by_key(|(_, c)| rank(c))
        .map(|(i, _)| i)
}

/// The per-device decision for a device whose current CAL (from [`current_device_cal`]) is `current`.
pub fn plan_device_request(current: Option<&DeviceCalView>, activated: bool, now: i64) -> DeviceStep {
    let Some(cal) = current else {
        return DeviceStep::IssueTemporary {
            expires_at: temporary_expiry(now),
        };
    };
    let expired = now >= cal.expires_at;
    match (cal.kind, expired) {
        (DeviceCalKind::Temporary, false) if activated => DeviceStep::AllocatePermanent {
            fallback: Fallback::KeepCurrent,
        },
        (DeviceCalKind::Temporary, false) => DeviceStep::KeepCurrent,
        (DeviceCalKind::Temporary, true) => {
            let refusal = DeviceRefusal::TemporaryExpired {
                expired_at: cal.expires_at,
            };
            if activated {
                DeviceStep::AllocatePermanent {
                    fallback: Fallback::Refuse(refusal),
                }
            } else {
                DeviceStep::Refuse(refusal)
            }
        }
        (DeviceCalKind::Permanent, false) => {
            if cal.expires_at - now > RENEWAL_WINDOW_DAYS * DAY || !activated {
                DeviceStep::KeepCurrent
            } else if cal.pack_expires_at.is_none_or(|p| now < p) {
                DeviceStep::Renew
            } else {
                // Its pack expired: move the device to another pack if one has room.
                DeviceStep::AllocatePermanent {
                    fallback: Fallback::KeepCurrent,
                }
            }
        }
        (DeviceCalKind::Permanent, true) if activated => DeviceStep::AllocatePermanent {
            fallback: Fallback::Refuse(DeviceRefusal::NoPermanentAvailable {
                expired_at: cal.expires_at,
            }),
        },
        (DeviceCalKind::Permanent, true) => DeviceStep::Refuse(DeviceRefusal::NotActivated),
    }
}

/// A pack of the requested CAL type, as seen inside the issuing transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackCandidate {
    /// Pack id.
    pub id: KeyPackId,
    /// CAL version of the pack.
    pub version: CalVersion,
    /// CALs not issued (installed − issued, expired CALs already returned).
    pub free: u32,
    /// Pack expiry.
    pub expires_at: Option<i64>,
}

/// [§2.6] The pack to take a CAL from for a host of `host_version`: a valid pack with a free CAL whose version
/// serves the host, the exact version first, else the lowest newer one ("prefer exact-version pack, else a newer
/// pack"); among equals the one expiring first, then the lowest id (deterministic).
pub fn choose_pack(candidates: &[PackCandidate], host_version: CalVersion, now: i64) -> Option<KeyPackId> {
    candidates
        .iter()
        .filter(|p| p.free > 0 && p.version.serves(host_version) && p.expires_at.is_none_or(|t| now < t))
        .min_by_key(|p| (p.version, p.expires_at.unwrap_or(i64::MAX), p.id))
        .map(|p| p.id)
}

/// [§2.2] Why a revocation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeRefusal {
    /// Only permanent per-device CALs can be revoked.
    #[error("only permanent per-device CALs can be revoked")]
    NotPermanent,
    /// Already revoked, superseded or expired: nothing to give back.
    #[error("the CAL is no longer active (revoked, replaced or expired)")]
    NotActive,
    /// The revoked-state limit of this CAL version is reached.
    #[error("{in_revoked_state} of at most {limit} CALs of version {version} are revoked: the next revocation is possible at {next_allowed_at} (unix time)")]
    LimitReached {
        /// CAL version.
        version: CalVersion,
        /// max(1, 20 % of installed).
        limit: u32,
        /// Revoked CALs of that version not yet past their original expiry.
        in_revoked_state: u32,
        /// When the first of them reaches its original expiry (WMI `NextRevokeAllowedOn`).
        next_allowed_at: i64,
    },
}

/// [§2.2] max(1, 20 % of the CALs of one version installed), rounded down.
pub fn revocation_limit(installed: u32) -> u32 {
    (u64::from(installed) * u64::from(REVOCATION_PERCENT) / 100)
        .try_into()
        .unwrap_or(u32::MAX)
        .max(1)
}

/// May `cal` (an active CAL) be revoked? `installed` is the number of per-device CALs of its version installed;
/// `revoked_until` holds the original expiries of the revoked CALs of that version.
pub fn check_revocation(
    cal: &DeviceCalView,
    installed: u32,
    revoked_until: &[i64],
    now: i64,
) -> Result<(), RevokeRefusal> {
    if cal.kind != DeviceCalKind::Permanent {
        return Err(RevokeRefusal::NotPermanent);
    }
    if now >= cal.expires_at {
        return Err(RevokeRefusal::NotActive);
    }
    let limit = revocation_limit(installed);
    let live: Vec<i64> = revoked_until.iter().copied().filter(|&t| t > now).collect();
    let in_revoked_state = u32::try_from(live.len()).unwrap_or(u32::MAX);
    if in_revoked_state >= limit {
        let next_allowed_at = live.iter().copied().min().unwrap_or(now);
        return Err(RevokeRefusal::LimitReached {
            version: cal.version,
            limit,
            in_revoked_state,
            next_allowed_at,
        });
    }
    Ok(())
}

/// What the policy needs to know about a user's current per-user CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCalView {
    /// CAL version.
    pub version: CalVersion,
    /// Unix seconds.
    pub expires_at: i64,
    /// Issued beyond the installed per-user CALs.
    pub over_allocated: bool,
}

/// What to do with a per-user checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStep {
    /// Valid for more than the renewal window: record the sign-in (host, last seen) only.
    Touch,
    /// Within the last 7 days: extend to `expires_at` (another 60 days) in the same slot.
    Refresh {
        /// Unix seconds.
        expires_at: i64,
    },
    /// No usable CAL (none, expired, wrong version, or over-allocated and a slot may have freed): take one from the
    /// pool (see [`user_allocation`]), releasing the current one first.
    Allocate {
        /// Unix seconds.
        expires_at: i64,
    },
}

/// Why a per-user checkout gets no CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserRefusal {
    /// Enforcement is on and every per-user CAL of a fitting version is in use.
    #[error("no per-user CAL is free and enforcement is on: install more per-user CALs")]
    NoneFree,
    /// A non-activated server issues only temporary per-device CALs.
    #[error("the license server is not activated: activate it to issue per-user CALs")]
    NotActivated,
}

/// The per-user decision.
pub fn plan_user_checkout(current: Option<&UserCalView>, host_version: CalVersion, now: i64) -> UserStep {
    let fresh = now.saturating_add(PER_USER_DAYS * DAY);
    match current {
        Some(c) if now < c.expires_at && c.version.serves(host_version) && !c.over_allocated => {
            if c.expires_at - now <= RENEWAL_WINDOW_DAYS * DAY {
                UserStep::Refresh { expires_at: fresh }
            } else {
                UserStep::Touch
            }
        }
        _ => UserStep::Allocate { expires_at: fresh },
    }
}

/// [§2.1] "Can be over-allocated": with a free CAL → `Ok(false)`; without, `Ok(true)` (over-allocated, reported)
/// unless `enforce`, then refused.
pub fn user_allocation(free_cal: bool, enforce: bool) -> Result<bool, UserRefusal> {
    match (free_cal, enforce) {
        (true, _) => Ok(false),
        (false, false) => Ok(true),
        (false, true) => Err(UserRefusal::NoneFree),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn view(kind: DeviceCalKind, v: u16, expires_at: i64) -> DeviceCalView {
        DeviceCalView {
            kind,
            version: CalVersion(v),
            expires_at,
            pack_expires_at: None,
        }
    }

    #[test]
    fn first_request_gets_a_temporary_cal_for_90_days() {
        assert_eq!(
            plan_device_request(None, true, NOW),
            DeviceStep::IssueTemporary {
                expires_at: NOW + 90 * DAY
            }
        );
        assert_eq!(
            plan_device_request(None, false, NOW),
            DeviceStep::IssueTemporary {
                expires_at: NOW + 90 * DAY
            }
        );
    }

    #[test]
    fn second_request_upgrades_only_when_activated() {
        let t = view(DeviceCalKind::Temporary, 2022, NOW + DAY);
        assert_eq!(
            plan_device_request(Some(&t), true, NOW),
            DeviceStep::AllocatePermanent {
                fallback: Fallback::KeepCurrent
            }
        );
        assert_eq!(plan_device_request(Some(&t), false, NOW), DeviceStep::KeepCurrent);
        let expired = view(DeviceCalKind::Temporary, 2022, NOW);
        assert_eq!(
            plan_device_request(Some(&expired), false, NOW),
            DeviceStep::Refuse(DeviceRefusal::TemporaryExpired { expired_at: NOW })
        );
    }

    #[test]
    fn permanent_renews_within_seven_days_only() {
        let far = view(DeviceCalKind::Permanent, 2022, NOW + 7 * DAY + 1);
        assert_eq!(
            plan_device_request(Some(&far), true, NOW),
            DeviceStep::KeepCurrent
        );
        let near = view(DeviceCalKind::Permanent, 2022, NOW + 7 * DAY);
        assert_eq!(plan_device_request(Some(&near), true, NOW), DeviceStep::Renew);
        let gone = view(DeviceCalKind::Permanent, 2022, NOW);
        assert!(matches!(
            plan_device_request(Some(&gone), true, NOW),
            DeviceStep::AllocatePermanent {
                fallback: Fallback::Refuse(DeviceRefusal::NoPermanentAvailable { .. })
            }
        ));
        let mut pack_gone = near;
        pack_gone.pack_expires_at = Some(NOW);
        assert_eq!(
            plan_device_request(Some(&pack_gone), true, NOW),
            DeviceStep::AllocatePermanent {
                fallback: Fallback::KeepCurrent
            }
        );
    }

    #[test]
    fn permanent_validity_is_52_to_89_days_and_capped_by_the_pack() {
        let days = |r| (permanent_expiry(NOW, r, None) - NOW) / DAY;
        assert_eq!(days(0), 52);
        assert_eq!(days(37), 89);
        assert_eq!(days(38), 52);
        assert!((0..1000u64)
            .map(|r| days(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .all(|d| (52..=89).contains(&d)));
        assert_eq!(permanent_expiry(NOW, 5, Some(NOW + DAY)), NOW + DAY);
    }

    #[test]
    fn current_cal_prefers_live_permanent_then_lowest_serving_version() {
        let cals = [
            view(DeviceCalKind::Temporary, 2019, NOW + DAY),
            view(DeviceCalKind::Permanent, 2025, NOW + DAY),
            view(DeviceCalKind::Permanent, 2022, NOW + DAY),
            view(DeviceCalKind::Permanent, 2016, NOW + DAY),
        ];
        assert_eq!(current_device_cal(&cals, CalVersion(2019), NOW), Some(2));
        assert_eq!(current_device_cal(&cals, CalVersion(2025), NOW), Some(1));
        assert_eq!(current_device_cal(&cals[..1], CalVersion(2022), NOW), None);
    }

    #[test]
    fn pack_choice_prefers_exact_version_then_newer() {
        let p = |id: u8, v: u16, free: u32| PackCandidate {
            id: KeyPackId([id; 16]),
            version: CalVersion(v),
            free,
            expires_at: None,
        };
        let packs = [p(1, 2025, 5), p(2, 2019, 5), p(3, 2022, 0), p(4, 2016, 9)];
        assert_eq!(
            choose_pack(&packs, CalVersion(2019), NOW),
            Some(KeyPackId([2; 16]))
        );
        assert_eq!(
            choose_pack(&packs, CalVersion(2022), NOW),
            Some(KeyPackId([1; 16]))
        );
        assert_eq!(choose_pack(&packs[2..3], CalVersion(2022), NOW), None);
        let mut expired = p(5, 2022, 5);
        expired.expires_at = Some(NOW);
        assert_eq!(choose_pack(&[expired], CalVersion(2022), NOW), None);
    }

    #[test]
    fn revocation_limit_is_max_one_or_twenty_percent() {
        assert_eq!(revocation_limit(0), 1);
        assert_eq!(revocation_limit(4), 1);
        assert_eq!(revocation_limit(10), 2);
        assert_eq!(revocation_limit(100), 20);
        let cal = view(DeviceCalKind::Permanent, 2022, NOW + 30 * DAY);
        assert_eq!(check_revocation(&cal, 10, &[NOW + 5, NOW - 1], NOW), Ok(()));
        assert_eq!(
            check_revocation(&cal, 10, &[NOW + 50, NOW + 5, NOW - 1], NOW),
            Err(RevokeRefusal::LimitReached {
                version: CalVersion(2022),
                limit: 2,
                in_revoked_state: 2,
                next_allowed_at: NOW + 5
            })
        );
        let temp = view(DeviceCalKind::Temporary, 2022, NOW + DAY);
        assert_eq!(
            check_revocation(&temp, 10, &[], NOW),
            Err(RevokeRefusal::NotPermanent)
        );
    }

    #[test]
    fn per_user_refreshes_near_expiry_and_over_allocates_unless_enforced() {
        let v = CalVersion(2022);
        assert_eq!(
            plan_user_checkout(None, v, NOW),
            UserStep::Allocate {
                expires_at: NOW + 60 * DAY
            }
        );
        let c = UserCalView {
            version: v,
            expires_at: NOW + 30 * DAY,
            over_allocated: false,
        };
        assert_eq!(plan_user_checkout(Some(&c), v, NOW), UserStep::Touch);
        let c = UserCalView {
            expires_at: NOW + 6 * DAY,
            ..c
        };
        assert_eq!(
            plan_user_checkout(Some(&c), v, NOW),
            UserStep::Refresh {
                expires_at: NOW + 60 * DAY
            }
        );
        assert_eq!(user_allocation(true, true), Ok(false));
        assert_eq!(user_allocation(false, false), Ok(true));
        assert_eq!(user_allocation(false, true), Err(UserRefusal::NoneFree));
    }
}
