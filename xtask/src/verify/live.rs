//! The live scope: the project's running stack, checked as its clients see it.
//!
//! The containers run with the values now in `.env` (no drift); the client
//! probes (`live::probes`) answer `ANON_KEY` and `SERVICE_ROLE_KEY` and refuse
//! a key signed with another secret and no key, with the status each real
//! service gives; the `sb_` keys reach the services with their roles and an
//! unconfigured one is refused (`live::opaque`); every service role logs into
//! the database with `POSTGRES_PASSWORD`. Names only, never values.

use std::path::Path;

use super::CouldNotRun;
use super::finding::{Check, Finding, Outcome, Where};
use super::project::Target;
use crate::compose::{Compose, Redactor, ServiceState};
use crate::config::SetupConf;
use crate::envfile::EnvFile;
use crate::error::Result;
use crate::live::{self, ApiKeys, Expectation, LiveCheck};
use crate::project::Project;
use crate::secrets::{Secret, name};

static DRIFT: Check = Check {
    id: "live.drift",
    scope: "live",
    title: "every running container uses the values now in .env",
};
static GATEWAY: Check = Check {
    id: "live.gateway",
    scope: "live",
    title: "the client probes answer ANON_KEY and SERVICE_ROLE_KEY, and refuse no key",
};
static FOREIGN: Check = Check {
    id: "live.foreign-key",
    scope: "live",
    title: "every client probe refuses a key signed with another secret",
};
static FUNCTIONS: Check = Check {
    id: "live.functions",
    scope: "live",
    title: "an Edge Function answers both keys and refuses a forged one and none",
};
static OPAQUE: Check = Check {
    id: "live.opaque-keys",
    scope: "live",
    title: "an sb_publishable_ key reaches auth, rest and functions as anon and an sb_secret_ key as service_role; an unconfigured sb_ key is refused",
};
static DATABASE: Check = Check {
    id: "live.database",
    scope: "live",
    title: "every service role logs into the database with POSTGRES_PASSWORD",
};

/// Every check of this scope, in report order.
pub static CHECKS: &[&Check] = &[&DRIFT, &GATEWAY, &FOREIGN, &FUNCTIONS, &OPAQUE, &DATABASE];

/// Runs the live checks on `target`'s stack. Docker missing or the stack not
/// running means verify could not look (exit 2), not a finding.
pub fn run(root: &Path, conf: &SetupConf, target: &Target, gateway_url: Option<&str>) -> Result<Vec<Outcome>> {
    let project = Project::new(root, &target.name)?;
    let env = EnvFile::load(&project.env_file()).map_err(CouldNotRun::from)?;
    let redactor = Redactor::of([&env], conf);
    let database = conf.stack.database_service().map_err(CouldNotRun::from)?;
    let compose = Compose::new(&project.name, &project.dir, redactor)
        .map_err(CouldNotRun::from)?
        .with_database_service(database);
    let states = compose.ps().map_err(CouldNotRun::from)?;
    if !states.iter().any(ServiceState::is_running) {
        return Err(CouldNotRun::NotRunning {
            project: project.name.clone(),
            stage: target.env,
        }
        .into());
    }
    let up = format!(
        "cargo xtask setup --env {} --project-name {} --up",
        target.env.name(),
        project.name
    );

    let mut drift = Outcome::new(&DRIFT);
    match compose.drift() {
        Ok(report) => {
            for service in &report.services {
                drift.push(Finding::fail(
                    Where::service(&service.service),
                    format!(
                        "{} runs with other values of {}",
                        service.service,
                        service.variables.join(", ")
                    ),
                    format!("recreate it: {up}"),
                ));
            }
        }
        Err(e) => drift.push(Finding::fail(
            Where::service("docker compose"),
            format!("cannot compare: {e}"),
            "see the error",
        )),
    }

    let gateway = live::gateway_for(&env, gateway_url).map_err(CouldNotRun::from)?;
    let expect = Expectation {
        keys: ApiKeys {
            anon: env.secret(name::ANON_KEY).unwrap_or_else(Secret::empty),
            service_role: env.secret(name::SERVICE_ROLE_KEY).unwrap_or_else(Secret::empty),
        },
        stale_keys: None,
        opaque: live::OpaqueKeys::from_env(&env),
        stale_opaque: None,
        password: Some(env.secret(name::POSTGRES_PASSWORD).unwrap_or_else(Secret::empty)),
        stale_password: None,
        stale_label: "previous",
        database: live::main_db(&env),
        place: Some(
            crate::psql::locate(
                &compose,
                &env,
                &[env.secret(name::POSTGRES_PASSWORD).unwrap_or_else(Secret::empty)],
            )
            .map_err(CouldNotRun::from)?,
        ),
        settle: std::time::Duration::from_secs(2),
    };
    let report = live::check(&compose, &gateway, &expect);
    let place = Where::service(format!("gateway {}", gateway.url()));
    let mut gateway_outcome = Outcome::new(&GATEWAY);
    let mut foreign = Outcome::new(&FOREIGN);
    let mut functions = Outcome::new(&FUNCTIONS);
    let mut opaque = Outcome::new(&OPAQUE);
    let mut database = Outcome::new(&DATABASE);
    for problem in report.problems {
        let message = problem.message;
        match problem.check {
            LiveCheck::ForgedKey => foreign.push(Finding::fail(
                place.clone(),
                message,
                format!("a service does not check key signatures: recreate the stack with: {up}"),
            )),
            LiveCheck::OpaqueKey => opaque.push(Finding::fail(
                place.clone(),
                message,
                format!("Kong does not swap the sb_ keys for the asymmetric keys of their role: recreate the stack with: {up}"),
            )),
            LiveCheck::EdgeFunction => functions.push(Finding::fail(
                place.clone(),
                message,
                format!("recreate the stack: {up}"),
            )),
            LiveCheck::Database => database.push(Finding::fail(
                Where::variable(name::POSTGRES_PASSWORD),
                message,
                format!(
                    "set the roles' passwords to the one in .env: cargo xtask rotate --rollback --env {} --project-name {}",
                    target.env.name(),
                    project.name
                ),
            )),
            LiveCheck::Gateway | LiveCheck::Tokens => gateway_outcome.push(Finding::fail(
                place.clone(),
                message,
                format!("recreate the stack: {up}"),
            )),
        }
    }

    Ok(vec![drift, gateway_outcome, foreign, functions, opaque, database])
}
