//! Why an API-key overlap is refused: the data, and the one place each
//! message is written. Names and times, never a key.

use crate::rotate::signing::timing;
use crate::secrets::name;
use crate::secrets::rules::Violation;

/// A request `rotate NAME --overlap` or `--stage revoke` cannot take (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum OverlapError {
    #[error(
        "{name} cannot overlap: --overlap and --stage revoke apply to {} only",
        super::pairs().map(|(of, _)| of).collect::<Vec<_>>().join(", ")
    )]
    CannotOverlap { name: String },
    #[error("name the keys: cargo xtask rotate SUPABASE_SECRET_KEY --overlap 1h")]
    NoNames,
    #[error("--no-external-verifiers and --margin belong to cargo xtask rotate signing-key only")]
    SigningFlags,
    #[error("an API-key overlap has one stage: --stage revoke (standby and switch belong to rotate signing-key)")]
    OneStage,
    #[error("--overlap starts an overlap and --stage revoke ends it: one at a time")]
    OneAtATime,
}

/// A key an overlap cannot start or end now (exit 2), one a line.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No service of the project reads `previous`: the old key would stop at once.
    #[error(
        "no service of {project}'s compose files reads {previous}, so the gateway would refuse the old key at once: pass {previous} to the kong service as docker/docker-compose.yml does, then run again; nothing changed"
    )]
    PreviousUnread { project: String, previous: &'static str },
    #[error("{name} is not set: there is no old key to keep; rotate it without --overlap")]
    NotSet { name: String },
    #[error(
        "{name} is in an overlap already ({previous} is set): end it first with cargo xtask rotate {name} --stage revoke"
    )]
    InOverlap { name: String, previous: &'static str },
    /// `JWT_SECRET` breaks its rule, so keys re-minted with it would be no safer.
    #[error(
        "{}: {why}: the re-minted keys would be no safer; rotate JWT_SECRET first (sessions end) and overlap nothing",
        name::JWT_SECRET
    )]
    WeakJwtSecret { why: Violation },
    #[error(
        "{name} has no overlap to revoke ({previous} is empty); start one with cargo xtask rotate {name} --overlap DURATION"
    )]
    NoOverlap { name: String, previous: &'static str },
    #[error(
        "revoke of {name} is not due before {}: clients still on the old key would get 401; --now revokes anyway; nothing changed",
        timing::when(*.due_at, *.now)
    )]
    NotDue { name: String, due_at: u64, now: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn each_refusal_is_one_line_naming_the_key() {
        let err = Error::refused([
            Refusal::NotSet {
                name: "SUPABASE_SECRET_KEY".into(),
            },
            Refusal::NoOverlap {
                name: "ANON_KEY".into(),
                previous: "ANON_KEY_PREVIOUS",
            },
        ]);
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "SUPABASE_SECRET_KEY is not set: there is no old key to keep; rotate it without --overlap\n\
             ANON_KEY has no overlap to revoke (ANON_KEY_PREVIOUS is empty); start one with cargo xtask rotate ANON_KEY --overlap DURATION"
        );
        let bad = OverlapError::CannotOverlap {
            name: "JWT_SECRET".into(),
        };
        assert_eq!(
            bad.to_string(),
            "JWT_SECRET cannot overlap: --overlap and --stage revoke apply to ANON_KEY, SERVICE_ROLE_KEY, SUPABASE_PUBLISHABLE_KEY, SUPABASE_SECRET_KEY only"
        );
    }
}
