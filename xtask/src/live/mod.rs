//! Checks on a running stack, made the way its clients see it: the client
//! probes (see [`probes`]) answer the current API keys, and refuse stale ones,
//! forged ones and none, each with the status the real service gives; and
//! every service role logs into the database over TCP with the current
//! `POSTGRES_PASSWORD` (and not with a stale one). Rotate runs them before any
//! change (the pre-flight), after its change and after a rollback;
//! `verify --live` runs them without stale values.

pub mod http;
pub mod opaque;
pub mod probes;
pub mod tokens;

use std::time::{Duration, Instant};

use crate::compose::Compose;
use crate::envfile::EnvFile;
use crate::psql::{Login, Place, Psql};
use crate::secrets::{Role, Secret, generate, jwt, name};

pub use http::{Gateway, GatewayError};
pub use opaque::OpaqueKeys;
pub use probes::{Column, PROBES, Probe};

/// The gateway of a project: `url` when given, else Kong published on this
/// machine at `KONG_HTTP_PORT` (8000 when unset).
pub fn gateway_for(env: &EnvFile, url: Option<&str>) -> Result<Gateway, GatewayError> {
    if let Some(url) = url {
        return Gateway::parse(url);
    }
    let port = env
        .get("KONG_HTTP_PORT")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "8000".into());
    port.parse::<u16>()
        .map(Gateway::local)
        .map_err(|_| GatewayError::BadKongPort {
            env: env.path().to_path_buf(),
        })
}

/// The main database: `POSTGRES_DB`, else `postgres`.
pub fn main_db(env: &EnvFile) -> String {
    env.get("POSTGRES_DB")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "postgres".into())
}

/// The two API keys a client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeys {
    pub anon: Secret,
    pub service_role: Secret,
}

/// What the stack must accept now, and what it must refuse.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub keys: ApiKeys,
    /// Keys that must no longer work; ignored where they equal the current ones.
    pub stale_keys: Option<ApiKeys>,
    /// The `sb_` keys, when the project has them (see [`opaque`]).
    pub opaque: Option<OpaqueKeys>,
    /// `sb_` keys that must no longer work; ignored where they equal the current ones.
    pub stale_opaque: Option<OpaqueKeys>,
    /// The password every service role logs in with; `None` skips the database.
    pub password: Option<Secret>,
    /// A password that must no longer work; ignored where it equals the current one.
    pub stale_password: Option<Secret>,
    /// How messages name the stale values: `previous`, `rolled-back`.
    pub stale_label: &'static str,
    /// The database the roles log into (`POSTGRES_DB`).
    pub database: String,
    /// Where that database is reached; `None` skips the logins.
    pub place: Option<Place>,
    /// How long the positive checks keep retrying: [`SETTLE`] right after a
    /// recreate, zero for a stack that should already be settled.
    pub settle: Duration,
}

/// How long the positive checks keep trying while freshly recreated services settle.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Each check that held, and each one that did not, one line each. Never a value.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub passed: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem, on one line.
    pub fn problems_line(&self) -> String {
        problems_line(&self.problems)
    }

    fn fail(&mut self, check: LiveCheck, message: String) {
        self.problems.push(Problem { check, message });
    }
}

/// Which part of the stack a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveCheck {
    /// A probe through the gateway answered otherwise than expected.
    Gateway,
    /// A key signed with a random secret was accepted.
    ForgedKey,
    /// The Edge Function probe answered otherwise than expected.
    EdgeFunction,
    /// A service role's login, or listing the roles.
    Database,
    /// An `sb_` key answered otherwise than its role should (see [`opaque`]).
    OpaqueKey,
    /// A token signed by a key of the signing set answered otherwise than expected.
    Tokens,
}

/// One check that did not hold: which, and a line saying how (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: LiveCheck,
    pub message: String,
}

impl Problem {
    pub fn new(check: LiveCheck, message: impl Into<String>) -> Problem {
        Problem {
            check,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `problems` on one line.
pub fn problems_line(problems: &[Problem]) -> String {
    let lines: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    lines.join("; ")
}

/// Runs every check of `expect` against `gateway` and the project's database.
pub fn check(compose: &Compose, gateway: &Gateway, expect: &Expectation) -> Report {
    let mut report = Report::default();
    check_gateway(gateway, expect, &mut report);
    if let Some(keys) = &expect.opaque {
        let deadline = Instant::now() + expect.settle;
        opaque::check(gateway, keys, expect.stale_opaque.as_ref(), deadline, &mut report);
    }
    if let (Some(password), Some(place)) = (&expect.password, &expect.place) {
        check_logins(&Psql::at(compose, place.clone()), password, expect, &mut report);
    }
    report
}

/// What a probe answered: a status, or no answer (and why).
#[derive(Debug)]
pub struct Answered(pub std::io::Result<u16>);

impl std::fmt::Display for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(code) => write!(f, "{code}"),
            Err(err) => write!(f, "no answer ({err})"),
        }
    }
}

