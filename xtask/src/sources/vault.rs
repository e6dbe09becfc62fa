//! The errors of a vault's command-line tool, one variant per thing the
//! operator must do differently. A tool's own messages are never shown:
//! they could quote a secret.

use std::time::Duration;

use super::Environment;
use crate::config::Env;
use crate::process::{self, Finished, ProcessError, Program};
use crate::secrets::Secret;

/// Which vault a call was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vault {
    Bitwarden,
    Doppler,
}

impl Vault {
    /// The reference prefix in `setup.conf`.
    pub fn prefix(self) -> &'static str {
        match self {
            Vault::Bitwarden => "bws:",
            Vault::Doppler => "doppler:",
        }
    }

    pub fn product(self) -> &'static str {
        match self {
            Vault::Bitwarden => "the Bitwarden Secrets Manager CLI (bws)",
            Vault::Doppler => "the Doppler CLI",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "{program} is not installed or not on PATH; install {}, or remove the {} references from setup.conf [secrets]",
        .vault.product(), .vault.prefix()
    )]
    NotInstalled { vault: Vault, program: String },
    #[error("{program} could not be started: {detail}")]
    Spawn { program: String, detail: String },
    #[error("{program}: not authenticated: {hint}")]
    NotAuthenticated { program: String, hint: String },
    #[error("{program}: {what} not found {place}; check the name in setup.conf [secrets] and the token's access")]
    NotFound {
        program: String,
        what: String,
        place: String,
    },
    #[error("{program}: {what} matches more than one secret {place}; reference it by id")]
    Ambiguous {
        program: String,
        what: String,
        place: String,
    },
    #[error("{program}: malformed output: {detail}")]
    Malformed { program: String, detail: String },
    #[error(
        "{program} did not finish within {} s and was stopped; check the network, or raise vaults.timeout_secs in setup.conf",
        .timeout.as_secs()
    )]
    TimedOut { program: String, timeout: Duration },
    #[error("{program} failed with exit code {code}; run `{retry}` yourself to see why")]
    Failed { program: String, code: i32, retry: String },
    /// `bws:` references, and no project to look them up in.
    #[error(
        "setup.conf: bws: references need a project: set project_id under [vaults.bws] or [vaults.bws.{}]",
        .stage.name()
    )]
    NoProject { stage: Env },
}

/// Runs a vault's CLI the one safe way: `args` as argv (never a secret among
/// them), the kept variables of `env` plus its network settings, `settings`
/// and the `token` alone among secrets, no standard input, killed with all
/// it started at `timeout`. Every exit code comes back for the caller to read.
pub fn run(
    vault: Vault,
    program: &str,
    args: &[String],
    settings: &[(&str, String)],
    token: Option<(&str, &Secret)>,
    env: &Environment,
    timeout: Duration,
) -> Result<Finished, VaultError> {
    let mut call = Program::new(program, timeout)
        .args(args)
        .parent_env(env.for_child())
        .pass(process::NETWORK)
        .any_status();
    for (name, value) in settings {
        call = call.setting(name, value);
    }
    if let Some((name, value)) = token {
        call = call.secret(name, value);
    }
    call.run().map_err(|err| {
        let program = program.to_string();
        match err {
            ProcessError::NotInstalled { .. } => VaultError::NotInstalled { vault, program },
            ProcessError::Spawn { detail, .. } => VaultError::Spawn { program, detail },
            ProcessError::TimedOut { timeout, .. } => VaultError::TimedOut { program, timeout },
            // Every exit code is accepted above; a failure is classified by the caller.
            ProcessError::Failed { code, .. } => VaultError::Failed {
                program: program.clone(),
                code,
                retry: program,
            },
        }
    })
}

/// Where a JSON document went wrong, without quoting any of it
/// (serde's own messages can quote a value).
pub fn json_position(err: &serde_json::Error) -> String {
    let what = match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "JSON of an unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", err.line(), err.column())
}

/// Whether the tool's error output, lower-cased, holds one of `needles`.
pub fn says(stderr: &[u8], needles: &[&str]) -> bool {
    let text = String::from_utf8_lossy(stderr).to_lowercase();
    needles.iter().any(|n| text.contains(n))
}
