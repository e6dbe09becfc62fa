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
}

impl Stack {
    /// `setup --env dev` for a fresh project whose compose file is the test
    /// stack, then `up --wait`.
    pub fn up() -> Stack {
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
        std::fs::copy(
            repo().join("tests/stack/compose.yaml"),
            sb.path(&format!("{project}/docker-compose.yml")),
        )
        .unwrap();
        let mut env = sb.read(&format!("{project}/.env"));
        for (k, v) in &images {
            env.push_str(&format!("{k}={v}\n"));
        }
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
                Ok(()) => return Stack { sb, project, port },
                Err(e) => {
                    last_error = e.to_string();
                    let _ = compose.down(true);
                }
            }
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

    /// `cargo xtask rotate ARGS --env dev --project-name <project>`.
    pub fn rotate(&self, args: &[&str]) -> super::Run {
        let mut all = vec!["rotate"];
        all.extend_from_slice(args);
        all.extend(["--env", "dev", "--project-name", &self.project]);
        self.sb.xtask(all)
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

    /// The host port `service`'s `port` is published on, from `docker compose port`.
    pub fn published_port(&self, service: &str, port: u16) -> Option<String> {
        let dir = self.sb.path(&self.project);
        let out = Command::new("docker")
            .args(["compose", "-p", &self.project, "--project-directory"])
            .arg(&dir)
            .arg("--env-file")
            .arg(dir.join(".env"))
            .args(["port", service, &port.to_string()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let port = text.trim().rsplit(':').next().unwrap_or("").to_string();
        (out.status.success() && !port.is_empty()).then_some(port)
    }

    /// Whether `role` logs in with `password` from this machine over TCP, the
    /// way a client does: the host's psql against the published database port.
    pub fn db_login(&self, role: &str, password: &str) -> bool {
        let port = self
            .published_port("db", 5432)
            .expect("docker compose port db 5432 answers");
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

    /// The stack works with the keys and password of `env`: the gateway
    /// accepts both keys, the Edge Function answers, every login role logs in.
    pub fn assert_works_with(&self, env: &BTreeMap<String, String>) {
        assert_eq!(self.get("/auth/v1/health", &[]), 200);
        for key in ["ANON_KEY", "SERVICE_ROLE_KEY"] {
            assert_eq!(self.get("/rest/v1/", &[("apikey", &env[key])]), 200, "{key} refused");
        }
        let bearer = format!("Bearer {}", env["SERVICE_ROLE_KEY"]);
        assert_eq!(self.get("/functions/v1/hello", &[("Authorization", &bearer)]), 200);
        for role in LOGIN_ROLES {
            assert!(self.db_login(role, &env["POSTGRES_PASSWORD"]), "{role} cannot log in");
        }
        let ps = self.compose().ps().unwrap();
        assert_eq!(ps.len(), 3, "db, functions and kong run");
        for state in ps {
            assert_eq!(
                (state.state.as_str(), state.health.as_str()),
                ("running", "healthy"),
                "{}",
                state.service
            );
        }
    }

    /// None of the keys of `env` works any more at the gateway.
    pub fn assert_keys_refused(&self, env: &BTreeMap<String, String>) {
        for key in ["ANON_KEY", "SERVICE_ROLE_KEY"] {
            assert_eq!(
                self.get("/rest/v1/", &[("apikey", &env[key])]),
                401,
                "{key} still accepted"
            );
        }
        let bearer = format!("Bearer {}", env["SERVICE_ROLE_KEY"]);
        assert_eq!(self.get("/functions/v1/hello", &[("Authorization", &bearer)]), 401);
    }
}

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
    }
}

fn compose_for(sb: &Sandbox, project: &str) -> Compose {
    let redactor = Redactor::new(sb.env_values(project).into_values().map(Secret::new));
    Compose::new(project, &sb.path(project), redactor).expect("Docker Compose v2+ is installed")
}

/// A one-shot HTTP/1.1 request; returns the status code (0 when unreachable).
pub fn http_status(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
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
