//! `cargo xtask rotate signing-key`: a new ES256 signing key without logging
//! anybody out, in three stages a rotation of hosted Supabase also goes
//! through (standby → in use → previously used → revoked):
//!
//! 1. **standby**: key B joins `JWT_KEYS` able only to verify, and
//!    `JWT_JWKS`; the verifiers are recreated, then auth. Tokens of A and B
//!    are accepted everywhere; A still signs.
//! 2. **switch** (once every cache of the JWKS has seen B: 600 s): B signs,
//!    A only verifies; the ES256 API keys are re-minted with B; auth and
//!    Kong are recreated.
//! 3. **revoke** (once the last token A signed has expired: `JWT_EXPIRY`
//!    after the switch, plus a margin): A leaves both sets.
//!
//! Each stage is one change of `.env` applied like any rotation (backup,
//! write, recreate, health, client checks, undo on failure), with tokens of
//! each key checked at every verifier. The state file says which stage
//! started and which finished; a run that finds a stage started and not
//! finished rolls it back to the backup taken for it (always safe: each
//! stage's previous `.env` accepts every token the stage could have issued),
//! then goes on as asked.

mod error;
mod plan;
mod sets;
mod state;
pub(in crate::rotate) mod timing;

use std::path::Path;

use crate::audit::{self, Action, Event, Outcome};
use crate::backups;
use crate::config::{Env, SetupConf};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::hooks::hook;
use crate::project::Project;
use crate::secrets::name;

use super::source::Sources;
use super::{Options, RotateError, apply, compose_for, rollback, running};

pub use error::SigningError;
pub use sets::SetsError;
pub use state::{FILE as STATE_FILE, State};
pub use timing::{DurationError, Stage, parse_duration};

use plan::StagePlan;
use timing::{Next, Rules};

/// The positional name that selects this rotation: `rotate signing-key`.
pub const NAME: &str = "signing-key";

/// The options of `rotate signing-key`.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(next_help_heading = "Staged signing-key rotation (cargo xtask rotate signing-key)")]
pub struct Args {
    /// Run this stage (default: the next one, when it is due).
    #[arg(long, value_enum)]
    pub stage: Option<Stage>,
    /// Print the rotation's state (stage, key ids, when the next stage is due) and change nothing.
    #[arg(long, conflicts_with_all = ["stage", "dry_run"])]
    pub status: bool,
    /// Revoke before its time: tokens signed by the old key stop working at once.
    #[arg(long)]
    pub now: bool,
    /// Switch without waiting 600 s after standby: no service outside this stack caches the JWKS.
    #[arg(long)]
    pub no_external_verifiers: bool,
    /// Wait this long after the last token of the old key expires before revoke (default 15m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub margin: Option<u64>,
}

impl Args {
    /// Whether any of these flags was given (they belong to `rotate signing-key` only).
    pub fn any(&self) -> bool {
        self.stage.is_some() || self.status || self.now || self.no_external_verifiers || self.margin.is_some()
    }
}

