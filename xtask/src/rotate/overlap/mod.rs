//! `cargo xtask rotate NAME --overlap DURATION`: a new API key without
//! cutting off the clients that still hold the old one. The new key goes to
//! `NAME`, the old one to `NAME_PREVIOUS`; Kong takes both as credentials of
//! the same consumer, and its entrypoint swaps an old `sb_` key for the same
//! JWT as the new one. `rotate NAME --stage revoke`, once the overlap has
//! ended (or with `--now`), empties `NAME_PREVIOUS`: the old key gets 401.
//!
//! For `SUPABASE_SECRET_KEY`, `SUPABASE_PUBLISHABLE_KEY`, and the legacy
//! `ANON_KEY` / `SERVICE_ROLE_KEY`, which are re-minted with the same
//! `JWT_SECRET` (so no session ends). Each step is one change of `.env`
//! applied like any rotation: backup, write, recreate, health, client checks,
//! undo on failure; the audit log records it without values. A step is
//! recorded as started before it changes anything, so the next run rolls one
//! that was cut short back to its backup before going on (`rotate/stage.rs`).

mod error;
mod state;

use std::path::Path;

use crate::audit::{self, Action, Event, Outcome};
use crate::config::{Env, SetupConf};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::project::Project;
use crate::secrets::{CATALOG, Make, Role, Secret, catalog, jwt, name, rules};

use super::plan::{self, Row, Selection};
use super::signing::Stage;
use super::signing::timing;
use super::source::Sources;
use super::{Options, RotateError, apply, compose_for, load_env, locked, running, stage};

pub use error::{OverlapError, Refusal};
pub use state::{FILE as STATE_FILE, State, Step, Unfinished, Window};

/// The keys that can overlap, each with the variable that holds its previous value.
pub fn pairs() -> impl Iterator<Item = (&'static str, &'static str)> {
    CATALOG.iter().filter_map(|spec| match spec.make {
        Make::Previous(of) => Some((of, spec.name)),
        _ => None,
    })
}

/// The variable holding the previous value of `name`, if `name` can overlap.
pub fn previous_of(name: &str) -> Option<&'static str> {
    pairs().find(|(of, _)| *of == name).map(|(_, previous)| previous)
}

/// Whether this run is about overlaps: every name can overlap, and
/// `--overlap`, `--stage revoke` or `--status` was given.
pub fn wanted(options: &Options) -> bool {
    let named = !options.names.is_empty() && options.names.iter().all(|n| previous_of(n).is_some());
    options.overlap.is_some() || (named && (options.signing.stage.is_some() || options.signing.status))
}

