//! The Receptor xtask library: the tasks and the secrets core they share.
//!
//! A task orchestrates its run over peer modules that never know which task
//! called them (no module imports `setup`, `rotate` or `verify` but `error`,
//! where their error types meet):
//!
//! - `sources::lookup` looks values up the one way setup and rotate share:
//!   each secret's sources walked in the documented order, `setup.conf`'s
//!   references (one call per vault a run) or the environment by the
//!   variable's own name, and last a terminal prompt.
//! - The task decides in memory, into a `draft::Draft` of the `.env`: one
//!   decision a variable, carrying its value, which later decisions read
//!   back as the values will be; `secrets` checks each value against its
//!   rule as it is decided, and generates, mints and derives keys. setup's
//!   decisions are the rows of `setup::plan` (the summary and `--dry-run`
//!   show them, never a value), rotate's those of `rotate::plan` (its
//!   `--overlap` and signing-key stages still edit a copy of the file).
//! - The draft is rendered into the `EnvFile` once, at the end, its comments
//!   and order kept: the one place decided values turn into text.
//! - Applying writes the `.env` once, atomically, after a backup
//!   (`private_file`, `backups`); rotate then drives `compose`, `psql` and
//!   `live` through its `step::Step`s, undoing them on failure.
//! - Every child process (git, Docker Compose, psql, the vault CLIs) runs
//!   through `process`.

pub mod audit;
pub mod backups;
pub mod cli;
pub mod clock;
pub mod compose;
pub mod config;
pub mod draft;
pub mod envfile;
pub mod error;
pub mod git;
pub mod hooks;
pub mod host_psql;
pub mod layout;
pub mod live;
pub mod no_follow;
pub mod printable;
pub mod private_file;
pub mod process;
pub mod project;
pub mod provenance;
pub mod psql;
pub mod rotate;
pub mod secrets;
pub mod setup;
pub mod sources;
pub mod step;
pub mod summary;
pub mod verify;
