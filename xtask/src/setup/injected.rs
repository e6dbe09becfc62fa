//! Staging and prod: every Tier 1 value is injected through the process
//! environment under its own name, or typed at a prompt; none is ever
//! generated. `ANON_KEY` and `SERVICE_ROLE_KEY` must verify under the
//! injected `JWT_SECRET` when they are injected too, and are minted from it
//! when they are not; `JWT_JWKS` and the ES256 API keys likewise follow the
//! injected `JWT_KEYS` (`super::asymmetric`).

use std::collections::{BTreeMap, BTreeSet};

type Read = BTreeSet<String>;

use super::generated::{Decision, mint_unless_valid};
use super::plan::{Draft, Resolution};
use super::{Options, Refusal, SetupError, asymmetric, guard};
use crate::envfile::EnvFile;
use crate::error::{self, Error, Result};
use crate::secrets::{CATALOG, Make, Secret, SecretSpec, Tier, catalog, defaults, jwt, name, rules};
use crate::sources::lookup::{Found, Sources};
use crate::sources::prompt::PromptError;
use crate::sources::{Nothing, Source};
use crate::summary::Action;

/// What can be decided without a terminal.
struct Plan {
    /// Values that are settled: injected, or kept from the `.env`.
    values: BTreeMap<&'static str, (Secret, Source)>,
    /// `ANON_KEY` / `SERVICE_ROLE_KEY` as injected; checked once `JWT_SECRET` is known.
    keys: BTreeMap<&'static str, Secret>,
    /// Required values nobody supplied, in catalog order.
    missing: Vec<&'static SecretSpec>,
    refused: Vec<error::Refusal>,
    /// Injected values that differ from the ones a stack in use has.
    changed: Vec<&'static str>,
}

impl Plan {
    /// The settled values as text, to judge one value with the others as they will be.
    fn settled(&self) -> BTreeMap<&'static str, String> {
        self.values
            .iter()
            .map(|(name, (value, _))| (*name, value.expose().to_string()))
            .collect()
    }
}

fn tier_one() -> impl Iterator<Item = &'static SecretSpec> {
    // A previous key belongs to an overlap of `rotate --overlap`, never injected.
    CATALOG
        .iter()
        .filter(|s| s.tier == Tier::One && !matches!(s.make, Make::Previous(_)))
}

/// `read` holds the variables the project's compose files read, when known:
/// a secret none of them reads is not asked for.
fn plan(env: &EnvFile, in_use: bool, sources: &mut Sources<'_>, force: bool, read: Option<&Read>) -> Plan {
    let mut plan = Plan {
        values: BTreeMap::new(),
        keys: BTreeMap::new(),
        missing: Vec::new(),
        refused: Vec::new(),
        changed: Vec::new(),
    };
    for spec in tier_one() {
        let current = env.get(spec.name).unwrap_or_default();
        let found = match sources.look_up(spec) {
            Ok(found) => found,
            Err(Error::Refusals(mut lines)) => {
                plan.refused.append(&mut lines);
                continue;
            }
            Err(other) => {
                plan.refused.push(other.into());
                continue;
            }
        };
        if spec.when_declared && env.line_of(spec.name).is_none() && matches!(found, Found::Nothing(_)) {
            continue; // not part of this stack
        }
        match found {
            Found::Value(value, source) => {
                // A key set whose oct key follows JWT_SECRET is compared without it.
                if in_use && !current.is_empty() && !asymmetric_same(spec, &current, value.expose()) {
                    plan.changed.push(spec.name);
                }
                if spec.is_derived() {
                    plan.keys.insert(spec.name, value);
                } else {
                    plan.values.insert(spec.name, (value, source));
                }
            }
            Found::Nothing(_) => match spec.make {
                _ if spec.is_derived() => {}
                _ if spec.is_primary() && current.is_empty() && read.is_some_and(|r| !r.contains(spec.name)) => {}
                _ if spec.is_primary() && current.is_empty() => plan.missing.push(spec),
                _ if current.is_empty() => {}
                _ => {
                    plan.values.insert(spec.name, (Secret::new(current), Source::Kept));
                }
            },
        }
    }
    // Each settled value against its rule, with the others as they will be.
    let settled = plan.settled();
    let others = |name: &str| settled.get(name).cloned();
    for (name, (value, source)) in plan.values.clone() {
        let spec = catalog::find(name).expect("a catalog name");
        let Err(why) = rules::check(spec, value.expose(), &others) else {
            continue;
        };
        match source {
            Source::Kept if !in_use || force => {
                // A fresh stack, or one known to be: ask for a sound value instead.
                plan.values.remove(name);
                plan.missing.push(spec);
            }
            Source::Kept => plan.refused.push(
                Refusal::BreaksInUse {
                    at: env.at(name),
                    name,
                    why,
                }
                .into(),
            ),
            _ => plan.refused.push(Refusal::Injected { name, why }.into()),
        }
    }
    plan.missing
        .sort_by_key(|spec| CATALOG.iter().position(|s| s.name == spec.name));
    plan
}

