//! `cargo xtask rotate`: new values for keys of a running stack, following
//! the key-management document's "Key Rotation Procedure" — and ending on one
//! consistent set of keys whatever fails.
//!
//! 1. Under the project lock, decide the new values: generated in dev, from
//!    their source in staging and prod (Tier 2 always from their source),
//!    with what follows from them (a new `JWT_SECRET` re-mints the API keys).
//! 2. Find the services that read them (from the compose file) and the
//!    database statements they need; `--dry-run` stops after showing this.
//! 3. Ask before ending every user session (`--yes` for automation).
//! 4. Back up `.env`, write the new one, change the database, recreate the
//!    consumers, wait for health, check as a client; undo all on failure.
//!
//! `--rollback` puts a backup of `.env` back the same way.

mod apply;
mod confirm;
mod database;
mod error;
pub mod overlap;
mod plan;
mod rollback;
pub mod signing;
mod source;
mod stage;
mod state_file;

use std::path::Path;
use std::time::Duration;

use crate::audit::Action;
use crate::cli::ProjectArgs;
use crate::compose::{Compose, Redactor, ServiceState};
use crate::config::SetupConf;
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::live;
use crate::private_file::ProjectLock;
use crate::project::Project;
use crate::psql;
use crate::secrets::{Secret, name};

pub use error::{Cause, Finish, MintError, NoNewValue, Refusal, RollbackFailed, RolledBack, RotateError, Unrestored};
pub use plan::{ENCRYPTING_OVERRIDE, Selection};

// What the command line asked for: `cargo xtask rotate`'s flags.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    /// The variables to rotate (see docs/key-management.md), or signing-key for the staged rotation of the ES256 signing key.
    #[arg(value_name = "NAME", required_unless_present_any = ["tier", "all", "rollback"], conflicts_with_all = ["tier", "all", "rollback"])]
    pub names: Vec<String>,
    /// Every Tier 1 key the tool makes (the encrypting ones only with the override).
    #[arg(long, value_name = "TIER", value_parser = clap::value_parser!(u8).range(1..=1), conflicts_with_all = ["all", "rollback"])]
    pub tier: Option<u8>,
    /// Tier 1, and every Tier 2 secret that is set or has a new value.
    #[arg(long, conflicts_with = "rollback")]
    pub all: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Confirm ending every user session (JWT_SECRET) without asking: for automation.
    #[arg(long)]
    pub yes: bool,
    /// Never prompt (for a missing value or a confirmation): fail at once instead.
    #[arg(long)]
    pub non_interactive: bool,
    /// Show the plan (variables, services, database statements with values redacted) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The gateway to check against (default: http://127.0.0.1:$KONG_HTTP_PORT).
    #[arg(long, value_name = "URL")]
    pub gateway_url: Option<String>,
    /// Allow VAULT_ENC_KEY and REALTIME_DB_ENC_KEY: data encrypted with the old key becomes unreadable.
    #[arg(long = "i-understand-encrypted-data-becomes-unreadable")]
    pub allow_encrypting: bool,
    /// Put a backup of .env back (the newest that differs from .env, or the one named), with its database values.
    #[arg(long, value_name = "BACKUP", num_args = 0..=1)]
    pub rollback: Option<Option<String>>,
    /// Keep the old key accepted next to the new one for this long (SUPABASE_SECRET_KEY, SUPABASE_PUBLISHABLE_KEY, ANON_KEY, SERVICE_ROLE_KEY); end it with --stage revoke.
    #[arg(long, value_name = "DURATION", value_parser = signing::parse_duration, conflicts_with_all = ["tier", "all", "rollback"])]
    pub overlap: Option<u64>,
    #[command(flatten)]
    pub signing: signing::Args,
}

impl Options {
    /// What to rotate: `None` with `--rollback`.
    pub fn selection(&self) -> Option<Selection> {
        if self.all {
            Some(Selection::All)
        } else if self.tier.is_some() {
            Some(Selection::Tier1)
        } else if self.names.is_empty() {
            None
        } else {
            Some(Selection::Names(self.names.clone()))
        }
    }
}

/// How long a run waits for another run on the same project: a rotation
/// takes as long as its services take to get healthy.
pub const LOCK_WAIT: Duration = Duration::from_secs(600);

