//! Subcommands: one module each. A module exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub(crate) mod up;
pub(crate) mod server;
pub(crate) mod host;
pub(crate) mod host_enroll;
pub(crate) mod clearinghouse;
pub(crate) mod activate;
pub(crate) mod keypack;
pub(crate) mod license;
pub(crate) mod revoke;
pub(crate) mod report;
pub(crate) mod reg;
pub(crate) mod feature;
pub(crate) mod grace;
pub(crate) mod diagnose;
pub(crate) mod probe;
pub(crate) mod bench;
pub(crate) mod generate;

/// `--clock-offset-days` moves the host clock, which decides the grace period: a production host must not be
/// talked out of its real date. A non-zero offset is refused unless `RDLIC_DEMO=1` or the binary is a debug build
/// (the tests).
pub(crate) fn checked_clock_offset(days: i64) -> anyhow::Result<i64> {
    let demo = std::env::var("RDLIC_DEMO").ok();
    clock_offset_allowed(days, demo.as_deref(), cfg!(debug_assertions))
        .ok_or_else(|| anyhow::anyhow!("{}", crate::i18n::t!(CLOCK_OFFSET_REFUSED, days = days)))
}

fn clock_offset_allowed(days: i64, demo: Option<&str>, debug_build: bool) -> Option<i64> {
    (days == 0 || debug_build || demo == Some("1")).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::clock_offset_allowed;

    #[test]
    fn a_clock_offset_needs_a_demo_or_a_debug_build() {
        assert_eq!(clock_offset_allowed(0, None, false), Some(0));
        assert_eq!(clock_offset_allowed(121, None, false), None);
        assert_eq!(clock_offset_allowed(-30, Some("0"), false), None);
        assert_eq!(clock_offset_allowed(121, Some("1"), false), Some(121));
        assert_eq!(clock_offset_allowed(-30, None, true), Some(-30));
    }
}
pub(crate) mod offline;
pub(crate) mod offline_fs;