/// Retries `get` until it answers `want` or `deadline` passes (then once); the last answer.
fn settle(deadline: Instant, mut get: impl FnMut() -> std::io::Result<u16>, want: u16) -> std::io::Result<u16> {
    loop {
        let status = get();
        if matches!(status, Ok(code) if code == want) || Instant::now() >= deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether `get` answers `want` before `deadline` (see [`settle`]); else what it answered.
fn answers(deadline: Instant, get: impl FnMut() -> std::io::Result<u16>, want: u16) -> Result<(), Answered> {
    let status = settle(deadline, get, want);
    if matches!(status, Ok(code) if code == want) {
        Ok(())
    } else {
        Err(Answered(status))
    }
}

/// Which check a probe's problem belongs to, and how its line starts.
fn subject(probe: &Probe, column: Column) -> (LiveCheck, &'static str) {
    match (column, probe.is_function()) {
        (Column::Forged, _) => (LiveCheck::ForgedKey, "forged key"),
        (_, true) => (LiveCheck::EdgeFunction, "Edge Function"),
        (_, false) => (LiveCheck::Gateway, "gateway"),
    }
}

/// Every probe with every key `expect` names. The retries of all probes share one
/// deadline, so a broken stack is reported within `expect.settle`, not once per probe.
fn check_gateway(gateway: &Gateway, expect: &Expectation, report: &mut Report) {
    let url = gateway.url();
    let deadline = Instant::now() + expect.settle;
    let forged = jwt::mint(
        Role::ServiceRole,
        &generate::random(crate::secrets::catalog::Charset::Alphanumeric, 40),
        jwt::now(),
    );
    let mut keys: Vec<(Column, String, Option<&Secret>)> = vec![
        (Column::Anon, name::ANON_KEY.into(), Some(&expect.keys.anon)),
        (
            Column::ServiceRole,
            name::SERVICE_ROLE_KEY.into(),
            Some(&expect.keys.service_role),
        ),
    ];
    if let Some(stale) = &expect.stale_keys {
        for (name, old, new) in [
            (name::ANON_KEY, &stale.anon, &expect.keys.anon),
            (name::SERVICE_ROLE_KEY, &stale.service_role, &expect.keys.service_role),
        ] {
            if old != new && !old.is_empty() {
                keys.push((Column::Stale, format!("the {} {name}", expect.stale_label), Some(old)));
            }
        }
    }
    keys.push((Column::Forged, "a key signed with another secret".into(), Some(&forged)));
    keys.push((Column::NoKey, "no key".into(), None));

    for probe in PROBES {
        let mut held = Vec::new();
        for (column, name, key) in &keys {
            let want = probe.expected(*column);
            let send = || {
                let mut headers: Vec<(&str, String)> = Vec::new();
                let apikey = if probe.apikey_is_anon {
                    Some(&expect.keys.anon)
                } else {
                    *key
                };
                if let Some(apikey) = apikey {
                    headers.push(("apikey", apikey.expose().to_owned()));
                }
                if let Some(key) = key {
                    headers.push(("Authorization", format!("Bearer {}", key.expose())));
                }
                let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                gateway.request(probe.method, probe.path, &borrowed)
            };
            let status = settle(deadline, send, want);
            if matches!(status, Ok(code) if code == want) {
                held.push(format!("{name} {want}"));
            } else {
                let (check, subject) = subject(probe, *column);
                report.fail(
                    check,
                    format!(
                        "{subject}: {url}: {} ({}) with {name} answered {} ({want} expected)",
                        probe.id,
                        probe.request(),
                        Answered(status)
                    ),
                );
            }
        }
        if !held.is_empty() {
            report.passed.push(format!(
                "{} ({}) answers {}",
                probe.id,
                probe.request(),
                held.join(", ")
            ));
        }
    }
}

fn check_logins(psql: &Psql<'_>, password: &Secret, expect: &Expectation, report: &mut Report) {
    let roles = match psql.login_roles(&expect.database) {
        Ok(roles) => roles,
        Err(err) => {
            report.fail(
                LiveCheck::Database,
                format!("database: cannot list the service roles: {err}"),
            );
            return;
        }
    };
    let stale = expect
        .stale_password
        .as_ref()
        .filter(|old| *old != password && !old.is_empty());
    let mut accepted = Vec::new();
    let mut refused_old = Vec::new();
    for role in &roles {
        match psql.login(role, password, &expect.database) {
            Ok(Login::Accepted) => accepted.push(role.as_str()),
            Ok(Login::Refused) => report.fail(
                LiveCheck::Database,
                format!("database: role {role} cannot log in over TCP with POSTGRES_PASSWORD"),
            ),
            Err(err) => report.fail(LiveCheck::Database, format!("database: role {role}: {err}")),
        }
        if let Some(old) = stale {
            match psql.login(role, old, &expect.database) {
                Ok(Login::Refused) => refused_old.push(role.as_str()),
                Ok(Login::Accepted) => report.fail(
                    LiveCheck::Database,
                    format!(
                        "database: role {role} still logs in with the {} POSTGRES_PASSWORD",
                        expect.stale_label
                    ),
                ),
                Err(err) => report.fail(LiveCheck::Database, format!("database: role {role}: {err}")),
            }
        }
    }
    if !accepted.is_empty() {
        report.passed.push(format!(
            "database: {} log in over TCP with POSTGRES_PASSWORD",
            accepted.join(", ")
        ));
    }
    if !refused_old.is_empty() {
        report.passed.push(format!(
            "database: {} refuse the {} POSTGRES_PASSWORD",
            refused_old.join(", "),
            expect.stale_label
        ));
    }
}
