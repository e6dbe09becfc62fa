//! Dev: every missing infrastructure (Tier 1) secret is generated, every
//! sound one kept, and the API keys minted while they do not verify; the
//! asymmetric key model follows (`super::asymmetric`).

use std::collections::{BTreeMap, BTreeSet};

use super::Refusal;
use super::asymmetric;
use super::plan::{Draft, Resolution};
use crate::error::{Error, Result};
use crate::secrets::rules::Violation;
use crate::secrets::{CATALOG, Make, Secret, SecretSpec, Tier, defaults, generate, jwt, name, rules};
use crate::summary::{Action, Source};

/// Every Tier 1 secret, in catalog order: kept when sound, made when missing.
/// `read` holds the variables the project's compose files read, when known:
/// a missing secret none of them reads is reported unused, not made.
pub(super) fn fill(draft: &mut Draft, read: Option<&BTreeSet<String>>) -> Result<()> {
    let mut refused = Vec::new();
    // The asymmetric model is settled apart; a previous key belongs to an overlap, which setup leaves alone.
    let by_model = |spec: &SecretSpec| {
        (spec.is_asymmetric() && !matches!(spec.make, Make::Opaque(_))) || matches!(spec.make, Make::Previous(_))
    };
    for spec in CATALOG.iter().filter(|s| s.tier == Tier::One && !by_model(s)) {
        if spec.when_declared && !draft.declares(spec.name) {
            continue; // not part of this stack
        }
        let current = draft.get(spec.name).unwrap_or_default();
        if current.is_empty() && read.is_some_and(|read| !read.contains(spec.name)) {
            draft.decide(Resolution::new(
                spec.name,
                Some(Tier::One),
                Action::Unused,
                Source::Nothing,
                "no service of the compose files reads it",
                None,
            ))?;
            continue;
        }
        match decide(spec, &current, draft) {
            Ok(decision) => decision.apply(spec, draft)?,
            Err(why) => refused.push(Refusal::Breaks {
                at: draft.at(spec.name),
                name: spec.name,
                why,
            }),
        }
    }
    if !refused.is_empty() {
        return Err(Error::refused(refused));
    }
    // The asymmetric key model, when the stack's compose files use it.
    if read.is_none_or(|r| r.contains(name::JWT_KEYS)) {
        asymmetric::settle(draft, true, &BTreeMap::new())?;
    }
    Ok(())
}

pub(super) struct Decision {
    pub(super) action: Action,
    pub(super) source: Source,
    pub(super) note: String,
    /// The new value, when it changes.
    pub(super) value: Option<Secret>,
}

impl Decision {
    /// Decides `spec` this way in `draft`.
    pub(super) fn apply(self, spec: &SecretSpec, draft: &mut Draft) -> Result<()> {
        Ok(draft.decide(Resolution::new(
            spec.name,
            Some(spec.tier),
            self.action,
            self.source,
            self.note,
            self.value,
        ))?)
    }
}

/// A kept key that deserves a word: the row says why.
pub(super) fn kept_with(warning: &jwt::KeyWarning) -> Decision {
    Decision {
        action: Action::Kept,
        source: Source::Kept,
        note: format!("warning: {warning}; replace it with cargo xtask rotate"),
        value: None,
    }
}

fn keep() -> Decision {
    Decision {
        action: Action::Kept,
        source: Source::Kept,
        note: String::new(),
        value: None,
    }
}

/// What to do with one secret; `Err(why)` refuses the run.
fn decide(spec: &SecretSpec, current: &str, draft: &Draft) -> std::result::Result<Decision, Violation> {
    let others = |name: &str| draft.get(name);
    let is_default = defaults::is_known_default(current);
    match spec.make {
        Make::Random { .. } | Make::Opaque(_) => {
            if current.is_empty() || is_default {
                return Ok(Decision {
                    action: if is_default {
                        Action::ReplacedDefault
                    } else {
                        Action::Generated
                    },
                    source: Source::Generated,
                    note: match spec.make {
                        Make::Opaque(kind) => format!("{} key with its checksum", kind.prefix()),
                        _ => spec.rule.describe(),
                    },
                    value: generate::for_spec(spec),
                });
            }
            rules::check(spec, current, &others).map(|()| keep())
        }
        Make::Minted(role) => {
            let secret = draft.secret(name::JWT_SECRET).unwrap_or_else(Secret::empty);
            Ok(mint_unless_valid(role, current, &secret).unwrap_or_else(keep))
        }
        Make::SigningKeys | Make::PublicKeys | Make::MintedAsymmetric(_) => {
            unreachable!("the asymmetric key model is settled by super::asymmetric")
        }
        Make::Supplied if current.is_empty() => Ok(Decision {
            action: Action::LeftEmpty,
            source: Source::Nothing,
            note: "optional: empty keeps legacy HS256 mode".into(),
            value: None,
        }),
        Make::Supplied | Make::Previous(_) => Ok(keep()),
    }
}

/// A fresh key for `role` unless `current` is sound under `secret` (the one
/// judgement of [`jwt::judge`]); a sound key is kept (`None`, or a kept
/// decision carrying its warning). Shared with staging and prod, which mint the same way.
pub(super) fn mint_unless_valid(role: crate::secrets::Role, current: &str, secret: &Secret) -> Option<Decision> {
    let fault = if current.is_empty() {
        None
    } else {
        match jwt::judge(current, secret.expose(), role, jwt::now()) {
            Ok(None) => return None,
            Ok(Some(warning)) => return Some(kept_with(&warning)),
            Err(fault) => Some(fault),
        }
    };
    let (action, note) = match fault {
        None => (Action::Minted, format!("role {}, signed with JWT_SECRET", role.claim())),
        Some(jwt::KeyFault::PublishedSigner) => (
            Action::ReplacedDefault,
            "was signed with a published secret".to_string(),
        ),
        Some(fault) => (Action::Reminted, format!("the old key {fault}")),
    };
    Some(Decision {
        action,
        source: Source::Minted,
        note,
        value: Some(jwt::mint(role, secret, jwt::now())),
    })
}
