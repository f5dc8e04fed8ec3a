//! Several license servers on one PostgreSQL database: each server's id, heartbeat and the cluster view shown by
//! `/metrics`, `GET /api/v1/admin/servers` and the overview page.
//!
//! Every server records itself in the `servers` table at start ([`register`]), then writes a heartbeat every
//! [`HEARTBEAT`] and reads every server's row back; a server whose heartbeat is older than [`STALE_AFTER`] seconds
//! (or that recorded a clean stop) is shown as down. The same task purges per-device request ids older than
//! [`rdlic_store::REQUEST_RETENTION`].

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdlic_store::ServerNode;
use tokio::sync::watch;

use crate::api::AppState;

/// This server's id within the cluster, kept in the data directory (`DATA/node.id`, made at the first start).
pub const NODE_ID_FILE: &str = "node.id";
/// How often a server records its heartbeat and reads the others'.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A server whose last heartbeat is this many seconds old is down.
pub const STALE_AFTER: i64 = 10;
/// How often the request ids past their retention are purged.
const PURGE_EVERY: Duration = Duration::from_secs(300);

/// The node id of the data directory `dir`: read, or made (16 hex digits) at the first start. Two data
/// directories unpacked from one bundle get different ids: the bundle does not carry this file.
pub fn node_id(dir: &Path) -> Result<String, rdlic_api::pki::PkiError> {
    let path = dir.join(NODE_ID_FILE);
    if path.exists() {
        let id = String::from_utf8_lossy(&rdlic_api::pki::read(&path)?).trim().to_owned();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let id = rdlic_api::pki::random_hex(8)?;
    rdlic_api::pki::write_public(&path, format!("{id}\n").as_bytes())?;
    Ok(id)
}

/// What this server knows about the cluster.
#[derive(Debug)]
pub struct Cluster {
    /// This server's node id.
    pub node_id: String,
    view: Mutex<View>,
}

#[derive(Debug, Default)]
struct View {
    /// Every server as last read.
    nodes: Vec<ServerNode>,
    /// Unix seconds of the last heartbeat this server wrote.
    last_ok: Option<i64>,
    /// The last heartbeat failure (database down), cleared by the next success.
    error: Option<String>,
}

impl Cluster {
    /// For node `node_id`.
    pub fn new(node_id: String) -> Self {
        Self { node_id, view: Mutex::new(View::default()) }
    }

    /// Every server as last read, with whether it is alive at `now`.
    pub fn nodes(&self, now: i64) -> Vec<(ServerNode, bool)> {
        let v = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        v.nodes.iter().map(|n| (n.clone(), n.is_alive(now, STALE_AFTER))).collect()
    }

    fn set(&self, f: impl FnOnce(&mut View)) {
        f(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The Prometheus lines of the cluster view.
    pub fn render_metrics(&self, now: i64) -> String {
        use std::fmt::Write as _;
        let v = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        out.push_str("# HELP rdlic_cluster_server_up license servers sharing this database: 1 when its heartbeat is recent\n");
        out.push_str("# TYPE rdlic_cluster_server_up gauge\n");
        for n in &v.nodes {
            let up = u8::from(n.is_alive(now, STALE_AFTER));
            let _ = writeln!(out, "rdlic_cluster_server_up{{server=\"{}\",url=\"{}\"}} {up}", esc(&n.id), esc(&n.url));
        }
        out.push_str("# HELP rdlic_cluster_server_heartbeat_age_seconds seconds since each server's last heartbeat\n");
        out.push_str("# TYPE rdlic_cluster_server_heartbeat_age_seconds gauge\n");
        for n in &v.nodes {
            let _ = writeln!(
                out,
                "rdlic_cluster_server_heartbeat_age_seconds{{server=\"{}\",url=\"{}\"}} {}",
                esc(&n.id),
                esc(&n.url),
                now.saturating_sub(n.last_heartbeat).max(0)
            );
        }
        out.push_str("# HELP rdlic_cluster_servers_alive license servers with a recent heartbeat\n");
        out.push_str("# TYPE rdlic_cluster_servers_alive gauge\n");
        let _ = writeln!(out, "rdlic_cluster_servers_alive {}", v.nodes.iter().filter(|n| n.is_alive(now, STALE_AFTER)).count());
        out.push_str("# HELP rdlic_cluster_heartbeat_ok 1 when this server's last heartbeat reached the database\n");
        out.push_str("# TYPE rdlic_cluster_heartbeat_ok gauge\n");
        let _ = writeln!(out, "rdlic_cluster_heartbeat_ok {}", u8::from(v.error.is_none() && v.last_ok.is_some()));
        out
    }

    /// The `GET /api/v1/admin/servers` body.
    pub fn json(&self, now: i64) -> serde_json::Value {
        let v = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        let servers: Vec<_> = v
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id, "url": n.url, "version": n.version, "pid": n.pid, "started_at": n.started_at,
                    "last_heartbeat": n.last_heartbeat, "stopped_at": n.stopped_at,
                    "alive": n.is_alive(now, STALE_AFTER), "this": n.id == self.node_id,
                })
            })
            .collect();
        serde_json::json!({
            "this": self.node_id, "now": now, "stale_after": STALE_AFTER,
            "heartbeat_seconds": HEARTBEAT.as_secs(), "last_heartbeat": v.last_ok, "heartbeat_error": v.error,
            "servers": servers,
        })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// This server's row.
fn node(state: &AppState, url: &str, started_at: i64) -> ServerNode {
    ServerNode {
        id: state.cluster.node_id.clone(),
        url: url.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: i64::from(std::process::id()),
        started_at,
        last_heartbeat: started_at,
        stopped_at: None,
    }
}

/// One heartbeat: write this server's (registering again when its row is gone), read every server's.
async fn beat(state: &Arc<AppState>, me: &ServerNode) {
    let s = state.store().clone();
    let me = me.clone();
    let t = now();
    let result = tokio::task::spawn_blocking(move || {
        if !s.server_heartbeat(&me.id, t)? {
            s.register_server(&ServerNode { last_heartbeat: t, ..me })?;
        }
        s.list_servers()
    })
    .await;
    match result {
        Ok(Ok(nodes)) => state.cluster.set(|v| {
            v.nodes = nodes;
            v.last_ok = Some(t);
            v.error = None;
        }),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot record the heartbeat");
            state.cluster.set(|v| v.error = Some(e.to_string()));
        }
        Err(e) => state.cluster.set(|v| v.error = Some(e.to_string())),
    }
}

/// Registers this server and runs its heartbeat until `stop`; then records the clean stop.
pub(crate) async fn run(state: Arc<AppState>, url: String, mut stop: watch::Receiver<bool>) {
    let me = node(&state, &url, now());
    {
        let s = state.store().clone();
        let me = me.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.register_server(&me)).await {
            tracing::warn!(error = %e, "cannot register this server in the database");
        }
    }
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        beat(&state, &me).await;
        if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            last_purge = Some(std::time::Instant::now());
            let s = state.store().clone();
            let before = now().saturating_sub(rdlic_store::REQUEST_RETENTION);
            let _ = tokio::task::spawn_blocking(move || s.purge_cal_requests(before)).await;
        }
    }
    let s = state.store().clone();
    let id = me.id.clone();
    let t = now();
    let _ = tokio::task::spawn_blocking(move || s.server_stopped(&id, t)).await;
}
