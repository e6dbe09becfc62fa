//! Why verify could not look at what it was asked to (exit 2): the data, and
//! the one place each message is written. Findings are not errors: they are
//! in the report.

use crate::compose::ComposeError;
use crate::config::{BadServiceName, ConfigError, Env};
use crate::envfile::EnvError;
use crate::git::GitError;
use crate::live::GatewayError;
use crate::secrets::Secret;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("could not run: {0}")]
    CouldNotRun(#[from] CouldNotRun),
    #[error("--live checks a project: drop --scope repo, or add --env or --project-name")]
    LiveNeedsProject,
}

/// What kept verify from looking.
#[derive(Debug, thiserror::Error)]
pub enum CouldNotRun {
    /// `setup.conf` is broken; `text` is the file, so that no value of it is
    /// echoed (redacted in `Debug`, never shown).
    #[error("{}", super::redact_values(&format!("{error}; fix setup.conf first (cargo xtask verify checks it)"), .text.expose()))]
    SetupConf { error: ConfigError, text: Secret },
    #[error(
        "project folder {name} does not exist; lay it out with: cargo xtask setup --env {}",
        .stage.name()
    )]
    NoProjectFolder { name: String, stage: Env },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    DatabaseService(#[from] BadServiceName),
    #[error("cannot check the running stack: {0}")]
    Stack(#[from] ComposeError),
    #[error(
        "the stack of {project} is not running; start it with: cargo xtask setup --env {} --project-name {project} --up",
        .stage.name()
    )]
    NotRunning { project: String, stage: Env },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn each_reason_is_one_line_after_could_not_run() {
        let shown = |err: CouldNotRun| {
            let err = Error::from(err);
            assert_eq!(err.exit_code(), 2);
            err.to_string()
        };
        assert_eq!(
            shown(CouldNotRun::NoProjectFolder {
                name: "receptor-stg".into(),
                stage: Env::Staging
            }),
            "could not run: project folder receptor-stg does not exist; lay it out with: cargo xtask setup --env staging"
        );
        assert_eq!(
            shown(CouldNotRun::NotRunning {
                project: "receptor-dev".into(),
                stage: Env::Dev
            }),
            "could not run: the stack of receptor-dev is not running; start it with: cargo xtask setup --env dev --project-name receptor-dev --up"
        );
        let conf = CouldNotRun::SetupConf {
            error: ConfigError::Invalid {
                path: "setup.conf".into(),
                line: 2,
                column: 1,
                message: "invalid type: string \"sk-live-canary-123\", expected a map".into(),
                problem: crate::config::Problem::Other,
            },
            text: Secret::new(
                "[secrets]\nOPENAI_API_KEY = \"sk-live-canary-123\"\nOTHER = \"only-in-the-file\"\n".to_string(),
            ),
        };
        assert!(!format!("{conf:?}").contains("only-in-the-file"));
        assert_eq!(
            shown(conf),
            "could not run: setup.conf:2:1: invalid type: string \"<redacted>\", expected a map; fix setup.conf first (cargo xtask verify checks it)"
        );
    }
}
