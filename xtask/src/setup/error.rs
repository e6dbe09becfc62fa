//! Why setup refuses a value or stops before writing anything: the data,
//! and the one place each message is written. Never a value: names, files
//! and lines.

use std::path::PathBuf;

use crate::envfile::At;
use crate::provenance::Origin;
use crate::secrets::asymmetric::{ApiKeyFlaw, Flaw, JWT_JWKS, JWT_KEYS};
use crate::secrets::rules::Violation;
use crate::sources::lookup::describe;
use crate::sources::{Nothing, Source};

/// A setup run stopped before it wrote anything: exit 2, or 3 for what
/// nobody supplied.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{}: no .env.example in the stack template", .template.display())]
    NoExample { template: PathBuf },
    /// A project laid out from another template, and no `--upgrade`.
    #[error(
        "{project}: its stack template came from {old}, this run's from {new}; run setup again with --upgrade to move it (modified files are kept, the new version next to each as FILE.new), or use the source it came from"
    )]
    OtherTemplate { project: String, old: Origin, new: Origin },
    #[error(
        "project name {project} is tracked by this repository: setup would write a .gitignore of `*` into {project}/; choose another --project-name"
    )]
    Tracked { project: String },
    /// `--adopt` into a project folder (`dir`, as shown) that has a `.env`.
    #[error(
        "{} already has a .env; adopt into a new project (--project-name NAME), or run setup without --adopt",
        .dir.display()
    )]
    AdoptOverEnv { dir: PathBuf },
    /// Required Tier 1 secrets nobody injected, and nobody to ask (exit 3).
    #[error(
        "missing from the environment, and no terminal to ask on ({why}): {}; inject them as environment variables (in GitLab: masked, protected CI/CD variables) and run again",
        .names.join(", ")
    )]
    Missing { names: Vec<&'static str>, why: Nothing },
    /// Staging and prod without an injected signing key set (exit 3).
    #[error("{JWT_KEYS} is not set: inject it (a masked CI/CD variable) and run again")]
    NoSigningSet,
}

/// A value setup refuses (exit 2), one line each.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Dev: a value of the `.env` that breaks its rule.
    #[error("{at}: {name} {why}; fix the value, or replace it with: cargo xtask rotate {name}")]
    Breaks { at: At, name: &'static str, why: Violation },
    /// Staging and prod: the same, on a stack that may be using it.
    #[error("{at}: {name} {why}; inject a sound value and replace it with: cargo xtask rotate {name}")]
    BreaksInUse { at: At, name: &'static str, why: Violation },
    /// An injected Tier 1 value that breaks its rule.
    #[error("{name} from the environment {why}")]
    Injected { name: &'static str, why: Violation },
    /// Injected values that differ from those of a stack in use.
    #[error(
        "{}: the injected {} {} from {} in use, which makes this a rotation: run cargo xtask rotate {}, or pass --force for a stack known to be fresh",
        .path.display(),
        .names.join(", "),
        if .names.len() == 1 { "differs" } else { "differ" },
        if .names.len() == 1 { "the one" } else { "the ones" },
        .names.join(" ")
    )]
    DisguisedRotation { path: PathBuf, names: Vec<&'static str> },
    /// A Tier 2 value from its source that a `.env` line cannot hold.
    #[error(
        "{name}: the value {} holds a line break, which a .env cannot carry; store it on one line",
        describe(*.from)
    )]
    LineBreak { name: String, from: Source },
    /// Staging and prod: a Tier 2 value from its source that is a published placeholder.
    #[error(
        "{name} {} is a published default value, known to anybody; supply the real one",
        describe(*.from)
    )]
    PublishedDefault { name: String, from: Source },
    #[error("{name} {} {why}", describe(*.from))]
    SourceBreaks { name: String, from: Source, why: Violation },
    /// Staging and prod: a published placeholder in a `.env` the operator already has.
    #[error("{at}: {name} is a published default value, known to anybody; supply the real one")]
    KeptDefault { at: At, name: String },
    #[error(
        "{at}: {JWT_KEYS} {}; fix the value (emptying it in dev generates a new signing key, and signs every user out)",
        and(.flaws)
    )]
    SigningSet { at: At, flaws: Vec<Flaw> },
    /// An injected `JWT_JWKS` that is not the public set of the injected `JWT_KEYS`.
    #[error(
        "{JWT_JWKS} from the environment {}; inject the public set of the injected {JWT_KEYS}, or none to have it derived",
        .flaw.as_ref().map(ToString::to_string).unwrap_or_default()
    )]
    PublicSet { flaw: Option<Flaw> },
    /// An injected ES256 API key that does not verify under the key model.
    #[error("{name} from the environment {flaw}; inject the matching key, or none to have it minted")]
    ApiKey { name: &'static str, flaw: ApiKeyFlaw },
    /// A variable outside the catalog that holds a published default.
    #[error("{at}: {name} is a published default value, known to anybody; replace it with a value of your own")]
    Uncatalogued { at: At, name: String },
}

