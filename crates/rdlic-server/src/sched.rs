//! How the license server's threads are scheduled.
//!
//! The license server is throughput work: CAL signatures (a quarter millisecond of RSA each) and the async workers
//! that parse requests, batch commits and answer. With the default policy, every socket event that wakes a worker
//! preempts a signature half-way (`rdlic bench storm` on 2 cores: one signature in two was preempted), and
//! the switches cost more than the wake-up saves. As `SCHED_BATCH` (Linux, `sched(7)`) a waking thread waits for
//! the running one to block or use up its slice, and does not preempt the interactive processes of the machine
//! (an RDP session host beside it) either. `rdlic bench server`, SQLite, 2 cores, three back-to-back pairs: CPU
//! per issuance −9 to −15 %, issuance +3 to +12 %.

/// Makes the calling thread `SCHED_BATCH` when it runs at nice 0 with the default policy; a thread that an
/// administrator started otherwise (`nice`, `chrt`, a systemd `CPUSchedulingPolicy=`) is left as it is. Returns
/// whether the policy changed. Elsewhere than Linux, does nothing.
pub fn batch_this_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, thread_schedule_policy,
            NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        use thread_priority::{ThreadPriority, ThreadPriorityOsValue};
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
        false
    }
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
        let (changed, policy, nice) =
            std::thread::spawn(|| (batch_this_thread(), this_thread_policy(), this_thread_nice()))
                .join()
                .expect("thread");
        assert!(changed);
        assert_eq!(policy, Some("SCHED_BATCH"));
        assert_eq!(nice, Some(0));
        // Only that thread changed.
        assert_eq!(this_thread_policy(), Some("SCHED_OTHER"));
    }

    #[test]
    fn a_batch_thread_is_left_alone() {
        let second = std::thread::spawn(|| {
            assert!(batch_this_thread());
            batch_this_thread()
        })
        .join()
        .expect("thread");
        assert!(!second, "the policy was already SCHED_BATCH: nothing to change");
    }
}
