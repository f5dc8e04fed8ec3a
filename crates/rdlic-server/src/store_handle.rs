//! The store as the handlers and the group-commit queues hold it.

use std::sync::Arc;

use rdlic_store::LicenseStore;

/// The store, dropped off the async runtime: the PostgreSQL backend is the blocking `postgres` client, whose drop
/// runs its own small runtime and would panic on a tokio worker thread.
pub(crate) struct StoreHandle(Option<Arc<dyn LicenseStore>>);

impl StoreHandle {
    pub(crate) fn new(store: Arc<dyn LicenseStore>) -> Self {
        Self(Some(store))
    }

    pub(crate) fn get(&self) -> &Arc<dyn LicenseStore> {
        match &self.0 {
            Some(s) => s,
            // Only `Drop` takes the store out.
            None => unreachable!("store used after drop"),
        }
    }
}

impl Drop for StoreHandle {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("rdlic-store-drop".into())
                    .spawn(move || drop(store));
            }
        }
    }
}
