//! The admin password of the RD Licensing Manager page: stored only as a slow, salted hash, in the license database
//! so that every front end sharing a PostgreSQL database accepts it. The hashing lives in [`rdlic_api::password`],
//! which the session host's admin account (`host.toml` `AdminPasswordHash`) uses too.

pub use rdlic_api::password::{hash, verify, verify_or_burn, PasswordError, ITERATIONS, MAX_PASSWORD, MIN_PASSWORD};
