//! How the threads of the license server and of the session host are scheduled.
//!
//! Both are throughput work: CAL signatures and TLS handshakes and RSA decryptions (a quarter millisecond each) next
//! to async workers that parse, batch and answer. With the default policy, every socket event that wakes a worker
//! preempts the running signature or handshake half-way (`rdlic bench storm` on 2 cores: one signature in two was
//! preempted), and the switches cost more than the wake-up saves. As `SCHED_BATCH` (Linux, `sched(7)`) a waking
//! thread waits for the running one to block or use up its slice (0.75 ms by default on Linux 6.6+), and does not
//! preempt the other processes of the machine either. Measured on 2 cores, back to back: `rdlic bench server` on
//! SQLite, CPU per issuance −9 to −15 % and issuance +3 to +12 % (three pairs); `rdlic bench storm` with the host's
//! and the simulated clients' threads batch too, context switches −46 % and new devices a mean 53 % of the crypto
//! floor against 48 % (six pairs, each between −2 and +9 points).
//!
//! `RDLIC_SCHED=default` in the environment keeps the default policy.

/// Environment variable: `default` keeps the default scheduling policy.
pub const SCHED_ENV: &str = "RDLIC_SCHED";

/// Makes the calling thread `SCHED_BATCH` when it runs at nice 0 with the default policy and [`SCHED_ENV`] is not
/// `default`; a thread that an administrator started otherwise (`nice`, `chrt`, a systemd
/// `CPUSchedulingPolicy=`) is left as it is. Returns whether the policy changed. Elsewhere than Linux, does nothing.
pub fn batch_this_thread() -> bool {
    let keep_default = std::env::var_os(SCHED_ENV).is_some_and(|v| v == "default");
    batch_this_thread_unless(keep_default)
}

fn batch_this_thread_unless(keep_default: bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, thread_schedule_policy,
            NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        use thread_priority::{ThreadPriority, ThreadPriorityOsValue};
        if keep_default {
            return false;
        }
        let default_policy = matches!(
            thread_schedule_policy(),
            Ok(ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other))
        );
        if !default_policy || this_thread_nice() != Some(0) {
            return false;
        }
        // Nice 0 is kept: the crate sets the nice value of a normal policy along with the policy.
        let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
        match set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Os(ThreadPriorityOsValue::default()),
            batch,
        ) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = ?e, "cannot make this thread SCHED_BATCH; it keeps the default policy");
                false
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = keep_default;
        false
    }
}

/// A multi-thread tokio runtime builder (I/O and timers enabled) whose threads run as `SCHED_BATCH`
/// ([`batch_this_thread`]): the runtimes of `rdlic server run`, `rdlic host run` and the benches that stand for them.
pub fn batch_runtime() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .on_thread_start(|| {
            batch_this_thread();
        })
        .enable_all();
    builder
}

/// The nice value of the calling thread (`/proc/thread-self/stat`, field 19).
#[cfg(target_os = "linux")]
fn this_thread_nice() -> Option<i32> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(16)?.parse().ok()
}

/// The scheduling policy of the calling thread, as `sched(7)` names it (tests and diagnostics).
#[cfg(target_os = "linux")]
pub fn this_thread_policy() -> Option<&'static str> {
    use thread_priority::unix::{thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy};
    Some(match thread_schedule_policy().ok()? {
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other) => "SCHED_OTHER",
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch) => "SCHED_BATCH",
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle) => "SCHED_IDLE",
        ThreadSchedulePolicy::Realtime(_) => "realtime",
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_default_thread_becomes_batch_and_keeps_nice_zero() {
        let (before, changed, policy, nice) = std::thread::spawn(|| {
            let before = (this_thread_policy(), this_thread_nice());
            (
                before,
                batch_this_thread_unless(false),
                this_thread_policy(),
                this_thread_nice(),
            )
        })
        .join()
        .expect("thread");
        assert_eq!(
            before,
            (Some("SCHED_OTHER"), Some(0)),
            "run the tests with the default policy and nice 0"
        );
        assert!(changed);
        assert_eq!(policy, Some("SCHED_BATCH"));
        assert_eq!(nice, Some(0));
        // Only that thread changed.
        assert_eq!(this_thread_policy(), Some("SCHED_OTHER"));
    }

    #[test]
    fn the_opt_out_keeps_the_default_policy() {
        let (changed, policy) = std::thread::spawn(|| (batch_this_thread_unless(true), this_thread_policy()))
            .join()
            .expect("thread");
        assert!(!changed);
        assert_eq!(policy, Some("SCHED_OTHER"));
    }

    #[test]
    fn a_batch_thread_is_left_alone() {
        let second = std::thread::spawn(|| {
            assert!(batch_this_thread_unless(false));
            batch_this_thread_unless(false)
        })
        .join()
        .expect("thread");
        assert!(!second, "the policy was already SCHED_BATCH: nothing to change");
    }
}
