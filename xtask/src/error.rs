//! The errors a task can end with, and the exit code each maps to.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | findings (`verify`), or a change that failed and was rolled back |
//! | 2 | bad input: usage, `setup.conf`, `.env`, project name, a weak or default secret |
//! | 3 | a required secret is missing and there is no terminal to ask on |
//! | 4 | an external tool failed or is missing: git, Docker Compose, a vault CLI |
//! | 5 | the file system: a file cannot be written, or another run holds the lock |

use crate::compose::ComposeError;
use crate::config::ConfigError;
use crate::envfile::EnvError;
use crate::git::GitError;
use crate::private_file::FileError;
use crate::project::BadProjectName;

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
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_)
            | Error::Env(_)
            | Error::ProjectName(_)
            | Error::Refused(_)
            | Error::Usage(_)
            | Error::CouldNotRun(_) => 2,
            Error::Git(_) | Error::Compose(_) => 4,
            Error::File(_) => 5,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
