//! Third-party (Tier 2) secrets, taken from the sources `setup.conf`'s
//! `[secrets]` references name, and the non-secret `[settings]` literals.
//! Tier 2 values are never generated, and may change freely: they are the
//! operator's to update as services change.

use crate::config::{Env, SetupConf};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::secrets::{CATALOG, Tier, catalog, defaults, rules};
use std::collections::BTreeMap;

use crate::sources::Source;
use crate::sources::lookup::describe;
use crate::sources::refs::Resolved;
use crate::summary::{Action, Row};

/// Every Tier 2 secret (the catalog's, then any other `[secrets]` name), then
/// every setting. `resolved` holds what `setup.conf`'s references gave;
/// `fresh` says the `.env` is being made from the template right now.
pub(super) fn fill(
    env: &mut EnvFile,
    conf: &SetupConf,
    which: Env,
    resolved: &BTreeMap<String, Resolved>,
    fresh: bool,
) -> Result<Vec<Row>> {
    // Staging and prod refuse published placeholders; dev only points them out.
    let strict = !which.generates_secrets();
    let mut names: Vec<String> = CATALOG
        .iter()
        .filter(|s| s.tier == Tier::Two)
        .map(|s| s.name.to_string())
        .collect();
    names.extend(
        conf.secrets
            .names()
            .filter(|n| catalog::find(n).is_none())
            .map(String::from),
    );

    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for name in names {
        let current = env.get(&name).unwrap_or_default();
        let mut row = |action, source, note: String| {
            rows.push(Row {
                name: name.clone(),
                tier: Some(Tier::Two),
                action,
                source,
                note,
            })
        };
        match resolved.get(&name) {
            Some(Resolved::Value(value, source)) => {
                let from = describe(*source);
                let value = value.expose();
                if value.contains(['\n', '\r']) {
                    refused.push(format!(
                        "{name}: the value {from} holds a line break, which a .env cannot carry; store it on one line"
                    ));
                    continue;
                }
                if defaults::is_known_default(value) {
                    if strict {
                        refused.push(format!(
                            "{name} {from} is a published default value, known to anybody; supply the real one"
                        ));
                        continue;
                    }
                    env.set(&name, "")?;
                    row(
                        Action::LeftEmpty,
                        Source::Nothing,
                        format!("the value {from} is a published placeholder: left empty"),
                    );
                    continue;
                } else if let Some(spec) = catalog::find(&name)
                    && let Err(why) = rules::check(spec, value, &|_| None)
                {
                    refused.push(format!("{name} {from} {why}"));
                    continue;
                }
                env.set(&name, value)?;
                row(Action::for_value(&current, value), *source, String::new());
            }
            Some(Resolved::Unset(var)) if current.is_empty() => {
                row(Action::LeftEmpty, Source::Nothing, format!("${{{var}}} is unset"));
            }
            Some(Resolved::Unset(var)) => {
                let note = format!("${{{var}}} is unset: the value in .env is kept");
                match keep(env, &name, strict, fresh, note) {
                    Keep::Note(note) => row(Action::Kept, Source::Kept, note),
                    Keep::Drop => {
                        env.set(&name, "")?;
                        row(Action::LeftEmpty, Source::Nothing, DROPPED.into());
                    }
                    Keep::Refuse(why) => refused.push(why),
                }
            }
            Some(Resolved::NotUnicode(var)) => {
                refused.push(format!("{name}: environment variable {var} is not valid UTF-8"));
            }
            None if current.is_empty() => {
                row(
                    Action::LeftEmpty,
                    Source::Nothing,
                    "supplied by you: never generated".into(),
                );
            }
            None => match keep(env, &name, strict, fresh, String::new()) {
                Keep::Note(note) => row(Action::Kept, Source::Kept, note),
                Keep::Drop => {
                    env.set(&name, "")?;
                    row(Action::LeftEmpty, Source::Nothing, DROPPED.into());
                }
                Keep::Refuse(why) => refused.push(why),
            },
        }
    }
    if !refused.is_empty() {
        return Err(Error::Refused(refused));
    }

    for (name, value) in conf.settings.iter() {
        let current = env.get(name).unwrap_or_default();
        env.set(name, value)?;
        rows.push(Row {
            name: name.to_string(),
            tier: None,
            action: Action::for_value(&current, value),
            source: Source::SetupConf,
            note: String::new(),
        });
    }
    Ok(rows)
}

const DROPPED: &str = "the template's published placeholder was dropped";

/// What to do with the value the `.env` already has.
enum Keep {
    Note(String),
    /// A published placeholder that came with the template: emptied.
    Drop,
    Refuse(String),
}

/// Keeps the `.env`'s value of `name`, unless it is a published placeholder,
/// which is never kept as if it were real: dropped in dev and from a fresh
/// staging or prod `.env`, refused in one the operator already has.
fn keep(env: &EnvFile, name: &str, strict: bool, fresh: bool, note: String) -> Keep {
    if !defaults::is_known_default(&env.get(name).unwrap_or_default()) {
        Keep::Note(note)
    } else if !strict || fresh {
        Keep::Drop
    } else {
        let line = env.line_of(name).unwrap_or(0);
        Keep::Refuse(format!(
            "{}:{line}: {name} is a published default value, known to anybody; supply the real one",
            env.path().display()
        ))
    }
}
