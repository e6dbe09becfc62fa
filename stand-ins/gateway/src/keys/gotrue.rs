//! GoTrue's keys: `GOTRUE_JWT_KEYS` (a JSON array of JWKs) next to `GOTRUE_JWT_SECRET`.
//!
//! - The array is read into a map by `kid` (a later key with the same `kid` replaces an
//!   earlier one; the `oct` key of the Supabase template has none and sits under `""`).
//! - A non-empty map must hold exactly one key whose `key_ops` has `sign`, else GoTrue
//!   does not start: "no signing key detected" / "multiple signing keys detected, only 1
//!   signing key is supported". That key signs the user sessions, its `kid` in the header.
//! - Unset or `[]`: the legacy mode, sessions signed HS256 with the secret.
//! - A token's `kid` picks the key; an HS256 token whose `kid` is absent or unknown falls
//!   back to the secret; any other token without a known `kid` is refused.
//! - The algorithms accepted are those of the configured keys (HS256 alone without any).
//! - `/.well-known/jwks.json` publishes the public part of every key that is not `oct`.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::jwk::{self, Key};
use super::{Claims, Env, JwtError, Verifier, required};

pub struct GoTrueKeys {
    by_kid: BTreeMap<String, Key>,
    secret: Key,
    secret_signer: EncodingKey,
    /// The `kid` of the one `sign` key, when the map is not empty.
    signing: Option<String>,
    algorithms: Vec<Algorithm>,
}

impl GoTrueKeys {
    pub fn from_env(env: Env<'_>) -> Result<GoTrueKeys, String> {
        let secret = required(env, "GOTRUE_JWT_SECRET")?;
        let keys = match env("GOTRUE_JWT_KEYS") {
            None => Vec::new(),
            Some(text) => {
                let parsed: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("GOTRUE_JWT_KEYS is not JSON (line {}, column {})", e.line(), e.column()))?;
                parsed
                    .as_array()
                    .ok_or("GOTRUE_JWT_KEYS is not a JSON array of JWKs")?
                    .clone()
            }
        };
        GoTrueKeys::new(&secret, &keys)
    }

    pub fn new(secret: &str, keys: &[Value]) -> Result<GoTrueKeys, String> {
        let mut by_kid = BTreeMap::new();
        for (index, value) in keys.iter().enumerate() {
            let key = Key::from_jwk(value).map_err(|e| format!("GOTRUE_JWT_KEYS[{index}]: {e}"))?;
            by_kid.insert(key.kid.clone().unwrap_or_default(), key);
        }
        let signing: Vec<&String> = by_kid
            .iter()
            .filter(|(_, k)| k.has_op("sign"))
            .map(|(kid, _)| kid)
            .collect();
        let signing = match signing.as_slice() {
            _ if by_kid.is_empty() => None,
            [] => return Err("GOTRUE_JWT_KEYS: no signing key detected".into()),
            [one] => Some((*one).clone()),
            _ => return Err("GOTRUE_JWT_KEYS: multiple signing keys detected, only 1 signing key is supported".into()),
        };
        if let Some(kid) = &signing
            && by_kid[kid].signer().is_none()
            && by_kid[kid].alg != Algorithm::HS256
        {
            return Err(format!("GOTRUE_JWT_KEYS: the signing key {kid:?} has no private part"));
        }
        let mut algorithms: Vec<Algorithm> = by_kid.values().map(|k| k.alg).collect();
        if algorithms.is_empty() {
            algorithms.push(Algorithm::HS256);
        }
        algorithms.dedup();
        Ok(GoTrueKeys {
            by_kid,
            secret: Key::secret(secret).map_err(|e| format!("GOTRUE_JWT_SECRET: {e}"))?,
            secret_signer: EncodingKey::from_secret(secret.as_bytes())
                .map_err(|_| "GOTRUE_JWT_SECRET: the secret is not usable as an HS256 key".to_owned())?,
            signing,
            algorithms,
        })
    }

    /// Signs `claims` as GoTrue signs a session: with the `sign` key, else the secret.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let (header, key) = match &self.signing {
            Some(kid) => {
                let key = &self.by_kid[kid];
                let mut header = Header::new(key.alg);
                header.kid = (!kid.is_empty()).then(|| kid.clone());
                (header, key.signer().unwrap_or(&self.secret_signer))
            }
            None => (Header::new(Algorithm::HS256), &self.secret_signer),
        };
        jsonwebtoken::encode(&header, claims, key).map_err(|_| "cannot sign the session".to_owned())
    }

    /// The body of `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = self.by_kid.values().filter_map(Key::public).collect();
        json!({ "keys": keys })
    }
}

