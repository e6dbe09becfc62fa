//! What a setup run will do to the `.env`, decided before anything is
//! written: one summary row a variable (its tier, what happens to it, where
//! its value comes from) and the file as it will be, every value checked
//! against its rule on the way. [`Plan::apply`] is the one place the values
//! turn into the file's text; `--dry-run` shows a plan and applies nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{Options, generated, injected, third_party, uncatalogued};
use crate::config::{Env, SetupConf};
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::hooks::hook;
use crate::project::Project;
use crate::secrets;
use crate::sources::lookup::Sources;
use crate::sources::refs::Resolved;
use crate::summary::{self, Action, Row};
use crate::{backups, private_file};

/// The `.env` a run leaves, and how each variable got there.
pub(super) struct Plan {
    /// One row a variable, in the order the summary shows them.
    pub(super) rows: Vec<Row>,
    /// The project's `.env` as it is, if it has one.
    pub(super) existing: Option<EnvFile>,
    /// The `.env` as it will be.
    env: EnvFile,
}

/// What a plan is made from: the run's stage, its sources, and the template.
pub(super) struct Inputs<'a> {
    pub(super) conf: &'a SetupConf,
    pub(super) which: Env,
    pub(super) options: &'a Options,
    pub(super) example: &'a EnvFile,
    /// The variables the stack's compose files read, when known.
    pub(super) read: Option<&'a BTreeSet<String>>,
    /// `setup.conf`'s references, resolved.
    pub(super) resolved: &'a BTreeMap<String, Resolved>,
}

/// Decides every variable of `project`'s `.env`: Tier 1 generated in dev,
/// injected, typed or kept in staging and prod; Tier 2 from `setup.conf`'s
/// references; then its `[settings]`. Writes nothing.
pub(super) fn make(project: &Project, sources: &mut Sources<'_>, inputs: &Inputs<'_>) -> Result<Plan> {
    let existing = project.load_env()?;
    let in_use = super::guard::in_use(project, existing.as_ref());
    let mut env = super::base(project, existing.clone(), inputs.example)?;
    add_missing_settings(&mut env, inputs.example)?;
    let mut tenant = own_tenant(&mut env, project)?;

    let mut rows = if inputs.which.generates_secrets() {
        generated::fill(&mut env, inputs.read)?
    } else {
        injected::fill(&mut env, in_use, sources, inputs.options, inputs.read)?
    };
    rows.append(&mut tenant);
    let fresh = existing.is_none();
    rows.extend(third_party::fill(
        &mut env,
        inputs.conf,
        inputs.which,
        inputs.resolved,
        fresh,
    )?);
    if inputs.which.generates_secrets() {
        uncatalogued::check(&env, false)?;
    }
    Ok(Plan { rows, existing, env })
}

impl Plan {
    /// Whether applying the plan changes the `.env` (or makes one).
    pub(super) fn changes_env(&self) -> bool {
        self.existing.as_ref().is_none_or(|old| old.text() != self.env.text())
    }

    /// The `.env` as it will be.
    pub(super) fn env(&self) -> &EnvFile {
        &self.env
    }

    /// The summary table: what happens to each variable, never a value.
    pub(super) fn summary(&self) -> String {
        summary::render(&self.rows)
    }

    /// Whether a Tier 2 secret stays empty.
    pub(super) fn leaves_tier_two_empty(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.action == Action::LeftEmpty && r.tier == Some(secrets::Tier::Two))
    }

    /// Writes the `.env` when it changes, after a backup of the one that was
    /// there. Call it while holding the project's lock.
    pub(super) fn apply(&self, root: &Path, project: &Project) -> Result<()> {
        if !self.changes_env() {
            return Ok(());
        }
        if let Some(old) = &self.existing {
            hook!(pause "before-backup");
            let backup = backups::save(project, old.text(), None)?.path;
            println!("backed up the previous .env to {}", super::display(root, &backup));
            hook!(pause "after-backup");
        }
        write_env(&project.env_file(), &self.env)
    }
}

fn write_env(path: &Path, env: &EnvFile) -> Result<()> {
    Ok(private_file::write_atomic(path, env.text().as_bytes())?)
}

/// The pooler's tenant id is an identifier, not a secret, but upstream's
/// placeholder is the same on every install: the project's name replaces it.
fn own_tenant(env: &mut EnvFile, project: &Project) -> Result<Vec<Row>> {
    const TENANT: &str = "POOLER_TENANT_ID";
    if env.get(TENANT).is_none_or(|v| v != "your-tenant-id") {
        return Ok(Vec::new());
    }
    env.set(TENANT, &project.name)?;
    Ok(vec![Row {
        name: TENANT.to_string(),
        tier: None,
        action: Action::ReplacedDefault,
        source: summary::Source::Nothing,
        note: "the project's name, in place of the published placeholder".into(),
    }])
}

/// Variables present in `.env.example` but missing from `.env` are appended,
/// so an older project keeps up with the template: a setting with its
/// example value, a secret empty (made or supplied like any other).
fn add_missing_settings(env: &mut EnvFile, example: &EnvFile) -> Result<()> {
    for key in example.keys() {
        if env.get(&key).is_none() {
            let value = match secrets::catalog::find(&key) {
                Some(_) => String::new(),
                None => example.get(&key).unwrap_or_default(),
            };
            env.set(&key, &value)?;
        }
    }
    Ok(())
}
