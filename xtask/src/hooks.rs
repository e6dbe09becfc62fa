//! Test hooks, in the style of the `fail` crate's failpoints: named points
//! where Receptor's fault tests stop the process or make a step fail.
//!
//! They exist only in builds with the cargo feature `test-hooks`
//! (`utils/test.sh` builds the suite with it). In every other build — the
//! `cargo xtask` alias, a release build — [`hook!`] expands to nothing (a
//! fail point to `false`), no variable is read, and the binary holds none
//! of their names. How the tests drive them: `docs/fault-campaign.md`.

#[cfg(feature = "test-hooks")]
pub mod fail;
#[cfg(feature = "test-hooks")]
pub mod pause;
#[cfg(feature = "test-hooks")]
pub mod skew;

use std::io::{self, Write};
use std::path::Path;

/// One test hook:
///
/// - `hook!(pause "step")` and `hook!(pause "step", path)`: the process
///   stops itself here when the tests ask for this step (for this file);
/// - `hook!(fail Step::…)`: `true` the first time this step is reached in a
///   run whose tests asked it to fail, else `false`;
/// - `hook!(recreate(compose, services))`: the Compose to recreate
///   `services` with, which the `recreate` and `health` fail points alter,
///   and a guard to keep until it is done;
/// - `hook!(clock_skew)`: seconds to move the stage clock of
///   `rotate signing-key` by (`RECEPTOR_TEST_CLOCK_SKEW`).
///
/// Without the `test-hooks` feature: nothing, and `false`.
macro_rules! hook {
    (pause $step:literal) => {{
        #[cfg(feature = "test-hooks")]
        $crate::hooks::pause::at($step);
    }};
    (pause $step:literal, $path:expr) => {{
        #[cfg(feature = "test-hooks")]
        $crate::hooks::pause::writing($step, $path);
        #[cfg(not(feature = "test-hooks"))]
        let _ = $path;
    }};
    (fail $step:expr) => {{
        #[cfg(feature = "test-hooks")]
        let fails = $crate::hooks::fail::fires($step);
        #[cfg(not(feature = "test-hooks"))]
        let fails = {
            let _: $crate::step::Step = $step;
            false
        };
        fails
    }};
    (clock_skew) => {{
        #[cfg(feature = "test-hooks")]
        let skew: i64 = $crate::hooks::skew::seconds();
        #[cfg(not(feature = "test-hooks"))]
        let skew: i64 = 0;
        skew
    }};
    (recreate($compose:expr, $services:expr)) => {{
        #[cfg(feature = "test-hooks")]
        let hooked = $crate::hooks::fail::recreate_compose($compose, $services);
        #[cfg(not(feature = "test-hooks"))]
        let hooked: ::std::result::Result<_, $crate::private_file::FileError> = {
            let _ = $services;
            Ok((($compose).clone(), ()))
        };
        hooked
    }};
}
pub(crate) use hook;

/// Writes `bytes` to `file`. With the test hooks, in two halves with the
/// pause point `step` between them, so a test can stop a write half done.
pub fn write_all(file: &mut impl Write, bytes: &[u8], step: &'static str, path: &Path) -> io::Result<()> {
    #[cfg(feature = "test-hooks")]
    {
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        file.write_all(first)?;
        pause::writing(step, path);
        file.write_all(rest)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = (step, path);
        file.write_all(bytes)
    }
}
