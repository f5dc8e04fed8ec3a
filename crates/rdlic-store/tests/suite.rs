//! The store suite: every test runs against SQLite (a file in a temporary directory) and against PostgreSQL (a
//! fresh database on the server at `RDLIC_TEST_PG_URL`; skipped with a note when unset, failing when
//! `RDLIC_REQUIRE_PEERS=1`).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::{device_req, hwid, Fx, DAY, NOW};
use rdlic_core::policy::DeviceCalKind;
use rdlic_core::{CalType, CalVersion, DeviceRefusal, RevokeRefusal, ServerId, TokenHash, UserRefusal};
use rdlic_store::{
    AuditKind, CalSerial, CalStatus, DeviceAction, DeviceCalOutcome, InstallOutcome, LicenseStore,
    RevokeOutcome, StoreError, UserAction, UserCalOutcome, UserCalRequest,
};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(crate::common::sqlite_fx(stringify!($name))); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(fx) = crate::common::pg_fx(stringify!($name), 8) { super::$name(fx); }
            } )*
        }
    };
}

both_backends!(
    identity_is_idempotent_and_bound_to_one_key,
    activation_is_stored_and_can_be_withdrawn,
    key_pack_install_is_idempotent_and_refuses_conflicts,
    key_pack_for_another_server_is_refused_by_the_store,
    device_lifecycle_temporary_then_permanent_then_renewal,
    expired_permanent_cal_returns_to_the_pool,
    non_activated_server_issues_only_temporary_cals,
    pack_choice_prefers_exact_version_then_newer,
    revocation_is_limited_to_twenty_percent_per_version,
    per_user_tracks_over_allocates_and_enforces,
    host_enrollment_tokens_are_one_time,
    audit_log_records_every_change,
    batch_issuance_is_one_transaction,
    sixty_four_threads_never_exceed_a_pack_of_100,
    schema_version_is_current,
    plain_writes_and_concurrent_issuance_do_not_stall,
    host_reports_keep_the_latest_report_and_the_newest_refusals,
    admin_password_hash_is_stored_and_audited,
    batch_with_mixed_outcomes_answers_each_requester,
    batch_of_upgrades_fills_the_packs_in_request_order,
    user_batch_answers_sign_ins_that_change_nothing_without_writing,
    sixty_four_concurrent_batches_never_exceed_a_pack_of_100,
    revocation_racing_renewal_keeps_the_pack_counter_exact,
    one_failing_request_does_not_fail_its_batch,
    temporary_cals_expired_long_ago_are_purged_and_audited,
);

fn granted(o: DeviceCalOutcome) -> (rdlic_store::DeviceCal, DeviceAction) {
    match o {
        DeviceCalOutcome::Granted { cal, action } => (cal, action),
        DeviceCalOutcome::Refused(r) => panic!("refused: {r}"),
    }
}

fn pack_issued(store: &dyn LicenseStore, now: i64) -> Vec<(u32, u32)> {
    store
        .list_key_packs(now)
        .unwrap()
        .iter()
        .map(|p| (p.issued, p.available))
        .collect()
}

fn identity_is_idempotent_and_bound_to_one_key(fx: Fx) {
    let s = fx.store.server_state().unwrap().unwrap();
    assert_eq!(s.server_id, fx.server_id);
    assert!(!s.is_activated());
    // Same key again: same state.
    assert_eq!(fx.store.init_server_identity(&fx.server_pk, NOW + 5).unwrap(), s);
    // Another key: refused, the database belongs to the first.
    let (_, other) = common::keys();
    assert!(matches!(
        fx.store.init_server_identity(&other, NOW),
        Err(StoreError::IdentityMismatch { recorded, .. }) if recorded == fx.server_id
    ));
}

fn activation_is_stored_and_can_be_withdrawn(fx: Fx) {
    fx.activate();
    let s = fx.store.server_state().unwrap().unwrap();
    assert!(s.is_activated());
    assert_eq!(s.activated_at, Some(NOW));
    assert_eq!(s.activation.unwrap().server_id, fx.server_id);
    let s = fx.store.deactivate("test", NOW + 1).unwrap();
    assert!(!s.is_activated());
}

fn key_pack_install_is_idempotent_and_refuses_conflicts(fx: Fx) {
    let p = fx.pack_for(fx.server_id, 1, CalType::PerDevice, 2022, 10);
    assert_eq!(
        fx.store.install_key_pack(&p, "t", NOW).unwrap(),
        InstallOutcome::Installed
    );
    assert_eq!(
        fx.store.install_key_pack(&p, "t", NOW).unwrap(),
        InstallOutcome::AlreadyInstalled
    );
    // Same id, other content (count 20) and so another signature: refused.
    let q = fx.pack_for(fx.server_id, 1, CalType::PerDevice, 2022, 20);
    assert!(matches!(
        fx.store.install_key_pack(&q, "t", NOW),
        Err(StoreError::PackConflict { .. })
    ));
    let packs = fx.store.list_key_packs(NOW).unwrap();
    assert_eq!(packs.len(), 1);
    assert_eq!(packs[0].signed.pack.count, 10);
    assert_eq!(packs[0].signed, *p.signed());
    let av = fx.store.availability(NOW).unwrap();
    assert_eq!(av.len(), 1);
    assert_eq!((av[0].installed, av[0].issued, av[0].available), (10, 0, 10));
}

fn key_pack_for_another_server_is_refused_by_the_store(fx: Fx) {
    // The core refuses it first; the store checks again against the identity it holds.
    let other = ServerId([9; 16]);
    let p = fx.pack_for(other, 2, CalType::PerDevice, 2022, 10);
    assert!(matches!(
        fx.store.install_key_pack(&p, "t", NOW),
        Err(StoreError::IdentityMismatch { .. })
    ));
    assert!(fx.store.list_key_packs(NOW).unwrap().is_empty());
}

