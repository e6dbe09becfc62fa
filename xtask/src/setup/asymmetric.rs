//! The asymmetric key model in a project's `.env`, once `JWT_SECRET` and the
//! other Tier 1 values are settled: `JWT_KEYS` (generated in dev, injected in
//! staging and prod), its public set `JWT_JWKS`, and the ES256 API keys, with
//! both `oct` keys following `JWT_SECRET`. A sound value is kept; one that no
//! longer matches is made again from the values it follows. A legacy project
//! (no `JWT_KEYS`) gains the whole model with none of its keys changed.

use std::collections::BTreeMap;

use super::plan::{Draft, Resolution};
use super::{Refusal, SetupError};
use crate::error::{Error, Result};
use crate::secrets::asymmetric::{self, JWT_JWKS, JWT_KEYS};
use crate::secrets::jwk::{KeySet, Shape};
use crate::secrets::name::JWT_SECRET;
use crate::secrets::{CATALOG, Make, Secret, Tier, defaults, es256, jwt};
use crate::summary::{Action, Source};

/// Settles `JWT_KEYS`, `JWT_JWKS` and the ES256 API keys in `draft`, updating
/// or adding their rows. `generate`: dev, where a missing `JWT_KEYS` is made;
/// `injected`: derived values injected in staging and prod, which must match.
pub(super) fn settle(draft: &mut Draft, generate: bool, injected: &BTreeMap<&'static str, Secret>) -> Result<()> {
    let mut refused = Vec::new();
    let secret = draft.secret(JWT_SECRET).unwrap_or_else(Secret::empty);

    // 1. The signing set: kept when sound, its oct key rebuilt when JWT_SECRET moved.
    let current = draft.get(JWT_KEYS).unwrap_or_default();
    let mut keys = if current.is_empty() {
        if !generate {
            return Err(SetupError::NoSigningSet.into());
        }
        let keys = KeySet::new_signing_set(&secret);
        put(
            draft,
            JWT_KEYS,
            Action::Generated,
            Source::Generated,
            "EC P-256 signing key (ES256) with a new kid, and the HS256 oct key of JWT_SECRET",
            Some(keys.render(Shape::Array)),
        )?;
        keys
    } else {
        let (parsed, flaws) = asymmetric::signing_set(&current);
        match parsed {
            Some(keys) if flaws.is_empty() => keys,
            _ => {
                let at = draft.at(JWT_KEYS);
                return Err(Error::refused([Refusal::SigningSet { at, flaws }]));
            }
        }
    };
    if !keys.octs_hold(&secret) {
        keys.set_oct(&secret);
        put(
            draft,
            JWT_KEYS,
            Action::Rebuilt,
            Source::Minted,
            "its HS256 oct key now holds JWT_SECRET; the signing key is kept",
            Some(keys.render(Shape::Array)),
        )?;
    } else if position(draft, JWT_KEYS).is_none() {
        put(draft, JWT_KEYS, Action::Kept, Source::Kept, "", None)?;
    }

    // 2. The public set: injected and matching, kept when sound, else derived.
    let expected = keys.public_set();
    let jwks = match injected.get(JWT_JWKS) {
        Some(given) => match asymmetric::public_set(given.expose(), Some(&keys)) {
            (Some(mut given_set), flaws) if flaws.is_empty() => {
                let rebuilt = !given_set.octs_hold(&secret);
                given_set.set_oct(&secret);
                let value = if rebuilt {
                    given_set.render(Shape::Jwks)
                } else {
                    given.expose().to_string()
                };
                let before = draft.get(JWT_JWKS).unwrap_or_default();
                let note = if rebuilt {
                    "its HS256 oct key now holds JWT_SECRET"
                } else {
                    ""
                };
                put(
                    draft,
                    JWT_JWKS,
                    Action::for_value(&before, &value),
                    Source::Environment,
                    note,
                    Some(value),
                )?;
                given_set
            }
            (_, flaws) => {
                let flaw = flaws.into_iter().next();
                refused.push(Refusal::PublicSet { flaw });
                expected
            }
        },
        None => {
            let current = draft.get(JWT_JWKS).unwrap_or_default();
            let (parsed, flaws) = if current.is_empty() {
                (None, Vec::new())
            } else {
                asymmetric::public_set(&current, Some(&keys))
            };
            match parsed {
                Some(set) if flaws.is_empty() && set.octs_hold(&secret) => {
                    put(draft, JWT_JWKS, Action::Kept, Source::Kept, "", None)?;
                    set
                }
                Some(mut set) if flaws.is_empty() => {
                    set.set_oct(&secret);
                    put(
                        draft,
                        JWT_JWKS,
                        Action::Rebuilt,
                        Source::Minted,
                        "its HS256 oct key now holds JWT_SECRET",
                        Some(set.render(Shape::Jwks)),
                    )?;
                    set
                }
                _ => {
                    let (action, note) = if current.is_empty() {
                        (Action::Derived, "the public part of JWT_KEYS")
                    } else {
                        (Action::Rebuilt, "did not match JWT_KEYS: derived from it again")
                    };
                    put(
                        draft,
                        JWT_JWKS,
                        action,
                        Source::Minted,
                        note,
                        Some(expected.render(Shape::Jwks)),
                    )?;
                    expected
                }
            }
        }
    };

    // 3. The ES256 API keys: injected and verifying, kept when sound, else minted.
    let signer = keys
        .signing_key()
        .expect("a flawless signing set has one signing key")
        .clone();
    for spec in CATALOG {
        let Make::MintedAsymmetric(role) = spec.make else {
            continue;
        };
        let sound = |token: &str| {
            !token.is_empty()
                && !defaults::is_known_default(token)
                && asymmetric::api_key(token, role, &jwks, Some(&keys)).is_ok()
        };
        if let Some(given) = injected.get(spec.name) {
            if let Err(flaw) = asymmetric::api_key(given.expose(), role, &jwks, Some(&keys)) {
                refused.push(Refusal::ApiKey { name: spec.name, flaw });
                continue;
            }
            let before = draft.get(spec.name).unwrap_or_default();
            put(
                draft,
                spec.name,
                Action::for_value(&before, given.expose()),
                Source::Environment,
                "",
                Some(given.expose().to_string()),
            )?;
            continue;
        }
        let current = draft.get(spec.name).unwrap_or_default();
        if sound(&current) {
            put(draft, spec.name, Action::Kept, Source::Kept, "", None)?;
            continue;
        }
        let token = es256::mint(role, &signer, jwt::now()).expect("a sound signing key signs");
        let (action, note) = if current.is_empty() {
            (
                Action::Minted,
                format!("role {}, ES256, signed with the key of JWT_KEYS", role.claim()),
            )
        } else {
            (
                Action::Reminted,
                "did not verify under JWT_JWKS with the signing key's kid and its role".to_string(),
            )
        };
        put(
            draft,
            spec.name,
            action,
            Source::Minted,
            &note,
            Some(token.expose().to_string()),
        )?;
    }
    if !refused.is_empty() {
        return Err(Error::refused(refused));
    }
    Ok(())
}

/// Decides `name`, in the place of a decision already made for it.
fn put(
    draft: &mut Draft,
    name: &str,
    mut action: Action,
    mut source: Source,
    note: &str,
    value: Option<String>,
) -> Result<()> {
    let at = position(draft, name);
    let existing = at.map(|at| &draft.decisions()[at]);
    if let Some(existing) = existing.map(|e| &e.row)
        && action == Action::Rebuilt
        && existing.action.changes_file()
    {
        // A value set from a source and then rebuilt keeps its source.
        (action, source) = (existing.action, existing.source);
    }
    // No new value leaves the one decided before.
    let value = value
        .map(Secret::new)
        .or_else(|| existing.and_then(|e| e.value.clone()));
    let resolution = Resolution::new(name, Some(Tier::One), action, source, note, value);
    match at {
        Some(at) => draft.replace(at, resolution)?,
        None => draft.decide(resolution)?,
    }
    Ok(())
}

fn position(draft: &Draft, name: &str) -> Option<usize> {
    draft.decisions().iter().position(|r| r.row.name == name)
}