const SESSIONS_END: &str = "Rotating JWT_SECRET ends every user session and replaces ANON_KEY and SERVICE_ROLE_KEY: every client needs the new keys";

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let conf = SetupConf::load(&root.join("setup.conf"))?;
    let (which, project) = options.project.resolve(root, &conf)?;
    project.check_folder()?;
    if project.load_env()?.is_none() {
        return Err(RotateError::NoEnv {
            project: project.name.clone(),
            stage: which,
        }
        .into());
    }
    if options.names.iter().any(|n| n == signing::NAME) {
        if options.names.len() > 1 {
            return Err(RotateError::SigningKeyAlone { stage: which }.into());
        }
        return signing::run(root, &project, which, &conf, options);
    }
    if overlap::wanted(options) {
        return overlap::run(root, &project, which, &conf, options);
    }
    if options.signing.any() {
        return Err(RotateError::SigningFlags.into());
    }
    let (_lock, before) = locked(&project, options.dry_run, || load_env(&project))?;
    if options.rollback.is_none() {
        refuse_beside_unfinished_stage(&project, which)?;
    }

    if let Some(backup) = &options.rollback {
        let sources = source::Sources::new(&conf, which, options.non_interactive);
        return rollback::run(root, &project, options, before, backup.as_deref(), &sources);
    }
    let selection = options.selection().ok_or(RotateError::NothingNamed)?;

    // 1. The new values, and what follows from them.
    let mut sources = source::Sources::new(&conf, which, options.non_interactive);
    let plan = plan::plan(&before, &selection, which, options.allow_encrypting, &mut sources)?;
    let names = plan.names();

    // 2. The services that read them at run time (not those that read them
    //    only at first init), the database and its statements.
    let compose = compose_for(&project, [&before, &plan.after], &conf)?;
    let map = compose.consumers()?;
    let consumers = map.services_reading(names.iter().map(String::as_str));
    let init_only = map.init_only_reading(names.iter().map(String::as_str));
    let value = |env: &EnvFile, name: &str| env.secret(name).unwrap_or_else(Secret::empty);
    let mut target = database::Target {
        password: plan
            .changes(name::POSTGRES_PASSWORD)
            .then(|| value(&plan.after, name::POSTGRES_PASSWORD)),
        jwt_secret: plan
            .changes(name::JWT_SECRET)
            .then(|| value(&plan.after, name::JWT_SECRET)),
    };
    println!("rotate on project {} ({}):", project.name, which.name());
    print!("{}", plan::render(&plan));
    if map.database.is_none() && target.jwt_secret.take().is_some() {
        println!(
            "database: not a Compose service, so app.settings.jwt_secret is not changed (a database outside Compose that keeps a copy of JWT_SECRET needs it set there)"
        );
    }
    let place = match (&map.database, target.password.is_some()) {
        (Some(service), _) => Some(psql::Place::Service(service.clone())),
        (None, true) => Some(psql::locate(
            &compose,
            &before,
            &[
                value(&before, name::POSTGRES_PASSWORD),
                value(&plan.after, name::POSTGRES_PASSWORD),
            ],
        )?),
        (None, false) => None,
    };
    if !init_only.is_empty() {
        println!(
            "not recreated, they read these values only when their volume is first initialised: {}",
            init_only.join(", ")
        );
    }
    let ctx = apply::Context {
        root,
        project: &project,
        env: which,
        compose,
        gateway_url: options.gateway_url.clone(),
        place,
    };
    let stack = running(
        &ctx.compose,
        consumers,
        map.database.as_deref().filter(|_| !target.is_empty()),
    )?;
    show_steps(&ctx, &stack.services, true, &target, &plan.after)?;

    // The same client checks before any change: a stack that already fails them
    // cannot be judged after the rotation, so it is refused as it is.
    let preflight = if stack.refusal.is_none() {
        let report = apply::preflight(&ctx, &before, target.password.is_some())?;
        if !report.is_ok() && !options.dry_run {
            return Err(RotateError::PreflightFails {
                problems: report.problems,
                stage: which,
                project: project.name.clone(),
            }
            .into());
        }
        if report.is_ok() {
            println!(
                "pre-flight: the stack passes the client checks ({} probes)",
                live::PROBES.len()
            );
        } else {
            println!("note: pre-flight fails: {}", report.problems_line());
        }
        Some(report)
    } else {
        None
    };
    let Some(services) = stack.unless_dry_run(options.dry_run)? else {
        return Ok(());
    };

    // 3. Ask before ending every user session.
    if plan.changes(name::JWT_SECRET) {
        confirm::ask(SESSIONS_END, options.yes, sources.can_prompt())?;
    }

    // 4. Back up, write, database, recreate, health, check; undo on failure.
    let change = apply::Change {
        action: Action::Rotate,
        before,
        after: plan.after,
        names,
        services,
        later: Vec::new(),
        force_recreate: true,
        database: target,
        backup_label: None,
        baseline: preflight,
        backup: None,
        tokens: None,
        stage: None,
        key_ids: Vec::new(),
    };
    apply::apply(&ctx, &change)
}

/// The project lock for this run, and what `read` reads under it: a real
/// run holds the lock alone and first removes the temporary files an
/// interrupted run left; a dry run shares it, and creates or removes nothing
/// (see [`Project::read_locked`]).
fn locked<T>(
    project: &Project,
    dry_run: bool,
    mut read: impl FnMut() -> Result<T>,
) -> Result<(Option<ProjectLock>, T)> {
    if dry_run {
        return project.read_locked(LOCK_WAIT, read);
    }
    let (lock, leftovers) = project.lock(LOCK_WAIT)?;
    if leftovers > 0 {
        println!("removed {leftovers} temporary file(s) left by an interrupted run");
    }
    Ok((Some(lock), read()?))
}

