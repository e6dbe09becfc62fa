//! Applies a change of `.env` to a running stack, and undoes it when any
//! step fails: back up, write, change the database, recreate the consumers
//! (and Kong after them when it would keep their old addresses), wait for
//! health, check as a client. On failure the previous `.env` and
//! database values come back, the services are recreated on them and checked
//! again: the stack ends on one consistent set of keys either way.

use std::path::Path;

use crate::audit::{self, Action, Event, Outcome};
use crate::backups::{self, Backup};
use crate::compose::{Compose, ComposeError};
use crate::config::Env;
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::hooks::hook;
use crate::live::tokens::{self, TokenCheck};
use crate::live::{self, ApiKeys, Expectation, Gateway};
use crate::private_file;
use crate::project::Project;
use crate::psql::{Place, Psql};
use crate::secrets::{Make, Secret, catalog, jwt, name};
use crate::step::Step;

use super::database::{self, Target};
use super::error::{Cause, Finish, RollbackFailed, RolledBack, RotateError, Unrestored};

/// How long a recreate waits for the services to be healthy.
pub const WAIT_SECS: u64 = 180;

/// Where and how a change runs.
pub struct Context<'a> {
    pub root: &'a Path,
    pub project: &'a Project,
    pub env: Env,
    pub compose: Compose,
    /// `--gateway-url`; else Kong on 127.0.0.1 at `.env`'s `KONG_HTTP_PORT`.
    pub gateway_url: Option<String>,
    /// Where the database is changed and its logins checked; `None`: neither.
    pub place: Option<Place>,
}

impl<'a> Context<'a> {
    /// A change that leaves the database alone: it is neither changed nor are its logins checked.
    pub fn without_database(
        root: &'a Path,
        project: &'a Project,
        env: Env,
        compose: Compose,
        gateway_url: Option<String>,
    ) -> Context<'a> {
        Context {
            root,
            project,
            env,
            compose,
            gateway_url,
            place: None,
        }
    }
}

/// One change of `.env`, from `before` to `after`.
pub struct Change {
    pub action: Action,
    pub before: EnvFile,
    pub after: EnvFile,
    /// The variables whose values change.
    pub names: Vec<String>,
    /// The services to recreate.
    pub services: Vec<String>,
    /// Services recreated once `services` are healthy (a signing-key stage:
    /// the verifiers first, then auth).
    pub later: Vec<String>,
    /// Recreate even services whose configuration Compose sees unchanged.
    pub force_recreate: bool,
    /// The database values of `after`, to apply going forward.
    pub database: Target,
    /// Label of the backup of `before`.
    pub backup_label: Option<&'static str>,
    /// The client checks before any change (the pre-flight): a check that
    /// failed there too does not make a rollback incomplete.
    pub baseline: Option<live::Report>,
    /// The backup of `before`, when the caller took it already; else one is taken.
    pub backup: Option<Backup>,
    /// Tokens signed by these keys, checked at every verifier after the change.
    pub tokens: Option<TokenCheck>,
    /// For the audit log: the stage of a staged rotation, and the key ids it involves.
    pub stage: Option<&'static str>,
    pub key_ids: Vec<String>,
}

impl Change {
    /// The database values of `before`, for the parts going forward changes.
    fn database_before(&self) -> Target {
        let value = |name: &str| self.before.secret(name).unwrap_or_else(Secret::empty);
        Target {
            password: self.database.password.as_ref().map(|_| value(name::POSTGRES_PASSWORD)),
            jwt_secret: self.database.jwt_secret.as_ref().map(|_| value(name::JWT_SECRET)),
        }
    }

    fn password_changes(&self) -> bool {
        self.database.password.is_some()
    }

    /// Every service the change recreates, in the order it does.
    pub fn all_services(&self) -> Vec<String> {
        self.services.iter().chain(&self.later).cloned().collect()
    }
}

/// The step that failed, and why (one line, never a value).
struct Failure {
    step: Step,
    cause: Cause,
}

impl Failure {
    fn at(step: Step, cause: impl Into<Cause>) -> Failure {
        Failure {
            step,
            cause: cause.into(),
        }
    }
}

/// What the forward steps touched, so the rollback undoes exactly that.
#[derive(Default)]
struct Touched {
    database: bool,
    services: bool,
    /// Kong was recreated after the services, to resolve their new addresses.
    gateway: bool,
}

/// The gateway to check `env` against.
pub fn gateway(ctx: &Context<'_>, env: &EnvFile) -> Result<Gateway> {
    Ok(live::gateway_for(env, ctx.gateway_url.as_deref())?)
}

