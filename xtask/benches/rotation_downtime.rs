//! Downtime of a key rotation as clients see it, on the real test stack:
//! `cargo xtask rotate` next to the naive procedure (edit `.env`, then
//! `docker compose up -d --force-recreate` of the whole stack), for
//! JWT_SECRET and for POSTGRES_PASSWORD.
//!
//!     cargo bench -p xtask --bench rotation_downtime [-- ROUNDS] [rotate|naive]
//!
//! Two client loops run during each rotation, each starting one attempt
//! every 20 ms (the next starts at once when an attempt takes longer):
//!
//! - gateway: `GET /rest/v1/receptor_live_check` with `apikey` and
//!   `Authorization: Bearer` carrying `ANON_KEY`, as supabase-js sends it: 404
//!   (no such table) means Kong and PostgREST both took the key
//! - database: a TCP login as `authenticator` with `POSTGRES_PASSWORD`
//!   (the host's psql on the published port), the way PostgREST connects
//!
//! Before every attempt the client reads the project's `.env` and uses the
//! value in it at that moment: the old one before the new `.env` is in place,
//! the new one from then on (a client configured from `.env`). Downtime is
//! the time from each failed attempt to the next attempt, summed. Next to it,
//! "outage" counts only attempts that fail with the old value AND with the
//! new one: time in which no client could get through with either.
//!
//! Each loop runs from 2 s before the command until 5 s after it returns
//! (20 s for the naive POSTGRES_PASSWORD, which never recovers: the roles keep
//! their old password, so logins with the new one fail for good).

#[path = "../tests/suite/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::stack::{HOST_PSQL, Stack, http_status};
use xtask::secrets::{Role, Secret, generate, jwt};

const PERIOD: Duration = Duration::from_millis(20);
const BEFORE: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Rotate,
    Naive,
}

/// One attempt: when it started, whether the `.env` value worked, whether any value did.
#[derive(Clone, Copy)]
struct Attempt {
    at: Duration,
    ok: bool,
    any: bool,
}

struct Series {
    attempts: Vec<Attempt>,
    end: Duration,
}

impl Series {
    /// Summed time from each failed attempt to the next, and the longest run of failures.
    fn downtime(&self, pick: impl Fn(&Attempt) -> bool) -> (Duration, Duration) {
        let mut total = Duration::ZERO;
        let mut longest = Duration::ZERO;
        let mut streak = Duration::ZERO;
        for (i, a) in self.attempts.iter().enumerate() {
            let next = self.attempts.get(i + 1).map_or(self.end, |n| n.at);
            if pick(a) {
                streak = Duration::ZERO;
            } else {
                total += next - a.at;
                streak += next - a.at;
                longest = longest.max(streak);
            }
        }
        (total, longest)
    }

    fn recovered(&self) -> bool {
        self.attempts.last().is_some_and(|a| a.ok)
    }
}

fn env_of(stack: &Stack) -> BTreeMap<String, String> {
    common::parse_env(&std::fs::read_to_string(stack.project_path(".env")).unwrap_or_default())
}

/// Runs `attempt(env_now, old_env)` every `PERIOD` until `stop`.
fn client_loop(
    stack: Arc<Stack>,
    start: Instant,
    stop: Arc<AtomicBool>,
    old: BTreeMap<String, String>,
    attempt: fn(&Stack, &BTreeMap<String, String>, &mut Option<String>) -> bool,
) -> thread::JoinHandle<Series> {
    thread::spawn(move || {
        let mut attempts = Vec::new();
        let mut cache = None;
        while !stop.load(Ordering::SeqCst) {
            let at = start.elapsed();
            let now = env_of(&stack);
            let ok = !now.is_empty() && attempt(&stack, &now, &mut cache);
            let any = ok || attempt(&stack, &old, &mut cache);
            attempts.push(Attempt { at, ok, any });
            let spent = start.elapsed() - at;
            if spent < PERIOD {
                thread::sleep(PERIOD - spent);
            }
        }
        Series {
            attempts,
            end: start.elapsed(),
        }
    })
}

fn gateway_attempt(stack: &Stack, env: &BTreeMap<String, String>, _: &mut Option<String>) -> bool {
    env.get("ANON_KEY").is_some_and(|key| {
        let bearer = format!("Bearer {key}");
        let headers = [("apikey", key.as_str()), ("Authorization", bearer.as_str())];
        http_status(stack.port, "GET", "/rest/v1/receptor_live_check", &headers) == 404
    })
}