/// Refuses a plain rotation while a signing-key stage or an overlap step is
/// unfinished: the run that repairs that stage restores the `.env` from
/// before it, which would quietly undo this rotation.
fn refuse_beside_unfinished_stage(project: &Project, which: crate::config::Env) -> Result<()> {
    if let Some(running) = signing::State::load(project)?.and_then(|s| s.running) {
        return Err(RotateError::StageUnfinished {
            what: format!("stage {} of the signing-key rotation", running.stage.name()),
            repair: format!("cargo xtask rotate {}", signing::NAME),
            backup: running.backup,
            stage: which,
        }
        .into());
    }
    if let Some(unfinished) = overlap::State::load(project)?.running {
        let first = unfinished.keys.first().map(String::as_str).unwrap_or_default();
        return Err(RotateError::StageUnfinished {
            what: unfinished.what(),
            repair: overlap::again(first, unfinished.step.stage),
            backup: unfinished.step.backup,
            stage: which,
        }
        .into());
    }
    Ok(())
}

/// The consumers to recreate, and why the stack cannot be changed now, if it cannot.
struct Running {
    services: Vec<String>,
    refusal: Option<RotateError>,
}

impl Running {
    /// The services to recreate, or why the stack cannot be changed now.
    fn or_refuse(self) -> Result<Vec<String>> {
        match self.refusal {
            Some(why) => Err(why.into()),
            None => Ok(self.services),
        }
    }

    /// [`Running::or_refuse`] for a real run; a dry run instead says why a
    /// real one would be refused, if it would, and that nothing changed (`None`).
    fn unless_dry_run(self, dry_run: bool) -> Result<Option<Vec<String>>> {
        if dry_run {
            if let Some(why) = &self.refusal {
                println!("note: {why}");
            }
            println!("dry run: nothing changed");
            return Ok(None);
        }
        self.or_refuse().map(Some)
    }
}

/// Only consumers that run are recreated: a stopped one (an unused profile,
/// say) reads the new value when it next starts. A stack with nothing
/// running, or whose database service (`database`, when it must change) is
/// not running, is refused.
fn running(compose: &Compose, consumers: Vec<String>, database: Option<&str>) -> Result<Running> {
    let states = compose.ps()?;
    let is_running = |service: &str| states.iter().any(|s| s.service == service && s.is_running());
    let (services, stopped): (Vec<String>, Vec<String>) = consumers.into_iter().partition(|s| is_running(s));
    if !stopped.is_empty() {
        println!(
            "not running, so not recreated (they read the new values when they start): {}",
            stopped.join(", ")
        );
    }
    let refusal = if !states.iter().any(ServiceState::is_running) {
        Some(RotateError::StackStopped {
            project: compose.project_name.clone(),
            dir: compose.dir.clone(),
        })
    } else {
        database
            .filter(|s| !is_running(s))
            .map(|service| RotateError::DatabaseStopped {
                service: service.to_string(),
                dir: compose.dir.clone(),
            })
    };
    Ok(Running { services, refusal })
}

/// The project's `.env`, which was there when the run began.
fn load_env(project: &Project) -> Result<EnvFile> {
    project.load_env()?.ok_or_else(|| {
        RotateError::EnvDisappeared {
            project: project.name.clone(),
        }
        .into()
    })
}

/// Compose for the project, hiding every secret value of `envs` in what it shows.
fn compose_for<'a>(
    project: &Project,
    envs: impl IntoIterator<Item = &'a EnvFile>,
    conf: &SetupConf,
) -> Result<Compose> {
    let database = conf.stack.database_service()?;
    Ok(Compose::new(&project.name, &project.dir, Redactor::of(envs, conf))?.with_database_service(database))
}

/// The rest of the plan: services, database statements, checks.
fn show_steps(
    ctx: &apply::Context<'_>,
    services: &[String],
    force: bool,
    target: &database::Target,
    after: &EnvFile,
) -> Result<()> {
    if services.is_empty() {
        println!("services to recreate: none (no service reads these variables)");
    } else if force {
        println!(
            "services to recreate: {} (docker compose up --force-recreate --no-deps --wait, dependents first: {})",
            services.join(", "),
            apply::order(&ctx.compose, services)
        );
    } else {
        println!(
            "services to recreate: {} (docker compose up --no-deps --wait, dependents first: {}; only those whose configuration differs)",
            services.join(", "),
            apply::order(&ctx.compose, services)
        );
    }
    let statements = database::describe(target, &crate::live::main_db(after));
    if !statements.is_empty() {
        match &ctx.place {
            Some(psql::Place::Host { host, port, .. }) => {
                println!(
                    "database, before recreating (psql --host={host} --port={port} -U supabase_admin, from this machine):"
                )
            }
            Some(psql::Place::Service(service)) => {
                println!("database, before recreating (docker compose exec -T {service} psql -U supabase_admin):")
            }
            None => println!("database, before recreating:"),
        }
        for line in statements {
            println!("  {line}");
        }
    }
    if let Some(refresh) = ctx.compose.gateway_refresh(services, None)? {
        println!("then {} is recreated too: {}", refresh.gateway, refresh.why());
    }
    println!(
        "then: wait for health, and check as a client at {}",
        apply::gateway(ctx, after)?.url()
    );
    Ok(())
}
