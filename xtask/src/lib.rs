//! The Receptor xtask library: the tasks and the secrets core they share.
//!
//! Data flows one way: sources → secrets (validated, derived) → envfile →
//! compose. A task asks the lower layers; they never know which task called.

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
