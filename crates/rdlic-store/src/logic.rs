//! Every store operation, written once over [`Db`]. Each function runs inside the transaction its backend opened
//! (a write transaction for anything that changes state) and asks `rdlic_core::policy` what to do.

use rdlic_core::policy::{
    check_revocation, choose_pack, current_device_cal, permanent_expiry, plan_device_request,
    plan_user_checkout, user_allocation, DeviceCalKind, DeviceCalView, DeviceStep, Fallback, PackCandidate,
    UserCalView, UserStep,
};
use rdlic_core::{
    ActivationCertificate, CalType, CalVersion, HardwareId, KeyPack, KeyPackId, LicenseProgram,
    RevokeRefusal, ServerId, SignedKeyPack, TokenHash, UserRefusal, VerifiedActivation, VerifiedKeyPack,
};

use crate::db::{Db, Get, Row, Value};
use crate::{
    AuditEntry, AuditKind, Availability, CalSerial, CalStatus, DeviceAction, DeviceCal, DeviceCalOutcome,
    DeviceCalRequest, EnrolledHost, HostId, InstallOutcome, InstalledKeyPack, RevokeOutcome, ServerState,
    StoreError, UserAction, UserCal, UserCalOutcome, UserCalRequest, LAST_SEEN_PRECISION,
};