fn device_lifecycle_temporary_then_permanent_then_renewal(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 5);
    // First connection: temporary, 90 days, no pack.
    let (t, a) = granted(fx.store.request_device_cal(&device_req(1, 2022, NOW)).unwrap());
    assert_eq!(a, DeviceAction::IssuedTemporary);
    assert_eq!(
        (t.kind, t.expires_at, t.pack),
        (DeviceCalKind::Temporary, NOW + 90 * DAY, None)
    );
    assert_eq!(pack_issued(fx.store.as_ref(), NOW), vec![(0, 5)]);
    // Next connection: permanent, 52..=89 days, from the pack; the temporary is superseded.
    let later = NOW + DAY;
    let (p, a) = granted(fx.store.request_device_cal(&device_req(1, 2022, later)).unwrap());
    assert_eq!(a, DeviceAction::IssuedPermanent);
    assert_eq!(p.kind, DeviceCalKind::Permanent);
    assert!(p.serial > t.serial);
    assert_eq!(p.replaces, Some(t.serial));
    let days = (p.expires_at - later) / DAY;
    assert!((52..=89).contains(&days), "{days}");
    assert_eq!(
        fx.store.device_cal_by_serial(t.serial).unwrap().unwrap().status,
        CalStatus::Superseded
    );
    assert_eq!(pack_issued(fx.store.as_ref(), later), vec![(1, 4)]);
    // A third connection well before expiry: unchanged.
    let (same, a) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, later + DAY))
            .unwrap(),
    );
    assert_eq!((same.serial, a), (p.serial, DeviceAction::Unchanged));
    // Eight days before expiry: still unchanged; seven days: renewed in the same slot with a new serial.
    let (_, a) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, p.expires_at - 8 * DAY))
            .unwrap(),
    );
    assert_eq!(a, DeviceAction::Unchanged);
    let renew_at = p.expires_at - 7 * DAY;
    let (r, a) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, renew_at))
            .unwrap(),
    );
    assert_eq!(a, DeviceAction::Renewed);
    assert_eq!((r.replaces, r.pack), (Some(p.serial), p.pack));
    assert!((52..=89).contains(&((r.expires_at - renew_at) / DAY)));
    assert_eq!(pack_issued(fx.store.as_ref(), renew_at), vec![(1, 4)]);
    // The device's history, newest first.
    let hist = fx.store.device_cals_by_hardware_id(&hwid(1)).unwrap();
    assert_eq!(
        hist.iter().map(|c| c.serial).collect::<Vec<_>>(),
        vec![r.serial, p.serial, t.serial]
    );
    // Lookup by serial and the per-device report.
    assert_eq!(fx.store.device_cal_by_serial(r.serial).unwrap().unwrap(), r);
    assert_eq!(fx.store.device_cal_by_serial(CalSerial(999_999)).unwrap(), None);
    let active = fx
        .store
        .list_device_cals(CalSerial(0), 100, true, renew_at)
        .unwrap();
    assert_eq!(active, vec![r.clone()]);
    let all = fx
        .store
        .list_device_cals(CalSerial(0), 2, false, renew_at)
        .unwrap();
    assert_eq!(all.len(), 2);
    let rest = fx
        .store
        .list_device_cals(all[1].serial, 100, false, renew_at)
        .unwrap();
    assert_eq!(rest.len(), 1);
}

fn expired_permanent_cal_returns_to_the_pool(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 1);
    granted(fx.store.request_device_cal(&device_req(1, 2022, NOW)).unwrap());
    let (p1, a) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, NOW + 1))
            .unwrap(),
    );
    assert_eq!(a, DeviceAction::IssuedPermanent);
    // Device 2: temporary, then no free CAL: keeps its temporary.
    granted(
        fx.store
            .request_device_cal(&device_req(2, 2022, NOW + 2))
            .unwrap(),
    );
    let (t2, a) = granted(
        fx.store
            .request_device_cal(&device_req(2, 2022, NOW + 3))
            .unwrap(),
    );
    assert_eq!((t2.kind, a), (DeviceCalKind::Temporary, DeviceAction::Unchanged));
    // Device 1 never renews; after its expiry the CAL is free again and device 2 gets it.
    let after = p1.expires_at + 1;
    assert_eq!(fx.store.availability(after).unwrap()[0].available, 1);
    let (p2, a) = granted(fx.store.request_device_cal(&device_req(2, 2022, after)).unwrap());
    assert_eq!(
        (p2.kind, a),
        (DeviceCalKind::Permanent, DeviceAction::IssuedPermanent)
    );
    assert_eq!(
        fx.store.device_cal_by_serial(p1.serial).unwrap().unwrap().status,
        CalStatus::Expired
    );
    // Device 1 comes back: its CAL expired and none is free: refused, with the reason.
    let o = fx
        .store
        .request_device_cal(&device_req(1, 2022, after + 1))
        .unwrap();
    assert_eq!(
        o,
        DeviceCalOutcome::Refused(DeviceRefusal::NoPermanentAvailable {
            expired_at: p1.expires_at
        })
    );
    assert_eq!(pack_issued(fx.store.as_ref(), after + 1), vec![(1, 0)]);
}

fn non_activated_server_issues_only_temporary_cals(fx: Fx) {
    fx.install(1, CalType::PerDevice, 2022, 5);
    let (t, _) = granted(fx.store.request_device_cal(&device_req(1, 2022, NOW)).unwrap());
    let (again, a) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, NOW + DAY))
            .unwrap(),
    );
    assert_eq!(
        (again.serial, a, again.kind),
        (t.serial, DeviceAction::Unchanged, DeviceCalKind::Temporary)
    );
    // After 90 days the temporary is over and nothing else can be issued.
    let o = fx
        .store
        .request_device_cal(&device_req(1, 2022, t.expires_at))
        .unwrap();
    assert_eq!(
        o,
        DeviceCalOutcome::Refused(DeviceRefusal::TemporaryExpired {
            expired_at: t.expires_at
        })
    );
    // Per-user needs activation too.
    let u = fx
        .store
        .checkout_user_cal(&user_req("alice", NOW, false))
        .unwrap();
    assert_eq!(u, UserCalOutcome::Refused(UserRefusal::NotActivated));
    assert_eq!(pack_issued(fx.store.as_ref(), NOW), vec![(0, 5)]);
}

fn pack_choice_prefers_exact_version_then_newer(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2019, 1);
    fx.install(2, CalType::PerDevice, 2025, 1);
    // A 2019 host: the 2019 pack.
    granted(fx.store.request_device_cal(&device_req(1, 2019, NOW)).unwrap());
    let (a, _) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2019, NOW + 1))
            .unwrap(),
    );
    assert_eq!(a.version, CalVersion(2019));
    // A 2022 host: no 2022 pack, the 2025 one serves it.
    granted(fx.store.request_device_cal(&device_req(2, 2022, NOW)).unwrap());
    let (b, _) = granted(
        fx.store
            .request_device_cal(&device_req(2, 2022, NOW + 1))
            .unwrap(),
    );
    assert_eq!((b.kind, b.version), (DeviceCalKind::Permanent, CalVersion(2025)));
    // Device 1 (2019 CAL) on a 2025 host: its CAL does not serve it, so it starts over with a temporary 2025 CAL.
    let (c, act) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2025, NOW + 2))
            .unwrap(),
    );
    assert_eq!(
        (c.kind, c.version, act),
        (
            DeviceCalKind::Temporary,
            CalVersion(2025),
            DeviceAction::IssuedTemporary
        )
    );
    // ... and its 2019 CAL still licenses 2019 hosts.
    let (d, act) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2019, NOW + 3))
            .unwrap(),
    );
    assert_eq!((d.serial, act), (a.serial, DeviceAction::Unchanged));
}

