//! `cargo xtask setup`: lay out a project folder and aggregate every secret
//! into its `.env`, following the key-management document's development workflow.

use std::path::{Path, PathBuf};

use crate::compose::{Compose, Redactor};
use crate::config::{Env, SetupConf, StackSource};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::private_file::{self, LOCK_WAIT, ProjectLock};
use crate::project::Project;
use crate::secrets::{self, CATALOG, Make, Secret, SecretSpec, Tier, defaults, generate, jwt, rules};
use crate::summary::{self, Action, Row};
use crate::{clock, git, layout};

/// What the command line asked for.
#[derive(Debug)]
pub struct Options {
    pub env: Env,
    pub project_name: Option<String>,
    /// `Some(None)`: upstream at the ref of `setup.conf`; `Some(Some(r))`: at `r`.
    pub upstream: Option<Option<String>>,
    /// After writing `.env`, start the stack and wait for it to be healthy.
    pub up: bool,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let conf = SetupConf::load(&root.join("setup.conf"))?;
    if options.env != Env::Dev {
        return Err(Error::Usage(format!(
            "setup --env {} takes its secrets from the environment and vaults, which this version does not support yet; use --env dev",
            options.env.name()
        )));
    }
    let name = options
        .project_name
        .as_deref()
        .unwrap_or(conf.project_name(options.env));
    let project = Project::new(root, name)?;

    // 1. The stack template: the embedded docker/ folder, or Supabase's at a pinned ref.
    let fetched = TempDir::new(&format!("receptor-upstream-{}", std::process::id()));
    let template = match (&options.upstream, conf.stack.source) {
        (None, StackSource::Embedded) => root.join("docker"),
        (upstream, _) => {
            let reference = upstream
                .clone()
                .flatten()
                .unwrap_or_else(|| conf.stack.upstream_ref.clone());
            println!("fetching docker/ of {} at {reference}", conf.stack.upstream_url);
            git::fetch_docker_folder(&conf.stack.upstream_url, &reference, &fetched.0)?
        }
    };
    if !template.join(".env.example").is_file() {
        return Err(Error::Usage(format!(
            "{}: no .env.example in the stack template",
            template.display()
        )));
    }

    // 2. The project folder, private and ignored by git, locked against a concurrent run.
    private_file::create_private_dir(&project.dir)?;
    let _lock = ProjectLock::acquire(&project.lock_file(), LOCK_WAIT)?;
    let laid = layout::lay_out(&template, &project.dir)?;

    // 3. The .env: the existing one, edited; else a new one from .env.example.
    let env_path = project.env_file();
    let existing = match std::fs::symlink_metadata(&env_path) {
        Ok(_) => Some(EnvFile::load(&env_path)?),
        Err(_) => None,
    };
    let example = EnvFile::load(&template.join(".env.example"))?;
    let mut env = match &existing {
        Some(file) => file.clone(),
        None => EnvFile::parse(&env_path, example.text().to_string())?,
    };
    add_missing_settings(&mut env, &example)?;
    let rows = fill_secrets(&mut env)?;

    // 4. Write only when something changed, after a backup of what was there.
    let changed = existing.as_ref().is_none_or(|old| old.text() != env.text());
    if changed {
        if let Some(old) = &existing {
            let backup = backup(&project, old)?;
            println!("backed up the previous .env to {}", display(root, &backup));
        }
        private_file::write_atomic(&env_path, env.text().as_bytes())?;
    }

    println!("{}", summary::render(&rows));
    println!(
        "project {}: {} template files copied, {} already present",
        project.name, laid.copied, laid.kept
    );
    if changed {
        println!("wrote {} (mode 0600)", display(root, &env_path));
    } else {
        println!("no changes: {} is up to date", display(root, &env_path));
    }
    if rows.iter().any(|r| r.action == Action::LeftEmpty && r.tier == 2) {
        println!(
            "Tier 2 secrets left empty: set them in {} or reference them in setup.conf [secrets]",
            display(root, &env_path)
        );
    }
    if options.up {
        bring_up(&project, &env)?;
    } else {
        report_drift(&project, &env, options.env);
    }
    Ok(())
}

fn redactor(env: &EnvFile) -> Redactor {
    Redactor::new(CATALOG.iter().filter_map(|spec| env.get(spec.name)).map(Secret::new))
}

/// When the project's stack is running on values other than those in `.env`
/// (an edit, or a run stopped between writing `.env` and recreating), says
/// which services and what to run. Silent when Docker is absent or the stack
/// is not running: setup itself needs neither.
fn report_drift(project: &Project, env: &EnvFile, which: Env) {
    let Ok(compose) = Compose::new(&project.name, &project.dir, redactor(env)) else {
        return;
    };
    let Ok(states) = compose.ps() else { return };
    if !states.iter().any(|s| s.state == "running") {
        return;
    }
    match compose.drift() {
        Ok(drift) if !drift.is_clean() => {
            println!("the running stack does not use these .env values yet:");
            for service in &drift.services {
                println!("  {}: {}", service.service, service.variables.join(", "));
            }
            println!(
                "apply them with: cargo xtask setup --env {} --project-name {} --up (recreates only these services)",
                which.name(),
                project.name
            );
        }
        Ok(_) => println!("the running stack uses the values in .env"),
        Err(_) => {}
    }
}