impl Verifier for GoTrueKeys {
    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let (alg, kid) = jwk::header(token).ok_or(JwtError::Malformed)?;
        let alg = jwk::algorithm_of(&alg).ok_or(JwtError::Algorithm)?;
        if !self.algorithms.contains(&alg) {
            return Err(JwtError::Algorithm);
        }
        match kid.as_deref().and_then(|kid| self.by_kid.get(kid)) {
            Some(key) => key.verify(token),
            None if alg == Algorithm::HS256 => self.secret.verify(token),
            None if kid.is_some() => Err(JwtError::UnknownKid),
            None => Err(JwtError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{SECRET, ec_pair, mint, mint_es256, mint_kid, oct};

    fn keys(set: &[Value]) -> Result<GoTrueKeys, String> {
        GoTrueKeys::new(SECRET, set)
    }

    #[test]
    fn start_is_refused_unless_exactly_one_key_signs() {
        let (a, _) = ec_pair(3, "a");
        let (b, _) = ec_pair(4, "b");
        let none = keys(&[oct(SECRET)]).err().unwrap();
        assert_eq!(none, "GOTRUE_JWT_KEYS: no signing key detected");
        let two = keys(&[a.clone(), b.clone()]).err().unwrap();
        assert_eq!(
            two,
            "GOTRUE_JWT_KEYS: multiple signing keys detected, only 1 signing key is supported"
        );
        let mut verify_only = b;
        verify_only["key_ops"] = json!(["verify"]);
        assert!(keys(&[a, verify_only, oct(SECRET)]).is_ok());
        assert!(keys(&[]).is_ok(), "[] is the legacy mode");
        let env = |name: &str| match name {
            "GOTRUE_JWT_SECRET" => Some(SECRET.to_owned()),
            "GOTRUE_JWT_KEYS" => Some(String::new()),
            _ => None,
        };
        assert!(
            GoTrueKeys::from_env(&env).is_err(),
            "GoTrue cannot parse an empty string"
        );
    }

    #[test]
    fn a_tokens_kid_picks_its_key_and_hs256_falls_back_to_the_secret() {
        let (a, _) = ec_pair(3, "a");
        let (mut b, _) = ec_pair(4, "b");
        b["key_ops"] = json!(["verify"]);
        let set = keys(&[a.clone(), b.clone(), oct(SECRET)]).unwrap();
        let by_a = mint_es256(&a, json!({"role": "authenticated"}));
        let by_b = mint_es256(&b, json!({"role": "authenticated"}));
        assert!(set.verify(&by_a).is_ok() && set.verify(&by_b).is_ok());
        // b's key under a's kid: the kid decides, and the signature does not match.
        let mut b_as_a = b.clone();
        b_as_a["kid"] = json!("a");
        assert_eq!(
            set.verify(&mint_es256(&b_as_a, json!({}))).err(),
            Some(JwtError::Signature)
        );
        let mut stranger = ec_pair(5, "c").0;
        assert_eq!(
            set.verify(&mint_es256(&stranger, json!({}))).err(),
            Some(JwtError::UnknownKid)
        );
        stranger["kid"] = json!("a");
        assert_eq!(
            set.verify(&mint_es256(&stranger, json!({}))).err(),
            Some(JwtError::Signature)
        );
        // HS256: no kid, or one nobody has, falls back to GOTRUE_JWT_SECRET.
        assert!(set.verify(&mint(SECRET, json!({"role": "anon"}))).is_ok());
        assert!(set.verify(&mint_kid(SECRET, Some("unknown"), json!({}))).is_ok());
        assert_eq!(
            set.verify(&mint("another0secret0with0at0least0thirty0two0c", json!({})))
                .err(),
            Some(JwtError::Signature)
        );
    }

    #[test]
    fn only_the_algorithms_of_the_configured_keys_are_taken() {
        let (a, _) = ec_pair(3, "a");
        let es_only = keys(std::slice::from_ref(&a)).unwrap();
        assert_eq!(
            es_only.verify(&mint(SECRET, json!({}))).err(),
            Some(JwtError::Algorithm)
        );
        let legacy = keys(&[]).unwrap();
        assert_eq!(
            legacy.verify(&mint_es256(&a, json!({}))).err(),
            Some(JwtError::Algorithm)
        );
        assert!(legacy.verify(&mint(SECRET, json!({}))).is_ok());
    }

    #[test]
    fn sessions_are_signed_with_the_signing_key_and_its_kid() {
        let (a, public) = ec_pair(3, "a");
        let set = keys(&[a, oct(SECRET)]).unwrap();
        let token = set.sign(&json!({"sub": "u"})).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some("a")));
        assert!(Key::from_jwk(&public).unwrap().verify(&token).is_ok());
        let published = set.jwks();
        assert_eq!(
            published["keys"].as_array().unwrap().len(),
            1,
            "no oct key is published"
        );
        assert!(published["keys"][0].get("d").is_none());
        assert_eq!(published["keys"][0]["x"], public["x"]);
        let legacy = keys(&[]).unwrap().sign(&json!({"sub": "u"})).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&legacy).unwrap().alg, Algorithm::HS256);
        assert!(Key::secret(SECRET).unwrap().verify(&legacy).is_ok());
    }
}
