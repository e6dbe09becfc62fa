//! The plan of one stage: the new `.env` (key sets edited, API keys
//! re-minted at the switch), the variables that change, the services to
//! recreate and the tokens to check, and the lines that describe it without
//! a value.

use crate::compose::Consumers;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::live::tokens::{self, Named, Signer, TokenCheck};
use crate::secrets::asymmetric::Flaw;
use crate::secrets::jwk::Jwk;
use crate::secrets::{Role, Secret, es256, jwt};

use super::error::SigningError;
use super::sets::{OldKey, Sets, SetsError};
use super::state::{Running, State};
use super::timing::Stage;

use crate::secrets::name::{
    ANON_KEY_ASYMMETRIC as ANON_ASYMMETRIC, JWT_JWKS, JWT_KEYS, JWT_SECRET,
    SERVICE_ROLE_KEY_ASYMMETRIC as SERVICE_ASYMMETRIC,
};

/// What remains once a legacy project's switch is done, and how to retire it.
pub const LEGACY_RETIRE: &[&str] = &[
    "What remains of the legacy HS256 key (JWT_SECRET), and how to retire it:",
    "1. Clients still send ANON_KEY / SERVICE_ROLE_KEY (HS256): give them SUPABASE_PUBLISHABLE_KEY / SUPABASE_SECRET_KEY instead (cargo xtask rotate SUPABASE_PUBLISHABLE_KEY SUPABASE_SECRET_KEY when those are empty); Kong sends the ES256 keys for them.",
    "2. Sessions signed with JWT_SECRET before the switch expire JWT_EXPIRY after it; until then they keep working.",
    "3. When no client sends the legacy keys any more and JWT_EXPIRY plus a margin has passed since the switch, cargo xtask rotate JWT_SECRET retires the old secret: no session is HS256 by then, so nobody is logged out; only the unused legacy API keys stop working.",
];

/// One stage, planned.
pub struct StagePlan {
    pub stage: Stage,
    pub old: OldKey,
    pub new_kid: String,
    pub after: EnvFile,
    /// The variables whose values change.
    pub names: Vec<String>,
    pub tokens: TokenCheck,
    /// What the stage does to each variable.
    notes: Vec<String>,
}

/// The old key of `state`.
pub fn old_of(state: Option<&State>) -> Result<OldKey> {
    let state = state.ok_or(SigningError::NoRotation)?;
    Ok(match &state.old_kid {
        Some(kid) => OldKey::Ec(kid.clone()),
        None => OldKey::Legacy,
    })
}

/// The key ids a state names, for the audit log (old first).
pub fn kids(state: &State) -> Vec<String> {
    state.old_kid.iter().chain(&state.new_kid).cloned().collect()
}

fn refused(why: SetsError, env: &EnvFile) -> Error {
    SigningError::Sets {
        env: env.path().to_path_buf(),
        why,
    }
    .into()
}

