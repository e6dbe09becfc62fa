//! Fuzz target: the `setup.conf` reader (`SetupConf::parse`) against the
//! properties in xtask/tests/suite/faults/properties.rs.

#![no_main]

#[path = "../../xtask/tests/suite/faults/properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::conf_properties(data));