/// The injected keys that do not verify under `jwt_secret` with their role.
fn check_keys(keys: &BTreeMap<&'static str, Secret>, jwt_secret: &Secret) -> Vec<Refusal> {
    let secret = |name: &str| (name == name::JWT_SECRET).then(|| jwt_secret.expose().to_string());
    keys.iter()
        .filter_map(|(name, key)| {
            let spec = catalog::find(name).expect("a catalog name");
            if spec.is_asymmetric() {
                return None;
            }
            rules::check(spec, key.expose(), &secret)
                .err()
                .map(|why| Refusal::Injected { name, why })
        })
        .collect()
}

fn missing_error(missing: &[&SecretSpec], why: Nothing) -> Error {
    SetupError::Missing {
        names: missing.iter().map(|s| s.name).collect(),
        why,
    }
    .into()
}

/// The checks that need neither a terminal nor a lock, run before anything
/// is written: refused values (exit 2), a rotation in disguise (exit 2),
/// missing values with nobody to ask (exit 3), injected keys that do not verify.
pub(super) fn preflight(
    env: &EnvFile,
    in_use: bool,
    sources: &mut Sources<'_>,
    options: &Options,
    read: Option<&Read>,
) -> Result<()> {
    let mut plan = plan(env, in_use, sources, options.force, read);
    settled_checks(&mut plan, env, options)?;
    if !plan.missing.is_empty() {
        return sources
            .can_prompt()
            .map_err(|why| missing_error(&plan.missing, Nothing::NobodyToAsk(why)));
    }
    match plan.values.get(name::JWT_SECRET) {
        Some((secret, _)) => {
            refused(check_keys(&plan.keys, secret))?;
            // The asymmetric model as it will be, settled on a draft of its own:
            // only the values count here, not how the rows put them.
            let mut draft = Draft::new(env.clone());
            for (name, (value, source)) in &plan.values {
                let settled = Resolution::new(name, Some(Tier::One), Action::Set, *source, "", Some(value.clone()));
                draft.decide(settled)?;
            }
            if read.is_none_or(|r| r.contains(name::JWT_KEYS)) {
                asymmetric::settle(&mut draft, false, &plan.keys)
            } else {
                Ok(())
            }
        }
        None => Ok(()),
    }
}

fn settled_checks(plan: &mut Plan, env: &EnvFile, options: &Options) -> Result<()> {
    refused(std::mem::take(&mut plan.refused))?;
    guard::refuse_disguised_rotation(env.path(), &plan.changed, options.force)
}

fn refused<R: Into<error::Refusal>>(lines: Vec<R>) -> Result<()> {
    if lines.is_empty() {
        Ok(())
    } else {
        Err(Error::refused(lines))
    }
}

