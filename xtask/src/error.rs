//! The errors a task can end with, and the exit code each maps to: one
//! table, [`EXIT_CODES`], from which `--help` and the docs' table are made.

use crate::compose::ComposeError;
use crate::config::ConfigError;
use crate::envfile::EnvError;
use crate::git::GitError;
use crate::private_file::FileError;
use crate::project::BadProjectName;
use crate::psql::PsqlError;
use crate::sources::VaultError;
use crate::sources::prompt::PromptError;

/// Every exit code, with its meaning (Markdown: `--help` drops the backticks).
pub const EXIT_CODES: &[(i32, &str)] = &[
    (0, "success"),
    (1, "findings (`verify`), or a change that failed and was rolled back"),
    (
        2,
        "bad input: usage, `setup.conf`, `.env`, project name, a weak or default secret",
    ),
    (
        3,
        "a required secret or confirmation is missing and there is no terminal to ask on, or its prompt was abandoned",
    ),
    (
        4,
        "an external tool failed or is missing: git, Docker Compose, psql, a vault CLI",
    ),
    (
        5,
        "the file system: a file cannot be written, or another run holds the lock",
    ),
    (
        6,
        "a change failed and its rollback failed too: the stack needs attention",
    ),
];

/// The meaning of `code`, as the docs write it.
pub fn exit_code_meaning(code: i32) -> &'static str {
    EXIT_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, meaning)| meaning)
}

/// `Exit codes:` and one line for each of `codes`, for `--help`.
pub fn exit_codes_text(codes: &[i32]) -> String {
    let mut out = String::from("Exit codes:");
    for code in codes {
        out.push_str(&format!("\n  {code}  {}", exit_code_meaning(*code).replace('`', "")));
    }
    out
}

/// The table of every exit code, for `docs/`.
pub fn exit_codes_markdown() -> String {
    let mut out = String::from("| code | meaning |\n| :--- | :--- |\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    ProjectName(#[from] BadProjectName),
    #[error(transparent)]
    Git(#[from] GitError),
    /// `--upstream REF` names a ref the repository does not have.
    #[error(
        "{url} has no ref {reference} (given with --upstream); check the ref, or drop --upstream REF to use stack.upstream_ref of setup.conf"
    )]
    UpstreamRefNotFound { url: String, reference: String },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// Values that break their rule; one line each, naming file, line and variable.
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    #[error("{0}")]
    Usage(String),
    /// `verify` could not look at what it was asked to (exit 2).
    #[error("could not run: {0}")]
    CouldNotRun(String),
    /// Required secrets nobody supplied, and no terminal to ask on.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A vault's command-line tool failed, or lacks secrets; one line each.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Vault(Vec<VaultError>),
    /// A change that needs a confirmation, and no terminal to ask on.
    #[error("{0}")]
    Unconfirmed(String),
    #[error(transparent)]
    Psql(#[from] PsqlError),
    /// A change failed at a step and everything was put back.
    #[error("{0}")]
    RolledBack(String),
    /// A change failed and putting it back failed too: what state things are in, what to run.
    #[error("{}", .0.join("\n"))]
    RollbackFailed(Vec<String>),
}

impl From<VaultError> for Error {
    fn from(err: VaultError) -> Error {
        Error::Vault(vec![err])
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::RolledBack(_) => 1,
            Error::Config(_)
            | Error::Env(_)
            | Error::ProjectName(_)
            | Error::Refused(_)
            | Error::Usage(_)
            | Error::CouldNotRun(_) => 2,
            Error::Prompt(PromptError::GaveUp { .. }) => 2,
            Error::Missing(_) | Error::Prompt(_) | Error::Unconfirmed(_) => 3,
            Error::Git(_)
            | Error::UpstreamRefNotFound { .. }
            | Error::Compose(_)
            | Error::Vault(_)
            | Error::Psql(_) => 4,
            Error::File(_) => 5,
            Error::RollbackFailed(_) => 6,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_code_once_in_order() {
        let codes: Vec<i32> = EXIT_CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, (0..=6).collect::<Vec<_>>());
        assert_eq!(
            exit_codes_text(&[0, 2]),
            "Exit codes:\n  0  success\n  2  bad input: usage, setup.conf, .env, project name, a weak or default secret"
        );
    }
}
