//! Fuzz target: the `.env` editor (`EnvFile::parse`, `get`, `set`) against
//! the properties in xtask/tests/faults/properties.rs.

#![no_main]

#[path = "../../xtask/tests/faults/properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::env_properties(data));