/// The client checks of a stack that should be settled, before any change:
/// the keys (and password, when `with_database`) of `now` work.
pub fn preflight(ctx: &Context<'_>, now: &EnvFile, with_database: bool) -> Result<live::Report> {
    let gateway = gateway(ctx, now)?;
    let mut expect = expectation(ctx, now, now, "previous", with_database);
    expect.stale_keys = None;
    expect.stale_opaque = None;
    expect.stale_password = None;
    expect.settle = std::time::Duration::from_secs(2);
    Ok(live::check(&ctx.compose, &gateway, &expect))
}

/// The pre-flight of a change that leaves the database alone, refusing a
/// stack that fails it: `what` (the keys, the stage) could not be judged after
/// the change.
pub fn preflight_or_refuse(ctx: &Context<'_>, now: &EnvFile, what: &'static str) -> Result<live::Report> {
    let report = preflight(ctx, now, false)?;
    if !report.is_ok() {
        return Err(RotateError::PreflightFailsFor {
            what,
            problems: report.problems,
        }
        .into());
    }
    Ok(report)
}

/// What a client must see once the stack runs on `now`: its keys (and
/// password, when `with_database`) work, those of `stale` do not.
fn expectation(
    ctx: &Context<'_>,
    now: &EnvFile,
    stale: &EnvFile,
    stale_label: &'static str,
    with_database: bool,
) -> Expectation {
    let keys = |env: &EnvFile| ApiKeys {
        anon: env.secret(name::ANON_KEY).unwrap_or_else(Secret::empty),
        service_role: env.secret(name::SERVICE_ROLE_KEY).unwrap_or_else(Secret::empty),
    };
    let password = |env: &EnvFile| env.secret(name::POSTGRES_PASSWORD).unwrap_or_else(Secret::empty);
    let stale = still_accepted_as_current(now, stale);
    Expectation {
        keys: keys(now),
        stale_keys: Some(keys(&stale)),
        opaque: live::OpaqueKeys::from_env(now),
        stale_opaque: live::OpaqueKeys::from_env(&stale),
        password: with_database.then(|| password(now)),
        stale_password: with_database.then(|| password(&stale)),
        stale_label,
        database: live::main_db(now),
        place: ctx.place.clone(),
        settle: live::SETTLE,
    }
}

/// `stale`, with each API key that `now` still accepts replaced by the
/// current one (a stale key equal to the current one is not checked): the
/// old key of an overlap (`NAME_PREVIOUS`), and a legacy key that verifies
/// under `now`'s `JWT_SECRET` (re-minted with the same secret, it stays valid
/// wherever signatures are checked).
fn still_accepted_as_current(now: &EnvFile, stale: &EnvFile) -> EnvFile {
    let mut out = stale.clone();
    let secret = now.get(name::JWT_SECRET).unwrap_or_default();
    for (name, previous) in super::overlap::pairs() {
        let old = stale.get(name).unwrap_or_default();
        let current = now.get(name).unwrap_or_default();
        if old.is_empty() || old == current {
            continue;
        }
        let in_overlap = now.get(previous).is_some_and(|p| p == old);
        let same_signer = catalog::find(name)
            .and_then(|spec| match spec.make {
                Make::Minted(role) => Some(role),
                _ => None,
            })
            .is_some_and(|role| !secret.is_empty() && jwt::is_valid_for(&old, &secret, role));
        if in_overlap || same_signer {
            out.set(name, &current)
                .expect("a value read from .env fits on one line");
        }
    }
    out
}

fn shown(ctx: &Context<'_>, path: &Path) -> String {
    path.strip_prefix(ctx.root).unwrap_or(path).display().to_string()
}