pub fn run(root: &Path, project: &Project, which: Env, conf: &SetupConf, options: &Options) -> Result<()> {
    let args = &options.signing;
    if let Some(bad) = options.names.iter().find(|n| previous_of(n).is_none()) {
        return Err(OverlapError::CannotOverlap { name: bad.clone() }.into());
    }
    if options.names.is_empty() {
        return Err(OverlapError::NoNames.into());
    }
    if args.no_external_verifiers || args.margin.is_some() {
        return Err(OverlapError::SigningFlags.into());
    }
    if args.stage.is_some_and(|s| s != Stage::Revoke) {
        return Err(OverlapError::OneStage.into());
    }
    if options.overlap.is_some() && (args.stage.is_some() || args.now) {
        return Err(OverlapError::OneAtATime.into());
    }
    if args.now && args.stage.is_none() {
        return Err(RotateError::NowWithoutRevoke.into());
    }
    if args.status {
        let env = super::load_env(project)?;
        print!("{}", status(&env, &State::load(project)?, &options.names));
        return Ok(());
    }
    let (_lock, (mut env, mut state)) = locked(project, options.dry_run, || {
        Ok((load_env(project)?, State::load(project)?))
    })?;

    // An interrupted step, of these keys or others, is rolled back to the
    // backup taken for it first.
    if let Some(unfinished) = state.running.take() {
        let sources = Sources::new(conf, which, options.non_interactive);
        env = unfinished
            .step
            .roll_back(&unfinished.what(), root, project, options, env, &sources)?;
        if !options.dry_run {
            state.save(project)?;
            log_rolled_back(project, which, &unfinished)?;
        }
    }

    let now = timing::now();
    let names: Vec<&str> = options.names.iter().map(String::as_str).collect();
    let step = if options.overlap.is_some() {
        Step::Overlap
    } else {
        Step::Revoke
    };
    let (after, rows) = match options.overlap {
        Some(_) => start(&env, &names, which, options, conf)?,
        None => (revoke(&env, &state, &names, args.now, now)?, Vec::new()),
    };
    // The state once the step is done.
    let mut done = state.clone();
    for name in &names {
        match options.overlap {
            Some(duration) => done.overlaps.insert(
                name.to_string(),
                Window {
                    started_at: now,
                    ends_at: now.saturating_add(duration),
                },
            ),
            None => done.overlaps.remove(*name),
        };
    }
    let mut changed = changed_names(&names);
    if step == Step::Overlap {
        changed.retain(|n| env.get(n) != after.get(n));
    }
    let compose = compose_for(project, [&env, &after], conf)?;
    let map = compose.consumers()?;
    // A compose file that gives no service the previous key would make the
    // overlap a hard cut-over in disguise.
    if step == Step::Overlap {
        let unread: Vec<Refusal> = names
            .iter()
            .map(|n| previous_of(n).expect("checked above"))
            .filter(|previous| map.services_reading([*previous]).is_empty())
            .map(|previous| Refusal::PreviousUnread {
                project: project.name.clone(),
                previous,
            })
            .collect();
        if !unread.is_empty() {
            return Err(Error::refused(unread));
        }
    }
    let consumers = map.services_reading(changed.iter().map(String::as_str));
    println!(
        "rotate on project {} ({}): {}",
        project.name,
        which.name(),
        match step {
            Step::Overlap => "new API keys, the old ones accepted too until the overlap ends",
            Step::Revoke => "revoke the old API keys of an overlap",
        }
    );
    print!("{}", describe(&names, &rows, &done, step, now));
    let stack = running(&compose, consumers, None)?;
    if stack.services.is_empty() {
        println!("services to recreate: none");
    } else {
        println!(
            "services to recreate: {} (docker compose up --force-recreate --no-deps --wait)",
            stack.services.join(", ")
        );
    }
    let Some(services) = stack.unless_dry_run(options.dry_run)? else {
        return Ok(());
    };
    let ctx = apply::Context::without_database(root, project, which, compose, options.gateway_url.clone());
    let preflight = apply::preflight_or_refuse(&ctx, &env, "the keys")?;

    // Recorded as started, with its backup, before anything changes: `.env`
    // says whether an overlap is under way, the state file until when, and
    // whether a step of it was cut short.
    let keys: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let backup = stage::begin(project, &env, step, |running| {
        let mut started = state.clone();
        started.running = Some(Unfinished { step: running, keys });
        started.save(project)
    })?;
    let change = apply::Change {
        action: Action::Rotate,
        before: env,
        after,
        names: changed,
        services,
        later: Vec::new(),
        force_recreate: true,
        database: Default::default(),
        backup_label: None,
        baseline: Some(preflight),
        backup: Some(backup),
        tokens: None,
        stage: Some(step.name()),
        key_ids: Vec::new(),
    };
    match apply::apply(&ctx, &change) {
        Ok(()) => {
            stage::finish(|| done.save(project))?;
            for line in after_change(&names, &done, step, timing::now()) {
                println!("{line}");
            }
            Ok(())
        }
        // Rolled back: the state is what it was before this step.
        Err(err @ Error::RolledBack(_)) => {
            state.save(project)?;
            Err(err)
        }
        // The rollback failed too: the step stays recorded as started, so
        // the next run rolls it back again.
        Err(err) => Err(err),
    }
}

