//! PostgREST's `PGRST_JWT_SECRET`: a raw HS256 secret (at least 32 characters), one JWK,
//! or a JWK set `{"keys": […]}` (PostgREST's "JWT Signature Verification" reference):
//!
//! - a token whose header has a `kid` is checked by the key with that `kid` only; when no
//!   key has it, the token is refused (401, `PGRST301`);
//! - a token without a `kid` is tried against every key of its algorithm, one by one,
//!   until one verifies.

use serde_json::Value;

use super::jwk::{self, Key};
use super::{Claims, Env, JwtError, Verifier, required};

pub struct PostgrestKeys {
    keys: Vec<Key>,
}

impl PostgrestKeys {
    pub fn from_env(env: Env<'_>) -> Result<PostgrestKeys, String> {
        let secret = required(env, "PGRST_JWT_SECRET")?;
        if env("PGRST_JWT_SECRET_IS_BASE64").is_some_and(|v| v == "true") {
            return Err("PGRST_JWT_SECRET_IS_BASE64=true is not supported by this stand-in".into());
        }
        PostgrestKeys::parse(&secret)
    }

    pub fn parse(secret: &str) -> Result<PostgrestKeys, String> {
        if !secret.trim_start().starts_with('{') {
            if secret.chars().count() < 32 {
                return Err("PGRST_JWT_SECRET: The JWT secret must be at least 32 characters long.".into());
            }
            return Ok(PostgrestKeys {
                keys: vec![Key::secret(secret).map_err(|e| format!("PGRST_JWT_SECRET: {e}"))?],
            });
        }
        let document: Value = serde_json::from_str(secret).map_err(|e| {
            format!(
                "PGRST_JWT_SECRET is not a JWK or JWKS (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let listed: Vec<Value> = match document.get("keys") {
            Some(Value::Array(keys)) => keys.clone(),
            Some(_) => return Err("PGRST_JWT_SECRET: \"keys\" is not an array".into()),
            None => vec![document],
        };
        let keys = listed
            .iter()
            .enumerate()
            .map(|(index, key)| Key::from_jwk(key).map_err(|e| format!("PGRST_JWT_SECRET key {index}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PostgrestKeys { keys })
    }
}

impl Verifier for PostgrestKeys {
    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let (alg, kid) = jwk::header(token).ok_or(JwtError::Malformed)?;
        if let Some(kid) = kid {
            let key = self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid.as_str()))
                .ok_or(JwtError::UnknownKid)?;
            return key.verify(token);
        }
        let alg = jwk::algorithm_of(&alg).ok_or(JwtError::Algorithm)?;
        let mut last = JwtError::Algorithm;
        for key in self.keys.iter().filter(|k| k.alg == alg) {
            match key.verify(token) {
                Ok(claims) => return Ok(claims),
                Err(error) => last = error,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{SECRET, ec_pair, mint, mint_es256, mint_kid, oct};
    use serde_json::json;

    #[test]
    fn a_raw_secret_a_jwk_and_a_jwks_are_all_read() {
        assert!(PostgrestKeys::parse(SECRET).is_ok());
        assert!(PostgrestKeys::parse("short").err().unwrap().contains("32 characters"));
        let (_, public) = ec_pair(3, "a");
        assert!(PostgrestKeys::parse(&public.to_string()).is_ok());
        let set = json!({"keys": [public, oct(SECRET)]});
        assert_eq!(PostgrestKeys::parse(&set.to_string()).unwrap().keys.len(), 2);
        assert!(PostgrestKeys::parse("{not json").is_err());
    }

    #[test]
    fn a_kid_selects_one_key_and_no_kid_tries_every_key_of_its_algorithm() {
        let (a, a_pub) = ec_pair(3, "a");
        let (b, b_pub) = ec_pair(4, "b");
        let set = PostgrestKeys::parse(&json!({"keys": [a_pub, b_pub, oct(SECRET)]}).to_string()).unwrap();
        assert_eq!(
            set.verify(&mint_es256(&b, json!({"role": "anon"}))).unwrap().role(),
            Some("anon")
        );
        // a's key presented under b's kid: only b's key is tried.
        let mut a_as_b = a.clone();
        a_as_b["kid"] = json!("b");
        assert_eq!(
            set.verify(&mint_es256(&a_as_b, json!({}))).err(),
            Some(JwtError::Signature)
        );
        let mut unknown = a.clone();
        unknown["kid"] = json!("gone");
        assert_eq!(
            set.verify(&mint_es256(&unknown, json!({}))).err(),
            Some(JwtError::UnknownKid)
        );
        // An HS256 token with a kid no key has (the oct key has none) is refused too.
        assert_eq!(
            set.verify(&mint_kid(SECRET, Some("x"), json!({}))).err(),
            Some(JwtError::UnknownKid)
        );
        // Without a kid: every key of the token's algorithm, in turn.
        let mut no_kid = b.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        assert!(set.verify(&mint_es256(&no_kid, json!({}))).is_ok());
        assert!(set.verify(&mint(SECRET, json!({"role": "service_role"}))).is_ok());
        let stranger = ec_pair(5, "c").0;
        let mut stranger_no_kid = stranger;
        stranger_no_kid.as_object_mut().unwrap().remove("kid");
        assert_eq!(
            set.verify(&mint_es256(&stranger_no_kid, json!({}))).err(),
            Some(JwtError::Signature)
        );
    }
}
