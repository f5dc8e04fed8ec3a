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
// Files of `rdlic offline` (hives on a mounted Windows volume, backups, logs); used once the command is wired.
#[allow(dead_code)]
pub(crate) mod offline_fs;
