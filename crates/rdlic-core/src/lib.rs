//! rdlic licensing model (pure functions over values; no I/O).