fn audit(
    db: &mut dyn Db,
    kind: &str,
    actor: &str,
    subject: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit_log (at, kind, actor, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            now.into(),
            kind.into(),
            actor.into(),
            subject.into(),
            detail.into(),
        ],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- identity

/// The schema version recorded in the database (0 before the first migration).
pub(crate) fn schema_version(db: &mut dyn Db) -> Result<i64, StoreError> {
    let rows = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?;
    rows.first()
        .map(|row| {
            Get {
                row,
                table: "schema_version",
            }
            .int(0)
        })
        .unwrap_or(Ok(0))
}

pub(crate) fn server_state(db: &mut dyn Db) -> Result<Option<ServerState>, StoreError> {
    let rows = db.query(
        "SELECT server_id, public_key, created_at, activation, activated_at FROM server_identity WHERE id = 1",
        &[],
    )?;
    let Some(row) = rows.first() else { return Ok(None) };
    let g = Get {
        row,
        table: "server_identity",
    };
    let activation = match g.opt_text(3)? {
        Some(text) => Some(
            ActivationCertificate::from_text(&text).map_err(|e| StoreError::Corrupt {
                table: "server_identity",
                detail: e.to_string(),
            })?,
        ),
        None => None,
    };
    Ok(Some(ServerState {
        server_id: ServerId(g.array(0)?),
        public_key_der: g.blob(1)?,
        created_at: g.int(2)?,
        activation,
        activated_at: g.opt_int(4)?,
    }))
}

pub(crate) fn is_activated(db: &mut dyn Db) -> Result<bool, StoreError> {
    let rows = db.query(
        "SELECT activation IS NOT NULL FROM server_identity WHERE id = 1",
        &[],
    )?;
    Ok(match rows.first() {
        // SQLite answers an integer, PostgreSQL a boolean (read as 0/1).
        Some(row) => {
            Get {
                row,
                table: "server_identity",
            }
            .int(0)?
                != 0
        }
        None => false,
    })
}

pub(crate) fn init_identity(
    db: &mut dyn Db,
    public_key_der: &[u8],
    now: i64,
) -> Result<ServerState, StoreError> {
    let given = ServerId::from_public_key_der(public_key_der);
    if let Some(state) = server_state(db)? {
        if state.public_key_der == public_key_der {
            return Ok(state);
        }
        return Err(StoreError::IdentityMismatch {
            recorded: state.server_id,
            given,
        });
    }
    db.exec(
        "INSERT INTO server_identity (id, server_id, public_key, created_at) VALUES (1, $1, $2, $3)",
        &[given.0.as_slice().into(), public_key_der.into(), now.into()],
    )?;
    audit(db, AuditKind::IDENTITY, "server", &given.to_string(), "", now)?;
    server_state(db)?.ok_or(StoreError::NoIdentity)
}

pub(crate) fn activate(
    db: &mut dyn Db,
    activation: &VerifiedActivation,
    actor: &str,
    now: i64,
) -> Result<ServerState, StoreError> {
    let cert = activation.certificate();
    let state = server_state(db)?.ok_or(StoreError::NoIdentity)?;
    if state.public_key_der != cert.server_public_key_der {
        return Err(StoreError::IdentityMismatch {
            recorded: state.server_id,
            given: cert.server_id,
        });
    }
    db.exec(
        "UPDATE server_identity SET activation = $1, activated_at = $2 WHERE id = 1",
        &[cert.to_text().into(), now.into()],
    )?;
    audit(
        db,
        AuditKind::ACTIVATION,
        actor,
        &cert.server_id.to_string(),
        &format!("issued_at={}", cert.issued_at),
        now,
    )?;
    server_state(db)?.ok_or(StoreError::NoIdentity)
}

pub(crate) fn deactivate(db: &mut dyn Db, actor: &str, now: i64) -> Result<ServerState, StoreError> {
    let state = server_state(db)?.ok_or(StoreError::NoIdentity)?;
    db.exec(
        "UPDATE server_identity SET activation = NULL, activated_at = NULL WHERE id = 1",
        &[],
    )?;
    audit(
        db,
        AuditKind::DEACTIVATION,
        actor,
        &state.server_id.to_string(),
        "",
        now,
    )?;
    server_state(db)?.ok_or(StoreError::NoIdentity)
}

// ---------------------------------------------------------------- key packs

pub(crate) fn install_pack(
    db: &mut dyn Db,
    pack: &VerifiedKeyPack,
    actor: &str,
    now: i64,
) -> Result<InstallOutcome, StoreError> {
    let signed = pack.signed();
    let p = &signed.pack;
    if let Some(state) = server_state(db)? {
        if state.server_id != p.issued_to {
            return Err(StoreError::IdentityMismatch {
                recorded: state.server_id,
                given: p.issued_to,
            });
        }
    }
    let existing = db.query(
        "SELECT signature FROM key_packs WHERE id = $1",
        &[p.id.0.as_slice().into()],
    )?;
    if let Some(row) = existing.first() {
        let sig = Get {
            row,
            table: "key_packs",
        }
        .blob(0)?;
        return if sig == signed.signature {
            Ok(InstallOutcome::AlreadyInstalled)
        } else {
            Err(StoreError::PackConflict { id: p.id })
        };
    }
    db.exec(
        "INSERT INTO key_packs (id, cal_type, version, program, count, issued, issued_at, expires_at, issued_to, \
         signer, signature, installed_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11)",
        &[
            p.id.0.as_slice().into(),
            p.cal_type.as_str().into(),
            i64::from(p.version.0).into(),
            i64::from(p.program.0).into(),
            i64::from(p.count).into(),
            p.issued_at.into(),
            p.expires_at.into(),
            p.issued_to.0.as_slice().into(),
            signed.signer.as_slice().into(),
            signed.signature.as_slice().into(),
            now.into(),
        ],
    )?;
    audit(
        db,
        AuditKind::PACK_INSTALL,
        actor,
        &p.id.to_string(),
        &format!(
            "type={} version={} program={} count={}",
            p.cal_type, p.version, p.program, p.count
        ),
        now,
    )?;
    Ok(InstallOutcome::Installed)
}

pub(crate) fn list_packs(db: &mut dyn Db, now: i64) -> Result<Vec<InstalledKeyPack>, StoreError> {
    // `issued` minus the CALs that expired but were not reclaimed yet (a short index range scan).
    let rows = db.query(
        "SELECT p.id, p.cal_type, p.version, p.program, p.count, p.issued, p.issued_at, p.expires_at, p.issued_to, \
         p.signer, p.signature, p.installed_at, \
         (SELECT COUNT(*) FROM device_cals c WHERE c.pack_id = p.id AND c.status = 'active' AND c.expires_at <= $1) \
         + (SELECT COUNT(*) FROM user_cals u WHERE u.pack_id = p.id AND u.expires_at <= $1) \
         FROM key_packs p ORDER BY p.cal_type, p.version, p.id",
        &[now.into()],
    )?;
    rows.iter()
        .map(|row| {
            let g = Get {
                row,
                table: "key_packs",
            };
            let cal_type = g.text(1)?.parse::<CalType>().map_err(|e| StoreError::Corrupt {
                table: "key_packs",
                detail: e.to_string(),
            })?;
            let program = u8::try_from(g.int(3)?).map_err(|_| StoreError::Corrupt {
                table: "key_packs",
                detail: "program out of range".to_owned(),
            })?;
            let pack = KeyPack {
                id: KeyPackId(g.array(0)?),
                cal_type,
                version: CalVersion(g.u16(2)?),
                program: LicenseProgram(program),
                count: g.u32(4)?,
                issued_at: g.int(6)?,
                expires_at: g.opt_int(7)?,
                issued_to: ServerId(g.array(8)?),
            };
            let stale = g.u32(12)?;
            let issued = g.u32(5)?.saturating_sub(stale);
            let available = if pack.is_valid_at(now) {
                pack.count.saturating_sub(issued)
            } else {
                0
            };
            Ok(InstalledKeyPack {
                signed: SignedKeyPack {
                    pack,
                    signer: g.array(9)?,
                    signature: g.blob(10)?,
                },
                installed_at: g.int(11)?,
                issued,
                available,
            })
        })
        .collect()
}

pub(crate) fn availability(db: &mut dyn Db, now: i64) -> Result<Vec<Availability>, StoreError> {
    let mut out: Vec<Availability> = Vec::new();
    for p in list_packs(db, now)? {
        let pack = &p.signed.pack;
        if !pack.is_valid_at(now) {
            continue;
        }
        let idx = match out
            .iter()
            .position(|a| a.cal_type == pack.cal_type && a.version == pack.version)
        {
            Some(i) => i,
            None => {
                out.push(Availability {
                    cal_type: pack.cal_type,
                    version: pack.version,
                    installed: 0,
                    issued: 0,
                    available: 0,
                    over_allocated: 0,
                });
                out.len() - 1
            }
        };
        if let Some(a) = out.get_mut(idx) {
            a.installed = a.installed.saturating_add(pack.count);
            a.issued = a.issued.saturating_add(p.issued);
            a.available = a.available.saturating_add(p.available);
        }
    }
    let rows = db.query(
        "SELECT version, COUNT(*) FROM user_cals WHERE over_allocated = 1 AND expires_at > $1 GROUP BY version",
        &[now.into()],
    )?;
    for row in &rows {
        let g = Get {
            row,
            table: "user_cals",
        };
        let version = CalVersion(g.u16(0)?);
        let n = g.u32(1)?;
        match out
            .iter_mut()
            .find(|a| a.cal_type == CalType::PerUser && a.version == version)
        {
            Some(a) => a.over_allocated = n,
            None => out.push(Availability {
                cal_type: CalType::PerUser,
                version,
                installed: 0,
                issued: 0,
                available: 0,
                over_allocated: n,
            }),
        }
    }
    out.sort_by_key(|a| (a.cal_type, a.version));
    Ok(out)
}

// ---------------------------------------------------------------- per-device

/// The columns [`device_cal`] reads, with and without the `c.` alias: a macro so that every query using them is a
/// `&'static str` built at compile time (the issuance path builds no SQL string).
macro_rules! cal_columns {
    () => {
        "c.serial, c.hardware_id, c.client_name, c.user_name, c.host_name, c.kind, c.version, \
         c.pack_id, c.issued_at, c.expires_at, c.status, c.status_at, c.replaces"
    };
    (bare) => {
        "serial, hardware_id, client_name, user_name, host_name, kind, version, \
         pack_id, issued_at, expires_at, status, status_at, replaces"
    };
}
pub(crate) use cal_columns;

/// Every row as a [`DeviceCal`].
fn device_cals(rows: &[Row]) -> Result<Vec<DeviceCal>, StoreError> {
    rows.iter()
        .map(|row| {
            device_cal(&Get {
                row,
                table: "device_cals",
            })
        })
        .collect()
}

pub(crate) fn device_cal(g: &Get<'_>) -> Result<DeviceCal, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "device_cals",
        detail,
    };
    Ok(DeviceCal {
        serial: CalSerial(g.int(0)?),
        hardware_id: HardwareId(g.array(1)?),
        client_name: g.text(2)?,
        user_name: g.text(3)?,
        host_name: g.text(4)?,
        kind: DeviceCalKind::parse(&g.text(5)?).ok_or_else(|| corrupt("unknown kind".to_owned()))?,
        version: CalVersion(g.u16(6)?),
        pack: g.opt_array(7)?.map(KeyPackId),
        issued_at: g.int(8)?,
        expires_at: g.int(9)?,
        status: CalStatus::parse(&g.text(10)?).ok_or_else(|| corrupt("unknown status".to_owned()))?,
        status_at: g.opt_int(11)?,
        replaces: g.opt_int(12)?.map(CalSerial),
    })
}

