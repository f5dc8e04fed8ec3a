//! The glue between a backend's transactions and [`LicenseStore`]: a backend only knows how to run a closure in a
//! read or a write transaction; every store method is implemented once, here, on top of that.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdlic_core::{HardwareId, TokenHash, VerifiedActivation, VerifiedKeyPack};

use crate::db::Db;
use crate::{
    cluster, logic, AuditEntry, AuditKind, Availability, CalSerial, DeviceCal, DeviceCalOutcome, DeviceCalRequest,
    EachOutcome, EnrolledHost, HostId, InstallOutcome, InstalledKeyPack, LicenseStore, RevokeOutcome, ServerState,
    StoreError, UserCal, UserCalOutcome, UserCalRequest,
};

pub(crate) type TxFn<'a, T> = &'a mut dyn FnMut(&mut dyn Db) -> Result<T, StoreError>;

/// What a backend provides.
pub(crate) trait Backend: Send + Sync + core::fmt::Debug {
    /// `sqlite` / `postgres`.
    const NAME: &'static str;
    /// Runs `f` in a write transaction and commits; retries it on a transient conflict. Returns after COMMIT.
    fn write<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError>;
    /// Runs `f` in a read-only snapshot.
    fn read<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError>;
    /// Whether single requests are group-committed ([`GroupCommit`]) or each run in its own transaction.
    const GROUP_COMMIT: bool;
    /// The group-commit queue of this store.
    fn group(&self) -> &GroupCommit;
    /// Whether batches run as multi-row statements (`bulk.rs`, PostgreSQL: a round trip per statement makes the
    /// statement count the cost) or request by request (`logic.rs`, SQLite: a statement is a function call).
    const MULTI_ROW: bool;
    /// Runs `f`, which runs ONE read statement, in the cheapest snapshot the backend has (PostgreSQL: no
    /// transaction block, the statement's own snapshot).
    fn read_one_statement<T>(&self, f: TxFn<'_, T>) -> Result<T, StoreError> {
        self.read(f)
    }
    /// One per-device request: a read when nothing changes, else group-committed with concurrent requests.
    fn request_device(&self, request: &DeviceCalRequest) -> Result<DeviceCalOutcome, StoreError> {
        if let Some(outcome) = self.read(&mut |db| logic::device_unchanged(db, request))? {
            return Ok(outcome);
        }
        if !Self::GROUP_COMMIT {
            return self.write(&mut |db| logic::device_request(db, request));
        }
        match self.group().submit(self, Job::Device(request.clone()))? {
            JobResult::Device(r) => r,
            JobResult::User(_) => Err(StoreError::Database(
                "group commit mixed up two requests".to_owned(),
            )),
        }
    }
    /// One per-user checkout (same contract as [`Backend::request_device`]).
    fn checkout_user(&self, request: &UserCalRequest) -> Result<UserCalOutcome, StoreError> {
        if let Some(outcome) = self.read(&mut |db| logic::user_unchanged(db, request))? {
            return Ok(outcome);
        }
        if !Self::GROUP_COMMIT {
            return self.write(&mut |db| logic::user_checkout(db, request));
        }
        match self.group().submit(self, Job::User(request.clone()))? {
            JobResult::User(r) => r,
            JobResult::Device(_) => Err(StoreError::Database(
                "group commit mixed up two requests".to_owned(),
            )),
        }
    }
}

pub(crate) enum Job {
    Device(DeviceCalRequest),
    User(UserCalRequest),
}

pub(crate) enum JobResult {
    Device(Result<DeviceCalOutcome, StoreError>),
    User(Result<UserCalOutcome, StoreError>),
}

type Slot = Arc<Mutex<Option<JobResult>>>;

struct Pending {
    job: Job,
    slot: Slot,
}

/// Requests waiting for the next group commit, and a counter of finished batches.
#[derive(Default)]
struct Queue {
    jobs: Vec<Pending>,
    generation: u64,
}

/// Group commit of single requests.
///
/// Concurrent [`LicenseStore::request_device_cal`] / [`LicenseStore::checkout_user_cal`] callers queue their
/// request; whichever caller becomes leader runs every queued request in ONE write transaction (each in its own
/// SAVEPOINT, so one failing request does not undo the others), commits once — one fsync for the batch — and hands
/// each caller its result. Every caller returns only after the COMMIT that holds its request. Waiters sleep on a
/// condition variable, so a finished batch releases all its callers at once and the next leader takes the whole
/// queue.
#[derive(Default)]
pub(crate) struct GroupCommit {
    leader: Mutex<()>,
    queue: Mutex<Queue>,
    batch_done: Condvar,
}

