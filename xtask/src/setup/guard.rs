//! The rotation guard: staging and prod never overwrite a Tier 1 value that
//! a stack may already use, because an injected value that differs from the
//! one in `.env` is a rotation in disguise.

use std::path::Path;

use super::Refusal;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::project::Project;

/// Whether the stack of `project` may already use the Tier 1 values of its
/// `.env`, so that writing different ones is a rotation. Today: the project
/// has a `.env`. This is the one place to narrow it to "the database is
/// initialised or the stack is running".
pub(super) fn in_use(_project: &Project, existing: Option<&EnvFile>) -> bool {
    existing.is_some()
}

/// Refuses `changed` values on a stack in use, unless `force` says it is fresh.
pub(super) fn refuse_disguised_rotation(env_path: &Path, changed: &[&'static str], force: bool) -> Result<()> {
    if changed.is_empty() || force {
        return Ok(());
    }
    Err(Error::refused([Refusal::DisguisedRotation {
        path: env_path.to_path_buf(),
        names: changed.to_vec(),
    }]))
}