/// `docker compose up -d --wait` on the project, then a health summary.
fn bring_up(project: &Project, env: &EnvFile) -> Result<()> {
    let compose = Compose::new(&project.name, &project.dir, redactor(env))?;
    println!(
        "starting {} with Docker Compose {}…",
        project.name,
        compose.flavour().version()
    );
    let result = compose.up(&[], false, UP_WAIT_SECS);
    let states = compose.ps()?;
    let width = states
        .iter()
        .map(|s| s.service.len())
        .max()
        .unwrap_or(7)
        .max("SERVICE".len());
    println!("{:<width$}  STATE       HEALTH", "SERVICE");
    for s in &states {
        println!(
            "{:<width$}  {:<10}  {}",
            s.service,
            s.state,
            if s.health.is_empty() { "-" } else { &s.health }
        );
    }
    result?;
    Ok(())
}

/// How long `--up` waits for every service to be healthy.
const UP_WAIT_SECS: u64 = 180;

/// Settings present in `.env.example` but missing from `.env` are appended
/// with their example value, so an older project keeps up with the template.
fn add_missing_settings(env: &mut EnvFile, example: &EnvFile) -> Result<()> {
    for key in example.keys() {
        if env.get(&key).is_none() && secrets::catalog::find(&key).is_none() {
            let value = example.get(&key).unwrap_or_default();
            env.set(&key, &value)?;
        }
    }
    Ok(())
}

/// Every catalog secret, in catalog order: kept when sound, made when missing.
fn fill_secrets(env: &mut EnvFile) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for spec in CATALOG {
        let current = env.get(spec.name).unwrap_or_default();
        let (action, note, value) = decide(spec, &current, env);
        match (action, value) {
            (Some(action), Some(value)) => {
                env.set(spec.name, value.expose())?;
                rows.push(Row {
                    name: spec.name,
                    tier: spec.tier.number(),
                    action,
                    note,
                });
            }
            (Some(action), None) => rows.push(Row {
                name: spec.name,
                tier: spec.tier.number(),
                action,
                note,
            }),
            (None, _) => {
                let line = env.line_of(spec.name).unwrap_or(0);
                refused.push(format!("{}:{line}: {} {note}", env.path().display(), spec.name));
            }
        }
    }
    if refused.is_empty() {
        Ok(rows)
    } else {
        Err(Error::Refused(refused))
    }
}

/// What to do with one secret. `(None, why, _)` refuses the run.
fn decide(spec: &SecretSpec, current: &str, env: &EnvFile) -> (Option<Action>, String, Option<Secret>) {
    let others = |name: &str| env.get(name);
    let is_default = defaults::is_known_default(current);
    match spec.make {
        Make::Random { .. } => {
            if current.is_empty() || is_default {
                let action = if is_default {
                    Action::ReplacedDefault
                } else {
                    Action::Generated
                };
                return (Some(action), spec.rule.describe(), generate::for_spec(spec));
            }
            match rules::check(spec, current, &others) {
                Ok(()) => (Some(Action::Kept), String::new(), None),
                Err(why) => (
                    None,
                    format!(
                        "{why}; fix the value, or replace it with: cargo xtask rotate {}",
                        spec.name
                    ),
                    None,
                ),
            }
        }
        Make::Minted(role) => {
            let secret = Secret::new(env.get("JWT_SECRET").unwrap_or_default());
            if !current.is_empty()
                && !jwt::signed_by_known_default(current)
                && jwt::is_valid_for(current, secret.expose(), role)
            {
                return (Some(Action::Kept), String::new(), None);
            }
            let (action, note) = if current.is_empty() {
                (Action::Minted, format!("role {}, signed with JWT_SECRET", role.claim()))
            } else if jwt::signed_by_known_default(current) {
                (
                    Action::ReplacedDefault,
                    "was signed with a published secret".to_string(),
                )
            } else {
                (
                    Action::Reminted,
                    "did not verify under JWT_SECRET with its role".to_string(),
                )
            };
            (Some(action), note, Some(jwt::mint(role, &secret, jwt::now())))
        }
        Make::Supplied => {
            let note = match (spec.tier, current.is_empty(), is_default) {
                (Tier::Two, true, _) => "supplied by you: never generated".to_string(),
                (Tier::Two, false, true) => "a published placeholder: replace it before staging or prod".to_string(),
                (_, true, _) => "optional: empty keeps legacy HS256 mode".to_string(),
                _ => String::new(),
            };
            let action = if current.is_empty() {
                Action::LeftEmpty
            } else {
                Action::Kept
            };
            (Some(action), note, None)
        }
    }
}

/// A 0600 copy of the `.env` as it was, in the project's `backups/`.
fn backup(project: &Project, old: &EnvFile) -> Result<PathBuf> {
    let dir = project.backup_dir();
    private_file::create_private_dir(&dir)?;
    let mut path = dir.join(format!(".env.{}", clock::now_compact()));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!(".env.{}.{n}", clock::now_compact()));
        n += 1;
    }
    private_file::write_atomic(&path, old.text().as_bytes())?;
    Ok(path)
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// A scratch folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
