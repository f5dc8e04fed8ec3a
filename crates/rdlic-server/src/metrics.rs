//! Prometheus metrics in the text exposition format (hand-rolled: a handful of counters and one histogram).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the issuance latency histogram.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    /// (kind, result) → count, e.g. ("permanent", "ok"), ("device", "refused").
    issuance: BTreeMap<(String, String), u64>,
    /// Histogram per operation ("device", "user").
    latency: BTreeMap<String, Histogram>,
    /// HTTP requests by (endpoint, status).
    requests: BTreeMap<(String, u16), u64>,
}

/// The server's metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Counts one issuance answer: `kind` is temporary/permanent/user or the operation when it failed, `result` is
    /// ok/refused/error.
    pub fn issuance(&self, kind: &str, result: &str, op: &str, elapsed: Duration) {
        let Ok(mut g) = self.inner.lock() else { return };
        *g.issuance.entry((kind.to_owned(), result.to_owned())).or_default() += 1;
        let h = g.latency.entry(op.to_owned()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                if let Some(c) = h.counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Counts one HTTP answer.
    pub fn request(&self, endpoint: &str, status: u16) {
        let Ok(mut g) = self.inner.lock() else { return };
        *g.requests.entry((endpoint.to_owned(), status)).or_default() += 1;
    }

    /// The value of one issuance counter (tests and the bench read it).
    pub fn issuance_count(&self, kind: &str, result: &str) -> u64 {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.issuance.get(&(kind.to_owned(), result.to_owned())).copied())
            .unwrap_or(0)
    }

    /// Renders every metric in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(g) = self.inner.lock() else { return out };
        out.push_str("# HELP rdlic_cal_issuance_total CAL issuance answers by CAL kind and result\n");
        out.push_str("# TYPE rdlic_cal_issuance_total counter\n");
        for ((kind, result), n) in &g.issuance {
            let _ = writeln!(out, "rdlic_cal_issuance_total{{kind=\"{kind}\",result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP rdlic_cal_issuance_seconds time to answer a CAL request, database commit included\n");
        out.push_str("# TYPE rdlic_cal_issuance_seconds histogram\n");
        for (op, h) in &g.latency {
            for (b, c) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(out, "rdlic_cal_issuance_seconds_bucket{{op=\"{op}\",le=\"{b}\"}} {c}");
            }
            let _ = writeln!(out, "rdlic_cal_issuance_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "rdlic_cal_issuance_seconds_sum{{op=\"{op}\"}} {}", h.sum);
            let _ = writeln!(out, "rdlic_cal_issuance_seconds_count{{op=\"{op}\"}} {}", h.count);
        }
        out.push_str("# HELP rdlic_http_requests_total HTTP answers by endpoint and status\n");
        out.push_str("# TYPE rdlic_http_requests_total counter\n");
        for ((ep, st), n) in &g.requests {
            let _ = writeln!(out, "rdlic_http_requests_total{{endpoint=\"{ep}\",status=\"{st}\"}} {n}");
        }
        out
    }
}
