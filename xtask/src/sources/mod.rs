//! Where values come from: the process environment, a terminal prompt, and
//! the vaults that `setup.conf` references name (Bitwarden, Doppler).
//!
//! Each vault command-line tool has its own module; [`vault::run`] runs them
//! all through [`crate::process`] (a controlled environment that carries the
//! token, a time limit), and [`refs`] resolves `setup.conf`'s references with
//! one call per vault. [`lookup`] is the one way setup and rotate look a
//! value up, through them.

pub mod bws;
pub mod doppler;
pub mod env;
pub mod lookup;
pub mod prompt;
pub mod refs;
pub mod vault;

use std::fmt;

pub use env::Environment;
pub use lookup::{Nothing, Refusal};
pub use vault::VaultError;

/// Where the value a variable holds after a run came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The process environment, under the variable's own name or a `${VAR}` reference.
    Environment,
    /// Typed at a terminal prompt.
    Prompt,
    /// A literal of `setup.conf`'s `[settings]`.
    SetupConf,
    /// Bitwarden Secrets Manager (`bws:` reference).
    Bitwarden,
    /// Doppler (`doppler:` reference).
    Doppler,
    /// The project's existing `.env`.
    Kept,
    /// Made by the tool from other secrets: signed with `JWT_SECRET` or `JWT_KEYS`, or derived.
    Minted,
    /// Drawn from the operating system's random source (dev only).
    Generated,
    /// No value.
    Nothing,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Environment => "environment",
            Source::Prompt => "prompt",
            Source::SetupConf => "setup.conf",
            Source::Bitwarden => "bws",
            Source::Doppler => "doppler",
            Source::Kept => "kept",
            Source::Minted => "minted",
            Source::Generated => "generated",
            Source::Nothing => "-",
        })
    }
}
