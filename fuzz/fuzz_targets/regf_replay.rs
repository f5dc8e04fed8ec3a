#![no_main]
// Any bytes as a transaction log (both as .LOG1 and, halved, as .LOG1 + .LOG2) replayed into a small dirty hive;
// a replay that succeeds gives a clean hive.
const DIRTY: &[u8] = include_bytes!("../seeds/regf_replay.hive");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = regf::replay(DIRTY, &[data]) {
        if let Ok(h) = regf::Hive::parse(r.hive.as_slice()) {
            assert!(!h.is_dirty());
        }
    }
    let (a, b) = data.split_at(data.len() / 2);
    let _ = regf::replay(DIRTY, &[a, b]);
    // The bytes as the hive, the seed's log as its log.
    let _ = regf::replay(data, &[data]);
});