fn revocation_is_limited_to_twenty_percent_per_version(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 10); // limit = max(1, 20 % of 10) = 2
    let mut perms = Vec::new();
    for n in 0..4 {
        granted(fx.store.request_device_cal(&device_req(n, 2022, NOW)).unwrap());
        perms.push(
            granted(
                fx.store
                    .request_device_cal(&device_req(n, 2022, NOW + 1))
                    .unwrap(),
            )
            .0,
        );
    }
    assert_eq!(pack_issued(fx.store.as_ref(), NOW + 1), vec![(4, 6)]);
    // A temporary CAL cannot be revoked.
    granted(fx.store.request_device_cal(&device_req(50, 2022, NOW)).unwrap());
    let temp = fx.store.device_cals_by_hardware_id(&hwid(50)).unwrap()[0].serial;
    assert_eq!(
        fx.store.revoke_device_cal(temp, "admin", NOW + 2).unwrap(),
        RevokeOutcome::Refused(RevokeRefusal::NotPermanent)
    );
    // Two revocations pass and free their slots at once.
    for p in &perms[..2] {
        match fx.store.revoke_device_cal(p.serial, "admin", NOW + 2).unwrap() {
            RevokeOutcome::Revoked(c) => {
                assert_eq!((c.status, c.status_at), (CalStatus::Revoked, Some(NOW + 2)))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(pack_issued(fx.store.as_ref(), NOW + 2), vec![(2, 8)]);
    // Revoking one again: not active.
    assert_eq!(
        fx.store
            .revoke_device_cal(perms[0].serial, "admin", NOW + 2)
            .unwrap(),
        RevokeOutcome::Refused(RevokeRefusal::NotActive)
    );
    // The third is refused and says when the next revocation becomes possible: the earliest original expiry.
    let next = perms[..2].iter().map(|p| p.expires_at).min().unwrap();
    assert_eq!(
        fx.store
            .revoke_device_cal(perms[2].serial, "admin", NOW + 3)
            .unwrap(),
        RevokeOutcome::Refused(RevokeRefusal::LimitReached {
            version: CalVersion(2022),
            limit: 2,
            in_revoked_state: 2,
            next_allowed_at: next
        })
    );
    // At that instant (renewing the target first so it is still valid), it passes.
    let target = granted(
        fx.store
            .request_device_cal(&device_req(2, 2022, perms[2].expires_at - DAY))
            .unwrap(),
    )
    .0;
    assert!(target.expires_at > next);
    assert!(matches!(
        fx.store.revoke_device_cal(target.serial, "admin", next).unwrap(),
        RevokeOutcome::Revoked(_)
    ));
    assert!(matches!(
        fx.store.revoke_device_cal(CalSerial(424_242), "admin", NOW),
        Err(StoreError::NoSuchCal(CalSerial(424_242)))
    ));
}

fn user_req(user: &str, now: i64, enforce: bool) -> UserCalRequest {
    UserCalRequest {
        user: user.to_owned(),
        host_name: "host-a".to_owned(),
        host_version: CalVersion(2022),
        now,
        enforce,
    }
}

fn user_granted(o: UserCalOutcome) -> (rdlic_store::UserCal, UserAction) {
    match o {
        UserCalOutcome::Granted { cal, action } => (cal, action),
        UserCalOutcome::Refused(r) => panic!("refused: {r}"),
    }
}

fn per_user_tracks_over_allocates_and_enforces(fx: Fx) {
    fx.activate();
    fx.install(3, CalType::PerUser, 2022, 1);
    let (a, act) = user_granted(
        fx.store
            .checkout_user_cal(&user_req("alice", NOW, false))
            .unwrap(),
    );
    assert_eq!(act, UserAction::Allocated);
    assert!(!a.over_allocated);
    assert_eq!(
        (a.first_seen, a.last_seen, a.expires_at),
        (NOW, NOW, NOW + 60 * DAY)
    );
    // Bob: none free, Windows over-allocates and reports it.
    let (b, act) = user_granted(fx.store.checkout_user_cal(&user_req("bob", NOW, false)).unwrap());
    assert!(b.over_allocated && b.pack.is_none());
    assert_eq!(act, UserAction::Allocated);
    // Bob again, pool still empty: a sign-in, not a second issuance.
    let (_, act) = user_granted(
        fx.store
            .checkout_user_cal(&user_req("bob", NOW + 1, false))
            .unwrap(),
    );
    assert_eq!(act, UserAction::Touched);
    let user_entries = fx
        .store
        .audit_log(0, 100)
        .unwrap()
        .iter()
        .filter(|e| e.kind.0 == AuditKind::USER_CAL)
        .count();
    assert_eq!(user_entries, 2);
    // Carol with enforcement on: refused.
    assert_eq!(
        fx.store.checkout_user_cal(&user_req("carol", NOW, true)).unwrap(),
        UserCalOutcome::Refused(UserRefusal::NoneFree)
    );
    let av = fx.store.availability(NOW).unwrap();
    assert_eq!(av.len(), 1);
    assert_eq!(
        (
            av[0].installed,
            av[0].issued,
            av[0].available,
            av[0].over_allocated
        ),
        (1, 1, 0, 1)
    );
    // Alice signs in again: recorded; within the last 7 days: extended by 60 days.
    let (a2, act) = user_granted(
        fx.store
            .checkout_user_cal(&user_req("alice", NOW + 10 * DAY, false))
            .unwrap(),
    );
    assert_eq!(
        (act, a2.last_seen, a2.expires_at),
        (UserAction::Touched, NOW + 10 * DAY, NOW + 60 * DAY)
    );
    let t = NOW + 55 * DAY;
    let (a3, act) = user_granted(fx.store.checkout_user_cal(&user_req("alice", t, false)).unwrap());
    assert_eq!(
        (act, a3.expires_at, a3.first_seen),
        (UserAction::Refreshed, t + 60 * DAY, NOW)
    );
    // Report at t: bob's CAL expired at NOW+60d? not yet; both listed, ordered by name.
    let report = fx.store.per_user_report(t).unwrap();
    assert_eq!(
        report.iter().map(|u| u.user.as_str()).collect::<Vec<_>>(),
        vec!["alice", "bob"]
    );
    // Past bob's expiry he drops off the report.
    let later = NOW + 61 * DAY;
    let report = fx.store.per_user_report(later).unwrap();
    assert_eq!(
        report.iter().map(|u| u.user.as_str()).collect::<Vec<_>>(),
        vec!["alice"]
    );
    // Alice lets hers expire; then Carol (enforced) gets the freed slot.
    let much_later = t + 61 * DAY;
    let (c, _) = user_granted(
        fx.store
            .checkout_user_cal(&user_req("carol", much_later, true))
            .unwrap(),
    );
    assert!(!c.over_allocated && c.pack.is_some());
}

fn host_enrollment_tokens_are_one_time(fx: Fx) {
    let tok = TokenHash::of(b"token-1");
    fx.store
        .create_enrollment_token(&tok, Some("rdsh01"), NOW + 3600, "admin", NOW)
        .unwrap();
    let fp = [7u8; 32];
    assert!(matches!(
        fx.store.enroll_host(&tok, "other", &fp, NOW + 1),
        Err(StoreError::TokenHostMismatch { .. })
    ));
    let h = fx.store.enroll_host(&tok, "rdsh01", &fp, NOW + 1).unwrap();
    assert_eq!(
        (h.name.as_str(), h.revoked, h.last_contact),
        ("rdsh01", false, Some(NOW + 1))
    );
    assert!(matches!(
        fx.store.enroll_host(&tok, "rdsh01", &[8; 32], NOW + 2),
        Err(StoreError::TokenUsed)
    ));
    assert!(matches!(
        fx.store.enroll_host(&TokenHash::of(b"nope"), "x", &[8; 32], NOW),
        Err(StoreError::TokenUnknown)
    ));
    let tok2 = TokenHash::of(b"token-2");
    fx.store
        .create_enrollment_token(&tok2, None, NOW + 10, "admin", NOW)
        .unwrap();
    assert!(matches!(
        fx.store.enroll_host(&tok2, "x", &[8; 32], NOW + 10),
        Err(StoreError::TokenExpired { expired_at }) if expired_at == NOW + 10
    ));
    let tok3 = TokenHash::of(b"token-3");
    fx.store
        .create_enrollment_token(&tok3, None, NOW + 10, "admin", NOW)
        .unwrap();
    assert!(matches!(
        fx.store.enroll_host(&tok3, "dup", &fp, NOW),
        Err(StoreError::DuplicateHost)
    ));
    fx.store.touch_host(h.id, NOW + 50).unwrap();
    assert_eq!(
        fx.store.host_by_fingerprint(&fp).unwrap().unwrap().last_contact,
        Some(NOW + 50)
    );
    let r = fx.store.revoke_host(h.id, "admin", NOW + 60).unwrap();
    assert!(r.revoked);
    assert_eq!(r.revoked_at, Some(NOW + 60));
    assert_eq!(fx.store.list_hosts().unwrap(), vec![r]);
    assert!(fx.store.host_by_fingerprint(&[1; 32]).unwrap().is_none());
    assert!(matches!(
        fx.store.touch_host(rdlic_store::HostId(99), NOW),
        Err(StoreError::NoSuchHost(_))
    ));
}

fn audit_log_records_every_change(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 5);
    fx.install(2, CalType::PerUser, 2022, 5);
    granted(fx.store.request_device_cal(&device_req(1, 2022, NOW)).unwrap());
    let (p, _) = granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, NOW + 1))
            .unwrap(),
    );
    granted(
        fx.store
            .request_device_cal(&device_req(1, 2022, p.expires_at - DAY))
            .unwrap(),
    );
    let _ = fx
        .store
        .request_device_cal(&device_req(1, 2022, p.expires_at - DAY))
        .unwrap(); // unchanged: no entry
    let last = fx.store.device_cals_by_hardware_id(&hwid(1)).unwrap()[0].serial;
    fx.store.revoke_device_cal(last, "admin", NOW + 2).unwrap();
    user_granted(
        fx.store
            .checkout_user_cal(&user_req("alice", NOW, false))
            .unwrap(),
    );
    let tok = TokenHash::of(b"t");
    fx.store
        .create_enrollment_token(&tok, None, NOW + 100, "admin", NOW)
        .unwrap();
    let h = fx.store.enroll_host(&tok, "h", &[3; 32], NOW).unwrap();
    fx.store.revoke_host(h.id, "admin", NOW).unwrap();
    fx.store
        .record_audit(AuditKind::new("admin-login"), "admin", "web", "", NOW)
        .unwrap();
    let log = fx.store.audit_log(0, 1000).unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.0.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::IDENTITY,
            AuditKind::ACTIVATION,
            AuditKind::PACK_INSTALL,
            AuditKind::PACK_INSTALL,
            AuditKind::CAL_TEMPORARY,
            AuditKind::CAL_PERMANENT,
            AuditKind::CAL_RENEWAL,
            AuditKind::CAL_REVOCATION,
            AuditKind::USER_CAL,
            AuditKind::TOKEN,
            AuditKind::HOST_ENROLLMENT,
            AuditKind::HOST_REVOCATION,
            "admin-login",
        ]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(log[7].actor, "admin");
    assert_eq!(log[7].subject, last.to_string());
    // Paging.
    let page = fx.store.audit_log(log[3].id, 2).unwrap();
    assert_eq!(page, log[4..6].to_vec());
}

