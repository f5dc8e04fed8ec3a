//! Group commit for per-device issuance and per-user checkouts: requests that arrive while a batch is committing wait and go into the next
//! batch, one database transaction (one fsync) for all of them (`LicenseStore::request_device_cals`). Each request
//! still sees the effects of the ones before it, and nobody gets an answer before the batch holding their CAL
//! committed. Under no load a batch is a single request, so latency is that of a plain commit.

use std::sync::Arc;

use rdlic_store::{LicenseStore, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Reply<O> = oneshot::Sender<Result<O, ApiError>>;

/// One batch call of the store: `request_device_cals` or `checkout_user_cals`.
pub(crate) type BatchFn<R, O> = fn(&dyn LicenseStore, &[R]) -> Result<Vec<O>, StoreError>;

/// Queue in front of one of the store's batch methods.
#[derive(Debug)]
pub(crate) struct Batcher<R, O> {
    tx: mpsc::Sender<(R, Reply<O>)>,
}

impl<R: Clone + Send + 'static, O: Send + 'static> Batcher<R, O> {
    /// Starts the batching task on the current runtime.
    pub(crate) fn spawn(store: Arc<dyn LicenseStore>, max_batch: usize, call: BatchFn<R, O>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(R, Reply<O>)>(max_batch.saturating_mul(4).max(64));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < max_batch {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                let requests: Vec<R> = jobs.iter().map(|(r, _)| r.clone()).collect();
                let s = store.clone();
                let result = tokio::task::spawn_blocking(move || call(s.as_ref(), &requests)).await;
                match result {
                    Ok(Ok(outcomes)) if outcomes.len() == jobs.len() => {
                        for ((_, reply), outcome) in jobs.into_iter().zip(outcomes) {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                    Ok(Ok(_)) => {
                        let e = ApiError::internal("the store answered a batch with the wrong number of outcomes");
                        for (_, reply) in jobs {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                    Ok(Err(e)) => {
                        let e = crate::api::store_error(e);
                        for (_, reply) in jobs {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                    Err(join) => {
                        let e = ApiError::internal(format!("store task failed: {join}"));
                        for (_, reply) in jobs {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
            // Drop the store off the runtime (the PostgreSQL client blocks in its drop).
            let _ = std::thread::Builder::new().name("rdlic-store-drop".into()).spawn(move || drop(store));
        });
        Self { tx }
    }

    /// Queues one request and waits until the batch holding it committed.
    pub(crate) async fn submit(&self, request: R) -> Result<O, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((request, reply))
            .await
            .map_err(|_| ApiError::unavailable("the issuance queue is closed: the server is stopping"))?;
        answer.await.map_err(|_| ApiError::internal("the issuance task ended before answering"))?
    }
}
