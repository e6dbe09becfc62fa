//! The real-stack harness: a project laid out by `setup`, running the test
//! stack (`tests/stack/compose.yaml`: a real PostgreSQL and the stand-in
//! gateway) on the real Docker engine, torn down on drop.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use xtask::compose::{Compose, Redactor};
use xtask::live::{Column, PROBES, Probe};
use xtask::secrets::Secret;

use super::{Sandbox, repo};

/// Builds (or finds cached) the harness images; returns the `KEY=value` lines.
/// Fails, never skips, when Docker is missing.
pub fn images() -> Vec<(String, String)> {
    let lock_path = repo().join("target/stand-ins-test.lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let out = Command::new("bash")
        .arg(repo().join("tests/stack/build-images.sh"))
        .output()
        .expect("bash runs tests/stack/build-images.sh");
    assert!(
        out.status.success(),
        "the real-stack tests need the Docker engine and tests/stack/build-images.sh to succeed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running test stack.
pub struct Stack {
    pub sb: Sandbox,
    pub project: String,
    pub port: u16,
    /// The services of its compose file.
    pub services: &'static [&'static str],
    /// The PostgreSQL container outside Compose, and its host port, when the
    /// compose file has no database service.
    pub external_db: Option<(String, String)>,
}

/// Starts the test PostgreSQL image outside Compose (`docker run`), published on
/// an ephemeral loopback port, initialised with `password`; waits until healthy.
fn start_external_db(image: &str, name: &str, password: &str, jwt_secret: &str) -> String {
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let out = Command::new("docker")
        .args(["run", "--detach", "--name", name, "--publish", "127.0.0.1::5432"])
        .args([
            "--env",
            "POSTGRES_PASSWORD",
            "--env",
            "JWT_SECRET",
            "--stop-signal",
            "SIGINT",
            image,
        ])
        .env("POSTGRES_PASSWORD", password)
        .env("JWT_SECRET", jwt_secret)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = std::time::Instant::now();
    let healthy = || {
        Command::new("docker")
            .args(["inspect", "--format", "{{.State.Health.Status}}", name])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "healthy")
    };
    while !healthy() {
        if started.elapsed() > Duration::from_secs(300) {
            let _ = Command::new("docker").args(["rm", "-f", "--volumes", name]).output();
            panic!("the PostgreSQL container {name} did not get healthy within 300 s");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = Command::new("docker")
        .args(["port", name, "5432/tcp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .unwrap_or("")
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .to_string()
}

impl Stack {
    /// `setup --env dev` for a fresh project whose compose file is the test
    /// stack, then `up --wait`.
    pub fn up() -> Stack {
        Stack::up_with("tests/stack/compose.yaml", SERVICES, false)
    }

    /// The test stack without a database service: PostgreSQL runs outside
    /// Compose (`docker run`), and `.env` points POSTGRES_HOST:POSTGRES_PORT at it.
    pub fn up_with_external_db() -> Stack {
        Stack::up_with(
            "tests/stack/compose.external-db.yaml",
            &["auth", "functions", "kong", "rest"],
            true,
        )
    }

    /// The test stack as Supabase's own compose file lays out the gateway: kong
    /// publishes its port, no front, no `KONG_DNS_VALID_TTL`; with a `one-off`
    /// container to remove ([`Stack::remove`]) before the stack is judged.
    pub fn up_kong_published() -> Stack {
        Stack::up_with(
            "tests/stack/compose.kong-published.yaml",
            &["auth", "db", "functions", "kong", "rest"],
            false,
        )
    }

    fn up_with(file: &str, services: &'static [&'static str], external: bool) -> Stack {
        let images = images();
        let sb = Sandbox::new();
        let project = format!(
            "rxt-{}-{}",
            std::process::id(),
            sb.root
                .file_name()
                .unwrap()
                .to_string_lossy()
                .rsplit('-')
                .next()
                .unwrap()
        );
        sb.xtask(["setup", "--env", "dev", "--project-name", &project])
            .succeeds();
        std::fs::copy(repo().join(file), sb.path(&format!("{project}/docker-compose.yml"))).unwrap();
        let mut env = sb.read(&format!("{project}/.env"));
        for (k, v) in &images {
            env.push_str(&format!("{k}={v}\n"));
        }
        let external_db = external.then(|| {
            let values = sb.env_values(&project);
            let image = &images.iter().find(|(k, _)| k == "POSTGRES_IMAGE").unwrap().1;
            let name = format!("{project}-external-db");
            let port = start_external_db(image, &name, &values["POSTGRES_PASSWORD"], &values["JWT_SECRET"]);
            env = env
                .lines()
                .map(|line| {
                    if line.starts_with("POSTGRES_HOST=") {
                        "POSTGRES_HOST=127.0.0.1".to_string()
                    } else if line.starts_with("POSTGRES_PORT=") {
                        format!("POSTGRES_PORT={port}")
                    } else {
                        line.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n";
            (name, port)
        });
        let template = env;
        // Other test processes share the engine: a port picked free can be taken
        // before the gateway binds it. Then the stack comes up again on another.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let env = template.replace("KONG_HTTP_PORT=8000", &format!("KONG_HTTP_PORT={port}"));
            sb.write(&format!("{project}/.env"), &env);
            let compose = compose_for(&sb, &project);
            match compose.up(&[], false, 120) {
                Ok(()) => {
                    return Stack {
                        sb,
                        project,
                        port,
                        services,
                        external_db,
                    };
                }
                Err(e) => {
                    last_error = e.to_string();
                    let _ = compose.down(true);
                }
            }
        }
        if let Some((name, _)) = &external_db {
            let _ = Command::new("docker").args(["rm", "-f", "--volumes", name]).output();
        }
        panic!("the test stack did not come up: {last_error}");
    }

    pub fn env(&self) -> std::collections::BTreeMap<String, String> {
        self.sb.env_values(&self.project)
    }

    pub fn compose(&self) -> Compose {
        compose_for(&self.sb, &self.project)
    }

    /// The HTTP status of `GET path` on the gateway with `headers`.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
        http_status(self.port, "GET", path, headers)
    }

    /// The project's `.env`, byte for byte.
    pub fn env_text(&self) -> String {
        self.sb.read(&format!("{}/.env", self.project))
    }

    /// A file of the project folder.
    pub fn project_path(&self, relative: &str) -> std::path::PathBuf {
        self.sb.path(&format!("{}/{relative}", self.project))
    }

    /// The project's `audit.log`, a JSON value a line (none before the first run).
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.project_path("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each audit line is JSON"))
            .collect()
    }

    /// `cargo xtask rotate ARGS --env dev --project-name <project>`.
    pub fn rotate(&self, args: &[&str]) -> super::Run {
        let mut all = vec!["rotate"];
        all.extend_from_slice(args);
        all.extend(["--env", "dev", "--project-name", &self.project]);
        self.sb.xtask(all)
    }

    /// Stops and removes `service`'s containers (`docker compose rm --stop --force`).
    pub fn remove(&self, service: &str) {
        let out = self
            .docker_compose(&["rm", "--stop", "--force", service])
            .expect("docker compose runs");
        assert!(
            out.status.success(),
            "docker compose rm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Service → container id.
    pub fn container_ids(&self) -> BTreeMap<String, String> {
        self.compose()
            .ps()
            .unwrap()
            .into_iter()
            .map(|s| (s.service, s.container_id))
            .collect()
    }

    /// `docker compose ARGS` on this project, with nothing of the caller's environment
    /// but PATH and HOME.
    fn docker_compose(&self, args: &[&str]) -> Option<std::process::Output> {
        let dir = self.sb.path(&self.project);
        Command::new("docker")
            .args(["compose", "-p", &self.project, "--project-directory"])
            .arg(&dir)
            .arg("--env-file")
            .arg(dir.join(".env"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .output()
            .ok()
    }

    /// The host port `service`'s `port` is published on, from `docker compose port`.
    pub fn published_port(&self, service: &str, port: u16) -> Option<String> {
        let out = self.docker_compose(&["port", service, &port.to_string()])?;
        let text = String::from_utf8_lossy(&out.stdout);
        let port = text.trim().rsplit(':').next().unwrap_or("").to_string();
        (out.status.success() && !port.is_empty()).then_some(port)
    }

    /// Whether `role` logs in with `password` from this machine over TCP, the
    /// way a client does: the host's psql against the published database port.
    pub fn db_login(&self, role: &str, password: &str) -> bool {
        let port = match &self.external_db {
            Some((_, port)) => port.clone(),
            None => self
                .published_port("db", 5432)
                .expect("docker compose port db 5432 answers"),
        };
        Command::new(HOST_PSQL)
            .args([
                "-X",
                "-w",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                role,
                "-d",
                "postgres",
            ])
            .args(["-tAc", "SELECT 1"])
            .env("PGPASSWORD", password)
            .output()
            .expect("the host's psql runs")
            .status
            .success()
    }

    /// The status of a client probe (see `xtask::live::probes`) sent the way
    /// supabase-js sends it: `apikey` and `Authorization: Bearer` carry `key`
    /// (`apikey` is `anon` for the probes that always send ANON_KEY there).
    pub fn probe(&self, probe: &Probe, anon: &str, key: Option<&str>) -> u16 {
        let bearer = key.map(|k| format!("Bearer {k}"));
        let apikey = if probe.apikey_is_anon { Some(anon) } else { key };
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(apikey) = apikey {
            headers.push(("apikey", apikey));
        }
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer));
        }
        http_status(self.port, probe.method, probe.path, &headers)
    }

    /// The status of `GET /rest/v1/receptor_live_check` sent with `key` as a
    /// client sends it: 404 when Kong and PostgREST took the key, else 401.
    pub fn rest(&self, key: &str) -> u16 {
        self.probe(&PROBES[2], key, Some(key))
    }

    /// The stack works with the keys and password of `env`: every client
    /// probe answers both keys as the table says, every login role logs in.
    pub fn assert_works_with(&self, env: &BTreeMap<String, String>) {
        for probe in PROBES {
            for (column, key) in [(Column::Anon, "ANON_KEY"), (Column::ServiceRole, "SERVICE_ROLE_KEY")] {
                assert_eq!(
                    self.probe(probe, &env["ANON_KEY"], Some(&env[key])),
                    probe.expected(column),
                    "{} with {key}",
                    probe.id
                );
            }
        }
        for role in LOGIN_ROLES {
            assert!(self.db_login(role, &env["POSTGRES_PASSWORD"]), "{role} cannot log in");
        }
        let ps = self.compose().ps().unwrap();
        assert_eq!(ps.len(), self.services.len(), "{:?} run", self.services);
        for state in ps {
            assert_eq!(
                (state.state.as_str(), state.health.as_str()),
                ("running", "healthy"),
                "{}",
                state.service
            );
        }
    }

    /// None of the keys of `stale` works any more: every probe answers them
    /// as the table's stale column says.
    pub fn assert_keys_refused(&self, stale: &BTreeMap<String, String>) {
        let now = self.env();
        for probe in PROBES {
            for key in ["ANON_KEY", "SERVICE_ROLE_KEY"] {
                assert_eq!(
                    self.probe(probe, &now["ANON_KEY"], Some(&stale[key])),
                    probe.expected(Column::Stale),
                    "{} with the stale {key}",
                    probe.id
                );
            }
        }
    }
}

/// The services of the test stack.
pub const SERVICES: &[&str] = &["auth", "db", "functions", "kong", "kong-front", "rest"];

/// The host's PostgreSQL client (the test image is built from the same install).
pub const HOST_PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

/// The roles of the test database that log in with POSTGRES_PASSWORD.
pub const LOGIN_ROLES: &[&str] = &[
    "authenticator",
    "pgbouncer",
    "postgres",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_functions_admin",
    "supabase_replication_admin",
    "supabase_storage_admin",
];

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.compose().down(true);
        if let Some((name, _)) = &self.external_db {
            let _ = Command::new("docker").args(["rm", "-f", "--volumes", name]).output();
        }
    }
}

fn compose_for(sb: &Sandbox, project: &str) -> Compose {
    let redactor = Redactor::new(sb.env_values(project).into_values().map(Secret::new));
    Compose::new(project, &sb.path(project), redactor).expect("Docker Compose v2+ is installed")
}

/// A one-shot HTTP/1.1 request; returns the status code (0 when unreachable).
pub fn http_status(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    http_exchange(port, method, path, headers, "").0
}

/// A one-shot HTTP/1.1 request with a body; returns the status code (0 when
/// unreachable) and the response body.
pub fn http_exchange(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls `ready` every 200 ms for up to 30 s; panics when it never holds.
pub fn wait_for(mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the stack did not become ready within 30 s");
}