fn batch_issuance_is_one_transaction(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 2);
    let reqs: Vec<_> = (0..3).map(|n| device_req(n, 2022, NOW)).collect();
    let out = fx.store.request_device_cals(&reqs).unwrap();
    assert!(out.iter().all(|o| matches!(
        o,
        DeviceCalOutcome::Granted {
            action: DeviceAction::IssuedTemporary,
            ..
        }
    )));
    // Second round in one batch; later requests see earlier ones: 2 permanent, then the pool is empty.
    let reqs: Vec<_> = (0..3).map(|n| device_req(n, 2022, NOW + 1)).collect();
    let out = fx.store.request_device_cals(&reqs).unwrap();
    let actions: Vec<_> = out.into_iter().map(|o| granted(o).1).collect();
    assert_eq!(
        actions,
        vec![
            DeviceAction::IssuedPermanent,
            DeviceAction::IssuedPermanent,
            DeviceAction::Unchanged
        ]
    );
    assert_eq!(
        fx.store
            .checkout_user_cals(&[user_req("a", NOW, false), user_req("b", NOW, false)])
            .unwrap()
            .len(),
        2
    );
}

/// 64 concurrent requesters, a pack of 100, 200 distinct devices, each asking twice (temporary, then the upgrade)
/// after a barrier so the upgrades collide: exactly 100 permanent CALs, the other 100 devices keep their temporary.
fn sixty_four_threads_never_exceed_a_pack_of_100(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 100);
    let store: Arc<dyn LicenseStore> = Arc::from(fx.store);
    hammer(std::slice::from_ref(&store), 64);
    check_hundred(store.as_ref());
}

pub(crate) fn hammer(stores: &[Arc<dyn LicenseStore>], threads: u32) {
    let barrier = Arc::new(Barrier::new(usize::try_from(threads).unwrap()));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = stores[usize::try_from(t).unwrap() % stores.len()].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mine: Vec<u32> = (0..200).filter(|d| d % threads == t).collect();
                for &d in &mine {
                    granted(store.request_device_cal(&device_req(d, 2022, NOW)).unwrap());
                }
                barrier.wait();
                let mut perms = 0;
                for &d in &mine {
                    let (cal, _) = granted(store.request_device_cal(&device_req(d, 2022, NOW + 10)).unwrap());
                    if cal.kind == DeviceCalKind::Permanent {
                        perms += 1;
                    }
                }
                perms
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 100, "permanent CALs granted");
}

/// As [`sixty_four_threads_never_exceed_a_pack_of_100`], each thread sending its devices as ONE batch (the server's
/// group commit; PostgreSQL runs it as multi-row statements), and every batch also carrying two devices of the next
/// thread's (the same device in two concurrent batches) and its last device twice (the same device twice in one).
fn sixty_four_concurrent_batches_never_exceed_a_pack_of_100(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 100);
    let store: Arc<dyn LicenseStore> = Arc::from(fx.store);
    let threads = 64u32;
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut mine: Vec<u32> = (0..200).filter(|d| d % threads == t).collect();
                let next = (t + 1) % threads;
                mine.extend([next, next + threads]);
                mine.push(*mine.get(mine.len() - 3).unwrap());
                for now in [NOW, NOW + 10] {
                    let batch: Vec<_> = mine.iter().map(|&d| device_req(d, 2022, now)).collect();
                    let out = store.request_device_cals(&batch).unwrap();
                    for (d, o) in mine.iter().zip(out) {
                        assert_eq!(granted(o).0.hardware_id, hwid(*d));
                    }
                    barrier.wait();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    check_hundred(store.as_ref());
}

pub(crate) fn check_hundred(store: &dyn LicenseStore) {
    let active = store
        .list_device_cals(CalSerial(0), 10_000, true, NOW + 10)
        .unwrap();
    let perm = active
        .iter()
        .filter(|c| c.kind == DeviceCalKind::Permanent)
        .count();
    let temp = active
        .iter()
        .filter(|c| c.kind == DeviceCalKind::Temporary)
        .count();
    assert_eq!((perm, temp), (100, 100));
    let mut devices: Vec<_> = active.iter().map(|c| c.hardware_id).collect();
    devices.sort();
    devices.dedup();
    assert_eq!(devices.len(), 200, "one active CAL per device");
    assert_eq!(pack_issued(store, NOW + 10), vec![(100, 0)]);
    let log = store.audit_log(0, 10_000).unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.kind.0 == AuditKind::CAL_PERMANENT)
            .count(),
        100
    );
    assert_eq!(
        log.iter()
            .filter(|e| e.kind.0 == AuditKind::CAL_TEMPORARY)
            .count(),
        200
    );
}

