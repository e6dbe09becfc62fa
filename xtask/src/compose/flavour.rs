//! Which Compose is installed: the `docker compose` plugin or a standalone
//! `docker-compose`, v2 or later. Compose v1 is refused.

use std::time::Duration;

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
    /// The program to run and the arguments that make it Compose.
    pub fn program(&self) -> (&'static str, &'static [&'static str]) {
        match self {
            Flavour::Plugin { .. } => ("docker", &["compose"]),
            Flavour::Standalone { .. } => ("docker-compose", &[]),
        }
    }

    pub fn version(&self) -> &str {
        match self {
            Flavour::Plugin { version } | Flavour::Standalone { version } => version,
        }
    }
}

fn version_of(program: &str, first: &[&str]) -> Option<String> {
    let out = super::docker(program, Duration::from_secs(30))
        .args(first)
        .args(["version", "--short"])
        .run()
        .ok()?;
    let text = out.stdout_text().trim().trim_start_matches('v').to_string();
    text.split('.').next()?.parse::<u32>().ok()?;
    Some(text)
}

fn major(version: &str) -> u32 {
    version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
}

/// Finds a Compose of v2 or later: the plugin first, then a standalone binary.
pub fn detect() -> Result<Flavour, ComposeError> {
    if let Some(version) = version_of("docker", &["compose"]).filter(|v| major(v) >= 2) {
        return Ok(Flavour::Plugin { version });
    }
    match version_of("docker-compose", &[]) {
        Some(version) if major(&version) >= 2 => Ok(Flavour::Standalone { version }),
        Some(version) => Err(ComposeError::V1 { version }),
        None => Err(ComposeError::NotInstalled),
    }
}
