//! Why a stage of a signing-key rotation is refused: the data, and the one
//! place each message is written. Key ids and times, never a key.

use std::path::PathBuf;

use crate::envfile::At;

use super::plan::LEGACY_RETIRE;
use super::sets::SetsError;
use super::timing::{self, NotSeconds, Stage};

/// A stage refused before anything changed (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{at}: {why}")]
    JwtExpiry { at: At, why: NotSeconds },
    #[error(
        "nothing to revoke: the old key of this rotation is the legacy HS256 key, which stays verify-only while ANON_KEY and SERVICE_ROLE_KEY are in use. {}",
        LEGACY_RETIRE.join(" ")
    )]
    LegacyStaysVerifying,
    /// A standby asked for while a rotation is under way.
    #[error(
        "a signing-key rotation is under way (its next stage is {}, due {}): finish it first",
        .next.name(),
        timing::when(*.due_at, *.now)
    )]
    UnderWay { next: Stage, due_at: u64, now: u64 },
    #[error("{} needs a standby first: run --stage standby", .wanted.name())]
    NeedsStandby { wanted: Stage },
    #[error(
        "{} comes after {next}: run --stage {next} first (due {})",
        .wanted.name(),
        timing::when(*.due_at, *.now),
        next = .next.name()
    )]
    OutOfOrder {
        wanted: Stage,
        next: Stage,
        due_at: u64,
        now: u64,
    },
    #[error(
        "{} is not due before {}{}; nothing changed",
        .stage.name(),
        timing::when(*.due_at, *.now),
        early_hint(*.stage)
    )]
    NotDue { stage: Stage, due_at: u64, now: u64 },
    #[error("no signing-key rotation is under way")]
    NoRotation,
    #[error("the rotation's state names no new key: run --stage standby")]
    NoNewKey,
    #[error("the old key is the legacy HS256 key: nothing to revoke")]
    RevokeLegacy,
    /// The key sets of `.env` (at `env`) do not allow the stage.
    #[error("{}: {why}; nothing changed", .env.display())]
    Sets { env: PathBuf, why: SetsError },
}

/// How a stage that is not due yet can run now anyway.
fn early_hint(stage: Stage) -> &'static str {
    match stage {
        Stage::Switch => "; if no service outside this stack caches the JWKS, --no-external-verifiers switches now",
        _ => "; --now revokes anyway (tokens signed by the old key stop working)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn stages_out_of_turn_are_refused_in_one_line() {
        let shown = |err: SigningError| {
            let err = Error::from(err);
            assert_eq!(err.exit_code(), 2);
            err.to_string()
        };
        let now = 1_800_000_000;
        let due_at = now + 600;
        let due = timing::when(due_at, now);
        assert_eq!(
            shown(SigningError::NotDue {
                stage: Stage::Switch,
                due_at,
                now
            }),
            format!(
                "switch is not due before {due}; if no service outside this stack caches the JWKS, --no-external-verifiers switches now; nothing changed"
            )
        );
        assert_eq!(
            shown(SigningError::NotDue {
                stage: Stage::Revoke,
                due_at,
                now
            }),
            format!(
                "revoke is not due before {due}; --now revokes anyway (tokens signed by the old key stop working); nothing changed"
            )
        );
        assert_eq!(
            shown(SigningError::OutOfOrder {
                wanted: Stage::Revoke,
                next: Stage::Switch,
                due_at,
                now
            }),
            format!("revoke comes after switch: run --stage switch first (due {due})")
        );
        assert_eq!(
            shown(SigningError::UnderWay {
                next: Stage::Switch,
                due_at,
                now
            }),
            format!("a signing-key rotation is under way (its next stage is switch, due {due}): finish it first")
        );
        assert_eq!(
            shown(SigningError::JwtExpiry {
                at: At {
                    path: "receptor-dev/.env".into(),
                    line: 7
                },
                why: NotSeconds
            }),
            "receptor-dev/.env:7: JWT_EXPIRY is not a number of seconds"
        );
        assert_eq!(
            shown(SigningError::Sets {
                env: "receptor-dev/.env".into(),
                why: SetsError::NoPrivatePart("b1".into())
            }),
            "receptor-dev/.env: key b1 of JWT_KEYS lacks its private part; nothing changed"
        );
    }
}