/// `rotate signing-key`, before the project lock (only `--status` runs there).
pub fn run(root: &Path, project: &Project, which: Env, conf: &SetupConf, options: &Options) -> Result<()> {
    let args = &options.signing;
    if args.status {
        let env = super::load_env(project)?;
        let state = State::load(project)?;
        print!("{}", status(project, which, &env, state.as_ref(), &rules(&env, args)?)?);
        return Ok(());
    }
    let (_lock, leftovers) = project.lock(super::LOCK_WAIT)?;
    if leftovers > 0 {
        println!("removed {leftovers} temporary file(s) left by an interrupted run");
    }
    let sources = Sources::new(conf, which, options.non_interactive);
    let mut env = super::load_env(project)?;
    let mut state = State::load(project)?;

    // An interrupted stage is rolled back to the backup taken for it first.
    if let Some(running) = state.as_ref().and_then(|s| s.running.clone()) {
        println!(
            "stage {} started at {} and did not finish: rolling it back to {} first",
            running.stage.name(),
            crate::clock::iso8601(running.started_at),
            running.backup
        );
        rollback::run(root, project, options, env.clone(), Some(&running.backup), &sources)?;
        let backup_path = project.backup_dir().join(&running.backup);
        if options.dry_run {
            env = EnvFile::load(&backup_path)?.renamed(&project.env_file());
        } else {
            let mut back = state.take().expect("a state with a running stage");
            back.running = None;
            if running.stage == Stage::Standby {
                back.new_kid = None;
            }
            back.save(project)?;
            log(project, which, Outcome::InterruptedRolledBack, running.stage, &back)?;
            state = Some(back);
            env = super::load_env(project)?;
        }
    }

    let rules = rules(&env, args)?;
    let now = timing::now();
    let next = timing::next(state.as_ref(), &rules, now);
    let stage = pick_stage(args, state.as_ref(), next, now)?;
    if options.dry_run {
        return dry_run(project, which, conf, &env, state.as_ref(), stage, &rules, now);
    }
    let Some(stage) = stage else {
        print!("{}", status(project, which, &env, state.as_ref(), &rules)?);
        return Ok(());
    };
    if stage == Stage::Revoke && now < next.due_at {
        println!(
            "warning: revoking {} before {}: tokens it signed since the switch stop working now, and their users must sign in again",
            plan::old_of(state.as_ref())?.phrase(),
            timing::when(next.due_at, now)
        );
    }
    let plan = StagePlan::make(stage, &env, state.as_ref())?;
    execute(root, project, which, conf, options, env, state, plan, &rules)
}

fn rules(env: &EnvFile, args: &Args) -> Result<Rules> {
    let jwt_expiry = timing::jwt_expiry(env.get("JWT_EXPIRY").as_deref()).map_err(|why| SigningError::JwtExpiry {
        at: env.at("JWT_EXPIRY"),
        why,
    })?;
    Ok(Rules {
        no_external_verifiers: args.no_external_verifiers,
        jwt_expiry,
        margin: args.margin.unwrap_or(timing::DEFAULT_MARGIN),
    })
}

/// The stage this run makes: the one asked for, or the next when it is due;
/// `None` when nothing is due yet. A stage out of order, or before its time, is refused.
fn pick_stage(args: &Args, state: Option<&State>, next: Next, now: u64) -> Result<Option<Stage>> {
    let legacy_done = state.is_some_and(|s| s.legacy() && s.done() == Some(Stage::Switch));
    if args.stage == Some(Stage::Revoke) && legacy_done {
        return Err(SigningError::LegacyStaysVerifying.into());
    }
    if args.now && args.stage.is_some_and(|s| s != Stage::Revoke) {
        return Err(RotateError::NowWithoutRevoke.into());
    }
    let wanted = args.stage.unwrap_or(next.stage);
    if wanted != next.stage {
        let why = match (wanted, next.stage) {
            (Stage::Standby, _) => SigningError::UnderWay {
                next: next.stage,
                due_at: next.due_at,
                now,
            },
            (_, Stage::Standby) => SigningError::NeedsStandby { wanted },
            _ => SigningError::OutOfOrder {
                wanted,
                next: next.stage,
                due_at: next.due_at,
                now,
            },
        };
        return Err(why.into());
    }
    if now >= next.due_at || (wanted == Stage::Revoke && args.now) {
        return Ok(Some(wanted));
    }
    if args.stage.is_none() {
        return Ok(None);
    }
    Err(SigningError::NotDue {
        stage: wanted,
        due_at: next.due_at,
        now,
    }
    .into())
}