/// Backs up `before`, applies the change, and rolls it back on any failure.
pub fn apply(ctx: &Context<'_>, change: &Change) -> Result<()> {
    let backup = match &change.backup {
        Some(backup) => backup.clone(),
        None => backups::save(ctx.project, change.before.text(), change.backup_label)?,
    };
    let backup_shown = shown(ctx, &backup.path);
    println!("backed up the current .env to {backup_shown}");
    let relative = backup
        .path
        .strip_prefix(&ctx.project.dir)
        .unwrap_or(&backup.path)
        .display()
        .to_string();
    let all_services = change.all_services();
    let log = |outcome: Outcome, step: Option<Step>| {
        let mut event = Event::new(&ctx.project.name, ctx.env.name(), change.action, outcome);
        event.names = &change.names;
        event.services = &all_services;
        event.stage = change.stage;
        event.key_ids = &change.key_ids;
        event.step = step;
        event.backup = Some(&relative);
        audit::append(ctx.project, &event)
    };
    log(Outcome::Started, None)?;

    let mut touched = Touched::default();
    let failure = match forward(ctx, change, &mut touched) {
        Ok(report) => {
            for line in &report.passed {
                println!("  ok: {line}");
            }
            if let Err(err) = log(Outcome::Succeeded, None) {
                eprintln!("warning: the rotation succeeded but {err}");
            }
            println!(
                "{} done: {} changed{}; the previous .env is kept in {backup_shown} (undo with cargo xtask rotate --rollback {} --env {} --project-name {})",
                change.action,
                if change.names.is_empty() {
                    "nothing".to_string()
                } else {
                    change.names.join(", ")
                },
                match (all_services.is_empty(), touched.gateway) {
                    (true, _) => String::new(),
                    (false, false) => format!(", {} recreated", all_services.join(", ")),
                    (false, true) => format!(", {} recreated, then kong", all_services.join(", ")),
                },
                backup.name,
                ctx.env.name(),
                ctx.project.name
            );
            return Ok(());
        }
        Err(failure) => failure,
    };

    println!("{} failed at step {}: {}", change.action, failure.step, failure.cause);
    println!("rolling back to the previous .env…");
    match restore(ctx, change, &touched, &backup) {
        Ok(report) => {
            for line in &report.passed {
                println!("  ok: {line}");
            }
            if let Err(err) = log(Outcome::RolledBack, Some(failure.step)) {
                eprintln!("warning: {err}");
            }
            Err(RolledBack {
                action: change.action,
                step: failure.step,
                backup: backup_shown,
                cause: failure.cause,
            }
            .into())
        }
        Err(left) => {
            let _ = log(Outcome::RollbackFailed, Some(failure.step));
            Err(RollbackFailed {
                action: change.action,
                step: failure.step,
                cause: failure.cause,
                left: *left,
            }
            .into())
        }
    }
}

/// Write, database, recreate, health, check.
fn forward(ctx: &Context<'_>, change: &Change, touched: &mut Touched) -> std::result::Result<live::Report, Failure> {
    let env_path = ctx.project.env_file();
    private_file::write_atomic(&env_path, change.after.text().as_bytes()).map_err(|e| Failure::at(Step::Write, e))?;
    println!("wrote {} (mode 0600)", shown(ctx, &env_path));

    if let (false, Some(place)) = (change.database.is_empty(), &ctx.place) {
        touched.database = true;
        let psql = Psql::at(&ctx.compose, place.clone());
        let done = database::apply(&psql, &change.database, &live::main_db(&change.after))
            .map_err(|e| Failure::at(Step::Database, e))?;
        for line in done {
            println!("database: {line}");
        }
        hook!(pause "rotate-after-database");
    }

    let all_services = change.all_services();
    if !all_services.is_empty() {
        touched.services = true;
        let (compose, _hook) =
            hook!(recreate(&ctx.compose, &all_services)).map_err(|e| Failure::at(Step::Recreate, e))?;
        let before = ctx.compose.ps().map_err(|e| Failure::at(Step::Recreate, e))?;
        for group in [&change.services, &change.later].into_iter().filter(|g| !g.is_empty()) {
            println!("recreating {}…", order(&ctx.compose, group));
            recreate(ctx, &compose, group, change.force_recreate)?;
        }
        let refresh = ctx
            .compose
            .gateway_refresh(&all_services, Some(&before))
            .map_err(|e| Failure::at(Step::Recreate, e))?;
        if let Some(refresh) = refresh {
            println!("recreating {}: {}…", refresh.gateway, refresh.why());
            recreate(ctx, &compose, std::slice::from_ref(&refresh.gateway), true)?;
            touched.gateway = true;
        }
        hook!(pause "rotate-before-check");
    }

    let gateway =
        live::gateway_for(&change.after, ctx.gateway_url.as_deref()).map_err(|e| Failure::at(Step::Check, e))?;
    println!("checking as a client at {}…", gateway.url());
    let report = live::check(
        &ctx.compose,
        &gateway,
        &expectation(
            ctx,
            &change.after,
            &change.before,
            "previous",
            change.password_changes(),
        ),
    );
    if !report.is_ok() {
        return Err(Failure::at(Step::Check, Cause::Checks(report.problems)));
    }
    let mut report = report;
    if let Some(check) = &change.tokens {
        let anon = change.after.secret(name::ANON_KEY).unwrap_or_else(Secret::empty);
        let tokens = tokens::check(&gateway, &anon, check, live::SETTLE);
        if !tokens.is_ok() {
            return Err(Failure::at(Step::Check, Cause::Checks(tokens.problems)));
        }
        report.passed.extend(tokens.passed);
    }
    if hook!(fail Step::Check) {
        return Err(Failure::at(Step::Check, Cause::FailPoint));
    }
    Ok(report)
}

