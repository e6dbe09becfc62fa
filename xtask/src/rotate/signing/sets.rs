//! The edits of `JWT_KEYS` and `JWT_JWKS` that each stage of a signing-key
//! rotation makes, as values: standby adds key B able only to verify, switch
//! makes B the one signing key and leaves the old one verifying, revoke
//! removes the old key from both sets.
//!
//! The old key ("A") is either an ES256 key of `JWT_KEYS` (by its `kid`) or,
//! in a project that still signs with `JWT_SECRET`, the legacy HS256 `oct`
//! key: that one is never revoked here, since the legacy `ANON_KEY` and
//! `SERVICE_ROLE_KEY` verify under it.

use crate::secrets::asymmetric::{self, Flaw};
use crate::secrets::jwk::SetError;
use crate::secrets::jwk::{Jwk, KeySet, SIGN, Shape, VERIFY};
use crate::secrets::{Secret, name};

use super::timing::Stage;

/// Why a stage cannot edit the key sets: names and key ids, never a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetsError {
    /// `name`'s text is not a key set.
    #[error("{name} {why}")]
    Broken { name: &'static str, why: SetError },
    #[error("JWT_KEYS has a signing key without a kid")]
    SignerWithoutKid,
    #[error("JWT_KEYS has a signing key that is neither a sound ES256 key nor the HS256 oct key")]
    UnsoundSigner,
    #[error("JWT_KEYS has no key with key_ops sign")]
    NoSigner,
    #[error("JWT_KEYS has {0} keys with key_ops sign")]
    ManySigners(usize),
    #[error("JWT_SECRET is empty and JWT_KEYS has no signing key")]
    NoSecretToSignWith,
    #[error("key B cannot sign")]
    NewKeyCannotSign,
    #[error("the new key has no kid")]
    NewKeyWithoutKid,
    #[error("a key {0} is already in JWT_KEYS or JWT_JWKS")]
    KidTaken(String),
    #[error("key {0} does not sign in JWT_KEYS: run the switch stage first")]
    NotSigning(String),
    #[error("key {0} is in neither JWT_KEYS nor JWT_JWKS")]
    InNeither(String),
    #[error("key {0} is not in JWT_KEYS (was .env edited?)")]
    NotInKeys(String),
    #[error("key {0} is not in JWT_JWKS (was .env edited?)")]
    NotInJwks(String),
    #[error("key {0} of JWT_KEYS lacks its private part")]
    NoPrivatePart(String),
    /// The edit would leave a flaw the sets did not have.
    #[error("the {} stage would leave a key set that {flaw}", .stage.name())]
    WouldLeave { stage: Stage, flaw: Flaw },
}

/// The key that signs before the rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OldKey {
    /// An ES256 key of `JWT_KEYS`.
    Ec(String),
    /// The HS256 `oct` key of `JWT_SECRET` (or `GOTRUE_JWT_SECRET` when `JWT_KEYS` is empty).
    Legacy,
}

impl OldKey {
    pub fn kid(&self) -> Option<&str> {
        match self {
            OldKey::Ec(kid) => Some(kid),
            OldKey::Legacy => None,
        }
    }

    /// How messages name it: `key kid 1b2c…` or `the legacy HS256 key (JWT_SECRET)`.
    pub fn phrase(&self) -> String {
        match self {
            OldKey::Ec(kid) => format!("key {kid}"),
            OldKey::Legacy => "the legacy HS256 key (JWT_SECRET)".to_string(),
        }
    }
}

/// Both sets as they are in `.env`; empty texts are empty sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Sets {
    pub keys: KeySet,
    pub jwks: KeySet,
}