/// A TCP login as authenticator; the published port is looked up again after a failure.
fn database_attempt(stack: &Stack, env: &BTreeMap<String, String>, port: &mut Option<String>) -> bool {
    let Some(password) = env.get("POSTGRES_PASSWORD") else {
        return false;
    };
    if port.is_none() {
        *port = stack.published_port("db", 5432);
    }
    let Some(p) = port.clone() else { return false };
    let ok = Command::new(HOST_PSQL)
        .args([
            "-X",
            "-w",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &p,
            "-U",
            "authenticator",
            "-d",
            "postgres",
        ])
        .args(["-tAc", "SELECT 1"])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "2")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        *port = None;
    }
    ok
}

/// The naive procedure: new values written into `.env`, then the whole stack recreated.
fn naive(stack: &Stack, name: &str) {
    let path = stack.project_path(".env");
    let mut env = xtask::envfile::EnvFile::load(&path).unwrap();
    let spec = xtask::secrets::catalog::find(name).unwrap();
    let value = generate::for_spec(spec).unwrap();
    env.set(name, value.expose()).unwrap();
    if name == "JWT_SECRET" {
        let secret = Secret::new(value.expose());
        env.set("ANON_KEY", jwt::mint(Role::Anon, &secret, jwt::now()).expose())
            .unwrap();
        env.set(
            "SERVICE_ROLE_KEY",
            jwt::mint(Role::ServiceRole, &secret, jwt::now()).expose(),
        )
        .unwrap();
    }
    xtask::private_file::write_atomic(&path, env.text().as_bytes()).unwrap();
    let dir = stack.sb.path(&stack.project);
    let status = Command::new("docker")
        .args(["compose", "-p", &stack.project, "--project-directory"])
        .arg(&dir)
        .arg("--env-file")
        .arg(dir.join(".env"))
        .args(["up", "-d", "--force-recreate", "--quiet-pull"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

struct Measured {
    command: Duration,
    gateway: Series,
    database: Series,
}

fn measure(name: &str, method: Method) -> Measured {
    let stack = Arc::new(Stack::up());
    let old = env_of(&stack);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let gateway = client_loop(stack.clone(), start, stop.clone(), old.clone(), gateway_attempt);
    let database = client_loop(stack.clone(), start, stop.clone(), old, database_attempt);
    thread::sleep(BEFORE);
    let began = Instant::now();
    match method {
        Method::Rotate => {
            stack.rotate(&[name, "--yes"]).succeeds();
        }
        Method::Naive => naive(&stack, name),
    }
    let command = began.elapsed();
    let after = if method == Method::Naive && name == "POSTGRES_PASSWORD" {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(5)
    };
    thread::sleep(after);
    stop.store(true, Ordering::SeqCst);
    Measured {
        command,
        gateway: gateway.join().unwrap(),
        database: database.join().unwrap(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:>7.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3);
    let only = args.iter().find(|a| *a == "rotate" || *a == "naive").cloned();
    println!(
        "rotation downtime, {rounds} rounds each; a client attempt every {} ms; times are medians",
        PERIOD.as_millis()
    );
    println!(
        "{:<18} {:<7} {:>10}  {:>10} {:>10} {:>10}  {:>10} {:>10} {:>10}  recovered",
        "variable", "method", "command", "gw down", "gw longest", "gw outage", "db down", "db longest", "db outage"
    );
    for name in ["JWT_SECRET", "POSTGRES_PASSWORD"] {
        for (method, label) in [(Method::Rotate, "rotate"), (Method::Naive, "naive")] {
            if only.as_deref().is_some_and(|o| o != label) {
                continue;
            }
            let runs: Vec<Measured> = (0..rounds).map(|_| measure(name, method)).collect();
            let median = |f: &dyn Fn(&Measured) -> Duration| {
                let mut v: Vec<Duration> = runs.iter().map(f).collect();
                v.sort();
                v[v.len() / 2]
            };
            let recovered = runs.iter().all(|m| m.gateway.recovered() && m.database.recovered());
            println!(
                "{:<18} {:<7} {}  {} {} {}  {} {} {}  {}",
                name,
                label,
                ms(median(&|m| m.command)),
                ms(median(&|m| m.gateway.downtime(|a| a.ok).0)),
                ms(median(&|m| m.gateway.downtime(|a| a.ok).1)),
                ms(median(&|m| m.gateway.downtime(|a| a.any).0)),
                ms(median(&|m| m.database.downtime(|a| a.ok).0)),
                ms(median(&|m| m.database.downtime(|a| a.ok).1)),
                ms(median(&|m| m.database.downtime(|a| a.any).0)),
                if recovered { "yes" } else { "no" }
            );
        }
    }
}
