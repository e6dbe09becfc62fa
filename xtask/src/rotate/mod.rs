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
mod fault;
mod plan;
mod rollback;
mod source;

use std::path::Path;
use std::time::Duration;

use crate::cli::ProjectArgs;
use crate::compose::{Compose, Redactor};
use crate::config::SetupConf;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::project::Project;
use crate::psql;
use crate::secrets::Secret;

pub use fault::VAR as TEST_HOOK_VAR;
pub use plan::{ENCRYPTING_OVERRIDE, Selection};

// What the command line asked for: `cargo xtask rotate`'s flags.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    /// The variables to rotate (see docs/key-management.md).
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
    if std::fs::symlink_metadata(project.env_file()).is_err() {
        return Err(Error::Usage(format!(
            "{}/.env does not exist: lay the project out first with cargo xtask setup --env {} --project-name {}",
            project.name,
            which.name(),
            project.name
        )));
    }
    let fault = fault::injected()?;
    let (_lock, leftovers) = project.lock(LOCK_WAIT)?;
    if leftovers > 0 {
        println!("removed {leftovers} temporary file(s) left by an interrupted run");
    }
    let before = EnvFile::load(&project.env_file())?;

    if let Some(backup) = &options.rollback {
        let sources = source::Sources::new(&conf, which, options.non_interactive);
        return rollback::run(root, &project, options, before, backup.as_deref(), fault, &sources);
    }
    let selection = options
        .selection()
        .ok_or_else(|| Error::Usage("name the variables to rotate, or pass --tier 1 or --all".into()))?;

    // 1. The new values, and what follows from them.
    let mut sources = source::Sources::new(&conf, which, options.non_interactive);
    let plan = plan::plan(&before, &selection, which, options.allow_encrypting, &mut sources)?;
    let names = plan.names();

    // 2. The services that read them, and the database statements.
    let compose = compose_for(&project, [&before, &plan.after], &conf)?;
    let consumers = compose.consumers()?.services_reading(names.iter().map(String::as_str));
    let target = database::Target {
        password: plan
            .changes("POSTGRES_PASSWORD")
            .then(|| Secret::new(plan.after.get("POSTGRES_PASSWORD").unwrap_or_default())),
        jwt_secret: plan
            .changes("JWT_SECRET")
            .then(|| Secret::new(plan.after.get("JWT_SECRET").unwrap_or_default())),
    };
    let ctx = apply::Context {
        root,
        project: &project,
        env: which,
        compose,
        gateway_url: options.gateway_url.clone(),
        fault,
    };
    println!("rotate on project {} ({}):", project.name, which.name());
    print!("{}", plan::render(&plan));
    let stack = running(&ctx.compose, consumers, !target.is_empty())?;
    show_steps(&ctx, &stack.services, true, &target, &plan.after)?;
    if options.dry_run {
        if let Some(why) = &stack.refusal {
            println!("note: {why}");
        }
        println!("dry run: nothing changed");
        return Ok(());
    }
    if let Some(why) = stack.refusal {
        return Err(Error::Usage(why));
    }
    let services = stack.services;

    // 3. Ask before ending every user session.
    if plan.changes("JWT_SECRET") {
        confirm::ask(SESSIONS_END, options.yes, sources.can_prompt())?;
    }

    // 4. Back up, write, database, recreate, health, check; undo on failure.
    let change = apply::Change {
        action: "rotate",
        before,
        after: plan.after,
        names,
        services,
        force_recreate: true,
        database: target,
        backup_label: None,
    };
    apply::apply(&ctx, &change)
}

/// The consumers to recreate, and why the stack cannot be changed now, if it cannot.
struct Running {
    services: Vec<String>,
    refusal: Option<String>,
}

/// Only consumers that run are recreated: a stopped one (an unused profile,
/// say) reads the new value when it next starts. A stack with nothing
/// running, or without `db` when the database must change, is refused.
fn running(compose: &Compose, consumers: Vec<String>, needs_db: bool) -> Result<Running> {
    let states = compose.ps()?;
    let is_running = |service: &str| states.iter().any(|s| s.service == service && s.state == "running");
    let (services, stopped): (Vec<String>, Vec<String>) = consumers.into_iter().partition(|s| is_running(s));
    if !stopped.is_empty() {
        println!(
            "not running, so not recreated (they read the new values when they start): {}",
            stopped.join(", ")
        );
    }
    let start = format!(
        "start it (cd {} && docker compose up -d --wait), then run again; nothing changed",
        compose.dir.display()
    );
    let refusal = if !states.iter().any(|s| s.state == "running") {
        Some(format!(
            "the stack of project {} is not running, and a rotation changes a running stack: {start}",
            compose.project_name
        ))
    } else if needs_db && !is_running(psql::SERVICE) {
        Some(format!(
            "service {} is not running, and the database must change first: {start}",
            psql::SERVICE
        ))
    } else {
        None
    };
    Ok(Running { services, refusal })
}

/// Compose for the project, hiding every secret value of `envs` in what it shows.
fn compose_for<'a>(
    project: &Project,
    envs: impl IntoIterator<Item = &'a EnvFile>,
    conf: &SetupConf,
) -> Result<Compose> {
    Ok(Compose::new(&project.name, &project.dir, Redactor::of(envs, conf))?)
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
        println!("database, before recreating (docker compose exec -T db psql -U supabase_admin):");
        for line in statements {
            println!("  {line}");
        }
    }
    println!(
        "then: wait for health, and check as a client at {}",
        apply::gateway(ctx, after)?.url()
    );
    Ok(())
}
