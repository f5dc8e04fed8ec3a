//! Web logins against floods and guessing: the password checks run on their own small pool with a bounded queue
//! (never on tokio's blocking pool, which the store calls of CAL issuance use), and failed attempts slow down
//! further attempts, per source address and for the whole server.
//!
//! - Pool: [`LOGIN_THREADS`] threads and a queue of [`LOGIN_QUEUE`] checks; a login that finds the queue full is
//!   answered 503 at once, without any hashing.
//! - Per source address: the first [`FREE_FAILURES`] failures cost nothing; after that each failure locks the
//!   address out for 1 s, 2 s, 4 s, ... up to [`MAX_LOCKOUT`]; a success clears it. Answered 429 with
//!   `Retry-After`, before any hashing.
//! - Globally: more than [`GLOBAL_FAILURES`] failures in one [`GLOBAL_WINDOW`] lock every password login out
//!   until the window ends (a distributed guess gets a few hundred tries an hour). The admin token still works.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Password-check threads.
pub const LOGIN_THREADS: usize = 1;
/// Checks waiting for a thread at most.
pub const LOGIN_QUEUE: usize = 8;
/// Failures per source address before back-off starts.
pub const FREE_FAILURES: u32 = 3;
/// Longest lockout of one source address.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Failures of all sources in one window that lock every password login out until the window ends.
pub const GLOBAL_FAILURES: u32 = 100;
/// The global window.
pub const GLOBAL_WINDOW: Duration = Duration::from_secs(60);
/// Source addresses remembered at most (the oldest lockouts are forgotten first when more come).
const MAX_SOURCES: usize = 10_000;

/// Why a login is not checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failures: try again after this long (429).
    TooManyFailures(Duration),
    /// The check queue is full (503).
    Busy,
}

#[derive(Debug, Clone, Copy)]
struct Source {
    failures: u32,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

type Job = Box<dyn FnOnce() + Send>;

/// The login pool and the failure records.
#[derive(Debug)]
pub struct LoginGuard {
    jobs: mpsc::SyncSender<Job>,
    sources: Mutex<HashMap<IpAddr, Source>>,
    global: Mutex<Window>,
}

impl LoginGuard {
    /// Starts the pool's threads.
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(LOGIN_QUEUE);
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for i in 0..LOGIN_THREADS {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("rdlic-login-{i}")).spawn(move || loop {
                let job = {
                    let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
                    queue.recv()
                };
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            })?;
        }
        Ok(Self {
            jobs,
            sources: Mutex::new(HashMap::new()),
            global: Mutex::new(Window { started: Instant::now(), failures: 0 }),
        })
    }

    /// Whether `from` may try a password now.
    pub fn check(&self, from: IpAddr, now: Instant) -> Result<(), Throttled> {
        {
            let global = self.global.lock().unwrap_or_else(PoisonError::into_inner);
            let ends = global.started + GLOBAL_WINDOW;
            if global.failures >= GLOBAL_FAILURES && now < ends {
                return Err(Throttled::TooManyFailures(ends - now));
            }
        }
        let sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        match sources.get(&from).and_then(|s| s.locked_until) {
            Some(until) if until > now => Err(Throttled::TooManyFailures(until - now)),
            _ => Ok(()),
        }
    }

    /// Queues the check `f` on the login pool; `Err(Busy)` at once when the queue is full. Await the receiver for
    /// its result.
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>, Throttled> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.try_send(job).map_err(|_| Throttled::Busy)?;
        Ok(rx)
    }

    /// Records the result of one checked attempt from `from`.
    pub fn record(&self, from: IpAddr, ok: bool, now: Instant) {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if ok {
            sources.remove(&from);
            return;
        }
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&from) {
            sources.retain(|_, s| s.locked_until.is_some_and(|u| u > now));
            if sources.len() >= MAX_SOURCES {
                // Still full of live lockouts: forget the one that ends first.
                if let Some(first) = sources.iter().min_by_key(|(_, s)| s.locked_until).map(|(ip, _)| *ip) {
                    sources.remove(&first);
                }
            }
        }
        let source = sources.entry(from).or_insert(Source { failures: 0, locked_until: None });
        source.failures = source.failures.saturating_add(1);
        if source.failures > FREE_FAILURES {
            let exponent = (source.failures - FREE_FAILURES - 1).min(20);
            let lockout = Duration::from_secs(1u64 << exponent).min(MAX_LOCKOUT);
            source.locked_until = Some(now + lockout);
        }
        drop(sources);
        let mut global = self.global.lock().unwrap_or_else(PoisonError::into_inner);
        // A window starts at its first failure.
        if global.failures == 0 || now >= global.started + GLOBAL_WINDOW {
            *global = Window { started: now, failures: 0 };
        }
        global.failures = global.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn failures_lock_a_source_out_exponentially_and_a_success_clears_it() {
        let guard = LoginGuard::start().unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            guard.record(ip, false, t0);
            assert_eq!(guard.check(ip, t0), Ok(()));
        }
        guard.record(ip, false, t0);
        assert_eq!(guard.check(ip, t0), Err(Throttled::TooManyFailures(Duration::from_secs(1))));
        assert_eq!(guard.check(other, t0), Ok(()), "another source is not affected");
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(guard.check(ip, t1), Ok(()));
        guard.record(ip, false, t1);
        assert_eq!(guard.check(ip, t1), Err(Throttled::TooManyFailures(Duration::from_secs(2))));
        guard.record(ip, true, t1);
        assert_eq!(guard.check(ip, t1), Ok(()));
    }

    #[test]
    fn many_failures_from_many_sources_lock_every_login_for_the_window() {
        let guard = LoginGuard::start().unwrap();
        let t0 = Instant::now();
        for i in 0..GLOBAL_FAILURES {
            let ip = IpAddr::from([10, 0, u8::try_from(i / 256).unwrap(), u8::try_from(i % 256).unwrap()]);
            guard.record(ip, false, t0);
        }
        let fresh: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(guard.check(fresh, t0), Err(Throttled::TooManyFailures(GLOBAL_WINDOW)));
        assert_eq!(guard.check(fresh, t0 + GLOBAL_WINDOW), Ok(()));
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_at_once() {
        let guard = LoginGuard::start().unwrap();
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let hold_rx = std::sync::Arc::new(Mutex::new(hold_rx));
        // Checks that block until released: the threads take LOGIN_THREADS of them, LOGIN_QUEUE wait, the next
        // one is refused without waiting.
        let mut accepted = Vec::new();
        let mut busy = false;
        for _ in 0..=(LOGIN_THREADS + LOGIN_QUEUE) {
            let rx = hold_rx.clone();
            match guard.submit(move || {
                let _ = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
            }) {
                Ok(r) => accepted.push(r),
                Err(e) => {
                    assert_eq!(e, Throttled::Busy);
                    busy = true;
                    break;
                }
            }
        }
        assert!(busy, "a queue of {LOGIN_QUEUE} took {} checks", accepted.len());
        assert!(accepted.len() >= LOGIN_QUEUE);
        for _ in 0..accepted.len() {
            hold_tx.send(()).unwrap();
        }
        for r in accepted {
            r.await.unwrap();
        }
    }
}