/// Appends one audit line for the rotation (outside a change: a rollback of an interrupted stage).
fn log(project: &Project, which: Env, outcome: Outcome, stage: Stage, state: &State) -> Result<()> {
    let kids = plan::kids(state);
    let mut event = Event::new(&project.name, which.name(), Action::RotateSigningKey, outcome);
    event.stage = Some(stage.name());
    event.key_ids = &kids;
    audit::append(project, &event)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn dry_run(
    project: &Project,
    which: Env,
    conf: &SetupConf,
    env: &EnvFile,
    state: Option<&State>,
    stage: Option<Stage>,
    rules: &Rules,
    now: u64,
) -> Result<()> {
    println!(
        "rotate signing-key on project {} ({}): the plan of each stage still to run",
        project.name,
        which.name()
    );
    let first = stage.unwrap_or(timing::next(state, rules, now).stage);
    let mut env = env.clone();
    let mut state = state.cloned().filter(|s| !s.complete());
    let mut at = now;
    for stage in [Stage::Standby, Stage::Switch, Stage::Revoke]
        .into_iter()
        .filter(|s| *s >= first)
    {
        if stage == Stage::Revoke && state.as_ref().is_some_and(State::legacy) {
            println!("\nrevoke: nothing (the legacy HS256 key stays verify-only)");
            for line in plan::LEGACY_RETIRE {
                println!("  {line}");
            }
            break;
        }
        let due = timing::next(state.as_ref(), rules, at).due_at.max(at);
        let plan = StagePlan::make(stage, &env, state.as_ref())?;
        let compose = compose_for(project, [&env, &plan.after], conf)?;
        let (first, later) = plan.services(&compose.consumers()?);
        println!(
            "\n{}: {}",
            stage.name(),
            if due <= now {
                "due now".to_string()
            } else {
                format!("due {}", timing::when(due, now))
            }
        );
        for line in plan.describe(&first, &later) {
            println!("  {line}");
        }
        state = Some(plan.state_after(state.as_ref(), due));
        env = plan.after;
        at = due;
    }
    if first == Stage::Standby {
        println!("\n(B's kid above is a preview: standby generates the key it writes)");
    }
    println!("\ndry run: nothing changed");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn execute(
    root: &Path,
    project: &Project,
    which: Env,
    conf: &SetupConf,
    options: &Options,
    env: EnvFile,
    state: Option<State>,
    plan: StagePlan,
    rules: &Rules,
) -> Result<()> {
    let stage = plan.stage;
    let compose = compose_for(project, [&env, &plan.after], conf)?;
    let (first, later) = plan.services(&compose.consumers()?);
    println!(
        "rotate signing-key on project {} ({}): stage {}",
        project.name,
        which.name(),
        stage.name()
    );
    for line in plan.describe(&first, &later) {
        println!("  {line}");
    }
    let up_first = running(&compose, first, None)?.or_refuse()?;
    let up_later = running(&compose, later, None)?;
    let ctx = apply::Context::without_database(root, project, which, compose, options.gateway_url.clone());
    let preflight = apply::preflight_or_refuse(&ctx, &env, "the stage")?;

    // Recorded as started, with its backup, before anything changes.
    let backup = backups::save(project, env.text(), None)?;
    let previous = state.clone();
    let mut started = plan.state_started(state.as_ref(), &backup.name, timing::now());
    started.save(project)?;
    hook!(pause "signing-stage-started");

    let change = apply::Change {
        action: Action::RotateSigningKey,
        before: env,
        after: plan.after.clone(),
        names: plan.names.clone(),
        services: up_first,
        later: up_later.services,
        force_recreate: true,
        database: Default::default(),
        backup_label: None,
        baseline: Some(preflight),
        backup: Some(backup),
        tokens: Some(plan.tokens.clone()),
        stage: Some(stage.name()),
        key_ids: plan::kids(&started),
    };
    match apply::apply(&ctx, &change) {
        Ok(()) => {
            let done = plan.state_after(Some(&started), timing::now());
            done.save(project)?;
            for line in after_stage(&done, rules, timing::now()) {
                println!("{line}");
            }
            Ok(())
        }
        Err(err @ Error::RolledBack(_)) => {
            // Rolled back: the state is what it was before this stage.
            match previous {
                Some(previous) => previous.save(project)?,
                None => {
                    started.running = None;
                    started.new_kid = None;
                    started.save(project)?;
                }
            }
            Err(err)
        }
        // The rollback failed too: the stage stays recorded as started, so
        // the next run rolls it back again.
        Err(err) => Err(err),
    }
}

/// What comes next, after a stage finished.
fn after_stage(state: &State, rules: &Rules, now: u64) -> Vec<String> {
    let mut lines = Vec::new();
    let new = state.new_kid.clone().unwrap_or_default();
    match state.done() {
        Some(Stage::Standby) => {
            let next = timing::next(Some(state), rules, now);
            lines.push(format!(
                "standby done: key {new} verifies everywhere; the old key still signs. Next: cargo xtask rotate signing-key (switch), due {}",
                timing::when(next.due_at, now)
            ));
            if !rules.no_external_verifiers {
                lines.push(
                    "  (600 s for caches of the JWKS; with no service outside this stack caching it, --no-external-verifiers switches now)"
                        .into(),
                );
            }
        }
        Some(Stage::Switch) if state.legacy() => {
            lines.push(format!(
                "switch done: key {new} signs; the legacy HS256 key stays verify-only, so ANON_KEY, SERVICE_ROLE_KEY and sessions signed before the switch keep working"
            ));
            lines.extend(plan::LEGACY_RETIRE.iter().map(|l| format!("  {l}")));
        }
        Some(Stage::Switch) => {
            let next = timing::next(Some(state), rules, now);
            lines.push(format!(
                "switch done: key {new} signs; tokens signed by the old key are accepted until revoke. Next: cargo xtask rotate signing-key (revoke), due {} (JWT_EXPIRY {} s + margin {} s)",
                timing::when(next.due_at, now),
                rules.jwt_expiry,
                rules.margin
            ));
        }
        _ => lines.push(format!(
            "revoke done: the old key left JWT_KEYS and JWT_JWKS; key {new} alone signs. The rotation is complete."
        )),
    }
    lines
}

/// `--status`: the state, without a value.
fn status(project: &Project, which: Env, env: &EnvFile, state: Option<&State>, rules: &Rules) -> Result<String> {
    let now = timing::now();
    let mut out = format!("signing-key rotation of project {} ({}):\n", project.name, which.name());
    let signing = match sets::Sets::parse(
        &env.get(name::JWT_KEYS).unwrap_or_default(),
        &env.get(name::JWT_JWKS).unwrap_or_default(),
    )
    .and_then(|s| s.old_key())
    {
        Ok(key) => key.phrase(),
        Err(why) => format!("none usable ({why})"),
    };
    out.push_str(&format!("  signs now: {signing}\n"));
    // A state with nothing done and nothing under way: a first standby that was rolled back.
    let state = state.filter(|s| s.done().is_some() || s.running.is_some());
    let Some(state) = state else {
        out.push_str("  no rotation recorded\n  next: standby, due now\n");
        return Ok(out);
    };
    out.push_str(&format!(
        "  old key: {}\n",
        plan::old_of(Some(state)).map(|k| k.phrase()).unwrap_or_default()
    ));
    if let Some(new) = &state.new_kid {
        out.push_str(&format!("  new key: key {new}\n"));
    }
    for (stage, at) in [
        (Stage::Standby, state.standby_at),
        (Stage::Switch, state.switch_at),
        (Stage::Revoke, state.revoke_at),
    ] {
        if let Some(at) = at {
            out.push_str(&format!("  {} done at {}\n", stage.name(), crate::clock::iso8601(at)));
        }
    }
    if let Some(running) = &state.running {
        out.push_str(&format!(
            "  {} started at {} and did not finish: the next run rolls it back to {} first\n",
            running.stage.name(),
            crate::clock::iso8601(running.started_at),
            running.backup
        ));
    }
    if state.complete() {
        out.push_str("  the rotation is complete\n");
        if state.legacy() {
            for line in plan::LEGACY_RETIRE {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push_str("  next: standby of a new rotation, due now\n");
    } else {
        let next = timing::next(Some(state), rules, now);
        out.push_str(&format!(
            "  next: {}, due {}\n",
            next.stage.name(),
            timing::when(next.due_at, now)
        ));
    }
    Ok(out)
}
