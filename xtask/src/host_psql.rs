//! psql from this machine, for a database that is not a Compose service: the
//! stack's `POSTGRES_HOST:POSTGRES_PORT` over TCP. Passwords reach psql through
//! `PGPASSWORD` in its environment, never its argv; its output is redacted
//! like Compose's.

use std::path::PathBuf;
use std::time::Duration;

use crate::compose::{Compose, ExecOutput};
use crate::process::{ProcessError, Program};
use crate::psql::PsqlError;
use crate::secrets::Secret;

/// How long one psql run may take: connecting (`PGCONNECT_TIMEOUT`) and the statements.
const TIMEOUT: Duration = Duration::from_secs(120);

/// This machine's psql: on `PATH`, else the newest `/usr/lib/postgresql/*/bin/psql`.
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("psql"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path().join("bin/psql"))
            .filter(|candidate| candidate.is_file())
            .collect();
        installed.sort_by_key(|p| {
            p.parent()
                .and_then(|b| b.parent())
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        installed.pop()
    })
}

/// Why this machine cannot reach the database, naming what to do.
pub fn missing(host: &str, port: &str) -> PsqlError {
    PsqlError::NoHostPsql {
        host: host.to_string(),
        port: port.to_string(),
    }
}

/// Runs psql with `args` against `host:port`: `-h 127.0.0.1` in `args` (the
/// container-local form) becomes `host`. Without a `PGPASSWORD` in `env`, the
/// superuser's password is the first of `passwords` the server takes.
pub fn exec(
    compose: &Compose,
    host: &str,
    port: &str,
    passwords: &[Secret],
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &Secret)],
) -> Result<ExecOutput, PsqlError> {
    if host.starts_with('-') || port.starts_with('-') || host.is_empty() {
        return Err(PsqlError::BadHostPort {
            host: host.to_string(),
            port: port.to_string(),
        });
    }
    let psql = find().ok_or_else(|| missing(host, port))?;
    let mut kept: Vec<&str> = Vec::new();
    let mut skip = false;
    for (i, arg) in args.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        if *arg == "-h" && args.get(i + 1) == Some(&"127.0.0.1") {
            skip = true;
            continue;
        }
        kept.push(arg);
    }
    let given = env
        .iter()
        .find(|(name, _)| *name == "PGPASSWORD")
        .map(|(_, v)| (*v).clone());
    let candidates: Vec<Secret> = match given {
        Some(password) => vec![password],
        None => passwords.to_vec(),
    };
    let mut last = None;
    for password in &candidates {
        let run = Program::new(&psql, TIMEOUT)
            .setting("PGCONNECT_TIMEOUT", "10")
            .secret("PGPASSWORD", password)
            .hiding(passwords.iter().cloned())
            .arg(format!("--host={host}"))
            .arg(format!("--port={port}"))
            .args(&kept)
            .stdin(stdin.to_vec())
            .any_status()
            .run();
        let finished = match run {
            Ok(finished) => finished,
            Err(ProcessError::NotInstalled { .. }) => return Err(missing(host, port)),
            Err(e) => {
                return Err(PsqlError::Unreachable {
                    database: format!("at {host}:{port}"),
                    message: compose.redact(&e.to_string()),
                });
            }
        };
        let out = ExecOutput {
            code: finished.code(),
            stdout: compose.redact(&String::from_utf8_lossy(&finished.stdout)),
            stderr: compose.redact(&String::from_utf8_lossy(&finished.stderr)),
        };
        let wrong_password = !out.success() && out.stderr.contains("password authentication failed");
        last = Some(out);
        if !wrong_password {
            break;
        }
    }
    last.ok_or_else(|| missing(host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_host_database_is_named_by_host_and_port() {
        assert_eq!(
            missing("db.internal", "5432").to_string(),
            "the database is not a Compose service (no service of the compose file runs a postgres image), and this machine has no psql to reach POSTGRES_HOST:POSTGRES_PORT (db.internal:5432): install the PostgreSQL client (apt-get install postgresql-client), or name the service with database_service in setup.conf"
        );
        let bad = PsqlError::BadHostPort {
            host: "-oProxyCommand".into(),
            port: "5432".into(),
        };
        assert_eq!(
            bad.to_string(),
            "POSTGRES_HOST:POSTGRES_PORT (-oProxyCommand:5432) is not a host and port psql can be given"
        );
    }
}
