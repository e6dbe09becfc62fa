//! Fuzz target: the `.env` editor (`EnvFile::parse`, `get`, `set`) against
//! the properties in xtask/tests/suite/faults/properties.rs.

#![no_main]

#[path = "../../xtask/tests/suite/faults/properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::env_properties(data));