/// Every Tier 1 secret of the draft, in catalog order: injected, kept, typed or minted.
pub(super) fn fill(
    draft: &mut Draft,
    in_use: bool,
    sources: &mut Sources<'_>,
    options: &Options,
    read: Option<&Read>,
) -> Result<()> {
    let mut plan = plan(draft.file(), in_use, sources, options.force, read);
    settled_checks(&mut plan, draft.file(), options)?;
    for spec in plan.missing.clone() {
        let settled = plan.settled();
        let others = |name: &str| settled.get(name).cloned();
        let check = |value: &str| Ok(rules::check(spec, value, &others)?);
        match sources.ask(spec, &check) {
            Ok(Found::Value(value, source)) => {
                plan.values.insert(spec.name, (value, source));
            }
            Ok(Found::Nothing(why)) => return Err(missing_error(&plan.missing, why)),
            Err(Error::Prompt(PromptError::NoTerminal)) => {
                let why = Nothing::NobodyToAsk("no controlling terminal");
                return Err(missing_error(&plan.missing, why));
            }
            Err(other) => return Err(other),
        }
    }
    let jwt_secret = plan
        .values
        .get(name::JWT_SECRET)
        .map(|(secret, _)| secret.clone())
        .expect("JWT_SECRET is injected, kept or typed by now");
    refused(check_keys(&plan.keys, &jwt_secret))?;

    for spec in tier_one().filter(|spec| !(spec.is_asymmetric() && spec.is_derived())) {
        let current = draft.get(spec.name).unwrap_or_default();
        if spec.when_declared && !draft.declares(spec.name) && !plan.values.contains_key(spec.name) {
            continue; // not part of this stack
        }
        let (action, source, note, value) = match spec.make {
            Make::Minted(role) => match plan.keys.get(spec.name) {
                Some(key) => (
                    changed(&current, key),
                    Source::Environment,
                    match jwt::judge(key.expose(), jwt_secret.expose(), role, jwt::now()) {
                        Ok(Some(warning)) => format!("warning: {warning}"),
                        _ => String::new(),
                    },
                    Some(key.clone()),
                ),
                None => match mint_unless_valid(role, &current, &jwt_secret) {
                    Some(d) => (d.action, d.source, d.note, d.value),
                    None => (Action::Kept, Source::Kept, String::new(), None),
                },
            },
            _ => match plan.values.get(spec.name) {
                Some((_, Source::Kept)) => (Action::Kept, Source::Kept, String::new(), None),
                Some((value, _))
                    if spec.make == Make::SigningKeys
                        && !current.is_empty()
                        && asymmetric_same(spec, &current, value.expose()) =>
                {
                    // The injected signing set, apart from an oct key that follows JWT_SECRET.
                    (Action::Kept, Source::Kept, String::new(), None)
                }
                Some((value, source)) => (changed(&current, value), *source, String::new(), Some(value.clone())),
                None if read.is_some_and(|r| !r.contains(spec.name)) => (
                    Action::Unused,
                    Source::Nothing,
                    "no service of the compose files reads it".into(),
                    None,
                ),
                None => (
                    Action::LeftEmpty,
                    Source::Nothing,
                    "optional: empty keeps legacy HS256 mode".into(),
                    None,
                ),
            },
        };
        Decision {
            action,
            source,
            note,
            value,
        }
        .apply(spec, draft)?;
    }
    // The asymmetric key model, when the stack's compose files use it.
    if read.is_none_or(|r| r.contains(name::JWT_KEYS)) {
        asymmetric::settle(draft, false, &plan.keys)?;
    }
    Ok(())
}

fn asymmetric_same(spec: &SecretSpec, current: &str, injected: &str) -> bool {
    crate::secrets::asymmetric::same_apart_from_oct(spec, current, injected)
}

/// What writing `new` over `current` is.
fn changed(current: &str, new: &Secret) -> Action {
    if !current.is_empty() && current != new.expose() && defaults::is_known_default(current) {
        Action::ReplacedDefault
    } else {
        Action::for_value(current, new.expose())
    }
}
