//! What a setup run will do to the `.env`, decided before anything is
//! written: one [`Resolution`] a variable (its tier, what happens to it,
//! where its value comes from, and the value), each checked against its rule
//! as it is decided. The file as it will be is rendered from them once, at
//! the end ([`crate::draft`]); the summary and `--dry-run` show the rows,
//! [`Plan::apply`] writes the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{Options, generated, injected, third_party, uncatalogued};
use crate::config::{Env, SetupConf};
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::hooks::hook;
use crate::project::Project;
use crate::secrets::{self, CATALOG, Secret, Tier};
use crate::sources::lookup::Sources;
use crate::sources::refs::Resolved;
use crate::summary::{self, Action, Row, Source};
use crate::{backups, draft, private_file};

/// One variable decided: its summary row, and the value the `.env` will
/// hold (`None` leaves its line as it is).
#[derive(Clone, Debug)]
pub(super) struct Resolution {
    pub(super) row: Row,
    pub(super) value: Option<Secret>,
}

impl Resolution {
    pub(super) fn new(
        name: &str,
        tier: Option<Tier>,
        action: Action,
        source: Source,
        note: impl Into<String>,
        value: Option<Secret>,
    ) -> Resolution {
        Resolution {
            row: Row {
                name: name.to_string(),
                tier,
                action,
                source,
                note: note.into(),
            },
            value,
        }
    }
}

impl draft::Decision for Resolution {
    fn name(&self) -> &str {
        &self.row.name
    }

    fn value(&self) -> Option<&Secret> {
        self.value.as_ref()
    }
}

/// The `.env` being decided: the file the run edits, and a resolution a variable.
pub(super) type Draft = draft::Draft<Resolution>;

/// The `.env` a run leaves, and how each variable got there.
pub(super) struct Plan {
    /// One resolution a variable, in the order decided.
    rows: Vec<Resolution>,
    /// The project's `.env` as it is, if it has one.
    pub(super) existing: Option<EnvFile>,
    /// The `.env` as it will be, rendered from the rows.
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
    let mut base = super::base(project, existing.clone(), inputs.example)?;
    add_missing_settings(&mut base, inputs.example)?;
    let mut draft = Draft::new(base);

    if inputs.which.generates_secrets() {
        generated::fill(&mut draft, inputs.read)?;
    } else {
        injected::fill(&mut draft, in_use, sources, inputs.options, inputs.read)?;
    }
    own_tenant(&mut draft, project)?;
    let fresh = existing.is_none();
    third_party::fill(&mut draft, inputs.conf, inputs.which, inputs.resolved, fresh)?;
    let env = draft.render()?;
    if inputs.which.generates_secrets() {
        uncatalogued::check(&env, false)?;
    }
    Ok(Plan {
        rows: draft.into_decisions(),
        existing,
        env,
    })
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
    /// The Tier 1 secrets come first, in catalog order, then the rest as decided.
    pub(super) fn summary(&self) -> String {
        let mut rows: Vec<Row> = self.rows.iter().map(|r| r.row.clone()).collect();
        rows.sort_by_key(|row| match row.tier {
            Some(Tier::One) => (false, CATALOG.iter().position(|s| s.name == row.name)),
            _ => (true, None),
        });
        summary::render(&rows)
    }

    /// Whether a Tier 2 secret stays empty.
    pub(super) fn leaves_tier_two_empty(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.row.action == Action::LeftEmpty && r.row.tier == Some(Tier::Two))
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
fn own_tenant(draft: &mut Draft, project: &Project) -> Result<()> {
    const TENANT: &str = "POOLER_TENANT_ID";
    if draft.get(TENANT).is_none_or(|v| v != "your-tenant-id") {
        return Ok(());
    }
    Ok(draft.decide(Resolution::new(
        TENANT,
        None,
        Action::ReplacedDefault,
        Source::Nothing,
        "the project's name, in place of the published placeholder",
        Some(Secret::new(project.name.as_str())),
    ))?)
}

/// Variables present in `.env.example` but missing from `.env` are appended
/// to the file the run edits, so an older project keeps up with the
/// template: a setting with its example value, a secret empty (then decided
/// like any other).
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
