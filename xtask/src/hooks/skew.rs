//! The clock skew: `RECEPTOR_TEST_CLOCK_SKEW=SECONDS` moves the clock that
//! decides when a stage of `rotate signing-key` is due forward (or back,
//! when negative), so the tests need not wait ten minutes for a switch.
//! Tokens and timestamps in files keep the real clock.

use std::sync::OnceLock;

/// The variable that holds the skew.
pub const VAR: &str = "RECEPTOR_TEST_CLOCK_SKEW";

/// The skew in seconds; 0 without the variable.
pub fn seconds() -> i64 {
    static SKEW: OnceLock<i64> = OnceLock::new();
    *SKEW.get_or_init(|| match std::env::var(VAR) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            eprintln!("warning: {VAR}={value} is not a number of seconds; no skew");
            0
        }),
        Err(_) => 0,
    })
}