fn schema_version_is_current(fx: Fx) {
    assert_eq!(rdlic_store::SCHEMA_VERSION, 5);
    assert!(["sqlite", "postgres"].contains(&fx.store.backend_name()));
}

/// SQLite only: four independent stores (four writer connections, as four processes would have) on one file,
/// 16 threads each: the limit holds because it is enforced by the database lock, not by a store's mutex.
#[test]
fn sqlite_four_stores_on_one_file_never_exceed_the_pack() {
    let fx = common::sqlite_fx("four");
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 100);
    let path = fx.dir.as_ref().unwrap().path().to_owned();
    let stores: Vec<Arc<dyn LicenseStore>> = (0..4)
        .map(|_| -> Arc<dyn LicenseStore> { Arc::new(rdlic_store::SqliteStore::open_in_dir(&path).unwrap()) })
        .collect();
    hammer(&stores, 64);
    check_hundred(fx.store.as_ref());
}

/// PostgreSQL only: four stores (four pools, as four license servers on one database would have).
#[test]
fn postgres_four_servers_on_one_database_never_exceed_the_pack() {
    let Some(config) = rdlic_store::testing::fresh_postgres_config("four_servers") else {
        return;
    };
    let stores: Vec<Arc<dyn LicenseStore>> = (0..4)
        .map(|_| -> Arc<dyn LicenseStore> {
            Arc::new(rdlic_store::PostgresStore::with_config(config.clone(), 4).unwrap())
        })
        .collect();
    let (ch, server_pk) = common::keys();
    let fx = Fx {
        store: Box::new(rdlic_store::PostgresStore::with_config(config, 2).unwrap()),
        ch,
        server_id: ServerId::from_public_key_der(&server_pk),
        server_pk,
        dir: None,
        pg_db: None,
    };
    fx.store.init_server_identity(&fx.server_pk, NOW).unwrap();
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 100);
    hammer(&stores, 64);
    check_hundred(fx.store.as_ref());
}

/// Admin writes (audit records, pack installs) interleaved with concurrent issuance: everything completes (no
/// waiter of the SQLite group commit is left sleeping behind a plain write) and the counts add up.
fn plain_writes_and_concurrent_issuance_do_not_stall(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 1000);
    let packs: Vec<_> = (10..20u8)
        .map(|i| fx.pack_for(fx.server_id, i, CalType::PerUser, 2022, 5))
        .collect();
    let store: Arc<dyn LicenseStore> = Arc::from(fx.store);
    let admin = {
        let store = store.clone();
        std::thread::spawn(move || {
            for (i, p) in packs.iter().enumerate() {
                store.install_key_pack(p, "admin", NOW).unwrap();
                store
                    .record_audit(AuditKind::new("admin-note"), "admin", &i.to_string(), "", NOW)
                    .unwrap();
            }
        })
    };
    let workers: Vec<_> = (0..16u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for d in (0..320u32).filter(|d| d % 16 == t) {
                    granted(store.request_device_cal(&device_req(d, 2022, NOW)).unwrap());
                    granted(store.request_device_cal(&device_req(d, 2022, NOW + 1)).unwrap());
                    let u = store
                        .checkout_user_cal(&user_req(&format!("u{d}"), NOW, false))
                        .unwrap();
                    assert!(matches!(u, UserCalOutcome::Granted { .. }));
                }
            })
        })
        .collect();
    admin.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    let av = store.availability(NOW + 1).unwrap();
    let dev = av.iter().find(|a| a.cal_type == CalType::PerDevice).unwrap();
    assert_eq!((dev.installed, dev.issued), (1000, 320));
    let user = av.iter().find(|a| a.cal_type == CalType::PerUser).unwrap();
    // 50 per-user CALs installed; 320 users: 50 in the pool, 270 over-allocated (whatever the interleaving, since
    // the packs may be installed after some checkouts, issued + over-allocated = 320).
    assert_eq!(user.installed, 50);
    assert_eq!(user.issued + user.over_allocated, 320);
    let log = store.audit_log(0, 100_000).unwrap();
    assert_eq!(log.iter().filter(|e| e.kind.0 == "admin-note").count(), 10);
}

fn enrolled(fx: &Fx, name: &str, fp: u8) -> rdlic_store::EnrolledHost {
    let tok = TokenHash::of(name.as_bytes());
    fx.store.create_enrollment_token(&tok, None, NOW + 3600, "admin", NOW).unwrap();
    fx.store.enroll_host(&tok, name, &[fp; 32], NOW).unwrap()
}

fn refusal(at: i64, client: &str) -> rdlic_store::ReportedRefusal {
    rdlic_store::ReportedRefusal {
        id: 0,
        host_id: rdlic_store::HostId(0),
        host_name: String::new(),
        at,
        received_at: 0,
        client: client.to_owned(),
        user: "WORKGROUP\\alice".to_owned(),
        decision: "refuse error_code=0x6 errinfo=0x101".to_owned(),
        reason: "no license server available and the grace period is over".to_owned(),
        errinfo: Some(0x101),
        license_server: Some("https://ls1:8443".to_owned()),
    }
}

fn host_reports_keep_the_latest_report_and_the_newest_refusals(fx: Fx) {
    use rdlic_store::{HostId, HostReport, ReportedFinding, ReportedFix, ReportedGrace, MAX_REFUSALS};
    let h1 = enrolled(&fx, "rdsh01", 1);
    let h2 = enrolled(&fx, "rdsh02", 2);
    let finding = ReportedFinding {
        check: "licensing-mode".into(),
        server: None,
        severity: "error".into(),
        cause: Some("mode-not-configured".into()),
        cause_text: Some("the licensing mode is not configured".into()),
        evidence: "LicensingMode = 0".into(),
        fixes: vec![ReportedFix { command: "rdlic reg add ... /d 2".into(), text: "per device".into() }],
    };
    let mut report = HostReport {
        host_id: h1.id,
        received_at: NOW + 10,
        licensing_mode: "not-configured".into(),
        grace: ReportedGrace { state: "expired".into(), days_left: None },
        can_license: Some(false),
        findings: vec![finding.clone(), ReportedFinding { severity: "ok".into(), fixes: vec![], ..finding.clone() }],
    };
    fx.store.record_host_report(&report, "rdsh01", &[refusal(NOW + 5, "PC1"), refusal(NOW + 6, "PC2")]).unwrap();
    let got = fx.store.host_reports().unwrap();
    assert_eq!(got, vec![report.clone()]);
    let r = fx.store.recent_refusals(0, 100).unwrap();
    assert_eq!(r.iter().map(|x| x.client.as_str()).collect::<Vec<_>>(), ["PC2", "PC1"], "newest first");
    assert_eq!((r[0].host_id, r[0].host_name.as_str(), r[0].received_at, r[0].errinfo), (h1.id, "rdsh01", NOW + 10, Some(0x101)));
    // Polling from the newest id seen returns only what came after.
    assert!(fx.store.recent_refusals(r[0].id, 100).unwrap().is_empty());

    // A later report replaces the earlier one (findings included); another host has its own.
    report.received_at = NOW + 20;
    report.grace = ReportedGrace { state: "running".into(), days_left: Some(42) };
    report.findings = vec![finding];
    fx.store.record_host_report(&report, "rdsh01", &[]).unwrap();
    let h2_report = HostReport { host_id: h2.id, findings: vec![], can_license: None, ..report.clone() };
    fx.store.record_host_report(&h2_report, "rdsh02", &[refusal(NOW + 30, "PC3")]).unwrap();
    assert_eq!(fx.store.host_reports().unwrap(), vec![report, h2_report]);

    // Bounded: only the newest MAX_REFUSALS refusals stay.
    let many: Vec<_> = (0..MAX_REFUSALS + 7).map(|i| refusal(NOW + 100 + i64::from(i), &format!("M{i}"))).collect();
    let again = HostReport { host_id: h2.id, received_at: NOW + 40, licensing_mode: "per-device".into(),
        grace: ReportedGrace { state: "running".into(), days_left: Some(1) }, can_license: Some(true), findings: vec![] };
    fx.store.record_host_report(&again, "rdsh02", &many).unwrap();
    let all = fx.store.recent_refusals(0, 5000).unwrap();
    assert_eq!(all.len(), usize::try_from(MAX_REFUSALS).unwrap());
    assert_eq!(all[0].client, format!("M{}", MAX_REFUSALS + 6));
    assert_eq!(all.last().unwrap().client, "M7");

    // Unknown host: refused, nothing written.
    let ghost = HostReport { host_id: HostId(9999), ..again };
    assert!(matches!(fx.store.record_host_report(&ghost, "ghost", &[refusal(NOW, "X")]), Err(StoreError::NoSuchHost(_))));
    assert_eq!(fx.store.recent_refusals(0, 5000).unwrap().len(), all.len());
}