fn view_of(cal: &DeviceCal, pack_expires_at: Option<i64>) -> DeviceCalView {
    DeviceCalView {
        kind: cal.kind,
        version: cal.version,
        expires_at: cal.expires_at,
        pack_expires_at,
    }
}

/// One pack row, locked for the rest of the transaction.
pub(crate) struct PackRow {
    pub(crate) id: KeyPackId,
    pub(crate) version: CalVersion,
    count: u32,
    issued: u32,
    pub(crate) expires_at: Option<i64>,
}

pub(crate) fn lock_packs(
    db: &mut dyn Db,
    cal_type: CalType,
    min_version: CalVersion,
) -> Result<Vec<PackRow>, StoreError> {
    let sql = format!(
        "SELECT id, version, count, issued, expires_at FROM key_packs WHERE cal_type = $1 AND version >= $2 \
         ORDER BY id{}",
        db.for_update()
    );
    let rows = db.query(&sql, &[cal_type.as_str().into(), i64::from(min_version.0).into()])?;
    rows.iter()
        .map(|row| {
            let g = Get {
                row,
                table: "key_packs",
            };
            Ok(PackRow {
                id: KeyPackId(g.array(0)?),
                version: CalVersion(g.u16(1)?),
                count: g.u32(2)?,
                issued: g.u32(3)?,
                expires_at: g.opt_int(4)?,
            })
        })
        .collect()
}

pub(crate) fn candidates(packs: &[PackRow]) -> Vec<PackCandidate> {
    packs
        .iter()
        .map(|p| PackCandidate {
            id: p.id,
            version: p.version,
            free: p.count.saturating_sub(p.issued),
            expires_at: p.expires_at,
        })
        .collect()
}

fn add_issued(db: &mut dyn Db, pack: KeyPackId, delta: i64) -> Result<(), StoreError> {
    db.exec(
        "UPDATE key_packs SET issued = issued + $1 WHERE id = $2",
        &[delta.into(), pack.0.as_slice().into()],
    )?;
    Ok(())
}

