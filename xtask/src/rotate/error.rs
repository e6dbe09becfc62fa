//! Why a rotation is refused, stops or was undone: the data, and the one
//! place each message is written. Never a value: names, paths, steps.

use std::path::PathBuf;

use crate::audit::Action;
use crate::compose::ComposeError;
use crate::config::Env;
use crate::live::{GatewayError, Problem, problems_line};
use crate::private_file::FileError;
use crate::psql::PsqlError;
use crate::secrets::jwk::SetError;
use crate::secrets::rules::Violation;
use crate::secrets::{Role, catalog};
use crate::sources::Source;
use crate::sources::lookup::Nothing;
use crate::step::Step;

use super::plan::ENCRYPTING_OVERRIDE;
use super::signing;

/// A rotation refused before any change, or stopped where nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(
        "{project}/.env does not exist: lay the project out first with cargo xtask setup --env {} --project-name {project}",
        .stage.name()
    )]
    NoEnv { project: String, stage: Env },
    /// `.env` was there before the lock was taken, and is not now.
    #[error("{project}/.env disappeared")]
    EnvDisappeared { project: String },
    #[error("{name} is rotated on its own: cargo xtask rotate {name} --env {}", .stage.name(), name = signing::NAME)]
    SigningKeyAlone { stage: Env },
    #[error(
        "--stage, --status, --now, --no-external-verifiers and --margin belong to cargo xtask rotate {} only",
        signing::NAME
    )]
    SigningFlags,
    /// A staged rotation's stage was cut short: a plain rotation now would be
    /// undone when the next stage run rolls that stage back to its backup.
    #[error(
        "{what} started and did not finish; run {repair} --env {} first: it rolls that back to {backup}, then goes on",
        .stage.name()
    )]
    StageUnfinished {
        what: String,
        repair: String,
        backup: String,
        stage: Env,
    },
    #[error("--now applies to --stage revoke only")]
    NowWithoutRevoke,
    #[error("name the variables to rotate, or pass --tier 1 or --all")]
    NothingNamed,
    /// The stack fails a client check before a rotation changes anything.
    #[error(
        "pre-flight: the stack fails a client check before any change, so a rotation could not be judged; nothing changed. Failing: {}. See cargo xtask verify --live --env {} --project-name {project}",
        problems_line(.problems),
        .stage.name()
    )]
    PreflightFails {
        problems: Vec<Problem>,
        stage: Env,
        project: String,
    },
    /// The same, before a change that leaves the database alone; `what` is judged after it.
    #[error(
        "pre-flight: the stack fails a client check before any change, so {what} could not be judged; nothing changed. Failing: {}",
        problems_line(.problems)
    )]
    PreflightFailsFor { what: &'static str, problems: Vec<Problem> },
    #[error(
        "the stack of project {project} is not running, and a rotation changes a running stack: {}",
        start_hint(.dir)
    )]
    StackStopped { project: String, dir: PathBuf },
    #[error("service {service} is not running, and the database must change first: {}", start_hint(.dir))]
    DatabaseStopped { service: String, dir: PathBuf },
    /// A state file of a rotation that cannot be read back.
    #[error("{}: line {line}: not {what} ({category}); move it away to start over", .path.display())]
    BadState {
        path: PathBuf,
        line: usize,
        what: &'static str,
        category: &'static str,
    },
    /// A change that needs a confirmation, and nobody to give it (exit 3).
    #[error("{what}: nobody to confirm ({why}): pass --yes to rotate without asking; nothing changed")]
    Unconfirmed { what: &'static str, why: &'static str },
    #[error("cannot read the answer: {0}; nothing changed")]
    AnswerUnread(std::io::Error),
    #[error("not confirmed; nothing changed")]
    NotConfirmed,
    /// New values no source has and nobody can be asked for (exit 3), one a line.
    #[error("{}", crate::error::lines(.0))]
    NoNewValues(Vec<NoNewValue>),
}

fn start_hint(dir: &std::path::Path) -> String {
    format!(
        "start it (cd {} && docker compose up -d --wait), then run again; nothing changed",
        dir.display()
    )
}