impl Sets {
    /// Reads both texts; a broken one is named in the error (never its value).
    pub fn parse(keys: &str, jwks: &str) -> Result<Sets, SetsError> {
        let read = |text: &str, shape: Shape, name: &'static str| {
            if text.trim().is_empty() {
                Ok(KeySet::default())
            } else {
                KeySet::parse(text, shape).map_err(|why| SetsError::Broken { name, why })
            }
        };
        Ok(Sets {
            keys: read(keys, Shape::Array, name::JWT_KEYS)?,
            jwks: read(jwks, Shape::Jwks, name::JWT_JWKS)?,
        })
    }

    pub fn render_keys(&self) -> String {
        self.keys.render(Shape::Array)
    }

    pub fn render_jwks(&self) -> String {
        self.jwks.render(Shape::Jwks)
    }

    /// The key that signs now: the ES256 signing key, or the legacy `oct`
    /// key when `JWT_KEYS` is empty or signs with it. `Err` says why neither.
    pub fn old_key(&self) -> Result<OldKey, SetsError> {
        if self.keys.keys.is_empty() {
            return Ok(OldKey::Legacy);
        }
        match self.keys.signing_keys().as_slice() {
            [key] if key.is_oct() => Ok(OldKey::Legacy),
            [key] if key.is_ec() && key.private_matches_public() => match &key.kid {
                Some(kid) => Ok(OldKey::Ec(kid.clone())),
                None => Err(SetsError::SignerWithoutKid),
            },
            [_] => Err(SetsError::UnsoundSigner),
            [] => Err(SetsError::NoSigner),
            many => Err(SetsError::ManySigners(many.len())),
        }
    }

    /// Standby: `new` (a fresh ES256 key) joins `JWT_KEYS` able only to
    /// verify, and its public part joins `JWT_JWKS`. A legacy project gets
    /// the `oct` key of `jwt_secret` in both sets, signing in `JWT_KEYS`
    /// (GoTrue signs with exactly one key, and `JWT_SECRET` signs until the
    /// switch); an `oct` key already there is kept as it is.
    pub fn standby(&mut self, new: &Jwk, jwt_secret: &Secret) -> Result<(), SetsError> {
        let kid = new.kid.clone().ok_or(SetsError::NewKeyWithoutKid)?;
        if self.keys.find(&kid).is_some() || self.jwks.find(&kid).is_some() {
            return Err(SetsError::KidTaken(kid));
        }
        let old = self.old_key()?;
        if old == OldKey::Legacy {
            if self.keys.octs().next().is_none() {
                self.keys.add(Jwk::oct(jwt_secret));
            }
            for key in self.keys.keys.iter_mut().filter(|k| k.is_oct()) {
                key.set_key_ops(&[SIGN, VERIFY]);
            }
        }
        if self.jwks.octs().next().is_none() {
            self.jwks.add(Jwk::oct(jwt_secret));
        }
        let mut standby = new.clone();
        standby.set_key_ops(&[VERIFY]);
        self.jwks.add(standby.public_part());
        self.keys.add(standby);
        Ok(())
    }

    /// Switch: key `new` signs (and verifies); every other key only verifies.
    pub fn switch(&mut self, new: &str) -> Result<(), SetsError> {
        self.require(new)?;
        for key in &mut self.keys.keys {
            if key.kid.as_deref() == Some(new) {
                key.set_key_ops(&[SIGN, VERIFY]);
            } else if key.signs() || key.is_ec() {
                key.set_key_ops(&[VERIFY]);
            }
        }
        Ok(())
    }

    /// Revoke: the ES256 key `old` leaves both sets; `new` must be signing.
    pub fn revoke(&mut self, old: &str, new: &str) -> Result<(), SetsError> {
        self.require(new)?;
        if self.keys.signing_key().and_then(|k| k.kid.as_deref()) != Some(new) {
            return Err(SetsError::NotSigning(new.to_string()));
        }
        let in_keys = self.keys.remove(old);
        let in_jwks = self.jwks.remove(old);
        if !in_keys && !in_jwks {
            return Err(SetsError::InNeither(old.to_string()));
        }
        Ok(())
    }

    /// Key `kid` is in both sets, an EC key with its private part in `JWT_KEYS`.
    fn require(&self, kid: &str) -> Result<(), SetsError> {
        match (self.keys.find(kid), self.jwks.find(kid)) {
            (Some(key), Some(_)) if key.private_matches_public() => Ok(()),
            (None, _) => Err(SetsError::NotInKeys(kid.to_string())),
            (_, None) => Err(SetsError::NotInJwks(kid.to_string())),
            _ => Err(SetsError::NoPrivatePart(kid.to_string())),
        }
    }

    pub fn find_private(&self, kid: &str) -> Option<&Jwk> {
        self.keys.find(kid).filter(|k| k.private_matches_public())
    }

    /// The flaws both sets have, as verify would report them (the oct key aside).
    pub fn flaws(&self) -> Vec<Flaw> {
        let (keys, mut flaws) = asymmetric::signing_set(&self.render_keys());
        flaws.extend(asymmetric::public_set(&self.render_jwks(), keys.as_ref()).1);
        flaws
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("q".repeat(40))
    }

    fn fresh() -> Sets {
        let keys = KeySet::new_signing_set(&secret());
        Sets {
            jwks: keys.public_set(),
            keys,
        }
    }

    fn ops(set: &KeySet, kid: &str) -> Vec<String> {
        set.find(kid).unwrap().key_ops.clone().unwrap()
    }

    #[test]
    fn the_three_stages_keep_gotrue_and_the_verifiers_sound() {
        let mut sets = fresh();
        let old = sets.old_key().unwrap();
        let OldKey::Ec(a) = old.clone() else {
            panic!("an ES256 set")
        };
        let b_key = Jwk::generate_es256();
        let b = b_key.kid.clone().unwrap();

        sets.standby(&b_key, &secret()).unwrap();
        assert_eq!(sets.flaws(), [], "standby leaves exactly one signing key");
        assert_eq!(ops(&sets.keys, &a), ["sign", "verify"]);
        assert_eq!(ops(&sets.keys, &b), ["verify"]);
        assert!(
            sets.keys.find(&b).unwrap().d.is_some(),
            "B's private key is kept for the switch"
        );
        assert!(
            sets.jwks.find(&b).unwrap().d.is_none(),
            "the verifiers get B's public key only"
        );
        assert_eq!(sets.old_key().unwrap(), old, "A still signs");

        sets.switch(&b).unwrap();
        assert_eq!(sets.flaws(), []);
        assert_eq!(ops(&sets.keys, &a), ["verify"]);
        assert_eq!(ops(&sets.keys, &b), ["sign", "verify"]);
        assert_eq!(sets.old_key().unwrap(), OldKey::Ec(b.clone()));
        assert!(sets.jwks.find(&a).is_some(), "A's tokens still verify");

        sets.revoke(&a, &b).unwrap();
        assert_eq!(sets.flaws(), []);
        assert!(sets.keys.find(&a).is_none() && sets.jwks.find(&a).is_none());
        assert_eq!(sets.keys.octs().count(), 1, "the oct key of JWT_SECRET stays");
        assert_eq!(sets.jwks.octs().count(), 1);
    }

    #[test]
    fn revoke_before_switch_and_a_second_standby_are_refused() {
        let mut sets = fresh();
        let OldKey::Ec(a) = sets.old_key().unwrap() else {
            panic!()
        };
        let b_key = Jwk::generate_es256();
        let b = b_key.kid.clone().unwrap();
        sets.standby(&b_key, &secret()).unwrap();
        let before = sets.clone();
        assert!(
            sets.revoke(&a, &b)
                .unwrap_err()
                .to_string()
                .contains("switch stage first")
        );
        assert!(sets.standby(&b_key, &secret()).is_err());
        assert_eq!(sets, before, "a refused edit changes nothing");
        assert!(
            sets.switch("not-a-kid")
                .unwrap_err()
                .to_string()
                .contains("not in JWT_KEYS")
        );
    }

    #[test]
    fn a_legacy_project_gets_an_ec_key_and_keeps_the_oct_key_verifying() {
        let mut sets = Sets::parse("", "").unwrap();
        assert_eq!(sets.old_key().unwrap(), OldKey::Legacy);
        let b_key = Jwk::generate_es256();
        let b = b_key.kid.clone().unwrap();
        sets.standby(&b_key, &secret()).unwrap();
        // JWT_SECRET signs until the switch: the one signing key is the oct key.
        assert_eq!(sets.keys.signing_keys().len(), 1);
        assert!(sets.keys.signing_keys()[0].holds_secret(&secret()));
        assert_eq!(sets.old_key().unwrap(), OldKey::Legacy);
        assert!(
            sets.jwks.octs_hold(&secret()),
            "legacy HS256 tokens verify under JWT_JWKS"
        );
        assert!(
            sets.jwks.octs().all(|k| k.key_ops.is_none()),
            "the verifiers' oct key as Supabase writes it"
        );
        assert!(sets.jwks.find(&b).is_some());

        sets.switch(&b).unwrap();
        assert_eq!(sets.flaws(), [], "after the switch the sets are a sound ES256 pair");
        let oct = sets.keys.octs().next().unwrap();
        assert_eq!(oct.key_ops.as_deref(), Some(&[VERIFY.to_string()][..]));
        assert_eq!(sets.old_key().unwrap(), OldKey::Ec(b));
    }

    #[test]
    fn an_empty_or_broken_set_is_named_without_its_value() {
        let err = Sets::parse("{\"keys\":[]}", "").unwrap_err().to_string();
        assert!(err.starts_with("JWT_KEYS must be"), "{err}");
        let mut two = fresh();
        let mut extra = Jwk::generate_es256();
        extra.set_key_ops(&[SIGN]);
        two.keys.add(extra);
        assert!(
            two.old_key()
                .unwrap_err()
                .to_string()
                .contains("2 keys with key_ops sign")
        );
    }
}
