//! Transaction log replay on the real dirty hive SYSTEM_B, against regipy's `apply_transaction_logs`.
//!
//! regipy applies every entry of the log it calls "secondary" first, then the "primary" one, without checking
//! sequence numbers or hashes, and leaves the base block's sequence numbers and checksum as they were. SYSTEM_B's
//! `.LOG1` holds entries 2107-2110 and `.LOG2` 2111-2130, so Windows' order (the log with the earlier entries
//! first) is regipy's call with `.LOG1` as its secondary log. In that order regipy's hive bins must equal regf's
//! byte for byte; regf's base block is the one that Windows writes (equal sequence numbers, valid checksum).
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{hive, TempDir};
use rdlic_core::winreg::RegistryView;
use regf::{replay, Error, Hive, RegValue};

#[test]
fn replayed_system_b_equals_regipy_and_opens_clean() {
    let (h, l1, l2) = (hive("SYSTEM_B"), hive("SYSTEM_B.LOG1"), hive("SYSTEM_B.LOG2"));
    let r = replay(&h, &[&l1, &l2]).unwrap();
    assert_eq!((r.entries, r.pages, r.sequence), (24, 315, 2130));
    // The order in which the logs are given does not matter.
    assert!(replay(&h, &[&l2, &l1]).unwrap() == r);
    let fixed = Hive::parse(r.hive.as_slice()).unwrap();
    assert!(!fixed.is_dirty());
    assert_eq!(fixed.base_block().primary_sequence, 2130);
    assert_eq!(fixed.base_block().hive_bins_size, 12_591_104, "grown as the last entry says");
    // The pending changes are there: the replayed hive differs from the one on disk.
    assert_ne!(common::regf_dump(&r.hive, "ControlSet001"), common::regf_dump(&h, "ControlSet001"));

    let Some(rpy) = common::regipy_python() else { return };
    let dir = TempDir::new("replay");
    let hp = dir.write("SYSTEM_B", &h);
    let (p1, p2) = (dir.write("SYSTEM_B.LOG1", &l1), dir.write("SYSTEM_B.LOG2", &l2));
    let out = dir.0.join("regipy-restored");
    let script = "import sys\nfrom regipy.recovery import apply_transaction_logs\n\
                  print(apply_transaction_logs(sys.argv[1], primary_log_path=sys.argv[3], \
                  secondary_log_path=sys.argv[2], restored_hive_path=sys.argv[4])[1])";
    let pages = common::run(Command::new(&rpy).args(["-c", script]).arg(&hp).arg(&p1).arg(&p2).arg(&out));
    assert_eq!(pages.trim(), "315");
    let theirs = std::fs::read(&out).unwrap();
    assert_eq!(theirs.len(), r.hive.len());
    assert!(theirs[4096..] == r.hive[4096..], "hive bins differ from regipy's replay");
    // regipy's base block keeps the hive's old sequence numbers; the rest of its first 4096 bytes is ours.
    assert_eq!(theirs[0..4], r.hive[0..4]);
    assert_eq!(theirs[12..0x1FC], r.hive[12..0x1FC]);

    // regipy reads the replayed hive, and reads in it what regf reads.
    let rp = dir.write("replayed", &r.hive);
    let start = r"ControlSet001\Control\Terminal Server";
    let sub = common::regipy::regipy_subtree(&rpy, &rp, start);
    assert!(sub.len() > 20);
    let view = regf::OfflineWindows::new(&r.hive, None).unwrap();
    for (key, name, _, value) in sub.iter().filter(|s| s.2 == "REG_DWORD") {
        let mine = view.value(&format!(r"HKLM\SYSTEM\{key}"), name);
        assert_eq!(mine.and_then(|v| v.as_dword()).map(u64::from), value["n"].as_u64(), "{key} {name}");
    }

    // hivex opens it (valid checksum) and dumps what regf dumps.
    let Some(py) = common::hivex_python() else { return };
    assert!(common::hivex_dump(py, &rp, "") == common::regf_dump(&r.hive, ""));
}

#[test]
fn replayed_hive_can_be_edited() {
    let r = replay(&hive("SYSTEM_B"), &[&hive("SYSTEM_B.LOG1"), &hive("SYSTEM_B.LOG2")]).unwrap();
    let mut h = Hive::parse(r.hive).unwrap();
    let key = r"ControlSet001\Control\Terminal Server\RCM\Licensing Core";
    h.set_value(key, "LicensingMode", &RegValue::Dword(4), 1).unwrap();
    assert_eq!(h.value(key, "LicensingMode").unwrap(), Some(RegValue::Dword(4)));
    assert_eq!(h.base_block().primary_sequence, 2131);
}

#[test]
fn clean_hive_is_returned_unchanged() {
    let h = hive("SYSTEM");
    let r = replay(&h, &[&hive("SYSTEM_B.LOG1")]).unwrap();
    assert_eq!(r.entries, 0);
    assert!(r.hive == h);
}

#[test]
fn logs_that_do_not_continue_the_hive_are_refused() {
    let h = hive("SYSTEM_B");
    // No logs, or empty ones.
    assert!(matches!(replay(&h, &[]), Err(Error::BadLog { .. })));
    assert!(matches!(replay(&h, &[&[0u8; 4096]]), Err(Error::BadLog { .. })));
    // A log whose first entry is damaged (hash-1 no longer matches): nothing from it applies.
    let mut l2 = hive("SYSTEM_B.LOG2");
    l2[512 + 100] ^= 0xFF;
    let only_l1 = replay(&h, &[&hive("SYSTEM_B.LOG1"), &l2]).unwrap();
    assert_eq!((only_l1.entries, only_l1.sequence), (4, 2110));
    // Not a log at all.
    assert!(matches!(replay(&h, &[b"not a log".as_slice()]), Err(Error::BadLog { .. })));
    let sys = hive("SYSTEM");
    assert!(matches!(replay(&h, &[&sys]), Err(Error::UnsupportedLogFormat { .. })));
}

#[test]
fn truncated_and_flipped_logs_never_panic() {
    let h = hive("SYSTEM_B");
    let l1 = hive("SYSTEM_B.LOG1");
    for cut in [0, 100, 512, 513, 600, 4096, 15_872 + 512, 20_000, l1.len() - 1] {
        let _ = replay(&h, &[&l1[..cut]]);
    }
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut l = l1[..60_000].to_vec();
        let pos = usize::try_from(seed % 60_000).unwrap();
        l[pos] ^= 1 << ((seed >> 40) % 8);
        if let Ok(r) = replay(&h, &[&l]) {
            assert!(!Hive::parse(r.hive.as_slice()).map(|x| x.is_dirty()).unwrap_or(false));
        }
    }
}
