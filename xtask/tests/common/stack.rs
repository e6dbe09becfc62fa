//! The real-stack harness: a project laid out by `setup`, running the test
//! stack (`tests/stack/compose.yaml`: a real PostgreSQL and the stand-in
//! gateway) on the real Docker engine, torn down on drop.

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
}

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
