//! Group commit for per-device issuance and per-user checkouts: requests that arrive while a batch is committing wait and go into the next
//! batch, one database transaction (one fsync) for all of them (`LicenseStore::request_device_cals`). Each request
//! still sees the effects of the ones before it, and nobody gets an answer before the batch holding their CAL
//! committed. Under no load a batch is a single request, so latency is that of a plain commit.
//!
//! The outcomes are also handed out early, as soon as the transaction decided them and before its COMMIT
//! ([`Batcher::submit_early`]): the caller signs the CAL while the commit is written, and answers only once the
//! commit is done ([`Pending::committed`]). Signing (CPU) and the durable write (I/O) of a batch overlap instead
//! of following each other, which keeps the cores busy while the disk flushes.

use std::sync::Arc;

use rdlic_store::{LicenseStore, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Reply<O> = oneshot::Sender<Result<O, ApiError>>;

/// One batch call of the store (`request_device_cals_early` or `checkout_user_cals`); the callback receives the
/// outcomes decided inside the transaction, before its COMMIT.
pub(crate) type BatchFn<R, O> = fn(&dyn LicenseStore, &[R], &mut dyn FnMut(&[O])) -> Result<Vec<O>, StoreError>;

struct Job<R, O> {
    request: R,
    early: Option<oneshot::Sender<O>>,
    reply: Reply<O>,
}

/// Queue in front of one of the store's batch methods.
#[derive(Debug)]
pub(crate) struct Batcher<R, O> {
    tx: mpsc::Sender<Job<R, O>>,
}

/// A queued request: its outcome as decided (before COMMIT), then as committed.
#[derive(Debug)]
pub(crate) struct Pending<O> {
    /// The outcome decided inside the transaction, not yet durable: prepare the answer, do not send it. Closed
    /// without a value when the batch failed before deciding.
    pub(crate) early: oneshot::Receiver<O>,
    answer: oneshot::Receiver<Result<O, ApiError>>,
}

impl<O> Pending<O> {
    /// Waits until the batch holding the request committed: the outcome to answer with.
    pub(crate) async fn committed(self) -> Result<O, ApiError> {
        self.answer.await.map_err(|_| ApiError::internal("the issuance task ended before answering"))?
    }
}

impl<R: Clone + Send + 'static, O: Clone + Send + 'static> Batcher<R, O> {
    /// Starts the batching task on the current runtime.
    /// `writes` is bumped after each committed batch (the status cache watches it).
    pub(crate) fn spawn(
        store: Arc<dyn LicenseStore>,
        max_batch: usize,
        writes: Arc<std::sync::atomic::AtomicU64>,
        call: BatchFn<R, O>,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job<R, O>>(max_batch.saturating_mul(4).max(64));
        // Dropped off the runtime, also when the runtime shuts down with this task still waiting (the PostgreSQL
        // client blocks in its drop, which panics on a runtime thread).
        let store = crate::store_handle::StoreHandle::new(store);
        // One batch at a time, also on PostgreSQL: two batches in flight (the next one decided while the one
        // before it commits) cost PostgreSQL 1.7-3.5x the CPU per issuance and the server 10 % of its rate.
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < max_batch {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                run_batch(&store, &writes, call, jobs).await;
            }
            drop(store);
        });
        Self { tx }
    }

    /// Queues one request; the outcome comes early (decided) and then committed, see [`Pending`].
    pub(crate) async fn submit_early(&self, request: R) -> Result<Pending<O>, ApiError> {
        let (reply, answer) = oneshot::channel();
        let (early_tx, early) = oneshot::channel();
        self.tx
            .send(Job { request, early: Some(early_tx), reply })
            .await
            .map_err(|_| ApiError::unavailable("the issuance queue is closed: the server is stopping"))?;
        Ok(Pending { early, answer })
    }

    /// Queues one request and waits until the batch holding it committed.
    pub(crate) async fn submit(&self, request: R) -> Result<O, ApiError> {
        self.submit_early(request).await?.committed().await
    }
}

/// Runs one batch on the blocking pool and answers each of its requests.
async fn run_batch<R: Clone + Send + 'static, O: Clone + Send + 'static>(
    store: &crate::store_handle::StoreHandle,
    writes: &std::sync::atomic::AtomicU64,
    call: BatchFn<R, O>,
    jobs: Vec<Job<R, O>>,
) {
    let mut jobs = jobs;
    let requests: Vec<R> = jobs.iter().map(|j| j.request.clone()).collect();
    let mut early: Vec<Option<oneshot::Sender<O>>> = jobs.iter_mut().map(|j| j.early.take()).collect();
    let s = store.get().clone();
    let result = tokio::task::spawn_blocking(move || {
        call(s.as_ref(), &requests, &mut |outcomes| {
            for (tx, outcome) in early.iter_mut().zip(outcomes) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(outcome.clone());
                }
            }
        })
    })
    .await;
    let failure = match result {
        Ok(Ok(outcomes)) if outcomes.len() == jobs.len() => {
            writes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
            return;
        }
        Ok(Ok(_)) => ApiError::internal("the store answered a batch with the wrong number of outcomes"),
        Ok(Err(e)) => crate::error::store_error(e),
        Err(join) => ApiError::internal(format!("store task failed: {join}")),
    };
    for job in jobs {
        let _ = job.reply.send(Err(failure.clone()));
    }
}