impl StagePlan {
    /// Plans `stage` on `env`, for the rotation `state` (standby starts a new one).
    pub fn make(stage: Stage, env: &EnvFile, state: Option<&State>) -> Result<StagePlan> {
        let value = |name: &str| env.get(name).unwrap_or_default();
        let before = Sets::parse(&value(JWT_KEYS), &value(JWT_JWKS)).map_err(|e| refused(e, env))?;
        let jwt_secret = Secret::new(value(JWT_SECRET));
        let mut sets = before.clone();
        let mut after = env.clone();
        let mut notes = Vec::new();
        let (old, new_kid, new_key) = match stage {
            Stage::Standby => {
                let old = before.old_key().map_err(|e| refused(e, env))?;
                if old == OldKey::Legacy && jwt_secret.is_empty() {
                    return Err(refused(SetsError::NoSecretToSignWith, env));
                }
                let new = Jwk::generate_es256();
                sets.standby(&new, &jwt_secret).map_err(|e| refused(e, env))?;
                let kid = new.kid.clone().expect("a generated key has a kid");
                notes.push(format!("{JWT_KEYS}: new key B (ES256) added with key_ops [\"verify\"]"));
                if old == OldKey::Legacy {
                    notes.push(format!(
                        "{JWT_KEYS}: the legacy HS256 oct key (JWT_SECRET) signs until the switch (key_ops [\"sign\",\"verify\"])"
                    ));
                }
                notes.push(format!("{JWT_JWKS}: B's public key added"));
                (old, kid.clone(), sets.find_private(&kid).cloned())
            }
            Stage::Switch | Stage::Revoke => {
                let old = old_of(state)?;
                let kid = state.and_then(|s| s.new_kid.clone()).ok_or(SigningError::NoNewKey)?;
                if stage == Stage::Switch {
                    sets.switch(&kid).map_err(|e| refused(e, env))?;
                    notes.push(format!(
                        "{JWT_KEYS}: B gets key_ops [\"sign\",\"verify\"]; {} keeps [\"verify\"]",
                        old.phrase()
                    ));
                } else {
                    let a = old.kid().ok_or(SigningError::RevokeLegacy)?;
                    sets.revoke(a, &kid).map_err(|e| refused(e, env))?;
                    notes.push(format!("{JWT_KEYS}, {JWT_JWKS}: {} removed", old.phrase()));
                }
                (old, kid.clone(), sets.find_private(&kid).cloned())
            }
        };
        let new_key = new_key.ok_or_else(|| refused(SetsError::NoPrivatePart(new_kid.clone()), env))?;

        // No flaw the sets did not have before (a legacy standby signs with its oct key on purpose).
        let had = before.flaws();
        let allowed = |flaw: &Flaw| {
            had.contains(flaw)
                || (stage == Stage::Standby && old == OldKey::Legacy && *flaw == Flaw::SigningKeyNotEs256)
        };
        if let Some(flaw) = sets.flaws().into_iter().find(|f| !allowed(f)) {
            return Err(refused(SetsError::WouldLeave { stage, flaw }, env));
        }
        let set = |after: &mut EnvFile, name: &str, text: &str| after.set(name, text).map_err(Error::Env);
        set(&mut after, JWT_KEYS, &sets.render_keys())?;
        set(&mut after, JWT_JWKS, &sets.render_jwks())?;
        if stage == Stage::Switch {
            let iat = jwt::now();
            for (name, role) in [(ANON_ASYMMETRIC, Role::Anon), (SERVICE_ASYMMETRIC, Role::ServiceRole)] {
                let key = es256::mint(role, &new_key, iat).ok_or_else(|| refused(SetsError::NewKeyCannotSign, env))?;
                set(&mut after, name, key.expose())?;
            }
            notes.push(format!("{ANON_ASYMMETRIC}, {SERVICE_ASYMMETRIC}: re-minted with B"));
        }
        let names: Vec<String> = [JWT_KEYS, JWT_JWKS, ANON_ASYMMETRIC, SERVICE_ASYMMETRIC]
            .into_iter()
            .filter(|n| env.get(n) != after.get(n))
            .map(String::from)
            .collect();

        let a = match &old {
            OldKey::Legacy => Some(Signer::Hs256(jwt_secret.clone())),
            OldKey::Ec(kid) => before.find_private(kid).map(|k| Signer::Es256(Box::new(k.clone()))),
        };
        let label_a = format!("A ({})", old.phrase());
        let named_a = a.map(|signer| Named {
            label: label_a.clone(),
            signer,
        });
        let named_b = Named {
            label: format!("B (key {new_kid})"),
            signer: Signer::Es256(Box::new(new_key)),
        };
        let tokens = match stage {
            Stage::Revoke => TokenCheck {
                accepted: vec![named_b],
                refused: named_a.into_iter().collect(),
            },
            _ => TokenCheck {
                accepted: named_a.into_iter().chain([named_b]).collect(),
                refused: Vec::new(),
            },
        };
        Ok(StagePlan {
            stage,
            old,
            new_kid,
            after,
            names,
            tokens,
            notes,
        })
    }