/// Recreates `group` with `compose` and waits until it is healthy.
fn recreate(ctx: &Context<'_>, compose: &Compose, group: &[String], force: bool) -> std::result::Result<(), Failure> {
    if let Ok(method) = ctx.compose.recreate_method(group)
        && !method.start_first.is_empty()
    {
        println!(
            "  start-first (the new container up before the old one stops): {}",
            method.start_first_names().join(", ")
        );
    }
    compose.recreate(group, force, WAIT_SECS).map_err(|e| match e {
        ComposeError::Unhealthy { .. } => Failure::at(Step::Health, e),
        other => Failure::at(Step::Recreate, other),
    })?;
    healthy(&ctx.compose, group).map_err(|e| Failure::at(Step::Health, e))?;
    println!("{} recreated and healthy", group.join(", "));
    Ok(())
}

/// `services` in the order they are recreated: "kong, then functions, then db".
pub fn order(compose: &Compose, services: &[String]) -> String {
    match compose.recreate_layers(services) {
        Ok(layers) => layers
            .iter()
            .map(|layer| layer.join(", "))
            .collect::<Vec<_>>()
            .join(", then "),
        Err(_) => services.join(", "),
    }
}

/// Every service of `services` is running, and healthy where it has a healthcheck.
fn healthy(compose: &Compose, services: &[String]) -> std::result::Result<(), Cause> {
    let states = compose.ps()?;
    let sick: Vec<String> = services
        .iter()
        .filter(|service| !states.iter().any(|s| &&s.service == service && s.is_serving()))
        .cloned()
        .collect();
    if sick.is_empty() {
        Ok(())
    } else {
        Err(Cause::Unhealthy(sick))
    }
}

/// Puts back the previous `.env` and database values, recreates what differs
/// from them, and checks. On failure: what was not put back, what state
/// things are in and what to run.
fn restore(
    ctx: &Context<'_>,
    change: &Change,
    touched: &Touched,
    backup: &Backup,
) -> std::result::Result<live::Report, Box<Unrestored>> {
    let env_path = ctx.project.env_file();
    let finish = Finish {
        backup: backup.name.clone(),
        stage: ctx.env,
        project: ctx.project.name.clone(),
    };
    if let Err(err) = private_file::write_atomic(&env_path, change.before.text().as_bytes()) {
        return Err(Box::new(Unrestored::Env {
            err,
            env: shown(ctx, &env_path),
            backup: shown(ctx, &backup.path),
            finish,
        }));
    }
    println!("restored {} from {}", shown(ctx, &env_path), shown(ctx, &backup.path));

    if let (true, Some(place)) = (touched.database, &ctx.place) {
        let psql = Psql::at(&ctx.compose, place.clone());
        if let Err(err) = database::apply(&psql, &change.database_before(), &live::main_db(&change.before)) {
            return Err(Box::new(Unrestored::Database { err, finish }));
        }
        println!("database: previous values restored");
    }

    if touched.services {
        println!("recreating what differs from the previous .env…");
        let before = ctx.compose.ps().unwrap_or_default();
        let recreated = ctx
            .compose
            .recreate(&change.all_services(), false, WAIT_SECS)
            .and_then(
                |()| match ctx.compose.gateway_refresh(&change.all_services(), Some(&before))? {
                    Some(refresh) => {
                        println!("recreating {}: {}…", refresh.gateway, refresh.why());
                        ctx.compose.recreate(&[refresh.gateway], true, WAIT_SECS)
                    }
                    None => Ok(()),
                },
            );
        if let Err(err) = recreated {
            return Err(Box::new(Unrestored::Services {
                err,
                services: change.all_services(),
                finish,
            }));
        }
    }

    let report = match gateway(ctx, &change.before) {
        Ok(gateway) => live::check(
            &ctx.compose,
            &gateway,
            &expectation(
                ctx,
                &change.before,
                &change.after,
                "rolled-back",
                change.password_changes(),
            ),
        ),
        Err(err) => live::Report {
            passed: Vec::new(),
            problems: vec![live::Problem::new(live::LiveCheck::Gateway, err.to_string())],
        },
    };
    // Judged against the pre-flight: what already failed before the change is
    // not something the rollback left undone.
    let before: &[live::Problem] = change.baseline.as_ref().map(|b| b.problems.as_slice()).unwrap_or(&[]);
    let (old, new): (Vec<live::Problem>, Vec<live::Problem>) =
        report.problems.iter().cloned().partition(|p| before.contains(p));
    for problem in &old {
        println!("  as before the change: {problem}");
    }
    if !new.is_empty() {
        return Err(Box::new(Unrestored::Checks { problems: new, finish }));
    }
    Ok(report)
}
