//! `rotate --rollback [BACKUP]`: puts a backup of `.env` back on the running
//! stack — the newest one not taken by a rollback, or the one named — with
//! the database values it needs, then recreates and checks like a rotation.
//!
//! It also repairs: the database is probed (do the service roles log in with
//! the backup's password?) and containers that run other values than `.env`
//! are recreated, so it is the command to run after an interrupted change.

use std::collections::BTreeSet;
use std::path::Path;

use crate::audit::Action;
use crate::backups::{self, BEFORE_ROLLBACK};
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::project::Project;
use crate::psql::{Login, Psql};
use crate::secrets::{Secret, name};

use super::source::Sources;
use super::{Options, SESSIONS_END, apply, compose_for, confirm, database, running, show_steps};

pub fn run(
    root: &Path,
    project: &Project,
    options: &Options,
    current: EnvFile,
    name: Option<&str>,
    sources: &Sources<'_>,
) -> Result<()> {
    let backup = backups::pick(project, name, current.text())?;
    let target = EnvFile::load(&backup.path)?;

    // 1. What differs between the current .env and the backup.
    let mut keys: Vec<String> = target.keys();
    keys.extend(current.keys().into_iter().filter(|k| target.get(k).is_none()));
    let names: Vec<String> = keys.into_iter().filter(|k| current.get(k) != target.get(k)).collect();

    // 2. The services that read those, and any running other values than .env.
    let compose = compose_for(project, [&current, &target], sources.conf())?;
    let mut services: BTreeSet<String> = compose
        .consumers()?
        .services_reading(names.iter().map(String::as_str))
        .into_iter()
        .collect();
    services.extend(compose.drift()?.services());
    let map_database = compose.database_service()?;
    let stack = running(&compose, services.into_iter().collect(), map_database.as_deref())?;
    let services = stack.or_refuse()?;

    // 3. The database: the backup's password where the roles do not take it yet.
    let value = |env: &EnvFile, name: &str| env.secret(name).unwrap_or_else(Secret::empty);
    let password = value(&target, name::POSTGRES_PASSWORD);
    let place = crate::psql::locate(
        &compose,
        &current,
        &[value(&current, name::POSTGRES_PASSWORD), password.clone()],
    )?;
    let psql = Psql::at(&compose, place.clone());
    let main_db = crate::live::main_db(&target);
    let password_needed = names.iter().any(|n| n == name::POSTGRES_PASSWORD) || {
        let mut refused = false;
        for role in psql.login_roles(&main_db)? {
            refused |= psql.login(&role, &password, &main_db)? == Login::Refused;
        }
        refused
    };
    let jwt_secret = value(&target, name::JWT_SECRET);
    let target_db = database::Target {
        password: password_needed.then_some(password),
        jwt_secret: (!jwt_secret.is_empty() && map_database.is_some()).then_some(jwt_secret),
    };

    let ctx = apply::Context {
        root,
        project,
        env: sources.env(),
        compose,
        gateway_url: options.gateway_url.clone(),
        place: Some(place),
    };
    println!(
        "rollback on project {} ({}) to {}:",
        project.name,
        sources.env().name(),
        backup.name
    );
    if names.is_empty() && services.is_empty() && !password_needed {
        println!(
            "nothing to roll back: .env equals {} and the stack runs on it",
            backup.name
        );
        return Ok(());
    }
    if names.is_empty() {
        println!(".env already equals the backup: repairing the stack to match it");
    } else {
        println!("variables restored: {}", names.join(", "));
    }
    show_steps(&ctx, &services, false, &target_db, &target)?;
    if options.dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    if names.iter().any(|n| n == name::JWT_SECRET) {
        confirm::ask(SESSIONS_END, options.yes, sources.can_prompt())?;
    }
    let change = apply::Change {
        action: Action::Rollback,
        before: current,
        after: target,
        names,
        services,
        later: Vec::new(),
        force_recreate: false,
        database: target_db,
        backup_label: Some(BEFORE_ROLLBACK),
        baseline: None,
        backup: None,
        tokens: None,
        stage: None,
        key_ids: Vec::new(),
    };
    apply::apply(&ctx, &change)
}