/// The variables a step of `names` changes: each key and its previous one.
fn changed_names(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|name| [name.to_string(), previous_of(name).expect("checked").to_string()])
        .collect()
}

/// Appends the audit line of an interrupted step the run rolled back.
fn log_rolled_back(project: &Project, which: Env, unfinished: &Unfinished) -> Result<()> {
    let keys: Vec<&str> = unfinished.keys.iter().map(String::as_str).collect();
    let names = changed_names(&keys);
    let mut event = Event::new(
        &project.name,
        which.name(),
        Action::Rotate,
        Outcome::InterruptedRolledBack,
    );
    event.stage = Some(unfinished.step.stage.name());
    event.names = &names;
    audit::append(project, &event)?;
    Ok(())
}

/// The `.env` of a new overlap: new values for `names`, the old ones in their `…_PREVIOUS`.
fn start(
    env: &EnvFile,
    names: &[&str],
    which: Env,
    options: &Options,
    conf: &SetupConf,
) -> Result<(EnvFile, Vec<Row>)> {
    let mut refused = Vec::new();
    for name in names {
        let previous = previous_of(name).expect("checked by the caller");
        if env.get(name).unwrap_or_default().is_empty() {
            refused.push(Refusal::NotSet { name: name.to_string() });
        } else if !env.get(previous).unwrap_or_default().is_empty() {
            refused.push(Refusal::InOverlap {
                name: name.to_string(),
                previous,
            });
        }
    }
    if !refused.is_empty() {
        return Err(Error::refused(refused));
    }
    let (opaque, minted): (Vec<&str>, Vec<&str>) = names
        .iter()
        .partition(|n| matches!(catalog::find(n).map(|s| s.make), Some(Make::Opaque(_))));
    let (mut after, mut rows) = if opaque.is_empty() {
        (env.clone(), Vec::new())
    } else {
        let mut sources = Sources::new(conf, which, options.non_interactive);
        let selection = Selection::Names(opaque.iter().map(|n| n.to_string()).collect());
        let plan = plan::plan(env, &selection, which, false, &mut sources)?;
        (plan.after, plan.rows)
    };
    let secret = env.secret(name::JWT_SECRET).unwrap_or_else(Secret::empty);
    if !minted.is_empty() {
        // Re-minted keys are only as sound as the secret that signs them.
        let spec = catalog::find(name::JWT_SECRET).expect("in the catalog");
        if let Err(why) = rules::check(spec, secret.expose(), &|n| env.get(n)) {
            return Err(Error::refused([Refusal::WeakJwtSecret { why }]));
        }
    }
    for name in minted {
        let spec = catalog::find(name).expect("in the catalog");
        let Make::Minted(role) = spec.make else {
            unreachable!("the keys that overlap are sb_ keys or HS256 API keys")
        };
        let key = re_mint(role, &secret, &env.get(name).unwrap_or_default());
        after.set(name, key.expose())?;
        rows.push(Row {
            name: spec.name,
            how: format!(
                "re-minted: HS256 JWT, role {}, signed with the same JWT_SECRET (no session ends)",
                role.claim()
            ),
            value: key,
        });
    }
    for name in names {
        after.set(previous_of(name).expect("checked"), &env.get(name).unwrap_or_default())?;
    }
    Ok((after, rows))
}

/// A new HS256 API key for `role` under `secret`, different from `current`
/// (HS256 is deterministic: a key minted in the same second would be the same).
fn re_mint(role: Role, secret: &Secret, current: &str) -> Secret {
    let now = jwt::now();
    [now, now + 1]
        .into_iter()
        .map(|iat| jwt::mint(role, secret, iat))
        .find(|key| key.expose() != current)
        .expect("two seconds give two keys")
}

