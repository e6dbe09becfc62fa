//! The errors a task can end with, and the exit code each maps to: one
//! table, [`EXIT_CODES`], from which `--help` and the docs' table are made.

use crate::backups::BackupError;
use crate::compose::ComposeError;
use crate::config::{BadServiceName, ConfigError};
use crate::envfile::EnvError;
use crate::git::GitError;
use crate::live::GatewayError;
use crate::no_follow::PathError;
use crate::private_file::FileError;
use crate::project::BadProjectName;
use crate::psql::PsqlError;
use crate::rotate::overlap::OverlapError;
use crate::rotate::signing::SigningError;
use crate::rotate::{RollbackFailed, RolledBack, RotateError};
use crate::setup::SetupError;
use crate::sources::VaultError;
use crate::sources::prompt::PromptError;
use crate::verify::{CouldNotRun, VerifyError};

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
        "the file system: a file cannot be written, another run holds the lock, or a link or FIFO is in the project folder",
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
    DatabaseService(#[from] BadServiceName),
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
    /// A link, a FIFO or a folder of another user where the tool reads or writes.
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// Values or requests refused, one [`Refusal`] a line, naming file, line and variable.
    #[error("{}", lines(.0))]
    Refusals(Vec<Refusal>),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A vault's command-line tool failed, or lacks secrets; one line each.
    #[error("{}", lines(.0))]
    Vault(Vec<VaultError>),
    #[error(transparent)]
    Psql(#[from] PsqlError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Rotate(#[from] RotateError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(transparent)]
    Overlap(#[from] OverlapError),
    /// A change failed at a step and everything was put back.
    #[error(transparent)]
    RolledBack(Box<RolledBack>),
    /// A change failed and putting it back failed too: what state things are in, what to run.
    #[error(transparent)]
    RollbackFailed(Box<RollbackFailed>),
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

/// One line of [`Error::Refusals`]: a value or request refused, with the data
/// its message is made from. Each module names its own reasons in an enum of
/// its own, rendered there; they meet here.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Sources(#[from] crate::sources::Refusal),
    #[error(transparent)]
    Setup(#[from] crate::setup::Refusal),
    #[error(transparent)]
    Rotate(#[from] crate::rotate::Refusal),
    #[error(transparent)]
    Overlap(#[from] crate::rotate::overlap::Refusal),
    /// Another error, as one line among several refusals.
    #[error(transparent)]
    Error(Box<Error>),
}

impl From<Error> for Refusal {
    fn from(err: Error) -> Refusal {
        Refusal::Error(Box::new(err))
    }
}

/// Each of `items` on a line of its own.
pub(crate) fn lines<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

impl Error {
    /// [`Error::Refusals`] of `refusals`: `Error::refused([Refusal::…])`.
    pub fn refused<R: Into<Refusal>>(refusals: impl IntoIterator<Item = R>) -> Error {
        Error::Refusals(refusals.into_iter().map(Into::into).collect())
    }
}

impl From<RolledBack> for Error {
    fn from(err: RolledBack) -> Error {
        Error::RolledBack(Box::new(err))
    }
}

impl From<RollbackFailed> for Error {
    fn from(err: RollbackFailed) -> Error {
        Error::RollbackFailed(Box::new(err))
    }
}

impl From<CouldNotRun> for Error {
    fn from(err: CouldNotRun) -> Error {
        Error::Verify(VerifyError::CouldNotRun(err))
    }
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
            Error::Env(EnvError::Path(_)) | Error::File(_) | Error::Path(_) => 5,
            Error::Config(_)
            | Error::DatabaseService(_)
            | Error::Env(_)
            | Error::ProjectName(_)
            | Error::Refusals(_)
            | Error::Gateway(_)
            | Error::Backup(_)
            | Error::Signing(_)
            | Error::Overlap(_)
            | Error::Verify(_) => 2,
            Error::Setup(SetupError::Missing { .. } | SetupError::NoSigningSet) => 3,
            Error::Setup(_) => 2,
            Error::Rotate(RotateError::Unconfirmed { .. } | RotateError::NoNewValues(_)) => 3,
            Error::Rotate(_) => 2,
            Error::Prompt(PromptError::GaveUp { .. }) => 2,
            Error::Prompt(_) => 3,
            Error::Git(_)
            | Error::UpstreamRefNotFound { .. }
            | Error::Compose(_)
            | Error::Vault(_)
            | Error::Psql(_) => 4,
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

    #[test]
    fn refusals_are_one_line_each_and_exit_2() {
        let err = Error::refused([
            Error::Rotate(crate::rotate::RotateError::NothingNamed),
            Error::refused([Error::Rotate(crate::rotate::RotateError::NowWithoutRevoke)]),
        ]);
        assert_eq!(
            err.to_string(),
            "name the variables to rotate, or pass --tier 1 or --all\n--now applies to --stage revoke only"
        );
        assert_eq!(err.exit_code(), 2);
    }
}