/// A variable a rotation would change, refused (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{name}: {why}")]
    CannotMint { name: &'static str, why: MintError },
    #[error("{name}: the source still holds the current value: update the vault first")]
    SourceUnchanged { name: &'static str },
    #[error("{name}: the new value {why}")]
    NewValueBreaks { name: &'static str, why: Violation },
    #[error(
        "the pgsodium root key is not in .env: it lives in the db-config volume and encrypts every Vault secret in the database, which a new key makes unreadable; cargo xtask rotate never changes it"
    )]
    Pgsodium,
    #[error("{name} is not a secret of the stack; the secrets are listed in docs/key-management.md")]
    NotASecret { name: String },
    #[error(
        "{name} holds the ES256 signing key: a new one signs every user out, so rotate keeps it; rotating JWT_SECRET rebuilds its HS256 oct key"
    )]
    SigningKey { name: &'static str },
    #[error(
        "{name} encrypts stored data ({about}): with a new key that data becomes unreadable; to rotate it anyway, add {ENCRYPTING_OVERRIDE}",
        name = .spec.name,
        about = .spec.about
    )]
    Encrypting { spec: &'static catalog::SecretSpec },
    #[error(
        "{name} {} does not verify under the new JWT_SECRET with role {}; inject the matching key, or none to have it minted",
        super::source::describe(*.from),
        .role.claim()
    )]
    InjectedKeyMismatch {
        name: &'static str,
        /// Where the key came from.
        from: Source,
        role: Role,
    },
    #[error(
        "{name} {why}: its HS256 oct key cannot be rebuilt; fix it (cargo xtask setup repairs it), then rotate again"
    )]
    BrokenKeySet { name: &'static str, why: SetError },
}

/// Why an ES256 API key cannot be re-minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("{} is empty or broken: run cargo xtask setup first", crate::secrets::name::JWT_KEYS)]
    NoKeySet,
    #[error(
        "{} has not exactly one ES256 signing key: run cargo xtask verify",
        crate::secrets::name::JWT_KEYS
    )]
    NoSigningKey,
    #[error("the signing key of {} cannot sign", crate::secrets::name::JWT_KEYS)]
    CannotSign,
}

/// A variable a rotation needs a new value for, and nobody has one.
#[derive(Debug, thiserror::Error)]
pub enum NoNewValue {
    /// `why` says where the value was looked for.
    #[error("{name}: no new value ({why}): put the new value in its source, then run again")]
    InSource { name: &'static str, why: Nothing },
    #[error(
        "{name}: no new value ({why}) and no terminal to ask on ({no_terminal}): put the new value in the vault and export {name}, then run again"
    )]
    NoTerminal {
        name: &'static str,
        why: Nothing,
        no_terminal: &'static str,
    },
}

/// Why a step of a change failed (one line, never a value).
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Database(#[from] PsqlError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error("not running and healthy: {}", .0.join(", "))]
    Unhealthy(Vec<String>),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The client checks that did not hold.
    #[error("{}", problems_line(.0))]
    Checks(Vec<Problem>),
    #[error("the check fail point failed this step (a test hook)")]
    FailPoint,
}

/// A change failed at `step` and everything was put back (exit 1).
#[derive(Debug, thiserror::Error)]
#[error(
    "{action} failed at step {step} and was rolled back (the stack runs on the previous .env, restored from {backup}): {cause}"
)]
pub struct RolledBack {
    pub action: Action,
    pub step: Step,
    /// The backup the previous `.env` came from, as shown.
    pub backup: String,
    pub cause: Cause,
}

/// A change failed and putting it back failed too (exit 6): what failed,
/// what state things are in, and what to run.
#[derive(Debug, thiserror::Error)]
#[error("{action} failed at step {step}: {cause}\n{left}")]
pub struct RollbackFailed {
    pub action: Action,
    pub step: Step,
    pub cause: Cause,
    pub left: Unrestored,
}

/// The command that finishes a rollback that stopped half-way.
#[derive(Debug, Clone)]
pub struct Finish {
    /// The backup's file name.
    pub backup: String,
    pub stage: Env,
    pub project: String,
}

impl std::fmt::Display for Finish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cargo xtask rotate --rollback {} --env {} --project-name {}",
            self.backup,
            self.stage.name(),
            self.project
        )
    }
}