fn admin_password_hash_is_stored_and_audited(fx: Fx) {
    assert_eq!(fx.store.admin_password_hash().unwrap(), None);
    fx.store.set_admin_password_hash("pbkdf2-sha256$1$aa$bb", "cli", NOW).unwrap();
    fx.store.set_admin_password_hash("pbkdf2-sha256$1$cc$dd", "cli", NOW + 1).unwrap();
    assert_eq!(fx.store.admin_password_hash().unwrap().as_deref(), Some("pbkdf2-sha256$1$cc$dd"));
    let log = fx.store.audit_log(0, 1000).unwrap();
    let set: Vec<_> = log.iter().filter(|e| e.kind.0 == AuditKind::ADMIN_PASSWORD).collect();
    assert_eq!(set.len(), 2);
    assert!(set.iter().all(|e| !e.detail.contains("pbkdf2")), "the hash is not in the audit log");
}

/// A batch of upgrades (temporary → permanent) with room for fewer than it holds, over two packs: the exact-version
/// pack first, then the newer one, in request order; the last requests keep their temporary CALs. The counts, the
/// superseded temporary CALs, the `replaces` links and the audit entries are those of request-by-request issuance
/// (the PostgreSQL store takes a batch's upgrades in a fixed number of statements).
fn batch_of_upgrades_fills_the_packs_in_request_order(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 2);
    fx.install(2, CalType::PerDevice, 2025, 1);
    let order = [7u32, 3, 9, 1, 5];
    let temps: Vec<_> = order
        .iter()
        .map(|&n| granted(fx.store.request_device_cal(&device_req(n, 2022, NOW)).unwrap()).0)
        .collect();
    let audit_before = fx.store.audit_log(0, 1000).unwrap().len();
    let t = NOW + DAY;
    let reqs: Vec<_> = order.iter().map(|&n| device_req(n, 2022, t)).collect();
    let out = fx.store.request_device_cals(&reqs).unwrap();
    let got: Vec<_> = out
        .iter()
        .map(|o| match o {
            DeviceCalOutcome::Granted { cal, action } => (*action, cal.kind, cal.version.0),
            DeviceCalOutcome::Refused(r) => panic!("refused: {r}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (DeviceAction::IssuedPermanent, DeviceCalKind::Permanent, 2022),
            (DeviceAction::IssuedPermanent, DeviceCalKind::Permanent, 2022),
            (DeviceAction::IssuedPermanent, DeviceCalKind::Permanent, 2025),
            (DeviceAction::Unchanged, DeviceCalKind::Temporary, 2022),
            (DeviceAction::Unchanged, DeviceCalKind::Temporary, 2022),
        ]
    );
    for (i, (o, temp)) in out.iter().zip(&temps).enumerate() {
        let DeviceCalOutcome::Granted { cal, .. } = o else { unreachable!() };
        assert_eq!(cal.hardware_id, hwid(order[i]));
        let old = fx.store.device_cal_by_serial(temp.serial).unwrap().unwrap();
        if i < 3 {
            assert_eq!(cal.replaces, Some(temp.serial));
            assert_eq!(old.status, CalStatus::Superseded);
            assert_eq!(fx.store.device_cal_by_serial(cal.serial).unwrap().as_ref(), Some(cal));
        } else {
            assert_eq!(cal, temp);
            assert_eq!(old.status, CalStatus::Active);
        }
    }
    // Both packs full, nothing over.
    let mut issued = pack_issued(fx.store.as_ref(), t);
    issued.sort_unstable();
    assert_eq!(issued, vec![(1, 0), (2, 0)]);
    let audit = fx.store.audit_log(0, 1000).unwrap();
    let new_entries = &audit[audit_before..];
    assert_eq!(new_entries.len(), 3);
    for (e, o) in new_entries.iter().zip(&out) {
        let DeviceCalOutcome::Granted { cal, .. } = o else { unreachable!() };
        assert_eq!(e.kind.0, AuditKind::CAL_PERMANENT);
        assert_eq!(e.subject, cal.serial.to_string());
        assert!(e.detail.contains(&format!("hwid={}", cal.hardware_id)), "{}", e.detail);
    }
}

