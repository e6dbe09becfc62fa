//! `cargo xtask setup`: lay out a project folder and aggregate every secret
//! into its `.env`, following the key-management document's workflows: dev
//! generates what is missing; staging and prod take what is injected (the
//! environment, a prompt, the vaults `setup.conf` names) and never generate.

mod asymmetric;
mod dry_run;
mod error;
mod generated;
mod guard;
mod injected;
mod plan;
mod third_party;
mod uncatalogued;

use std::path::{Path, PathBuf};

use crate::cli::ProjectArgs;
use crate::compose::{Compose, Health, Redactor, ServiceState};
use crate::config::{Env, SetupConf, StackSource, UpstreamRef};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::hooks::hook;
use crate::printable::escaped;
use crate::private_file::{self, LOCK_WAIT};
use crate::project::Project;
use crate::provenance::{self, Origin};
use crate::sources::lookup::Sources;
use crate::{git, layout};

pub use error::{Refusal, SetupError};

// What the command line asked for: `cargo xtask setup`'s flags.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Take the stack from Supabase's git repository instead of docker/, at REF
    /// (default: stack.upstream_ref in setup.conf).
    #[arg(long, value_name = "REF", num_args = 0..=1)]
    pub upstream: Option<Option<UpstreamRef>>,
    /// Never prompt: fail at once (exit 3) when a Tier 1 secret is missing.
    /// Implied when CI is set or standard input is not a terminal.
    #[arg(long)]
    pub non_interactive: bool,
    /// Staging and prod: write injected Tier 1 values that differ from the
    /// project's .env. Only for a stack known to be fresh; a stack in use
    /// needs `cargo xtask rotate`.
    #[arg(long)]
    pub force: bool,
    /// Then start the stack (docker compose up -d --wait) and show each service's health.
    #[arg(long)]
    pub up: bool,
    /// Move an existing project to this run's stack template (another ref,
    /// or between embedded and upstream): unmodified template files are
    /// replaced, modified ones kept with the new version next to each as
    /// FILE.new, and new .env.example variables added.
    #[arg(long)]
    pub upgrade: bool,
    /// Take over an existing upstream install at DIR (its compose files,
    /// volumes/ and the .env that generate-keys.sh wrote) as this project:
    /// every sound value is kept, keys that verify are not re-minted, only
    /// published placeholders are replaced; DIR itself is left as it is.
    #[arg(long, value_name = "DIR")]
    pub adopt: Option<PathBuf>,
    /// Show what setup would do and change nothing: the summary table (no
    /// value), the files it would create or change. No file is written or
    /// created and nobody is prompted: a missing Tier 1 secret fails at once
    /// (exit 3), as with --non-interactive. Exit codes as for a real run.
    #[arg(long, conflicts_with_all = ["up", "adopt"])]
    pub dry_run: bool,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let conf = SetupConf::load(&root.join("setup.conf"))?;
    let (which, project) = options.project.resolve(root, &conf)?;
    let mut sources = Sources::new(&conf, which, options.non_interactive);
    if options.dry_run {
        sources = sources.never_asking("--dry-run");
    }
    refuse_tracked(root, &project)?;
    project.check_folder()?;

    // 1. The stack template: the embedded docker/ folder, or Supabase's at a pinned ref.
    // A fetched one goes to a private temporary folder, removed when the run ends.
    // Messages name the template by where it came from, never that folder.
    let fetched;
    let (template, shown, origin) = match (&options.upstream, conf.stack.source) {
        (None, StackSource::Embedded) => (root.join("docker"), PathBuf::from("docker"), Origin::Embedded),
        (upstream, _) => {
            let given = upstream.clone().flatten();
            let reference = given.clone().unwrap_or_else(|| conf.stack.upstream_ref.clone());
            let url = &conf.stack.upstream_url;
            println!("fetching docker/ of {url} at {reference}");
            fetched = git::scratch_folder()?;
            let docker = match git::fetch_docker_folder(url.as_str(), reference.as_str(), fetched.path()) {
                Err(git::GitError::RefNotFound { url, reference }) if given.is_some() => {
                    return Err(Error::UpstreamRefNotFound { url, reference });
                }
                fetched => fetched?,
            };
            let origin = Origin::Upstream {
                url: url.to_string(),
                commit: git::fetched_commit(fetched.path())?,
            };
            (docker, PathBuf::from(format!("{}:docker", reference.as_str())), origin)
        }
    };
    if !template.join(".env.example").is_file() {
        return Err(SetupError::NoExample { template: shown }.into());
    }
    let example = EnvFile::load_as(&template.join(".env.example"), &shown.join(".env.example"))?;

    if let Some(dir) = &options.adopt {
        adopt(root, dir, &project)?;
    }

    // A project follows the template it was laid out from; another one only with --upgrade.
    let before = provenance::recorded(&project.dir);
    if let Some(old) = &before
        && *old != origin
        && !options.upgrade
    {
        return Err(SetupError::OtherTemplate {
            project: project.name.clone(),
            old: old.clone(),
            new: origin,
        }
        .into());
    }

    // 2. Staging and prod: what was injected is checked before anything is written.
    if !which.generates_secrets() {
        let existing = load_existing(&project)?;
        let in_use = guard::in_use(&project, existing.as_ref());
        let env = base(&project, existing, &example)?;
        injected::preflight(
            &env,
            in_use,
            &mut sources,
            options,
            read_by_stack(&template, &project).as_ref(),
        )?;
        uncatalogued::check(&env, true)?;
    }

    // 3. Tier 2 references, resolved with one call to each vault they name,
    //    before anything is written: a vault that fails leaves no trace.
    let resolved = sources.references()?.clone();
    let read = read_by_stack(&template, &project);
    let inputs = plan::Inputs {
        conf: &conf,
        which,
        options,
        example: &example,
        read: read.as_ref(),
        resolved: &resolved,
    };
    if options.dry_run {
        let stack = match &before {
            Some(old) if *old != origin => dry_run::Template::Upgrade(old, &origin),
            Some(_) => dry_run::Template::Same,
            None => dry_run::Template::Record,
        };
        return dry_run::show(root, &project, &mut sources, &inputs, &template, stack);
    }

    // 4. The project folder, private and ignored by git, locked against a concurrent run.
    private_file::create_private_dir(&project.dir)?;
    let (_lock, removed) = project.lock(LOCK_WAIT)?;
    hook!(pause "locked");
    let upgraded = match &before {
        Some(old) if *old != origin => Some((old.clone(), provenance::upgrade(&project.dir, &template)?)),
        _ => None,
    };
    let laid = layout::lay_out(&template, &project.dir)?;
    if before.as_ref() != Some(&origin) {
        provenance::record(&project.dir, &origin, &template)?;
    }
    let leftovers = removed + laid.leftovers;
    if leftovers > 0 {
        println!("removed {leftovers} temporary file(s) left by an interrupted run");
    }

    // 5. The plan: every variable of the .env decided, in memory: the
    //    existing file edited, else a new one from .env.example.
    let read = read_by_stack(&template, &project);
    let inputs = plan::Inputs {
        read: read.as_ref(),
        ..inputs
    };
    let plan = plan::make(&project, &mut sources, &inputs)?;

    // 6. Written only when something changed, after a backup of what was there.
    let env_path = project.env_file();
    let changed = plan.changes_env();
    let was_shared = plan.existing.is_some() && private_file::is_shared(&env_path).unwrap_or(false);
    plan.apply(root, &project)?;
    let env = plan.env();

    println!("{}", plan.summary());
    println!(
        "project {} ({}): {} template files copied, {} already present",
        project.name,
        which.name(),
        laid.copied,
        laid.kept
    );
    if let Some((old, upgraded)) = &upgraded {
        println!(
            "upgraded the stack template from {old} to {origin}: {} file(s) replaced, {} added, {} modified file(s) kept",
            upgraded.replaced.len(),
            laid.copied,
            upgraded.kept_modified.len()
        );
        for file in &upgraded.kept_modified {
            let shown = project.dir.join(file);
            eprintln!(
                "warning: {} was modified, so it is kept; the new version is {}.new: merge what you need",
                display(root, &shown),
                display(root, &shown)
            );
        }
    } else if options.upgrade {
        println!("the stack template is already {origin}: nothing to upgrade");
    }
    if !laid.differing.is_empty() {
        let names: Vec<String> = laid.differing.iter().map(|p| p.display().to_string()).collect();
        println!(
            "kept as they are, though they differ from the stack template: {}; to take the template's, move them aside and run setup again",
            names.join(", ")
        );
    }
    if changed {
        println!("wrote {} (mode 0600)", display(root, &env_path));
    } else {
        println!("no changes: {} is up to date", display(root, &env_path));
    }
    if plan.leaves_tier_two_empty() {
        println!(
            "Tier 2 secrets left empty: export the variables setup.conf [secrets] references, or set them in {}",
            display(root, &env_path)
        );
    }
    report_permissions(root, &project, was_shared);
    if options.up {
        hook!(pause "before-up");
        bring_up(&project, env, &conf)?;
    } else {
        report_drift(&project, env, &conf, which);
    }
    Ok(())
}

