//! The Receptor xtask library: the tasks and the secrets core they share.
//!
//! A task orchestrates its run over peer modules that never know which task
//! called them (no module imports `setup`, `rotate` or `verify`):
//!
//! - `sources::lookup` looks values up the one way setup and rotate share:
//!   the environment by each variable's own name, `setup.conf`'s references
//!   (one call per vault a run), a terminal prompt.
//! - The task decides in memory, on a working copy of the `.env` (an
//!   `EnvFile`, edited in place, its comments and order kept): `secrets`
//!   checks each value against its rule and generates, mints and derives
//!   keys. setup's decision is a plan (`setup::plan`: one summary row a
//!   variable and the file as it will be; `--dry-run` stops there), rotate's
//!   is `rotate::plan`.
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