/// One batch mixing every kind of answer: new devices (temporary), an upgrade (permanent), a device that needs
/// nothing, a device asked for twice (temporary, then its upgrade, in request order), an expired temporary CAL
/// refused because the pack ran out. Each requester gets its own answer, decided as if the requests ran one by one
/// (the PostgreSQL store answers a batch in a few multi-row statements, SQLite request by request: same answers).
fn batch_with_mixed_outcomes_answers_each_requester(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 3);
    // Device 5: a temporary CAL from 91 days ago, never upgraded (expired).
    granted(
        fx.store
            .request_device_cal(&device_req(5, 2022, NOW - 91 * DAY))
            .unwrap(),
    );
    // Device 3: permanent already; device 2: temporary.
    granted(fx.store.request_device_cal(&device_req(3, 2022, NOW)).unwrap());
    let (perm3, action) = granted(
        fx.store
            .request_device_cal(&device_req(3, 2022, NOW + 1))
            .unwrap(),
    );
    assert_eq!(action, DeviceAction::IssuedPermanent);
    let (temp2, _) = granted(fx.store.request_device_cal(&device_req(2, 2022, NOW)).unwrap());
    let audit_before = fx.store.audit_log(0, 1000).unwrap().len();

    let t = NOW + 2 * DAY;
    let order = [1u32, 2, 3, 4, 4, 5, 6];
    let reqs: Vec<_> = order.iter().map(|&n| device_req(n, 2022, t)).collect();
    let mut decided = Vec::new();
    let out = fx
        .store
        .request_device_cals_early(&reqs, &mut |o| decided = o.to_vec())
        .unwrap();
    assert_eq!(decided, out, "the early outcomes are the committed ones");
    assert_eq!(out.len(), order.len());

    let mut cals = Vec::new();
    for (n, o) in order.iter().zip(&out) {
        if let DeviceCalOutcome::Granted { cal, .. } = o {
            assert_eq!(cal.hardware_id, hwid(*n), "device {n} got another device's CAL");
            assert_eq!(cal.client_name, format!("client-{n}"));
            let stored = fx.store.device_cal_by_serial(cal.serial).unwrap().unwrap();
            assert_eq!(
                (
                    stored.hardware_id,
                    stored.kind,
                    stored.issued_at,
                    stored.expires_at,
                    stored.replaces
                ),
                (
                    cal.hardware_id,
                    cal.kind,
                    cal.issued_at,
                    cal.expires_at,
                    cal.replaces
                )
            );
            cals.push(cal.clone());
        }
    }
    let actions: Vec<_> = out
        .iter()
        .map(|o| match o {
            DeviceCalOutcome::Granted { action, .. } => Some(*action),
            DeviceCalOutcome::Refused(_) => None,
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            Some(DeviceAction::IssuedTemporary),
            Some(DeviceAction::IssuedPermanent),
            Some(DeviceAction::Unchanged),
            Some(DeviceAction::IssuedTemporary),
            Some(DeviceAction::IssuedPermanent),
            None,
            Some(DeviceAction::IssuedTemporary),
        ]
    );
    let cal = |i: usize| match &out[i] {
        DeviceCalOutcome::Granted { cal, .. } => cal.clone(),
        DeviceCalOutcome::Refused(r) => panic!("refused: {r}"),
    };
    assert_eq!(cal(1).replaces, Some(temp2.serial));
    assert_eq!(cal(2), perm3);
    assert_eq!(
        cal(4).replaces,
        Some(cal(3).serial),
        "the second request of device 4 saw the first"
    );
    assert_eq!(cal(4).kind, DeviceCalKind::Permanent);
    assert_eq!(
        fx.store
            .device_cal_by_serial(cal(3).serial)
            .unwrap()
            .unwrap()
            .status,
        CalStatus::Superseded
    );
    assert!(matches!(
        out[5],
        DeviceCalOutcome::Refused(DeviceRefusal::TemporaryExpired { expired_at }) if expired_at < t
    ));
    for i in [0, 3, 6] {
        let c = cal(i);
        assert_eq!(
            (c.kind, c.issued_at, c.status),
            (DeviceCalKind::Temporary, t, CalStatus::Active)
        );
        if i != 3 {
            assert_eq!(fx.store.device_cal_by_serial(c.serial).unwrap(), Some(c.clone()));
        }
        assert_eq!(c.expires_at, t + 90 * DAY);
    }
    let mut serials: Vec<_> = cals.iter().map(|c| c.serial).collect();
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), cals.len(), "distinct CALs, one serial each");
    // Never more permanent CALs than installed: 3 of 3.
    assert_eq!(pack_issued(fx.store.as_ref(), t), vec![(3, 0)]);
    // One audit entry per issued CAL (3 temporary, 2 permanent), naming its serial and device.
    let audit = fx.store.audit_log(0, 1000).unwrap();
    let new_entries = &audit[audit_before..];
    assert_eq!(new_entries.len(), 5);
    for i in [0, 3, 6] {
        let c = cal(i);
        let e = new_entries
            .iter()
            .find(|e| e.subject == c.serial.to_string())
            .unwrap_or_else(|| panic!("no audit entry for {}", c.serial));
        assert_eq!(e.kind.0, AuditKind::CAL_TEMPORARY);
        assert_eq!((e.actor.as_str(), e.at), ("host-a", t));
        assert_eq!(
            e.detail,
            format!("hwid={} version=2022 expires_at={}", c.hardware_id, c.expires_at)
        );
    }
    // Next batch: device 1 would be upgraded but the pack is full (it keeps its temporary CAL), device 3 needs
    // nothing; no CAL and no audit entry is written.
    let again: Vec<_> = [1u32, 3].iter().map(|&n| device_req(n, 2022, t + 60)).collect();
    let out2 = fx.store.request_device_cals(&again).unwrap();
    assert_eq!(granted(out2[0].clone()), (cal(0), DeviceAction::Unchanged));
    assert_eq!(granted(out2[1].clone()), (perm3, DeviceAction::Unchanged));
    assert_eq!(fx.store.audit_log(0, 1000).unwrap().len(), audit.len());
}

/// A batch of per-user checkouts: a sign-in on the same host within the last-seen precision is answered without a
/// write (its `last_seen` stays the recorded one) but still reports the user's CAL; a new user, a user moving to
/// another host and a sign-in after the precision are written, and a user asked for again after a write in the same
/// batch sees that write.
fn user_batch_answers_sign_ins_that_change_nothing_without_writing(fx: Fx) {
    fx.activate();
    fx.install(3, CalType::PerUser, 2022, 10);
    let (bob, _) = user_granted(fx.store.checkout_user_cal(&user_req("bob", NOW, false)).unwrap());
    user_granted(
        fx.store
            .checkout_user_cal(&user_req("carol", NOW, false))
            .unwrap(),
    );
    let audit_before = fx.store.audit_log(0, 1000).unwrap().len();

    let t = NOW + 600;
    let mut carol_b = user_req("carol", t, false);
    carol_b.host_name = "host-b".to_owned();
    let batch = [
        user_req("alice", t, false),
        user_req("bob", t, false),
        user_req("bob", t + 1, false),
        carol_b,
        user_req("alice", t + 2, false),
    ];
    let out: Vec<_> = fx
        .store
        .checkout_user_cals(&batch)
        .unwrap()
        .into_iter()
        .map(user_granted)
        .collect();
    let actions: Vec<_> = out.iter().map(|(_, a)| *a).collect();
    assert_eq!(
        actions,
        vec![
            UserAction::Allocated,
            UserAction::Touched,
            UserAction::Touched,
            UserAction::Touched,
            UserAction::Touched
        ]
    );
    for ((cal, _), req) in out.iter().zip(&batch) {
        assert_eq!(cal.user, req.user);
    }
    // Bob: nothing written, his CAL as recorded.
    assert_eq!(out[1].0, bob);
    assert_eq!(out[2].0, bob);
    // Carol moved to host-b: written.
    assert_eq!((out[3].0.last_host.as_str(), out[3].0.last_seen), ("host-b", t));
    // Alice: allocated, then a sign-in 2 s later that changes nothing.
    assert_eq!((out[0].0.first_seen, out[0].0.last_seen), (t, t));
    assert_eq!(out[4].0, out[0].0);
    let report = fx.store.per_user_report(t).unwrap();
    let row = |u: &str| report.iter().find(|c| c.user == u).cloned().unwrap();
    assert_eq!(row("bob"), bob);
    assert_eq!(row("carol").last_host, "host-b");
    assert_eq!(row("alice"), out[0].0);
    // Only alice's allocation is audited.
    let audit = fx.store.audit_log(0, 1000).unwrap();
    assert_eq!(audit.len(), audit_before + 1);
    assert_eq!(audit.last().unwrap().subject, "alice");

    // A batch in which nobody has anything to write (PostgreSQL answers it with one read, no transaction): the
    // same CALs, nothing written.
    let quiet = [
        user_req("bob", t + 5, false),
        user_req("alice", t + 6, false),
        user_req("bob", t + 7, false),
    ];
    let out2: Vec<_> = fx
        .store
        .checkout_user_cals(&quiet)
        .unwrap()
        .into_iter()
        .map(user_granted)
        .collect();
    assert_eq!(
        out2,
        vec![
            (bob.clone(), UserAction::Touched),
            (out[0].0.clone(), UserAction::Touched),
            (bob.clone(), UserAction::Touched)
        ]
    );
    assert_eq!(fx.store.per_user_report(t).unwrap(), report);
    assert_eq!(fx.store.audit_log(0, 1000).unwrap().len(), audit.len());

    // Past the precision, the sign-in is recorded.
    let later = NOW + 2 * 3600;
    let out = fx
        .store
        .checkout_user_cals(&[user_req("bob", later, false)])
        .unwrap();
    let (cal, action) = user_granted(out[0].clone());
    assert_eq!(
        (action, cal.last_seen, cal.first_seen),
        (UserAction::Touched, later, NOW)
    );
    assert_eq!(
        fx.store
            .per_user_report(later)
            .unwrap()
            .iter()
            .find(|c| c.user == "bob"),
        Some(&cal)
    );

    // A deactivated server refuses every checkout of a batch.
    fx.store.deactivate("test", later).unwrap();
    let out = fx
        .store
        .checkout_user_cals(&[user_req("bob", later, false), user_req("dave", later, false)])
        .unwrap();
    assert_eq!(out, vec![UserCalOutcome::Refused(UserRefusal::NotActivated); 2]);
}