/// A project folder is ignored by git through a `.gitignore` of `*`: a name
/// the repository tracks (`xtask`, `docker`, `docs`) would hide its files.
/// Without git, or outside a work tree, there is nothing to hide.
fn refuse_tracked(root: &Path, project: &Project) -> Result<()> {
    match git::tracks(root, &project.name) {
        Ok(true) => Err(SetupError::Tracked {
            project: project.name.clone(),
        }
        .into()),
        Ok(false) | Err(git::GitError::NotInstalled) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Warns when `.env` or the project folder can be read by anybody but their
/// owner, with the command that fixes it. A `.env` rewritten by this run is
/// private again: then only the past exposure is mentioned.
fn report_permissions(root: &Path, project: &Project, env_was_shared: bool) {
    let env_path = project.env_file();
    if private_file::is_shared(&env_path).unwrap_or(false) {
        eprintln!(
            "warning: {} is readable by other users (mode {}); fix it with: chmod 600 {}",
            display(root, &env_path),
            mode_of(&env_path),
            shell_path(&env_path)
        );
    } else if env_was_shared {
        eprintln!(
            "warning: {} was readable by other users; it is 0600 now, but its previous values may have been read",
            display(root, &env_path)
        );
    }
    if private_file::is_shared(&project.dir).unwrap_or(false) {
        eprintln!(
            "warning: {} is open to other users (mode {}); fix it with: chmod 700 {}",
            display(root, &project.dir),
            mode_of(&project.dir),
            shell_path(&project.dir)
        );
    }
}

fn mode_of(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or_else(
        |_| "unknown".into(),
        |m| format!("{:04o}", m.permissions().mode() & 0o7777),
    )
}

/// `path` as a shell argument that works from any folder.
fn shell_path(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,@%=:".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// When the project's stack is running on values other than those in `.env`
/// (an edit, or a run stopped between writing `.env` and recreating), says
/// which services and what to run. Silent when Docker is absent or the stack
/// is not running: setup itself needs neither.
fn report_drift(project: &Project, env: &EnvFile, conf: &SetupConf, which: Env) {
    if !crate::compose::has_containers(&project.name) {
        return;
    }
    let Ok(compose) = Compose::new(&project.name, &project.dir, Redactor::of([env], conf)) else {
        return;
    };
    let Ok(states) = compose.ps() else { return };
    if !states.iter().any(ServiceState::is_running) {
        return;
    }
    let drift = compose.drift();
    if let Ok(drift) = &drift {
        for service in &drift.expected {
            println!(
                "expected: {} runs with earlier values of {}, which it reads only when its volume is first initialised (rotate changed them inside it)",
                service.service,
                service.variables.join(", ")
            );
        }
    }
    match drift {
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
fn bring_up(project: &Project, env: &EnvFile, conf: &SetupConf) -> Result<()> {
    let compose = Compose::new(&project.name, &project.dir, Redactor::of([env], conf))?;
    println!(
        "starting {} with Docker Compose {}…",
        project.name,
        compose.flavour().version()
    );
    let result = compose.up(&[], false, UP_WAIT_SECS);
    let states = compose.ps()?;
    let width = states
        .iter()
        .map(|s| escaped(&s.service).chars().count())
        .max()
        .unwrap_or(7)
        .max("SERVICE".len());
    println!("{:<width$}  STATE       HEALTH", "SERVICE");
    for s in &states {
        println!(
            "{:<width$}  {:<10}  {}",
            escaped(&s.service),
            escaped(s.state.as_str()),
            if s.health == Health::Unchecked {
                "-".into()
            } else {
                escaped(s.health.as_str())
            }
        );
    }
    result?;
    Ok(())
}

/// How long `--up` waits for every service to be healthy.
const UP_WAIT_SECS: u64 = 180;

/// The project's `.env` as it is, if it has one.
fn load_existing(project: &Project) -> Result<Option<EnvFile>> {
    Ok(project.load_env()?)
}

/// What the run edits: the existing `.env`, else the template's `.env.example`.
pub(super) fn base(project: &Project, existing: Option<EnvFile>, example: &EnvFile) -> Result<EnvFile> {
    match existing {
        Some(file) => Ok(file),
        None => Ok(example.clone().renamed(&project.env_file())),
    }
}

/// Copies an existing install at `dir` into the new project folder: its
/// files as they are, and its `.env` (private), which the rest of the run
/// then edits like any project's, after a backup. `dir` is only read.
fn adopt(root: &Path, dir: &Path, project: &Project) -> Result<()> {
    let source = dir.join(".env");
    let env = EnvFile::load(&source)?;
    if std::fs::symlink_metadata(project.env_file()).is_ok() {
        return Err(SetupError::AdoptOverEnv {
            dir: display(root, &project.dir).into(),
        }
        .into());
    }
    private_file::create_private_dir(&project.dir)?;
    let (_lock, _) = project.lock(LOCK_WAIT)?;
    let laid = layout::lay_out(dir, &project.dir)?;
    private_file::write_atomic(&project.env_file(), env.text().as_bytes())?;
    println!(
        "adopted {}: {} files and its .env copied into {}",
        dir.display(),
        laid.copied,
        display(root, &project.dir)
    );
    Ok(())
}

/// The variables the stack's compose files read: the template's, and the
/// project folder's own (which the user may have changed or added to).
fn read_by_stack(template: &Path, project: &Project) -> Option<std::collections::BTreeSet<String>> {
    use crate::compose::files::variables_read;
    match (variables_read(template), variables_read(&project.dir)) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

pub(super) fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
