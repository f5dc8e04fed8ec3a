//! A fixed pool of signing threads, one per core.
//!
//! A CAL signature is a quarter of a millisecond of RSA: run on an async worker it holds up the answers and
//! wake-ups that keep the issuance batches moving. Run on tokio's blocking pool, a burst of 64 issuances makes
//! 64 threads (the pool grows to 512), each with its own allocator caches: tens of MiB of RSS for work that
//! cannot go faster than the cores allow. This pool has as many threads as cores and a queue in front of them.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Name of the signing threads (benchmarks count their CPU as the license server's).
pub const SIGNING_THREADS: &str = "rdlic-sign";

/// The pool: dropping it lets the threads finish the queued jobs and exit.
#[derive(Debug)]
pub(crate) struct SignPool {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

/// The pool was shut down, or the job panicked.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the signing pool is gone")]
pub(crate) struct PoolGone;

impl SignPool {
    /// Starts `threads` threads (at least one) named [`SIGNING_THREADS`].
    pub(crate) fn start(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(SIGNING_THREADS.to_owned())
                .spawn(move || {
                    crate::sched::batch_this_thread();
                    loop {
                        // The lock is held only to take one job off the queue.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job drops its answer channel (the caller gets `PoolGone`); the thread goes on.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
        })
    }

    /// One thread per core.
    pub(crate) fn per_core() -> std::io::Result<Self> {
        Self::start(
            std::thread::available_parallelism()
                .map(std::num::NonZeroUsize::get)
                .unwrap_or(1),
        )
    }

    /// Runs `f` on a pool thread; its result, or [`PoolGone`] when the pool was shut down or `f` panicked.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, PoolGone>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        {
            let jobs = self.jobs.lock().map_err(|_| PoolGone)?;
            jobs.as_ref().ok_or(PoolGone)?.send(job).map_err(|_| PoolGone)?;
        }
        rx.await.map_err(|_| PoolGone)
    }

    /// Stops taking jobs; the threads exit once the queue is empty.
    pub(crate) fn shutdown(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}

impl Drop for SignPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_its_own_threads_and_refuses_after_shutdown() {
        let pool = SignPool::start(2).unwrap();
        let names: Vec<String> = futures_util::future::join_all(
            (0..8).map(|_| pool.run(|| std::thread::current().name().unwrap_or_default().to_owned())),
        )
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
        assert!(names.iter().all(|n| n == SIGNING_THREADS), "{names:?}");
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        pool.shutdown();
        assert!(pool.run(|| 1).await.is_err());
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let pool = SignPool::start(1).unwrap();
        let r: Result<(), PoolGone> = pool.run(|| panic!("boom")).await;
        assert!(r.is_err());
        // The pool's only thread survived the panic and serves the next job (a dead thread would never answer).
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), pool.run(|| 1)).await;
        assert_eq!(next.expect("the pool's thread died with the panic").unwrap(), 1);
    }
}