fn and(flaws: &[Flaw]) -> String {
    flaws.iter().map(ToString::to_string).collect::<Vec<_>>().join(", and ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::error::Error;

    fn at(line: usize) -> At {
        At {
            path: "p/.env".into(),
            line,
        }
    }

    #[test]
    fn each_refusal_is_one_line_naming_file_line_and_variable() {
        let err = Error::refused([
            Refusal::Breaks {
                at: at(3),
                name: "POSTGRES_PASSWORD",
                why: Violation::TooShort { min: 16, got: 5 },
            },
            Refusal::DisguisedRotation {
                path: Path::new("p/.env").into(),
                names: vec!["JWT_SECRET"],
            },
            Refusal::DisguisedRotation {
                path: Path::new("p/.env").into(),
                names: vec!["JWT_SECRET", "VAULT_ENC_KEY"],
            },
            Refusal::SigningSet {
                at: at(0),
                flaws: vec![Flaw::NoSigningKey, Flaw::NoOct],
            },
            Refusal::PublicSet { flaw: None },
            Refusal::SourceBreaks {
                name: "SMTP_PASS".into(),
                from: Source::Doppler,
                why: Violation::KnownDefault,
            },
        ]);
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "p/.env:3: POSTGRES_PASSWORD must be at least 16 characters (has 5); fix the value, or replace it with: cargo xtask rotate POSTGRES_PASSWORD"
        );
        assert_eq!(
            lines[1],
            "p/.env: the injected JWT_SECRET differs from the one in use, which makes this a rotation: run cargo xtask rotate JWT_SECRET, or pass --force for a stack known to be fresh"
        );
        assert!(
            lines[2].starts_with(
                "p/.env: the injected JWT_SECRET, VAULT_ENC_KEY differ from the ones in use, which makes this a rotation: run cargo xtask rotate JWT_SECRET VAULT_ENC_KEY,"
            ),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            format!(
                "p/.env:0: JWT_KEYS {}, and {}; fix the value (emptying it in dev generates a new signing key, and signs every user out)",
                Flaw::NoSigningKey,
                Flaw::NoOct
            )
        );
        assert_eq!(
            lines[4],
            "JWT_JWKS from the environment ; inject the public set of the injected JWT_KEYS, or none to have it derived"
        );
        assert_eq!(
            lines[5],
            "SMTP_PASS from doppler is a published default value, known to anybody"
        );
    }

    #[test]
    fn nobody_supplied_is_exit_3_and_bad_input_exit_2() {
        let missing = Error::from(SetupError::Missing {
            names: vec!["JWT_SECRET", "VAULT_ENC_KEY"],
            why: Nothing::NobodyToAsk("CI is set"),
        });
        assert_eq!(missing.exit_code(), 3);
        assert_eq!(
            missing.to_string(),
            "missing from the environment, and no terminal to ask on (CI is set): JWT_SECRET, VAULT_ENC_KEY; inject them as environment variables (in GitLab: masked, protected CI/CD variables) and run again"
        );
        assert_eq!(Error::from(SetupError::NoSigningSet).exit_code(), 3);
        let tracked = Error::from(SetupError::Tracked { project: "docs".into() });
        assert_eq!(tracked.exit_code(), 2);
        assert_eq!(
            tracked.to_string(),
            "project name docs is tracked by this repository: setup would write a .gitignore of `*` into docs/; choose another --project-name"
        );
    }
}
