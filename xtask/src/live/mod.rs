//! Checks on a running stack, made the way its clients see it: the gateway
//! accepts the current API keys and refuses stale ones, an Edge Function
//! answers the current `SERVICE_ROLE_KEY`, and every service role logs into
//! the database over TCP with the current `POSTGRES_PASSWORD` (and not with a
//! stale one). Used after each rotation and rollback; `verify --live` runs
//! the same checks without stale values.

pub mod http;

use std::time::{Duration, Instant};

use crate::compose::Compose;
use crate::envfile::EnvFile;
use crate::psql::{Login, Psql};
use crate::secrets::Secret;

pub use http::Gateway;

/// The gateway of a project: `url` when given, else Kong published on this
/// machine at `KONG_HTTP_PORT` (8000 when unset).
pub fn gateway_for(env: &EnvFile, url: Option<&str>) -> Result<Gateway, String> {
    if let Some(url) = url {
        return Gateway::parse(url);
    }
    let port = env
        .get("KONG_HTTP_PORT")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "8000".into());
    port.parse::<u16>().map(Gateway::local).map_err(|_| {
        format!(
            "KONG_HTTP_PORT in {} is not a port number; pass --gateway-url",
            env.path().display()
        )
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
    /// The password every service role logs in with; `None` skips the database.
    pub password: Option<Secret>,
    /// A password that must no longer work; ignored where it equals the current one.
    pub stale_password: Option<Secret>,
    /// How messages name the stale values: `previous`, `rolled-back`.
    pub stale_label: &'static str,
    /// The database the roles log into (`POSTGRES_DB`).
    pub database: String,
    /// How long the positive checks keep retrying: [`SETTLE`] right after a
    /// recreate, zero for a stack that should already be settled.
    pub settle: Duration,
}

/// The function the checks call.
pub const FUNCTION: &str = "/functions/v1/hello";
/// How long the positive checks keep trying while freshly recreated services settle.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Each check that held, and each one that did not, one line each. Never a value.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub passed: Vec<String>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn expect(&mut self, ok: bool, passed: String, problem: String) {
        if ok {
            self.passed.push(passed);
        } else {
            self.problems.push(problem);
        }
    }
}

/// Runs every check of `expect` against `gateway` and the project's database.
pub fn check(compose: &Compose, gateway: &Gateway, expect: &Expectation) -> Report {
    let mut report = Report::default();
    check_gateway(gateway, expect, &mut report);
    if let Some(password) = &expect.password {
        check_logins(compose, password, expect, &mut report);
    }
    report
}

fn describe(status: std::io::Result<u16>) -> String {
    match status {
        Ok(code) => code.to_string(),
        Err(err) => format!("no answer ({err})"),
    }
}

/// Retries `get` until it answers `want` or `limit` passes; the last answer.
fn settle(limit: Duration, mut get: impl FnMut() -> std::io::Result<u16>, want: u16) -> std::io::Result<u16> {
    let start = Instant::now();
    loop {
        let status = get();
        if matches!(status, Ok(code) if code == want) || start.elapsed() >= limit {
            return status;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn check_gateway(gateway: &Gateway, expect: &Expectation, report: &mut Report) {
    let url = gateway.url();
    let rest = |key: &Secret| gateway.get("/rest/v1/", &[("apikey", key.expose())]);
    let function = |key: &Secret| {
        let bearer = format!("Bearer {}", key.expose());
        gateway.get(FUNCTION, &[("Authorization", bearer.as_str())])
    };

    let health = settle(expect.settle, || gateway.get("/auth/v1/health", &[]), 200);
    let ok = matches!(health, Ok(200));
    report.expect(
        ok,
        format!("gateway {url} answers /auth/v1/health"),
        format!(
            "gateway {url}: /auth/v1/health answered {} (200 expected)",
            describe(health)
        ),
    );
    if !ok {
        return;
    }
    for (name, key) in [
        ("ANON_KEY", &expect.keys.anon),
        ("SERVICE_ROLE_KEY", &expect.keys.service_role),
    ] {
        let status = settle(expect.settle, || rest(key), 200);
        report.expect(
            matches!(status, Ok(200)),
            format!("gateway accepts {name} on /rest/v1/"),
            format!(
                "gateway: /rest/v1/ with {name} answered {} (200 expected)",
                describe(status)
            ),
        );
    }
    let status = settle(expect.settle, || function(&expect.keys.service_role), 200);
    report.expect(
        matches!(status, Ok(200)),
        format!("Edge Function {FUNCTION} answers SERVICE_ROLE_KEY"),
        format!(
            "Edge Function {FUNCTION} with SERVICE_ROLE_KEY answered {} (200 expected)",
            describe(status)
        ),
    );
    let Some(stale) = &expect.stale_keys else {
        return;
    };
    for (name, old, new) in [
        ("ANON_KEY", &stale.anon, &expect.keys.anon),
        ("SERVICE_ROLE_KEY", &stale.service_role, &expect.keys.service_role),
    ] {
        if old == new || old.is_empty() {
            continue;
        }
        let status = rest(old);
        report.expect(
            matches!(status, Ok(401 | 403)),
            format!("gateway refuses the {} {name} on /rest/v1/", expect.stale_label),
            format!(
                "gateway: /rest/v1/ with the {} {name} answered {} (401 expected)",
                expect.stale_label,
                describe(status)
            ),
        );
    }
    if stale.service_role != expect.keys.service_role && !stale.service_role.is_empty() {
        let status = function(&stale.service_role);
        report.expect(
            matches!(status, Ok(401 | 403)),
            format!(
                "Edge Function {FUNCTION} refuses the {} SERVICE_ROLE_KEY",
                expect.stale_label
            ),
            format!(
                "Edge Function {FUNCTION} with the {} SERVICE_ROLE_KEY answered {} (401 expected)",
                expect.stale_label,
                describe(status)
            ),
        );
    }
}

fn check_logins(compose: &Compose, password: &Secret, expect: &Expectation, report: &mut Report) {
    let psql = Psql::new(compose);
    let roles = match psql.login_roles(&expect.database) {
        Ok(roles) => roles,
        Err(err) => {
            report
                .problems
                .push(format!("database: cannot list the service roles: {err}"));
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
            Ok(Login::Refused) => report.problems.push(format!(
                "database: role {role} cannot log in over TCP with POSTGRES_PASSWORD"
            )),
            Err(err) => report.problems.push(format!("database: role {role}: {err}")),
        }
        if let Some(old) = stale {
            match psql.login(role, old, &expect.database) {
                Ok(Login::Refused) => refused_old.push(role.as_str()),
                Ok(Login::Accepted) => report.problems.push(format!(
                    "database: role {role} still logs in with the {} POSTGRES_PASSWORD",
                    expect.stale_label
                )),
                Err(err) => report.problems.push(format!("database: role {role}: {err}")),
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
