//! What both listeners (the license server's HTTPS port and the session host's RDP port) do against hostile
//! networks: a cap on open connections that sheds the oldest *unauthenticated* connection first, a back-off on
//! `accept()` errors, and the counters that `/metrics` shows.
//!
//! A connection is *unauthenticated* until the listener says otherwise ([`ConnectionTicket::authenticated`]):
//! on the license server, until it presented a verified client certificate or completed a request; on the session
//! host, until its client is past licensing. When the table is full, a new connection takes the place of the oldest
//! unauthenticated one (which is told to close through [`ConnectionTicket::shed`]); when every open connection is
//! authenticated, the new one is refused. A flood of idle sockets therefore never pushes out working sessions, and
//! a real client arriving during the flood still gets in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};

/// Counters of one listener, as [`ConnectionTable::counters`] shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerCounters {
    /// Connections open now (gauge).
    pub open: u64,
    /// Connections open now that are not yet authenticated (gauge).
    pub unauthenticated: u64,
    /// Connections accepted since start.
    pub accepted: u64,
    /// Unauthenticated connections closed to make room for a new one (the table was full).
    pub shed: u64,
    /// New connections refused because every open connection was authenticated.
    pub refused: u64,
    /// `accept()` errors (out of descriptors and the like), each followed by a back-off.
    pub accept_errors: u64,
    /// TLS handshakes that did not finish within their deadline.
    pub handshake_timeouts: u64,
    /// Connections closed because a phase deadline passed (HTTP: request headers or whole request; RDP: X.224,
    /// connection sequence, licensing, finalization).
    pub phase_timeouts: u64,
    /// Connections closed because they were idle too long (HTTP keep-alive; RDP active session).
    pub idle_timeouts: u64,
}

/// Which counter [`ConnectionTable::count`] increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerEvent {
    /// An `accept()` error.
    AcceptError,
    /// A TLS handshake past its deadline.
    HandshakeTimeout,
    /// A phase past its deadline.
    PhaseTimeout,
    /// An idle connection closed.
    IdleTimeout,
}

#[derive(Debug)]
struct Slot {
    authenticated: bool,
    shed: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Open connections by id; ids grow with time, so the first unauthenticated entry is the oldest.
    open: BTreeMap<u64, Slot>,
    unauthenticated: u64,
}

/// The open connections of one listener.
#[derive(Debug)]
pub struct ConnectionTable {
    max: usize,
    inner: Mutex<Inner>,
    counters: watch::Sender<ListenerCounters>,
}

impl ConnectionTable {
    /// A table for at most `max` open connections (at least 1).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self { max: max.max(1), inner: Mutex::default(), counters: watch::Sender::new(ListenerCounters::default()) })
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Registers a new connection. When the table is full the oldest unauthenticated connection is shed to make
    /// room; when none is unauthenticated, `None`: close the new connection.
    pub fn admit(self: &Arc<Self>) -> Option<ConnectionTicket> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut shed = false;
        if inner.open.len() >= self.max {
            let oldest = inner.open.iter().find(|(_, s)| !s.authenticated).map(|(id, _)| *id);
            match oldest.and_then(|id| inner.open.remove(&id)) {
                Some(slot) => {
                    // notify_one keeps a permit: the victim sees it even if it is not waiting yet.
                    slot.shed.notify_one();
                    inner.unauthenticated = inner.unauthenticated.saturating_sub(1);
                    shed = true;
                }
                None => {
                    drop(inner);
                    self.counters.send_modify(|c| c.refused += 1);
                    return None;
                }
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let notify = Arc::new(Notify::new());
        inner.open.insert(id, Slot { authenticated: false, shed: notify.clone() });
        inner.unauthenticated += 1;
        let (open, unauthenticated) = (len_u64(inner.open.len()), inner.unauthenticated);
        drop(inner);
        self.counters.send_modify(|c| {
            c.accepted += 1;
            c.shed += u64::from(shed);
            c.open = open;
            c.unauthenticated = unauthenticated;
        });
        Some(ConnectionTicket { table: self.clone(), id, shed: notify })
    }

    /// Counts one event.
    pub fn count(&self, event: ListenerEvent) {
        self.counters.send_modify(|c| match event {
            ListenerEvent::AcceptError => c.accept_errors += 1,
            ListenerEvent::HandshakeTimeout => c.handshake_timeouts += 1,
            ListenerEvent::PhaseTimeout => c.phase_timeouts += 1,
            ListenerEvent::IdleTimeout => c.idle_timeouts += 1,
        });
    }

    /// The counters now.
    pub fn counters(&self) -> ListenerCounters {
        *self.counters.borrow()
    }

    /// A receiver of the counters (tests wait on it instead of sleeping).
    pub fn watch(&self) -> watch::Receiver<ListenerCounters> {
        self.counters.subscribe()
    }

    /// The counters in the Prometheus text format, each metric named `{prefix}_...`.
    pub fn render(&self, prefix: &str) -> String {
        use std::fmt::Write as _;
        let c = self.counters();
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {prefix}_{name} {help}");
            let _ = writeln!(out, "# TYPE {prefix}_{name} {kind}");
            let _ = writeln!(out, "{prefix}_{name} {value}");
        };
        one("connections_open", "gauge", "connections open now", c.open);
        one("connections_unauthenticated", "gauge", "open connections not yet authenticated", c.unauthenticated);
        one("connections_max", "gauge", "the connection cap", len_u64(self.max));
        one("connections_accepted_total", "counter", "connections accepted", c.accepted);
        one("connections_shed_total", "counter", "unauthenticated connections closed to make room (cap reached)", c.shed);
        one("connections_refused_total", "counter", "connections refused: cap reached, all authenticated", c.refused);
        one("accept_errors_total", "counter", "accept() errors (each followed by a back-off)", c.accept_errors);
        one("handshake_timeouts_total", "counter", "TLS handshakes past their deadline", c.handshake_timeouts);
        one("phase_timeouts_total", "counter", "connections closed at a phase deadline", c.phase_timeouts);
        one("idle_timeouts_total", "counter", "idle connections closed", c.idle_timeouts);
        out
    }