    /// The services to recreate, in two groups: at standby the verifiers
    /// first and then those that read `JWT_KEYS` (auth); else one group.
    pub fn services(&self, consumers: &Consumers) -> (Vec<String>, Vec<String>) {
        let all = consumers.services_reading(self.names.iter().map(String::as_str));
        if self.stage != Stage::Standby {
            return (all, Vec::new());
        }
        let signers = consumers.of(JWT_KEYS);
        all.into_iter().partition(|s| !signers.contains(s))
    }

    /// The plan as lines, never a value.
    pub fn describe(&self, first: &[String], later: &[String]) -> Vec<String> {
        let mut lines = vec![format!(
            "old key A: {}; new key B: key {}",
            self.old.phrase(),
            self.new_kid
        )];
        if self.names.is_empty() {
            lines.push("variables: none change".into());
        }
        lines.extend(self.notes.iter().map(|n| format!("variable {n}")));
        let (signs, verify) = match self.stage {
            Stage::Standby => ("A", "A and B verify"),
            Stage::Switch => ("B", "A and B verify"),
            Stage::Revoke => ("B", "only B verifies"),
        };
        let legacy = if self.old == OldKey::Legacy && self.stage != Stage::Standby {
            " (and the legacy HS256 key, verify-only)"
        } else {
            ""
        };
        lines.push(format!("afterwards: {signs} signs; {verify}{legacy}"));
        let groups: Vec<String> = [first, later]
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| g.join(", "))
            .collect();
        if groups.is_empty() {
            lines.push("services to recreate: none (no running service reads these variables)".into());
        } else {
            lines.push(format!("services to recreate: {}", groups.join(", then ")));
        }
        let probes: Vec<&str> = tokens::verifier_probes().map(|p| p.id).collect();
        let names = |list: &[Named]| list.iter().map(|n| n.label.clone()).collect::<Vec<_>>().join(" and ");
        let mut checks = format!(
            "checks: ANON_KEY and SERVICE_ROLE_KEY at every client probe; short-lived tokens signed by {} accepted",
            names(&self.tokens.accepted)
        );
        if !self.tokens.refused.is_empty() {
            checks.push_str(&format!(", by {} refused", names(&self.tokens.refused)));
        }
        checks.push_str(&format!(", at {} through the gateway", probes.join(", ")));
        lines.push(checks);
        if self.old != OldKey::Legacy
            && !self.tokens.accepted.iter().any(|n| n.label.starts_with("A "))
            && self.stage != Stage::Revoke
        {
            lines.push("note: A has no private part in JWT_KEYS, so no token signed by A is checked".into());
        }
        lines
    }

    /// The state recorded before anything changes.
    pub fn state_started(&self, state: Option<&State>, backup: &str, now: u64) -> State {
        let mut started = match (self.stage, state) {
            (Stage::Standby, _) | (_, None) => State {
                old_kid: self.old.kid().map(String::from),
                new_kid: Some(self.new_kid.clone()),
                ..State::default()
            },
            (_, Some(state)) => state.clone(),
        };
        started.running = Some(Running {
            stage: self.stage,
            started_at: now,
            backup: backup.to_string(),
        });
        started
    }

    /// The state once the stage is done at `now`.
    pub fn state_after(&self, state: Option<&State>, now: u64) -> State {
        let mut done = match (self.stage, state) {
            (Stage::Standby, None) => self.state_started(None, "", now),
            (Stage::Standby, Some(s)) if s.complete() => self.state_started(None, "", now),
            (_, Some(s)) => s.clone(),
            (_, None) => self.state_started(None, "", now),
        };
        done.running = None;
        match self.stage {
            Stage::Standby => done.standby_at = Some(now),
            Stage::Switch => done.switch_at = Some(now),
            Stage::Revoke => done.revoke_at = Some(now),
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::jwk::{KeySet, Shape};
    use std::path::Path;

    const SECRET: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

    fn env_of(keys: &KeySet) -> EnvFile {
        let text = format!(
            "JWT_SECRET={SECRET}\nJWT_KEYS='{}'\nJWT_JWKS='{}'\nANON_KEY_ASYMMETRIC=\nSERVICE_ROLE_KEY_ASYMMETRIC=\n",
            keys.render(Shape::Array),
            keys.public_set().render(Shape::Jwks)
        );
        EnvFile::parse(Path::new(".env"), text).unwrap()
    }

    fn no_value_in(lines: &[String], env: &EnvFile) {
        for line in lines {
            for name in env.keys() {
                let value = env.get(&name).unwrap_or_default();
                if value.len() > 8 {
                    assert!(!line.contains(&value), "{name} shown in {line}");
                }
            }
            for part in ["\"d\"", "\"k\"", "eyJ"] {
                assert!(!line.contains(part), "{line}");
            }
        }
    }

    #[test]
    fn standby_switch_revoke_change_the_right_variables() {
        let env = env_of(&KeySet::new_signing_set(&Secret::new(SECRET)));
        let standby = StagePlan::make(Stage::Standby, &env, None).unwrap();
        assert_eq!(standby.names, ["JWT_KEYS", "JWT_JWKS"]);
        assert_eq!(standby.tokens.accepted.len(), 2);
        assert!(standby.tokens.refused.is_empty());
        no_value_in(&standby.describe(&["rest".into()], &["auth".into()]), &standby.after);
        let state = standby.state_after(None, 1000);
        assert_eq!(state.standby_at, Some(1000));

        let switch = StagePlan::make(Stage::Switch, &standby.after, Some(&state)).unwrap();
        assert_eq!(
            switch.names,
            ["JWT_KEYS", ANON_ASYMMETRIC, SERVICE_ASYMMETRIC],
            "the public set does not change"
        );
        let jwks = KeySet::parse(&switch.after.get(JWT_JWKS).unwrap(), Shape::Jwks).unwrap();
        let anon = switch.after.get(ANON_ASYMMETRIC).unwrap();
        assert!(matches!(es256::check(&anon, &jwks), es256::Check::Valid { kid, .. } if kid == switch.new_kid));
        let state = switch.state_after(Some(&state), 2000);

        let revoke = StagePlan::make(Stage::Revoke, &switch.after, Some(&state)).unwrap();
        assert_eq!(revoke.names, ["JWT_KEYS", "JWT_JWKS"]);
        assert_eq!((revoke.tokens.accepted.len(), revoke.tokens.refused.len()), (1, 1));
        let keys = KeySet::parse(&revoke.after.get(JWT_KEYS).unwrap(), Shape::Array).unwrap();
        assert_eq!(keys.keys.iter().filter(|k| k.is_ec()).count(), 1);
        assert!(revoke.state_after(Some(&state), 9000).complete());
    }

    #[test]
    fn a_legacy_project_signs_with_jwt_secret_until_the_switch() {
        let env = EnvFile::parse(
            Path::new(".env"),
            format!("JWT_SECRET={SECRET}\nJWT_KEYS=\nJWT_JWKS=\n"),
        )
        .unwrap();
        let standby = StagePlan::make(Stage::Standby, &env, None).unwrap();
        assert_eq!(standby.old, OldKey::Legacy);
        assert!(matches!(standby.tokens.accepted[0].signer, Signer::Hs256(_)));
        let state = standby.state_after(None, 1);
        assert!(state.legacy());
        let switch = StagePlan::make(Stage::Switch, &standby.after, Some(&state)).unwrap();
        let done = switch.state_after(Some(&state), 2);
        assert!(done.complete(), "nothing to revoke: the oct key stays verify-only");
        assert!(StagePlan::make(Stage::Revoke, &switch.after, Some(&done)).is_err());
    }

    #[test]
    fn a_broken_set_is_refused_naming_the_file_and_variable_only() {
        let env = EnvFile::parse(
            Path::new("p/.env"),
            format!("JWT_SECRET={SECRET}\nJWT_KEYS='[{{\"kty\":1}}]'\n"),
        )
        .unwrap();
        let Err(err) = StagePlan::make(Stage::Standby, &env, None) else {
            panic!("refused")
        };
        let err = err.to_string();
        assert!(err.starts_with("p/.env: JWT_KEYS"), "{err}");
        assert!(!err.contains(SECRET));
    }
}