impl core::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The same failure for every request of a batch whose transaction failed.
fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

impl GroupCommit {
    fn submit<B: Backend + ?Sized>(&self, backend: &B, job: Job) -> Result<JobResult, StoreError> {
        let slot: Slot = Arc::new(Mutex::new(None));
        let mut seen = {
            let mut q = lock(&self.queue);
            q.jobs.push(Pending {
                job,
                slot: slot.clone(),
            });
            q.generation
        };
        loop {
            if let Some(done) = lock(&slot).take() {
                return Ok(done);
            }
            let leader = match self.leader.try_lock() {
                Ok(g) => Some(g),
                // A panic in an earlier batch left no transaction open (the backends roll back on error).
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            let q = match leader {
                Some(guard) => {
                    let batch = std::mem::take(&mut lock(&self.queue).jobs);
                    run_batch(backend, &batch);
                    let mut q = lock(&self.queue);
                    q.generation = q.generation.wrapping_add(1);
                    drop(guard);
                    self.batch_done.notify_all();
                    q
                }
                None => {
                    // Another caller leads; wait until it finishes its batch (ours may be in it).
                    let mut q = lock(&self.queue);
                    while q.generation == seen {
                        q = self.batch_done.wait(q).unwrap_or_else(PoisonError::into_inner);
                    }
                    q
                }
            };
            seen = q.generation;
        }
    }
}

fn run_batch<B: Backend + ?Sized>(backend: &B, batch: &[Pending]) {
    if batch.is_empty() {
        return;
    }
    let results = backend.write(&mut |db| {
        let mut out = Vec::with_capacity(batch.len());
        for p in batch {
            db.exec("SAVEPOINT job", &[])?;
            let (r, err) = match &p.job {
                Job::Device(req) => {
                    let r = logic::device_request(db, req);
                    let err = r.as_ref().err().map(copy_err);
                    (JobResult::Device(r), err)
                }
                Job::User(req) => {
                    let r = logic::user_checkout(db, req);
                    let err = r.as_ref().err().map(copy_err);
                    (JobResult::User(r), err)
                }
            };
            match err {
                // A deadlock or serialization failure aborts the whole transaction: the backend retries the batch.
                Some(e @ StoreError::Conflict(_)) => return Err(e),
                Some(_) => {
                    db.exec("ROLLBACK TO job", &[])?;
                }
                None => {}
            }
            db.exec("RELEASE job", &[])?;
            out.push(r);
        }
        Ok(out)
    });
    match results {
        Ok(results) => {
            for (p, r) in batch.iter().zip(results) {
                *lock(&p.slot) = Some(r);
            }
        }
        Err(e) => {
            for p in batch {
                *lock(&p.slot) = Some(match p.job {
                    Job::Device(_) => JobResult::Device(Err(copy_err(&e))),
                    Job::User(_) => JobResult::User(Err(copy_err(&e))),
                });
            }
        }
    }
}

/// Runs `run` for each request in its own SAVEPOINT of the current transaction: a request that fails is rolled
/// back alone and answered with its error. A conflict (deadlock, serialization failure) aborts the whole
/// transaction instead, which the backend retries.
fn each<R, O>(
    db: &mut dyn Db,
    requests: &[R],
    run: fn(&mut dyn Db, &R) -> Result<O, StoreError>,
) -> Result<Vec<EachOutcome<O>>, StoreError> {
    let mut out = Vec::with_capacity(requests.len());
    for req in requests {
        db.exec("SAVEPOINT each_request", &[])?;
        match run(db, req) {
            Ok(o) => out.push(Ok(o)),
            Err(e @ (StoreError::Conflict(_) | StoreError::Unavailable(_))) => return Err(e),
            Err(e) => {
                db.exec("ROLLBACK TO each_request", &[])?;
                out.push(Err(e.to_string()));
            }
        }
        db.exec("RELEASE each_request", &[])?;
    }
    Ok(out)
}

/// A batch of per-device requests in the current transaction, the backend's way ([`Backend::MULTI_ROW`]).
fn device_batch<B: Backend>(
    db: &mut dyn Db,
    requests: &[DeviceCalRequest],
) -> Result<Vec<DeviceCalOutcome>, StoreError> {
    if B::MULTI_ROW {
        crate::bulk::device_requests(db, requests, None)
    } else {
        requests.iter().map(|r| logic::device_request(db, r)).collect()
    }
}

impl<B: Backend> LicenseStore for B {
    fn server_state(&self) -> Result<Option<ServerState>, StoreError> {
        self.read(&mut |db| logic::server_state(db))
    }

