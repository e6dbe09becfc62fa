//! Which Compose is installed: the `docker compose` plugin or a standalone
//! `docker-compose`, v2 or later. Compose v1 is refused.

use std::process::{Command, Stdio};

use super::ComposeError;

/// The Compose program and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavour {
    /// `docker compose` (v2, v5…).
    Plugin { version: String },
    /// A standalone `docker-compose` binary of v2 or later.
    Standalone { version: String },
}

impl Flavour {
    pub fn command(&self) -> Command {
        match self {
            Flavour::Plugin { .. } => {
                let mut cmd = Command::new("docker");
                cmd.arg("compose");
                cmd
            }
            Flavour::Standalone { .. } => Command::new("docker-compose"),
        }
    }

    pub fn version(&self) -> &str {
        match self {
            Flavour::Plugin { version } | Flavour::Standalone { version } => version,
        }
    }
}

fn version_of(mut cmd: Command) -> Option<String> {
    let out = cmd
        .args(["version", "--short"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches('v')
        .to_string();
    text.split('.').next()?.parse::<u32>().ok()?;
    Some(text)
}

fn major(version: &str) -> u32 {
    version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
}

/// Finds a Compose of v2 or later: the plugin first, then a standalone binary.
pub fn detect() -> Result<Flavour, ComposeError> {
    let mut plugin = Command::new("docker");
    plugin.arg("compose");
    if let Some(version) = version_of(plugin).filter(|v| major(v) >= 2) {
        return Ok(Flavour::Plugin { version });
    }
    match version_of(Command::new("docker-compose")) {
        Some(version) if major(&version) >= 2 => Ok(Flavour::Standalone { version }),
        Some(version) => Err(ComposeError::V1 { version }),
        None => Err(ComposeError::NotInstalled),
    }
}