/// What a rollback could not put back, the state it leaves, and how to finish it.
#[derive(Debug, thiserror::Error)]
pub enum Unrestored {
    /// The previous `.env` was not written back; paths as shown.
    #[error(
        "rollback failed: {err}\nstate: {env} may hold the new values; the previous one is {backup}; database and containers are as the failed step left them\nto finish: cp {backup} {env}, then {finish}"
    )]
    Env {
        err: FileError,
        env: String,
        backup: String,
        finish: Finish,
    },
    #[error(
        "rollback failed: the database values were not restored: {err}\nstate: .env holds the previous values; the database may hold the new POSTGRES_PASSWORD or app.settings.jwt_secret; containers are as the failed step left them\nto finish: {finish}"
    )]
    Database { err: PsqlError, finish: Finish },
    #[error(
        "rollback failed: the services were not recreated on the previous .env: {err}\nstate: .env and the database hold the previous values; {} may run the new ones or be stopped\nto finish: {finish}",
        .services.join(", ")
    )]
    Services {
        err: ComposeError,
        services: Vec<String>,
        finish: Finish,
    },
    /// Everything was put back, and these client checks still fail.
    #[error(
        "{}\nstate: .env, the database and the recreated services hold the previous values, but the checks above fail\nto finish: {finish}",
        .problems.iter().map(|p| format!("rollback incomplete: {p}")).collect::<Vec<_>>().join("\n")
    )]
    Checks { problems: Vec<Problem>, finish: Finish },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::live::LiveCheck;

    fn finish() -> Finish {
        Finish {
            backup: ".env.20261128T194705Z".into(),
            stage: Env::Staging,
            project: "receptor-stg".into(),
        }
    }

    fn problem(message: &str) -> Problem {
        Problem::new(LiveCheck::Gateway, message)
    }

    #[test]
    fn refusals_before_a_change_name_the_project_and_what_to_run() {
        let shown = |err: RotateError, code: i32| {
            let err = Error::from(err);
            assert_eq!(err.exit_code(), code, "{err}");
            err.to_string()
        };
        assert_eq!(
            shown(
                RotateError::NoEnv {
                    project: "receptor-stg".into(),
                    stage: Env::Staging
                },
                2
            ),
            "receptor-stg/.env does not exist: lay the project out first with cargo xtask setup --env staging --project-name receptor-stg"
        );
        assert_eq!(
            shown(RotateError::SigningKeyAlone { stage: Env::Prod }, 2),
            "signing-key is rotated on its own: cargo xtask rotate signing-key --env prod"
        );
        assert_eq!(
            shown(
                RotateError::PreflightFails {
                    problems: vec![problem("gateway: a"), problem("gateway: b")],
                    stage: Env::Dev,
                    project: "receptor-dev".into()
                },
                2
            ),
            "pre-flight: the stack fails a client check before any change, so a rotation could not be judged; nothing changed. Failing: gateway: a; gateway: b. See cargo xtask verify --live --env dev --project-name receptor-dev"
        );
        assert_eq!(
            shown(
                RotateError::DatabaseStopped {
                    service: "db".into(),
                    dir: "/r/receptor-dev".into()
                },
                2
            ),
            "service db is not running, and the database must change first: start it (cd /r/receptor-dev && docker compose up -d --wait), then run again; nothing changed"
        );
        assert_eq!(
            shown(
                RotateError::Unconfirmed {
                    what: "Rotating JWT_SECRET ends every user session",
                    why: "no terminal"
                },
                3
            ),
            "Rotating JWT_SECRET ends every user session: nobody to confirm (no terminal): pass --yes to rotate without asking; nothing changed"
        );
        assert_eq!(
            shown(
                RotateError::BadState {
                    path: "p/.signing-key-rotation.json".into(),
                    line: 3,
                    what: "a signing-key rotation state",
                    category: "bad JSON"
                },
                2
            ),
            "p/.signing-key-rotation.json: line 3: not a signing-key rotation state (bad JSON); move it away to start over"
        );
        assert_eq!(
            shown(
                RotateError::NoNewValues(vec![
                    NoNewValue::InSource {
                        name: "SMTP_PASS",
                        why: Nothing::Unset {
                            name: "SMTP_PASS".into()
                        }
                    },
                    NoNewValue::NoTerminal {
                        name: "JWT_SECRET",
                        why: Nothing::Unset {
                            name: "JWT_SECRET".into()
                        },
                        no_terminal: "--non-interactive"
                    },
                ]),
                3
            ),
            "SMTP_PASS: no new value (SMTP_PASS is not set in the environment): put the new value in its source, then run again\n\
             JWT_SECRET: no new value (JWT_SECRET is not set in the environment) and no terminal to ask on (--non-interactive): put the new value in the vault and export JWT_SECRET, then run again"
        );
    }

    #[test]
    fn each_refused_variable_is_one_line() {
        let spec = catalog::find("VAULT_ENC_KEY").unwrap();
        let err = Error::refused([
            Refusal::CannotMint {
                name: "ANON_KEY_ASYMMETRIC",
                why: MintError::NoKeySet,
            },
            Refusal::Encrypting { spec },
            Refusal::InjectedKeyMismatch {
                name: "ANON_KEY",
                from: Source::Environment,
                role: Role::Anon,
            },
            Refusal::BrokenKeySet {
                name: "JWT_JWKS",
                why: SetError::WrongShape("an object"),
            },
        ]);
        assert_eq!(err.exit_code(), 2);
        let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
        assert_eq!(
            lines,
            [
                "ANON_KEY_ASYMMETRIC: JWT_KEYS is empty or broken: run cargo xtask setup first".to_string(),
                format!(
                    "VAULT_ENC_KEY encrypts stored data ({}): with a new key that data becomes unreadable; to rotate it anyway, add --i-understand-encrypted-data-becomes-unreadable",
                    spec.about
                ),
                format!(
                    "ANON_KEY {} does not verify under the new JWT_SECRET with role anon; inject the matching key, or none to have it minted",
                    crate::sources::lookup::describe(Source::Environment)
                ),
                "JWT_JWKS must be an object: its HS256 oct key cannot be rebuilt; fix it (cargo xtask setup repairs it), then rotate again"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn a_rolled_back_change_says_where_it_failed_and_where_the_env_came_from() {
        let err = Error::from(RolledBack {
            action: Action::Rotate,
            step: Step::Health,
            backup: "receptor-dev/backups/.env.20261128T194705Z".into(),
            cause: Cause::Unhealthy(vec!["auth".into(), "rest".into()]),
        });
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.to_string(),
            format!(
                "{} failed at step {} and was rolled back (the stack runs on the previous .env, restored from receptor-dev/backups/.env.20261128T194705Z): not running and healthy: auth, rest",
                Action::Rotate,
                Step::Health
            )
        );
    }

    #[test]
    fn a_failed_rollback_says_what_is_left_and_the_command_that_finishes_it() {
        let failed = |left: Unrestored| {
            let err = Error::from(RollbackFailed {
                action: Action::Rollback,
                step: Step::Check,
                cause: Cause::FailPoint,
                left,
            });
            assert_eq!(err.exit_code(), 6);
            err.to_string()
        };
        let head = format!(
            "{} failed at step {}: the check fail point failed this step (a test hook)",
            Action::Rollback,
            Step::Check
        );
        let run = "cargo xtask rotate --rollback .env.20261128T194705Z --env staging --project-name receptor-stg";
        assert_eq!(
            failed(Unrestored::Checks {
                problems: vec![problem("gateway: x"), problem("gateway: y")],
                finish: finish()
            }),
            format!(
                "{head}\nrollback incomplete: gateway: x\nrollback incomplete: gateway: y\nstate: .env, the database and the recreated services hold the previous values, but the checks above fail\nto finish: {run}"
            )
        );
        let psql = PsqlError::Unreachable {
            database: "postgres".into(),
            message: "down".into(),
        };
        let shown_psql = psql.to_string();
        assert_eq!(
            failed(Unrestored::Database {
                err: psql,
                finish: finish()
            }),
            format!(
                "{head}\nrollback failed: the database values were not restored: {shown_psql}\nstate: .env holds the previous values; the database may hold the new POSTGRES_PASSWORD or app.settings.jwt_secret; containers are as the failed step left them\nto finish: {run}"
            )
        );
        let compose = ComposeError::NotRunning { service: "auth".into() };
        let shown_compose = compose.to_string();
        assert_eq!(
            failed(Unrestored::Services {
                err: compose,
                services: vec!["kong".into(), "auth".into()],
                finish: finish()
            }),
            format!(
                "{head}\nrollback failed: the services were not recreated on the previous .env: {shown_compose}\nstate: .env and the database hold the previous values; kong, auth may run the new ones or be stopped\nto finish: {run}"
            )
        );
    }
}