    fn init_server_identity(&self, public_key_der: &[u8], now: i64) -> Result<ServerState, StoreError> {
        self.write(&mut |db| logic::init_identity(db, public_key_der, now))
    }

    fn activate(
        &self,
        activation: &VerifiedActivation,
        actor: &str,
        now: i64,
    ) -> Result<ServerState, StoreError> {
        self.write(&mut |db| logic::activate(db, activation, actor, now))
    }

    fn deactivate(&self, actor: &str, now: i64) -> Result<ServerState, StoreError> {
        self.write(&mut |db| logic::deactivate(db, actor, now))
    }

    fn install_key_pack(
        &self,
        pack: &VerifiedKeyPack,
        actor: &str,
        now: i64,
    ) -> Result<InstallOutcome, StoreError> {
        self.write(&mut |db| logic::install_pack(db, pack, actor, now))
    }

    fn list_key_packs(&self, now: i64) -> Result<Vec<InstalledKeyPack>, StoreError> {
        self.read(&mut |db| logic::list_packs(db, now))
    }

    fn availability(&self, now: i64) -> Result<Vec<Availability>, StoreError> {
        self.read(&mut |db| logic::availability(db, now))
    }

    fn request_device_cal(&self, request: &DeviceCalRequest) -> Result<DeviceCalOutcome, StoreError> {
        self.request_device(request)
    }

    fn request_device_cals(
        &self,
        requests: &[DeviceCalRequest],
    ) -> Result<Vec<DeviceCalOutcome>, StoreError> {
        self.write(&mut |db| device_batch::<Self>(db, requests))
    }

    fn request_device_cals_early(
        &self,
        requests: &[DeviceCalRequest],
        decided: &mut dyn FnMut(&[DeviceCalOutcome]),
    ) -> Result<Vec<DeviceCalOutcome>, StoreError> {
        self.write(&mut |db| {
            let outcomes = device_batch::<Self>(db, requests)?;
            decided(&outcomes);
            Ok(outcomes)
        })
    }

    fn request_device_cals_each(
        &self,
        requests: &[DeviceCalRequest],
        decided: &mut dyn FnMut(&[EachOutcome<DeviceCalOutcome>]),
    ) -> Result<Vec<EachOutcome<DeviceCalOutcome>>, StoreError> {
        if Self::MULTI_ROW {
            // The multi-row statements first (the common case); only when one request makes them fail does the
            // batch run again request by request, each in its own savepoint.
            let whole = self.write(&mut |db| {
                let outcomes: Vec<EachOutcome<DeviceCalOutcome>> =
                    device_batch::<Self>(db, requests)?.into_iter().map(Ok).collect();
                decided(&outcomes);
                Ok(outcomes)
            });
            match whole {
                Err(StoreError::Database(_) | StoreError::Corrupt { .. }) => {}
                other => return other,
            }
        }
        self.write(&mut |db| {
            let outcomes = each(db, requests, logic::device_request)?;
            decided(&outcomes);
            Ok(outcomes)
        })
    }

    fn purge_expired_temporary_cals(
        &self,
        expired_before: i64,
        limit: u32,
        actor: &str,
        now: i64,
    ) -> Result<u32, StoreError> {
        self.write(&mut |db| logic::purge_temporary(db, expired_before, limit, actor, now))
    }

    fn device_cal_by_serial(&self, serial: CalSerial) -> Result<Option<DeviceCal>, StoreError> {
        self.read(&mut |db| logic::cal_by_serial(db, serial))
    }

    fn device_cals_by_hardware_id(&self, hardware_id: &HardwareId) -> Result<Vec<DeviceCal>, StoreError> {
        self.read(&mut |db| logic::cals_by_hardware_id(db, hardware_id))
    }

    fn list_device_cals(
        &self,
        after: CalSerial,
        limit: u32,
        active_only: bool,
        now: i64,
    ) -> Result<Vec<DeviceCal>, StoreError> {
        self.read(&mut |db| logic::list_cals(db, after, limit, active_only, now))
    }

    fn revoke_device_cal(
        &self,
        serial: CalSerial,
        actor: &str,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        self.write(&mut |db| logic::revoke(db, serial, actor, now))
    }

    fn checkout_user_cal(&self, request: &UserCalRequest) -> Result<UserCalOutcome, StoreError> {
        self.checkout_user(request)
    }

