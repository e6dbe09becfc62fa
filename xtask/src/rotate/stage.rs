//! A stage of a staged rotation (a signing-key stage, a step of an API-key
//! overlap), made safe to cut short. It is recorded as started, with the
//! backup of `.env` taken for it, before anything changes ([`begin`]), and as
//! done only once its checks passed ([`finish`]). A run that finds a stage
//! started and not done knows it was interrupted, and rolls it back to that
//! backup first ([`Running::roll_back`]): `.env` restored and the containers
//! recreated, as `rotate --rollback` does.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backups::{self, Backup};
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::hooks::hook;
use crate::project::Project;

use super::source::Sources;
use super::{Options, load_env, rollback, signing::timing};

/// A stage that started and has not finished; `S` says which stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running<S> {
    pub stage: S,
    /// Unix seconds.
    pub started_at: u64,
    /// The backup of `.env` taken just before, by file name (in `backups/`).
    pub backup: String,
}

/// Backs up `env` and records `stage` as started with that backup (`record`
/// saves the state holding the [`Running`] it is given), before anything
/// changes. Returns the backup, for the change to use.
pub fn begin<S>(
    project: &Project,
    env: &EnvFile,
    stage: S,
    record: impl FnOnce(Running<S>) -> Result<()>,
) -> Result<Backup> {
    let backup = backups::save(project, env.text(), None)?;
    record(Running {
        stage,
        started_at: timing::now(),
        backup: backup.name.clone(),
    })?;
    hook!(pause "stage-started");
    Ok(backup)
}

/// Records a stage whose change is applied and checked as done (`record`
/// saves the state without its [`Running`]).
pub fn finish(record: impl FnOnce() -> Result<()>) -> Result<()> {
    hook!(pause "stage-checked");
    record()
}

impl<S> Running<S> {
    /// `--status`'s words for it: "`what` started at … and did not finish: …".
    pub fn unfinished(&self, what: &str) -> String {
        format!(
            "{what} started at {} and did not finish: the next run rolls it back to {} first",
            crate::clock::iso8601(self.started_at),
            self.backup
        )
    }

    /// Rolls the interrupted stage (`what`) back to its backup, as
    /// `cargo xtask rotate --rollback BACKUP` does, saying so; a dry run
    /// shows that rollback instead. Returns the `.env` to go on from: the
    /// restored one (in a dry run, the backup). The caller then records the
    /// stage as no longer running.
    pub fn roll_back(
        &self,
        what: &str,
        root: &Path,
        project: &Project,
        options: &Options,
        env: EnvFile,
        sources: &Sources<'_>,
    ) -> Result<EnvFile> {
        println!(
            "{what} started at {} and did not finish: rolling it back to {} first",
            crate::clock::iso8601(self.started_at),
            self.backup
        );
        rollback::run(root, project, options, env, Some(&self.backup), sources)?;
        if options.dry_run {
            let path = project.backup_dir().join(&self.backup);
            return Ok(EnvFile::load(&path)?.renamed(&project.env_file()));
        }
        load_env(project)
    }
}