/// The `.env` once the old keys of `names` are revoked; refused before the overlap ends unless `now_flag`.
fn revoke(env: &EnvFile, state: &State, names: &[&str], now_flag: bool, now: u64) -> Result<EnvFile> {
    let mut after = env.clone();
    let mut refused = Vec::new();
    for name in names {
        let previous = previous_of(name).expect("checked by the caller");
        if env.get(previous).unwrap_or_default().is_empty() {
            refused.push(Refusal::NoOverlap {
                name: name.to_string(),
                previous,
            });
            continue;
        }
        let due = state.overlaps.get(*name).map_or(now, |w| w.ends_at);
        if now < due && !now_flag {
            refused.push(Refusal::NotDue {
                name: name.to_string(),
                due_at: due,
                now,
            });
            continue;
        }
        if now < due {
            println!(
                "warning: revoking the old {name} before {}: clients still using it get 401 from now on",
                timing::when(due, now)
            );
        }
        after.set(previous, "")?;
    }
    if !refused.is_empty() {
        return Err(Error::refused(refused));
    }
    Ok(after)
}

/// The plan: names and how, never a value.
fn describe(names: &[&str], rows: &[Row], state: &State, step: Step, now: u64) -> String {
    let mut out = String::new();
    for name in names {
        let previous = previous_of(name).expect("checked");
        if step == Step::Overlap {
            let how = rows
                .iter()
                .find(|r| r.name == *name)
                .map_or("a new value".to_string(), |r| r.how.clone());
            let until = state.overlaps.get(*name).map_or(now, |w| w.ends_at);
            out.push_str(&format!(
                "  {name}: {how}\n  {previous}: the current {name}, accepted by the gateway until {}\n",
                timing::when(until, now)
            ));
        } else {
            out.push_str(&format!(
                "  {previous}: emptied: the old {name} is refused by the gateway (401)\n"
            ));
        }
    }
    out
}

fn after_change(names: &[&str], state: &State, step: Step, now: u64) -> Vec<String> {
    names
        .iter()
        .map(|name| match (step, state.overlaps.get(*name)) {
            (Step::Overlap, Some(window)) => format!(
                "overlap started: {name} is new, the old one is accepted too. Give clients the new key; then, due {}: cargo xtask rotate {name} --stage revoke",
                timing::when(window.ends_at, now)
            ),
            _ => format!("revoke done: the old {name} is refused; only the new one works"),
        })
        .collect()
}

/// The tool's clock (moved forward by test builds), for `verify`.
pub fn now() -> u64 {
    timing::now()
}

/// `--status`: each key's overlap, without a value.
pub fn status(env: &EnvFile, state: &State, names: &[String]) -> String {
    let now = timing::now();
    let mut out = String::from("API-key overlaps:\n");
    for (name, previous) in pairs().filter(|(of, _)| names.is_empty() || names.iter().any(|n| n == of)) {
        out.push_str(&format!("  {}\n", line(name, previous, env, state, now)));
    }
    out
}

/// One key's overlap as one line, for `--status` and `verify`.
pub fn line(name: &str, previous: &str, env: &EnvFile, state: &State, now: u64) -> String {
    if let Some(unfinished) = state.unfinished_of(name) {
        return format!(
            "{}; run it again: {}",
            unfinished
                .step
                .unfinished(&format!("{name}: the {} step", unfinished.step.stage.name())),
            again(name, unfinished.step.stage)
        );
    }
    if env.get(previous).unwrap_or_default().is_empty() {
        return format!("{name}: no overlap");
    }
    match state.overlaps.get(name) {
        Some(window) => format!(
            "{name}: in an overlap since {}, the old key accepted until {}; then: cargo xtask rotate {name} --stage revoke",
            crate::clock::iso8601(window.started_at),
            timing::when(window.ends_at, now)
        ),
        None => format!(
            "{name}: the old key ({previous}) is accepted, no end recorded ({STATE_FILE}): revoke is due now: cargo xtask rotate {name} --stage revoke"
        ),
    }
}

/// The command that runs `step` of `name` again.
pub fn again(name: &str, step: Step) -> String {
    match step {
        Step::Overlap => format!("cargo xtask rotate {name} --overlap DURATION"),
        Step::Revoke => format!("cargo xtask rotate {name} --stage revoke"),
    }
}