    fn checkout_user_cals(&self, requests: &[UserCalRequest]) -> Result<Vec<UserCalOutcome>, StoreError> {
        if !Self::MULTI_ROW {
            return self.write(&mut |db| requests.iter().map(|r| logic::user_checkout(db, r)).collect());
        }
        // Sign-ins that change nothing (the common case) are answered by one read statement, without a
        // transaction; a batch with anything to write runs in a write transaction (and reads again, under locks).
        if let Some(outcomes) =
            self.read_one_statement(&mut |db| crate::bulk::users_unchanged(db, requests))?
        {
            return Ok(outcomes);
        }
        self.write(&mut |db| crate::bulk::user_requests(db, requests))
    }

    fn checkout_user_cals_each(&self, requests: &[UserCalRequest]) -> Result<Vec<EachOutcome<UserCalOutcome>>, StoreError> {
        if Self::MULTI_ROW {
            match self.checkout_user_cals(requests) {
                Ok(outcomes) => return Ok(outcomes.into_iter().map(Ok).collect()),
                Err(StoreError::Database(_) | StoreError::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.write(&mut |db| each(db, requests, logic::user_checkout))
    }

    fn per_user_report(&self, now: i64) -> Result<Vec<UserCal>, StoreError> {
        self.read(&mut |db| logic::user_report(db, now))
    }

    fn create_enrollment_token(
        &self,
        token: &TokenHash,
        host_name: Option<&str>,
        expires_at: i64,
        actor: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(&mut |db| logic::create_token(db, token, host_name, expires_at, actor, now))
    }

    fn enroll_host(
        &self,
        token: &TokenHash,
        name: &str,
        cert_fingerprint: &[u8; 32],
        now: i64,
    ) -> Result<EnrolledHost, StoreError> {
        self.write(&mut |db| logic::enroll_host(db, token, name, cert_fingerprint, now))
    }

    fn host_by_fingerprint(&self, cert_fingerprint: &[u8; 32]) -> Result<Option<EnrolledHost>, StoreError> {
        self.read(&mut |db| logic::host_by_fingerprint(db, cert_fingerprint))
    }

    fn list_hosts(&self) -> Result<Vec<EnrolledHost>, StoreError> {
        self.read(&mut |db| logic::list_hosts(db))
    }

    fn add_host_certificate(
        &self,
        id: HostId,
        cert_fingerprint: &[u8; 32],
        expires_at: i64,
        now: i64,
    ) -> Result<EnrolledHost, StoreError> {
        self.write(&mut |db| logic::add_host_certificate(db, id, cert_fingerprint, expires_at, now))
    }

    fn revoke_host(&self, id: HostId, actor: &str, now: i64) -> Result<EnrolledHost, StoreError> {
        self.write(&mut |db| logic::revoke_host(db, id, actor, now))
    }

    fn touch_host(&self, id: HostId, now: i64) -> Result<(), StoreError> {
        self.write(&mut |db| logic::touch_host(db, id, now))
    }

    fn audit_log(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(&mut |db| logic::audit_log(db, after, limit))
    }

    fn record_audit(
        &self,
        kind: AuditKind,
        actor: &str,
        subject: &str,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(&mut |db| logic::record_audit(db, &kind, actor, subject, detail, now))
    }

    fn measure_durable_inserts(&self, rows: u32) -> Result<Duration, StoreError> {
        let start = Instant::now();
        for i in 0..rows {
            self.write(&mut |db| logic::bench_insert(db, i))?;
        }
        Ok(start.elapsed())
    }

    fn backend_name(&self) -> &'static str {
        Self::NAME
    }

    fn record_host_report(
        &self,
        report: &crate::HostReport,
        host_name: &str,
        refusals: &[crate::ReportedRefusal],
    ) -> Result<(), StoreError> {
        self.write(&mut |db| crate::reports::record(db, report, host_name, refusals))
    }

    fn host_reports(&self) -> Result<Vec<crate::HostReport>, StoreError> {
        self.read(&mut |db| crate::reports::reports(db))
    }

    fn recent_refusals(&self, after: i64, limit: u32) -> Result<Vec<crate::ReportedRefusal>, StoreError> {
        self.read(&mut |db| crate::reports::refusals(db, after, limit))
    }

    fn set_admin_password_hash(&self, hash: &str, actor: &str, now: i64) -> Result<(), StoreError> {
        self.write(&mut |db| crate::reports::set_admin_password_hash(db, hash, actor, now))
    }

    fn admin_password_hash(&self) -> Result<Option<String>, StoreError> {
        self.read(&mut |db| crate::reports::admin_password_hash(db))
    }

    fn request_device_cals_idempotent(
        &self,
        requests: &[DeviceCalRequest],
        ids: &[Option<crate::RequestId>],
        server: &str,
        decided: &mut dyn FnMut(&[EachOutcome<DeviceCalOutcome>]),
    ) -> Result<Vec<EachOutcome<DeviceCalOutcome>>, StoreError> {
        if ids.len() != requests.len() {
            return Err(StoreError::Database(format!(
                "{} request ids for {} requests",
                ids.len(),
                requests.len()
            )));
        }
        if ids.iter().all(Option::is_none) {
            return self.request_device_cals_each(requests, decided);
        }
        let now = requests.iter().map(|r| r.now).max().unwrap_or(0);
        // As in `request_device_cals_each`: PostgreSQL tries the multi-row statements first and runs the batch
        // again request by request, each in its own savepoint, only when one request makes them fail.
        let mut attempt = |isolated: bool| {
            self.write(&mut |db| {
                if Self::MULTI_ROW && !isolated {
                    // The lookup and the recording of the ids in the batch's own statements.
                    let ids = crate::bulk::RequestIds { ids, server, now };
                    let outcomes: Vec<EachOutcome<DeviceCalOutcome>> =
                        crate::bulk::device_requests(db, requests, Some(&ids))?.into_iter().map(Ok).collect();
                    decided(&outcomes);
                    return Ok(outcomes);
                }
                let mut known = cluster::known(db, ids, Self::MULTI_ROW)?;
                let fresh: Vec<usize> = (0..requests.len()).filter(|i| !known.contains_key(i)).collect();
                let todo: Vec<DeviceCalRequest> = fresh.iter().filter_map(|&i| requests.get(i).cloned()).collect();
                let decided_now: Vec<EachOutcome<DeviceCalOutcome>> = if todo.is_empty() {
                    Vec::new()
                } else if isolated {
                    each(db, &todo, logic::device_request)?
                } else {
                    device_batch::<Self>(db, &todo)?.into_iter().map(Ok).collect()
                };
                let mut by_index: std::collections::HashMap<usize, EachOutcome<DeviceCalOutcome>> =
                    fresh.into_iter().zip(decided_now).collect();
                let outcomes: Vec<EachOutcome<DeviceCalOutcome>> = (0..requests.len())
                    .map(|i| match known.remove(&i) {
                        Some(cal) => Ok(Ok(cluster::replayed(cal))),
                        None => by_index
                            .remove(&i)
                            .ok_or_else(|| StoreError::Database("a request of the batch got no outcome".to_owned())),
                    })
                    .collect::<Result<_, _>>()?;
                let (granted_ids, granted): (Vec<_>, Vec<_>) = ids
                    .iter()
                    .zip(&outcomes)
                    .filter_map(|(id, o)| o.as_ref().ok().map(|o| (id.clone(), o.clone())))
                    .unzip();
                cluster::record(db, &granted_ids, &granted, server, now, Self::MULTI_ROW)?;
                decided(&outcomes);
                Ok(outcomes)
            })
        };
        if Self::MULTI_ROW {
            match attempt(false) {
                Err(StoreError::Database(_) | StoreError::Corrupt { .. }) => {}
                other => return other,
            }
        }
        attempt(true)
    }

    fn register_server(&self, node: &crate::ServerNode) -> Result<(), StoreError> {
        self.write(&mut |db| cluster::register(db, node))
    }

    fn server_heartbeat(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.write(&mut |db| cluster::heartbeat(db, id, now))
    }

    fn server_stopped(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.write(&mut |db| cluster::stopped(db, id, now))
    }

    fn forget_server(&self, id: &str) -> Result<bool, StoreError> {
        self.write(&mut |db| cluster::forget(db, id))
    }

    fn list_servers(&self) -> Result<Vec<crate::ServerNode>, StoreError> {
        self.read(&mut |db| cluster::list(db))
    }

    fn purge_cal_requests(&self, before: i64) -> Result<u64, StoreError> {
        self.write(&mut |db| cluster::purge_requests(db, before))
    }

    fn create_admin_session(&self, token_hash: &[u8; 32], now: i64, expires_at: i64) -> Result<(), StoreError> {
        self.write(&mut |db| cluster::create_session(db, token_hash, now, expires_at))
    }

    fn admin_session_expiry(&self, token_hash: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        self.read(&mut |db| cluster::session_expiry(db, token_hash))
    }

    fn end_admin_session(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.write(&mut |db| cluster::end_session(db, token_hash))
    }
}