/// Active permanent per-device CALs of one device.
fn active_permanent(store: &dyn LicenseStore, n: u32) -> u32 {
    let cals = store.device_cals_by_hardware_id(&hwid(n)).unwrap();
    u32::try_from(
        cals.iter()
            .filter(|c| c.kind == DeviceCalKind::Permanent && c.status == CalStatus::Active)
            .count(),
    )
    .unwrap()
}

/// A revocation racing the renewal of the same CAL, from two threads (two pooled connections on PostgreSQL), for
/// 1,000 rounds: after each round the pack's `issued` counter equals the active permanent CALs. Before the renewal
/// checked that it still held the old CAL, a revocation committed between the renewal's read and its update left
/// a renewed CAL outside the counter.
fn revocation_racing_renewal_keeps_the_pack_counter_exact(fx: Fx) {
    const ROUNDS: u32 = 1000;
    fx.activate();
    // Large enough that the 20% revocation limit never refuses (1,000 revocations of 6,000 installed).
    fx.install(1, CalType::PerDevice, 2022, 6000);
    let store = fx.store.as_ref();
    let mut active_total = 0u32;
    let barrier = Barrier::new(2);
    for n in 0..ROUNDS {
        granted(store.request_device_cal(&device_req(n, 2022, NOW)).unwrap());
        let (p, a) = granted(store.request_device_cal(&device_req(n, 2022, NOW + DAY)).unwrap());
        assert_eq!(a, DeviceAction::IssuedPermanent);
        active_total += 1;
        let renew_at = p.expires_at - 7 * DAY;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                barrier.wait();
                let _ = store.revoke_device_cal(p.serial, "admin", renew_at).unwrap();
            });
            scope.spawn(|| {
                barrier.wait();
                store.request_device_cal(&device_req(n, 2022, renew_at)).unwrap();
            });
        });
        active_total = active_total - 1 + active_permanent(store, n);
        let issued = pack_issued(store, renew_at)[0].0;
        assert_eq!(issued, active_total, "round {n}: the pack counts {issued} CALs, {active_total} are active");
    }
}

/// A batch in which one request fails (a trigger refuses its device row) answers that request with its error and
/// commits the others; the all-or-nothing batch would have failed them all.
fn one_failing_request_does_not_fail_its_batch(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 10);
    fx.poison_client_name("poison");
    let mut reqs: Vec<_> = (1..=4).map(|n| device_req(n, 2022, NOW)).collect();
    reqs[1].client_name = "poison".to_owned();
    assert!(fx.store.request_device_cals(&reqs).is_err(), "the all-or-nothing batch fails as a whole");
    let mut decided = 0;
    let outcomes = fx.store.request_device_cals_each(&reqs, &mut |o| decided = o.len()).unwrap();
    assert_eq!(decided, 4);
    assert!(outcomes[1].as_ref().is_err_and(|e| e.contains("poisoned")), "{:?}", outcomes[1]);
    for i in [0, 2, 3] {
        let (cal, a) = granted(outcomes[i].clone().unwrap());
        assert_eq!(a, DeviceAction::IssuedTemporary);
        assert_eq!(fx.store.device_cal_by_serial(cal.serial).unwrap().unwrap(), cal, "committed");
    }
    assert!(fx.store.device_cals_by_hardware_id(&hwid(2)).unwrap().is_empty(), "the failed one wrote nothing");
    // Per-user checkouts too.
    let users: Vec<_> = ["alice", "poison-user", "carol"].iter().map(|u| user_req(u, NOW, false)).collect();
    fx.poison_user_name("poison-user");
    let outcomes = fx.store.checkout_user_cals_each(&users).unwrap();
    assert!(outcomes[0].is_ok() && outcomes[1].is_err() && outcomes[2].is_ok(), "{outcomes:?}");
    assert_eq!(fx.store.per_user_report(NOW).unwrap().len(), 2);
}

/// Temporary CALs (client-chosen hardware ids) expired more than the retention ago are deleted, each deletion
/// audited; recent ones and permanent ones stay.
fn temporary_cals_expired_long_ago_are_purged_and_audited(fx: Fx) {
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 10);
    let old: Vec<_> = (1..=3).map(|n| granted(fx.store.request_device_cal(&device_req(n, 2022, NOW)).unwrap()).0).collect();
    let later = NOW + 200 * DAY;
    let recent = granted(fx.store.request_device_cal(&device_req(9, 2022, later)).unwrap()).0;
    // A device still connecting keeps its temporary CAL that expired long ago (a new one would be a second round).
    let active_device = granted(fx.store.request_device_cal(&device_req(7, 2022, NOW)).unwrap()).0;
    let _ = fx.store.request_device_cal(&device_req(7, 2022, later));
    // Device 1 came back and holds a permanent CAL now: its old temporary goes, the permanent stays.
    let perm = granted(fx.store.request_device_cal(&device_req(1, 2022, NOW + DAY)).unwrap()).0;
    let cutoff = later - 90 * DAY;
    assert_eq!(fx.store.purge_expired_temporary_cals(cutoff, 2, "retention", later).unwrap(), 2);
    assert_eq!(fx.store.purge_expired_temporary_cals(cutoff, 2, "retention", later).unwrap(), 1);
    assert_eq!(fx.store.purge_expired_temporary_cals(cutoff, 2, "retention", later).unwrap(), 0);
    for c in &old {
        assert_eq!(fx.store.device_cal_by_serial(c.serial).unwrap(), None);
    }
    assert!(fx.store.device_cal_by_serial(recent.serial).unwrap().is_some());
    assert!(fx.store.device_cal_by_serial(active_device.serial).unwrap().is_some(), "its device was seen lately");
    assert!(fx.store.device_cal_by_serial(perm.serial).unwrap().is_some());
    let purged: Vec<_> = fx
        .store
        .audit_log(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.0 == AuditKind::CAL_PURGE)
        .map(|e| e.subject)
        .collect();
    let mut expected: Vec<_> = old.iter().map(|c| c.serial.to_string()).collect();
    expected.sort();
    let mut got = purged.clone();
    got.sort();
    assert_eq!(got, expected);
}