/// Returns to the pool the CALs of `pack` that expired un-renewed; returns how many.
fn reclaim(db: &mut dyn Db, cal_type: CalType, pack: KeyPackId, now: i64) -> Result<u32, StoreError> {
    let n = match cal_type {
        CalType::PerDevice => db.exec(
            "UPDATE device_cals SET status = 'expired', status_at = $1 \
             WHERE pack_id = $2 AND status = 'active' AND expires_at <= $1",
            &[now.into(), pack.0.as_slice().into()],
        )?,
        CalType::PerUser => db.exec(
            "UPDATE user_cals SET pack_id = NULL WHERE pack_id = $2 AND expires_at <= $1",
            &[now.into(), pack.0.as_slice().into()],
        )?,
    };
    let n_i64 = i64::try_from(n).unwrap_or(i64::MAX);
    if n > 0 {
        add_issued(db, pack, -n_i64)?;
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Locks the packs that could serve `host_version` and picks one with a free CAL, reclaiming expired CALs of full
/// packs when none is free at first sight.
fn allocate_slot(
    db: &mut dyn Db,
    cal_type: CalType,
    host_version: CalVersion,
    now: i64,
) -> Result<Option<PackRow>, StoreError> {
    let mut packs = lock_packs(db, cal_type, host_version)?;
    let mut chosen = choose_pack(&candidates(&packs), host_version, now);
    if chosen.is_none() {
        let mut reclaimed = 0u32;
        for p in &mut packs {
            let usable = p.expires_at.is_none_or(|t| now < t) && p.version.serves(host_version);
            if usable && p.issued >= p.count {
                let n = reclaim(db, cal_type, p.id, now)?;
                p.issued = p.issued.saturating_sub(n);
                reclaimed = reclaimed.saturating_add(n);
            }
        }
        if reclaimed > 0 {
            chosen = choose_pack(&candidates(&packs), host_version, now);
        }
    }
    let Some(id) = chosen else { return Ok(None) };
    add_issued(db, id, 1)?;
    Ok(packs.into_iter().find(|p| p.id == id))
}

fn set_status(db: &mut dyn Db, serial: CalSerial, status: CalStatus, now: i64) -> Result<u64, StoreError> {
    db.exec(
        "UPDATE device_cals SET status = $1, status_at = $2 WHERE serial = $3 AND status = 'active'",
        &[status.as_str().into(), now.into(), serial.0.into()],
    )
}

struct NewCal<'a> {
    req: &'a DeviceCalRequest,
    kind: DeviceCalKind,
    version: CalVersion,
    pack: Option<KeyPackId>,
    expires_at: i64,
    replaces: Option<CalSerial>,
}

fn insert_cal(db: &mut dyn Db, new: &NewCal<'_>) -> Result<DeviceCal, StoreError> {
    let r = new.req;
    let rows = db.query(
        concat!(
            "INSERT INTO device_cals (hardware_id, client_name, user_name, host_name, kind, version, pack_id, \
             issued_at, expires_at, status, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10) \
             RETURNING ",
            cal_columns!(bare)
        ),
        &[
            r.hardware_id.0.as_slice().into(),
            r.client_name.as_str().into(),
            r.user_name.as_str().into(),
            r.host_name.as_str().into(),
            new.kind.as_str().into(),
            i64::from(new.version.0).into(),
            new.pack.map(|p| Value::Blob(p.0.to_vec())).unwrap_or(Value::Null),
            r.now.into(),
            new.expires_at.into(),
            new.replaces.map(|s| s.0).into(),
        ],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Database("insert returned no row".to_owned()))?;
    device_cal(&Get {
        row,
        table: "device_cals",
    })
}

type CalRows = (Vec<DeviceCal>, Vec<DeviceCalView>);

fn device_cals_for_planning(db: &mut dyn Db, hw: &HardwareId) -> Result<CalRows, StoreError> {
    // A device whose permanent CAL expired (and went back to the pool) is not new: its expired CAL is part of the
    // input, so it gets a permanent CAL again or a refusal, never a second round of temporary CALs.
    let rows = db.query(
        concat!(
            "SELECT ",
            cal_columns!(),
            ", p.expires_at FROM device_cals c LEFT JOIN key_packs p ON p.id = c.pack_id \
             WHERE c.hardware_id = $1 AND c.status IN ('active', 'expired') ORDER BY c.serial"
        ),
        &[hw.0.as_slice().into()],
    )?;
    let mut cals = Vec::with_capacity(rows.len());
    let mut views = Vec::with_capacity(rows.len());
    for row in &rows {
        let (cal, view) = planning_row(row)?;
        views.push(view);
        cals.push(cal);
    }
    Ok((cals, views))
}

/// One row of a planning query (the CAL columns, then its key pack's expiry) as the CAL and its policy view.
pub(crate) fn planning_row(row: &Row) -> Result<(DeviceCal, DeviceCalView), StoreError> {
    let g = Get {
        row,
        table: "device_cals",
    };
    let cal = device_cal(&g)?;
    let view = view_of(&cal, g.opt_int(13)?);
    Ok((cal, view))
}

/// The read-only answer when the device holds a CAL that needs nothing and its sighting is recent. Racing with a
/// renewal of the same device is harmless: the CAL returned was valid when read and stays valid until its expiry.
pub(crate) fn device_unchanged(
    db: &mut dyn Db,
    req: &DeviceCalRequest,
) -> Result<Option<DeviceCalOutcome>, StoreError> {
    let rows = db.query(
        "SELECT client_name, last_seen FROM devices WHERE hardware_id = $1",
        &[req.hardware_id.0.as_slice().into()],
    )?;
    let Some(row) = rows.first() else { return Ok(None) };
    let g = Get {
        row,
        table: "devices",
    };
    if g.text(0)? != req.client_name || req.now - g.int(1)? >= LAST_SEEN_PRECISION || req.now < g.int(1)? {
        return Ok(None);
    }
    let activated = is_activated(db)?;
    let (cals, views) = device_cals_for_planning(db, &req.hardware_id)?;
    let Some(i) = current_device_cal(&views, req.host_version, req.now) else {
        return Ok(None);
    };
    if plan_device_request(views.get(i), activated, req.now) != DeviceStep::KeepCurrent {
        return Ok(None);
    }
    Ok(cals.get(i).cloned().map(|cal| DeviceCalOutcome::Granted {
        cal,
        action: DeviceAction::Unchanged,
    }))
}

pub(crate) fn device_request(
    db: &mut dyn Db,
    req: &DeviceCalRequest,
) -> Result<DeviceCalOutcome, StoreError> {
    if let Some(outcome) = device_unchanged(db, req)? {
        return Ok(outcome);
    }
    let now = req.now;
    // The upsert takes the device's row lock (PostgreSQL) so two requests of one device run one after the other;
    // everything below is read under that lock.
    db.exec(
        "INSERT INTO devices (hardware_id, client_name, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (hardware_id) DO UPDATE SET client_name = excluded.client_name, last_seen = excluded.last_seen",
        &[req.hardware_id.0.as_slice().into(), req.client_name.as_str().into(), now.into()],
    )?;
    let activated = is_activated(db)?;
    let (cals, views) = device_cals_for_planning(db, &req.hardware_id)?;
    let idx = current_device_cal(&views, req.host_version, now);
    let current = idx.and_then(|i| cals.get(i).cloned());
    let current_view = idx.and_then(|i| views.get(i).copied());
    let subject = |cal: &DeviceCal| format!("{}", cal.serial);

    let step = plan_device_request(current_view.as_ref(), activated, now);
    match (step, current) {
        (DeviceStep::KeepCurrent, Some(cal)) => Ok(DeviceCalOutcome::Granted {
            cal,
            action: DeviceAction::Unchanged,
        }),
        (DeviceStep::IssueTemporary { expires_at }, _) => {
            let cal = insert_cal(
                db,
                &NewCal {
                    req,
                    kind: DeviceCalKind::Temporary,
                    version: req.host_version,
                    pack: None,
                    expires_at,
                    replaces: None,
                },
            )?;
            audit(
                db,
                AuditKind::CAL_TEMPORARY,
                &req.host_name,
                &subject(&cal),
                &format!(
                    "hwid={} version={} expires_at={}",
                    req.hardware_id, cal.version, cal.expires_at
                ),
                now,
            )?;
            Ok(DeviceCalOutcome::Granted {
                cal,
                action: DeviceAction::IssuedTemporary,
            })
        }
        (DeviceStep::Renew, Some(old)) => {
            let pack_expiry = current_view.and_then(|v| v.pack_expires_at);
            // The renewal takes over the old CAL's slot, so the old CAL must still hold it: a revocation that
            // committed since it was read (PostgreSQL, READ COMMITTED: the revocation does not take the device's
            // row lock) already gave the slot back. Run the request again on what is now committed.
            if set_status(db, old.serial, CalStatus::Superseded, now)? == 0 {
                return Err(StoreError::Conflict(format!(
                    "CAL {} changed while it was being renewed",
                    old.serial
                )));
            }
            let cal = insert_cal(
                db,
                &NewCal {
                    req,
                    kind: DeviceCalKind::Permanent,
                    version: old.version,
                    pack: old.pack,
                    expires_at: permanent_expiry(now, req.random, pack_expiry),
                    replaces: Some(old.serial),
                },
            )?;
            audit(
                db,
                AuditKind::CAL_RENEWAL,
                &req.host_name,
                &subject(&cal),
                &format!(
                    "hwid={} replaces={} expires_at={}",
                    req.hardware_id, old.serial, cal.expires_at
                ),
                now,
            )?;
            Ok(DeviceCalOutcome::Granted {
                cal,
                action: DeviceAction::Renewed,
            })
        }
        (DeviceStep::AllocatePermanent { fallback }, current) => {
            let mut current = current;
            // An expired permanent CAL returns to the pool whatever happens next.
            if let Some(cal) = current.as_ref() {
                if cal.kind == DeviceCalKind::Permanent
                    && now >= cal.expires_at
                    && set_status(db, cal.serial, CalStatus::Expired, now)? > 0
                {
                    if let Some(p) = cal.pack {
                        add_issued(db, p, -1)?;
                    }
                }
            }
            match allocate_slot(db, CalType::PerDevice, req.host_version, now)? {
                Some(pack) => {
                    if let Some(old) = current.as_ref() {
                        if old.kind == DeviceCalKind::Permanent && now < old.expires_at {
                            // Moving from an expired pack: give back the old slot.
                            if set_status(db, old.serial, CalStatus::Superseded, now)? > 0 {
                                if let Some(p) = old.pack {
                                    add_issued(db, p, -1)?;
                                }
                            }
                        } else if old.kind == DeviceCalKind::Temporary {
                            set_status(db, old.serial, CalStatus::Superseded, now)?;
                        }
                    }
                    let cal = insert_cal(
                        db,
                        &NewCal {
                            req,
                            kind: DeviceCalKind::Permanent,
                            version: pack.version,
                            pack: Some(pack.id),
                            expires_at: permanent_expiry(now, req.random, pack.expires_at),
                            replaces: current.as_ref().map(|c| c.serial),
                        },
                    )?;
                    audit(
                        db,
                        AuditKind::CAL_PERMANENT,
                        &req.host_name,
                        &subject(&cal),
                        &format!(
                            "hwid={} pack={} version={} expires_at={}",
                            req.hardware_id, pack.id, cal.version, cal.expires_at
                        ),
                        now,
                    )?;
                    Ok(DeviceCalOutcome::Granted {
                        cal,
                        action: DeviceAction::IssuedPermanent,
                    })
                }
                None => match (fallback, current.take()) {
                    (Fallback::KeepCurrent, Some(cal)) => Ok(DeviceCalOutcome::Granted {
                        cal,
                        action: DeviceAction::Unchanged,
                    }),
                    (Fallback::Refuse(r), _) => Ok(DeviceCalOutcome::Refused(r)),
                    (Fallback::KeepCurrent, None) => Err(StoreError::Database(
                        "policy kept a CAL that does not exist".to_owned(),
                    )),
                },
            }
        }
        (DeviceStep::Refuse(r), _) => Ok(DeviceCalOutcome::Refused(r)),
        (DeviceStep::KeepCurrent | DeviceStep::Renew, None) => Err(StoreError::Database(
            "policy used a CAL that does not exist".to_owned(),
        )),
    }
}

pub(crate) fn cal_by_serial(db: &mut dyn Db, serial: CalSerial) -> Result<Option<DeviceCal>, StoreError> {
    let rows = db.query(
        concat!("SELECT ", cal_columns!(), " FROM device_cals c WHERE c.serial = $1"),
        &[serial.0.into()],
    )?;
    rows.first()
        .map(|row| {
            device_cal(&Get {
                row,
                table: "device_cals",
            })
        })
        .transpose()
}

pub(crate) fn cals_by_hardware_id(db: &mut dyn Db, hw: &HardwareId) -> Result<Vec<DeviceCal>, StoreError> {
    let rows = db.query(
        concat!("SELECT ", cal_columns!(), " FROM device_cals c WHERE c.hardware_id = $1 ORDER BY c.serial DESC"),
        &[hw.0.as_slice().into()],
    )?;
    device_cals(&rows)
}

pub(crate) fn list_cals(
    db: &mut dyn Db,
    after: CalSerial,
    limit: u32,
    active_only: bool,
    now: i64,
) -> Result<Vec<DeviceCal>, StoreError> {
    let rows = db.query(
        concat!(
            "SELECT ",
            cal_columns!(),
            " FROM device_cals c WHERE c.serial > $1 \
             AND ($3 = 0 OR (c.status = 'active' AND c.expires_at > $4)) ORDER BY c.serial LIMIT $2"
        ),
        &[
            after.0.into(),
            i64::from(limit).into(),
            active_only.into(),
            now.into(),
        ],
    )?;
    device_cals(&rows)
}

pub(crate) fn revoke(
    db: &mut dyn Db,
    serial: CalSerial,
    actor: &str,
    now: i64,
) -> Result<RevokeOutcome, StoreError> {
    let Some(cal) = cal_by_serial(db, serial)? else {
        return Err(StoreError::NoSuchCal(serial));
    };
    if cal.status != CalStatus::Active {
        return Ok(RevokeOutcome::Refused(RevokeRefusal::NotActive));
    }
    // Lock the packs of this version: concurrent revocations of one version run one after the other.
    let packs = lock_packs(db, CalType::PerDevice, cal.version)?;
    let installed: u32 = packs
        .iter()
        .filter(|p| p.version == cal.version && p.expires_at.is_none_or(|t| now < t))
        .fold(0u32, |a, p| a.saturating_add(p.count));
    let rows = db.query(
        "SELECT expires_at FROM device_cals WHERE status = 'revoked' AND version = $1 AND expires_at > $2",
        &[i64::from(cal.version.0).into(), now.into()],
    )?;
    let revoked_until = rows
        .iter()
        .map(|row| {
            Get {
                row,
                table: "device_cals",
            }
            .int(0)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Err(refusal) = check_revocation(&view_of(&cal, None), installed, &revoked_until, now) {
        return Ok(RevokeOutcome::Refused(refusal));
    }
    if set_status(db, serial, CalStatus::Revoked, now)? == 0 {
        return Ok(RevokeOutcome::Refused(RevokeRefusal::NotActive));
    }
    if let Some(p) = cal.pack {
        add_issued(db, p, -1)?;
    }
    audit(
        db,
        AuditKind::CAL_REVOCATION,
        actor,
        &serial.to_string(),
        &format!(
            "hwid={} version={} original_expiry={}",
            cal.hardware_id, cal.version, cal.expires_at
        ),
        now,
    )?;
    let cal = cal_by_serial(db, serial)?.ok_or(StoreError::NoSuchCal(serial))?;
    Ok(RevokeOutcome::Revoked(cal))
}

/// Deletes at most `limit` temporary CALs that expired before `expired_before` of devices not seen since then, each
/// recorded in the audit log, and the device rows left without any CAL. A device still connecting keeps its expired
/// temporary CAL (it must not get a second one). Returns how many CALs were deleted.
pub(crate) fn purge_temporary(
    db: &mut dyn Db,
    expired_before: i64,
    limit: u32,
    actor: &str,
    now: i64,
) -> Result<u32, StoreError> {
    let rows = db.query(
        "SELECT serial, hardware_id, expires_at FROM device_cals WHERE kind = 'temporary' AND expires_at < $1 \
         AND hardware_id IN (SELECT hardware_id FROM devices WHERE last_seen < $1) ORDER BY serial LIMIT $2",
        &[expired_before.into(), i64::from(limit).into()],
    )?;
    let mut deleted = 0u32;
    for row in &rows {
        let g = Get { row, table: "device_cals" };
        let serial = g.int(0)?;
        let hw = g.blob(1)?;
        let expires_at = g.int(2)?;
        if db.exec("DELETE FROM device_cals WHERE serial = $1", &[serial.into()])? == 0 {
            continue;
        }
        deleted = deleted.saturating_add(1);
        audit(
            db,
            AuditKind::CAL_PURGE,
            actor,
            &serial.to_string(),
            &format!("hwid={} kind=temporary expired_at={expires_at}", hex::encode(&hw)),
            now,
        )?;
    }
    db.exec(
        "DELETE FROM devices WHERE last_seen < $1 \
         AND NOT EXISTS (SELECT 1 FROM device_cals c WHERE c.hardware_id = devices.hardware_id)",
        &[expired_before.into()],
    )?;
    Ok(deleted)
}

// ---------------------------------------------------------------- per-user

pub(crate) fn user_cal(g: &Get<'_>) -> Result<UserCal, StoreError> {
    Ok(UserCal {
        user: g.text(0)?,
        version: CalVersion(g.u16(1)?),
        pack: g.opt_array(2)?.map(KeyPackId),
        last_host: g.text(3)?,
        first_seen: g.int(4)?,
        last_seen: g.int(5)?,
        expires_at: g.int(6)?,
        over_allocated: g.int(7)? != 0,
    })
}

pub(crate) const USER_COLUMNS: &str =
    "user_name, version, pack_id, last_host, first_seen, last_seen, expires_at, over_allocated";

fn read_user(db: &mut dyn Db, user: &str, lock: bool) -> Result<Option<UserCal>, StoreError> {
    let lock = if lock { db.for_update() } else { "" };
    let rows = db.query(
        &format!("SELECT {USER_COLUMNS} FROM user_cals WHERE user_name = $1{lock}"),
        &[user.into()],
    )?;
    rows.first()
        .map(|row| {
            user_cal(&Get {
                row,
                table: "user_cals",
            })
        })
        .transpose()
}

/// Read-only answer for a recent sign-in on the same host with nothing to change (see [`LAST_SEEN_PRECISION`]).
pub(crate) fn user_unchanged(
    db: &mut dyn Db,
    req: &UserCalRequest,
) -> Result<Option<UserCalOutcome>, StoreError> {
    if !is_activated(db)? {
        return Ok(None);
    }
    let Some(c) = read_user(db, &req.user, false)? else {
        return Ok(None);
    };
    if user_needs_no_write(&c, req) {
        return Ok(Some(UserCalOutcome::Granted {
            cal: c,
            action: UserAction::Touched,
        }));
    }
    Ok(None)
}

/// Whether a checkout of the (activated) server's user row `c` changes nothing: a sign-in on the same host within
/// [`LAST_SEEN_PRECISION`] of the recorded one, with a CAL that needs no refresh.
pub(crate) fn user_needs_no_write(c: &UserCal, req: &UserCalRequest) -> bool {
    let view = UserCalView {
        version: c.version,
        expires_at: c.expires_at,
        over_allocated: c.over_allocated,
    };
    plan_user_checkout(Some(&view), req.host_version, req.now) == UserStep::Touch
        && c.last_host == req.host_name
        && (0..LAST_SEEN_PRECISION).contains(&(req.now - c.last_seen))
}

pub(crate) fn user_checkout(db: &mut dyn Db, req: &UserCalRequest) -> Result<UserCalOutcome, StoreError> {
    let now = req.now;
    if !is_activated(db)? {
        return Ok(UserCalOutcome::Refused(UserRefusal::NotActivated));
    }
    if let Some(outcome) = user_unchanged(db, req)? {
        return Ok(outcome);
    }
    let current = read_user(db, &req.user, true)?;
    let view = current.as_ref().map(|c| UserCalView {
        version: c.version,
        expires_at: c.expires_at,
        over_allocated: c.over_allocated,
    });
    let step = plan_user_checkout(view.as_ref(), req.host_version, now);
    let (action, expires_at) = match step {
        UserStep::Touch => (UserAction::Touched, None),
        UserStep::Refresh { expires_at } => (UserAction::Refreshed, Some(expires_at)),
        UserStep::Allocate { expires_at } => (UserAction::Allocated, Some(expires_at)),
    };
    if action != UserAction::Allocated {
        db.exec(
            "UPDATE user_cals SET last_seen = $1, last_host = $2, expires_at = COALESCE($3, expires_at) \
             WHERE user_name = $4",
            &[
                now.into(),
                req.host_name.as_str().into(),
                expires_at.into(),
                req.user.as_str().into(),
            ],
        )?;
        if action == UserAction::Refreshed {
            audit(
                db,
                AuditKind::USER_CAL_REFRESH,
                &req.host_name,
                &req.user,
                &format!("expires_at={expires_at:?}"),
                now,
            )?;
        }
        let cal = read_user(db, &req.user, false)?
            .ok_or_else(|| StoreError::Database("per-user row vanished".to_owned()))?;
        return Ok(UserCalOutcome::Granted { cal, action });
    }
    let expires_at = expires_at.unwrap_or(now);
    // Give back the slot the user holds (expired, wrong version, or none) before taking one.
    if let Some(old) = current.as_ref() {
        if let Some(p) = old.pack {
            db.exec(
                "UPDATE user_cals SET pack_id = NULL WHERE user_name = $1",
                &[req.user.as_str().into()],
            )?;
            add_issued(db, p, -1)?;
        }
    }
    let slot = allocate_slot(db, CalType::PerUser, req.host_version, now)?;
    let over = match user_allocation(slot.is_some(), req.enforce) {
        Ok(over) => over,
        Err(refusal) => return Ok(UserCalOutcome::Refused(refusal)),
    };
    let version = slot.as_ref().map_or(req.host_version, |p| p.version);
    let pack = slot
        .as_ref()
        .map(|p| Value::Blob(p.id.0.to_vec()))
        .unwrap_or(Value::Null);
    db.exec(
        "INSERT INTO user_cals (user_name, version, pack_id, last_host, first_seen, last_seen, expires_at, \
         over_allocated) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) \
         ON CONFLICT (user_name) DO UPDATE SET version = excluded.version, pack_id = excluded.pack_id, \
         last_host = excluded.last_host, last_seen = excluded.last_seen, expires_at = excluded.expires_at, \
         over_allocated = excluded.over_allocated",
        &[
            req.user.as_str().into(),
            i64::from(version.0).into(),
            pack,
            req.host_name.as_str().into(),
            now.into(),
            expires_at.into(),
            over.into(),
        ],
    )?;
    // An over-allocated user signing in again while the pool is still empty is a sign-in, not a new issuance: no
    // audit entry for it (the entry of its first over-allocation stands).
    let still_over = current
        .as_ref()
        .is_some_and(|c| c.over_allocated && now < c.expires_at && c.version == version)
        && over;
    let action = if still_over { UserAction::Touched } else { action };
    if !still_over {
        audit(
            db,
            AuditKind::USER_CAL,
            &req.host_name,
            &req.user,
            &format!("version={version} over_allocated={over} expires_at={expires_at}"),
            now,
        )?;
    }
    let cal = read_user(db, &req.user, false)?
        .ok_or_else(|| StoreError::Database("per-user row vanished".to_owned()))?;
    Ok(UserCalOutcome::Granted { cal, action })
}

pub(crate) fn user_report(db: &mut dyn Db, now: i64) -> Result<Vec<UserCal>, StoreError> {
    let rows = db.query(
        &format!("SELECT {USER_COLUMNS} FROM user_cals WHERE expires_at > $1 ORDER BY user_name"),
        &[now.into()],
    )?;
    rows.iter()
        .map(|row| {
            user_cal(&Get {
                row,
                table: "user_cals",
            })
        })
        .collect()
}

// ---------------------------------------------------------------- hosts

const HOST_COLUMNS: &str = "id, name, cert_fingerprint, enrolled_at, revoked, revoked_at, last_contact";

fn host(g: &Get<'_>) -> Result<EnrolledHost, StoreError> {
    Ok(EnrolledHost {
        id: HostId(g.int(0)?),
        name: g.text(1)?,
        cert_fingerprint: g.array(2)?,
        enrolled_at: g.int(3)?,
        revoked: g.int(4)? != 0,
        revoked_at: g.opt_int(5)?,
        last_contact: g.opt_int(6)?,
    })
}

fn host_where(db: &mut dyn Db, cond: &str, param: Value) -> Result<Option<EnrolledHost>, StoreError> {
    let rows = db.query(
        &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE {cond}"),
        &[param],
    )?;
    rows.first()
        .map(|row| host(&Get { row, table: "hosts" }))
        .transpose()
}

pub(crate) fn create_token(
    db: &mut dyn Db,
    token: &TokenHash,
    host_name: Option<&str>,
    expires_at: i64,
    actor: &str,
    now: i64,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO enrollment_tokens (token_hash, host_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[token.0.as_slice().into(), host_name.into(), now.into(), expires_at.into()],
    )?;
    audit(
        db,
        AuditKind::TOKEN,
        actor,
        host_name.unwrap_or("*"),
        &format!("expires_at={expires_at}"),
        now,
    )
}

pub(crate) fn enroll_host(
    db: &mut dyn Db,
    token: &TokenHash,
    name: &str,
    fingerprint: &[u8; 32],
    now: i64,
) -> Result<EnrolledHost, StoreError> {
    let lock = db.for_update();
    let rows = db.query(
        &format!("SELECT host_name, expires_at, used_at FROM enrollment_tokens WHERE token_hash = $1{lock}"),
        &[token.0.as_slice().into()],
    )?;
    let row = rows.first().ok_or(StoreError::TokenUnknown)?;
    let g = Get {
        row,
        table: "enrollment_tokens",
    };
    if g.opt_int(2)?.is_some() {
        return Err(StoreError::TokenUsed);
    }
    let expired_at = g.int(1)?;
    if now >= expired_at {
        return Err(StoreError::TokenExpired { expired_at });
    }
    if let Some(expected) = g.opt_text(0)? {
        if expected != name {
            return Err(StoreError::TokenHostMismatch {
                expected,
                given: name.to_owned(),
            });
        }
    }
    if host_where(db, "cert_fingerprint = $1", fingerprint.as_slice().into())?.is_some() {
        return Err(StoreError::DuplicateHost);
    }
    let rows = db.query(
        &format!(
            "INSERT INTO hosts (name, cert_fingerprint, enrolled_at, revoked, last_contact) VALUES ($1, $2, $3, 0, $3) \
             RETURNING {HOST_COLUMNS}"
        ),
        &[name.into(), fingerprint.as_slice().into(), now.into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Database("insert returned no row".to_owned()))?;
    let h = host(&Get { row, table: "hosts" })?;
    // The conditional update makes the token one-time even if two enrollments raced past the read above.
    let used = db.exec(
        "UPDATE enrollment_tokens SET used_at = $1, used_by = $2 WHERE token_hash = $3 AND used_at IS NULL",
        &[now.into(), h.id.0.into(), token.0.as_slice().into()],
    )?;
    if used != 1 {
        return Err(StoreError::TokenUsed);
    }
    audit(
        db,
        AuditKind::HOST_ENROLLMENT,
        name,
        &h.id.to_string(),
        &format!("fingerprint={}", hex::encode(fingerprint)),
        now,
    )?;
    Ok(h)
}

pub(crate) fn host_by_fingerprint(
    db: &mut dyn Db,
    fp: &[u8; 32],
) -> Result<Option<EnrolledHost>, StoreError> {
    if let Some(h) = host_where(db, "cert_fingerprint = $1", fp.as_slice().into())? {
        return Ok(Some(h));
    }
    host_where(
        db,
        "id = (SELECT host_id FROM host_certificates WHERE cert_fingerprint = $1)",
        fp.as_slice().into(),
    )
}

/// Records a renewed certificate of host `id` (accepted from now on, next to the ones before it). Audited.
pub(crate) fn add_host_certificate(
    db: &mut dyn Db,
    id: HostId,
    fp: &[u8; 32],
    expires_at: i64,
    now: i64,
) -> Result<EnrolledHost, StoreError> {
    let h = host_where(db, "id = $1", id.0.into())?.ok_or(StoreError::NoSuchHost(id))?;
    db.exec(
        "INSERT INTO host_certificates (cert_fingerprint, host_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[fp.as_slice().into(), id.0.into(), now.into(), expires_at.into()],
    )?;
    // Certificates that expired are of no use any more.
    db.exec(
        "DELETE FROM host_certificates WHERE host_id = $1 AND expires_at < $2",
        &[id.0.into(), now.into()],
    )?;
    audit(
        db,
        AuditKind::HOST_CERT_RENEWAL,
        &h.name,
        &id.to_string(),
        &format!("fingerprint={} expires_at={expires_at}", hex::encode(fp)),
        now,
    )?;
    Ok(h)
}

pub(crate) fn list_hosts(db: &mut dyn Db) -> Result<Vec<EnrolledHost>, StoreError> {
    let rows = db.query(&format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY id"), &[])?;
    rows.iter()
        .map(|row| host(&Get { row, table: "hosts" }))
        .collect()
}

pub(crate) fn revoke_host(
    db: &mut dyn Db,
    id: HostId,
    actor: &str,
    now: i64,
) -> Result<EnrolledHost, StoreError> {
    let n = db.exec(
        "UPDATE hosts SET revoked = 1, revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
        &[now.into(), id.0.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NoSuchHost(id));
    }
    audit(db, AuditKind::HOST_REVOCATION, actor, &id.to_string(), "", now)?;
    host_where(db, "id = $1", id.0.into())?.ok_or(StoreError::NoSuchHost(id))
}

pub(crate) fn touch_host(db: &mut dyn Db, id: HostId, now: i64) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE hosts SET last_contact = $1 WHERE id = $2",
        &[now.into(), id.0.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NoSuchHost(id));
    }
    Ok(())
}

// ---------------------------------------------------------------- audit, bench

pub(crate) fn audit_log(db: &mut dyn Db, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = db.query(
        "SELECT id, at, kind, actor, subject, detail FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        &[after.into(), i64::from(limit).into()],
    )?;
    rows.iter()
        .map(|row| {
            let g = Get {
                row,
                table: "audit_log",
            };
            Ok(AuditEntry {
                id: g.int(0)?,
                at: g.int(1)?,
                kind: AuditKind(g.text(2)?),
                actor: g.text(3)?,
                subject: g.text(4)?,
                detail: g.text(5)?,
            })
        })
        .collect()
}

pub(crate) fn record_audit(
    db: &mut dyn Db,
    kind: &AuditKind,
    actor: &str,
    subject: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    audit(db, &kind.0, actor, subject, detail, now)
}

pub(crate) fn bench_insert(db: &mut dyn Db, i: u32) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO bench_rows (at, payload) VALUES ($1, $2)",
        &[i64::from(i).into(), [0x5au8; 64].as_slice().into()],
    )?;
    Ok(())
}