    fn release(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = inner.open.remove(&id) {
            if !slot.authenticated {
                inner.unauthenticated = inner.unauthenticated.saturating_sub(1);
            }
        }
        let (open, unauthenticated) = (len_u64(inner.open.len()), inner.unauthenticated);
        drop(inner);
        self.counters.send_modify(|c| {
            c.open = open;
            c.unauthenticated = unauthenticated;
        });
    }

    fn authenticate(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = false;
        if let Some(slot) = inner.open.get_mut(&id) {
            if !slot.authenticated {
                slot.authenticated = true;
                changed = true;
            }
        }
        if changed {
            inner.unauthenticated = inner.unauthenticated.saturating_sub(1);
            let unauthenticated = inner.unauthenticated;
            drop(inner);
            self.counters.send_modify(|c| c.unauthenticated = unauthenticated);
        }
    }
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// One open connection's place in its [`ConnectionTable`]; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionTicket {
    table: Arc<ConnectionTable>,
    id: u64,
    shed: Arc<Notify>,
}

impl ConnectionTicket {
    /// Marks the connection as authenticated: it is never shed.
    pub fn authenticated(&self) {
        self.table.authenticate(self.id);
    }

    /// A handle that marks this connection as authenticated from elsewhere (a request handler); harmless after
    /// the connection ended.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator { table: self.table.clone(), id: self.id }
    }

    /// Resolves when the table sheds this connection to make room: close it then.
    pub async fn shed(&self) {
        self.shed.notified().await;
    }

    /// The table this connection is in.
    pub fn table(&self) -> &Arc<ConnectionTable> {
        &self.table
    }
}

impl Drop for ConnectionTicket {
    fn drop(&mut self) {
        self.table.release(self.id);
    }
}

/// See [`ConnectionTicket::authenticator`].
#[derive(Debug, Clone)]
pub struct Authenticator {
    table: Arc<ConnectionTable>,
    id: u64,
}

impl Authenticator {
    /// Marks the connection as authenticated.
    pub fn authenticated(&self) {
        self.table.authenticate(self.id);
    }
}

/// The delay after an `accept()` error: 10 ms, doubling up to 1 s, back to 10 ms after a success. Out of
/// descriptors, `accept()` fails at once every time: without a pause the loop would spin on a core while the open
/// connections (which free descriptors when they end) starve.
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    /// First delay.
    pub const MIN: Duration = Duration::from_millis(10);
    /// Longest delay.
    pub const MAX: Duration = Duration::from_secs(1);

    /// A back-off at its first delay.
    pub fn new() -> Self {
        Self { next: Self::MIN }
    }

    /// The delay to wait after one more error.
    pub fn failed(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    /// An accept succeeded.
    pub fn succeeded(&mut self) {
        self.next = Self::MIN;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_full_table_sheds_the_oldest_unauthenticated_connection() {
        let table = ConnectionTable::new(3);
        let a = table.admit().unwrap();
        let b = table.admit().unwrap();
        let c = table.admit().unwrap();
        a.authenticated();
        // Full: the oldest unauthenticated one (b, not a) makes room.
        let d = table.admit().unwrap();
        tokio::time::timeout(Duration::from_secs(5), b.shed()).await.unwrap();
        let c2 = table.counters();
        assert_eq!((c2.open, c2.unauthenticated, c2.shed, c2.accepted), (3, 2, 1, 4));
        // b's task ends later: freeing its (already taken) place changes nothing.
        drop(b);
        assert_eq!(table.counters().open, 3);
        c.authenticated();
        d.authenticated();
        // Every connection authenticated: the new one is refused, nobody is shed.
        assert!(table.admit().is_none());
        assert_eq!(table.counters().refused, 1);
        drop(a);
        assert!(table.admit().is_some());
        assert!(table.render("rdlic_x").contains("rdlic_x_connections_shed_total 1\n"));
    }

    #[test]
    fn accept_backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = AcceptBackoff::new();
        let delays: Vec<_> = (0..10).map(|_| b.failed()).collect();
        assert_eq!(delays[0], Duration::from_millis(10));
        assert_eq!(delays[1], Duration::from_millis(20));
        assert_eq!(*delays.last().unwrap(), AcceptBackoff::MAX);
        b.succeeded();
        assert_eq!(b.failed(), AcceptBackoff::MIN);
    }
}
