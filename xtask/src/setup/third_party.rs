//! Third-party (Tier 2) secrets, taken from the sources `setup.conf`'s
//! `[secrets]` references name, and the non-secret `[settings]` literals.
//! Tier 2 values are never generated, and may change freely: they are the
//! operator's to update as services change.

use std::collections::BTreeMap;

use super::Refusal;
use super::plan::{Draft, Resolution};
use crate::config::{Env, SetupConf};
use crate::error::{self, Error, Result};
use crate::secrets::{CATALOG, Secret, Tier, catalog, defaults, rules};
use crate::sources::lookup::describe;
use crate::sources::refs::Resolved;
use crate::sources::{self, Source};
use crate::summary::Action;

/// Every Tier 2 secret (the catalog's, then any other `[secrets]` name), then
/// every setting. `resolved` holds what `setup.conf`'s references gave;
/// `fresh` says the `.env` is being made from the template right now.
pub(super) fn fill(
    draft: &mut Draft,
    conf: &SetupConf,
    which: Env,
    resolved: &BTreeMap<String, Resolved>,
    fresh: bool,
) -> Result<()> {
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

    let mut refused: Vec<error::Refusal> = Vec::new();
    for name in names {
        let current = draft.get(&name).unwrap_or_default();
        let row = |action, source, note: String, value: Option<Secret>| {
            Resolution::new(&name, Some(Tier::Two), action, source, note, value)
        };
        let emptied = || Some(Secret::empty());
        let decided = match resolved.get(&name) {
            Some(Resolved::Value(value, source)) => {
                let (from, text) = (*source, value.expose());
                if text.contains(['\n', '\r']) {
                    refused.push(Refusal::LineBreak { name, from }.into());
                    continue;
                }
                if defaults::is_known_default(text) {
                    if strict {
                        refused.push(Refusal::PublishedDefault { name, from }.into());
                        continue;
                    }
                    row(
                        Action::LeftEmpty,
                        Source::Nothing,
                        format!("the value {} is a published placeholder: left empty", describe(from)),
                        emptied(),
                    )
                } else if let Some(spec) = catalog::find(&name)
                    && let Err(why) = rules::check(spec, text, &|_| None)
                {
                    refused.push(Refusal::SourceBreaks { name, from, why }.into());
                    continue;
                } else {
                    row(
                        Action::for_value(&current, text),
                        *source,
                        String::new(),
                        Some(value.clone()),
                    )
                }
            }
            Some(Resolved::Unset(var)) if current.is_empty() => {
                row(Action::LeftEmpty, Source::Nothing, format!("${{{var}}} is unset"), None)
            }
            Some(Resolved::Unset(var)) => {
                let note = format!("${{{var}}} is unset: the value in .env is kept");
                match keep(draft, &name, strict, fresh, note) {
                    Keep::Note(note) => row(Action::Kept, Source::Kept, note, None),
                    Keep::Drop => row(Action::LeftEmpty, Source::Nothing, DROPPED.into(), emptied()),
                    Keep::Refuse(why) => {
                        refused.push(why.into());
                        continue;
                    }
                }
            }
            Some(Resolved::NotUnicode(var)) => {
                let var = var.clone();
                refused.push(sources::Refusal::ReferenceNotUnicode { name, var }.into());
                continue;
            }
            None if current.is_empty() => row(
                Action::LeftEmpty,
                Source::Nothing,
                "supplied by you: never generated".into(),
                None,
            ),
            None => match keep(draft, &name, strict, fresh, String::new()) {
                Keep::Note(note) => row(Action::Kept, Source::Kept, note, None),
                Keep::Drop => row(Action::LeftEmpty, Source::Nothing, DROPPED.into(), emptied()),
                Keep::Refuse(why) => {
                    refused.push(why.into());
                    continue;
                }
            },
        };
        draft.decide(decided)?;
    }
    if !refused.is_empty() {
        return Err(Error::Refusals(refused));
    }

    for (name, value) in conf.settings.iter() {
        let current = draft.get(name).unwrap_or_default();
        draft.decide(Resolution::new(
            name,
            None,
            Action::for_value(&current, value),
            Source::SetupConf,
            "",
            Some(Secret::new(value)),
        ))?;
    }
    Ok(())
}

const DROPPED: &str = "the template's published placeholder was dropped";

/// What to do with the value the `.env` already has.
enum Keep {
    Note(String),
    /// A published placeholder that came with the template: emptied.
    Drop,
    Refuse(Refusal),
}

/// Keeps the `.env`'s value of `name`, unless it is a published placeholder,
/// which is never kept as if it were real: dropped in dev and from a fresh
/// staging or prod `.env`, refused in one the operator already has.
fn keep(draft: &Draft, name: &str, strict: bool, fresh: bool, note: String) -> Keep {
    if !defaults::is_known_default(&draft.get(name).unwrap_or_default()) {
        Keep::Note(note)
    } else if !strict || fresh {
        Keep::Drop
    } else {
        Keep::Refuse(Refusal::KeptDefault {
            at: draft.at(name),
            name: name.to_string(),
        })
    }
}
