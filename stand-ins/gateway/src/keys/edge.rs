//! The edge runtime's main function (the project's `volumes/functions/main/index.ts`),
//! when `VERIFY_JWT=true`:
//!
//! - an HS256 token is checked under `JWT_SECRET` (refused when it is empty);
//! - an ES256 or RS256 token under the key of `SUPABASE_JWKS` (its `oct` keys left out)
//!   whose `kid` equals the header's and whose `alg`, when set, is the header's;
//! - any other algorithm is refused. A `SUPABASE_JWKS` that is not a key set counts as
//!   an empty one, as the main function reads it.
//!
//! The main function also asks auth's `/.well-known/jwks.json` when no local key
//! matches; this stand-in does not (the template gives both the same `JWT_JWKS`).

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::jwk::{self, Key};
use super::{Claims, Env, JwtError, Verifier};

pub struct EdgeKeys {
    secret: Option<Key>,
    keys: Vec<Key>,
}

impl EdgeKeys {
    pub fn from_env(env: Env<'_>) -> EdgeKeys {
        let secret = env("JWT_SECRET")
            .filter(|s| !s.is_empty())
            .and_then(|s| Key::secret(&s).ok());
        let listed: Vec<Value> = env("SUPABASE_JWKS")
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|set| set.get("keys").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let keys = listed
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) != Some("oct"))
            .filter_map(|k| Key::from_jwk(k).ok())
            .collect();
        EdgeKeys { secret, keys }
    }
}

impl Verifier for EdgeKeys {
    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let (alg, kid) = jwk::header(token).ok_or(JwtError::Malformed)?;
        match jwk::algorithm_of(&alg) {
            Some(Algorithm::HS256) => self.secret.as_ref().ok_or(JwtError::Signature)?.verify(token),
            Some(alg @ (Algorithm::ES256 | Algorithm::RS256)) => self
                .keys
                .iter()
                .find(|k| k.kid == kid && k.alg == alg)
                .ok_or(JwtError::UnknownKid)?
                .verify(token),
            _ => Err(JwtError::Algorithm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{SECRET, ec_pair, mint, mint_es256, oct};
    use serde_json::json;

    #[test]
    fn hs256_goes_to_the_secret_and_es256_to_the_key_of_its_kid() {
        let (a, a_pub) = ec_pair(3, "a");
        let jwks = json!({"keys": [a_pub, oct("some0other0secret0that0is0long0enough")]}).to_string();
        let env = |name: &str| match name {
            "JWT_SECRET" => Some(SECRET.to_owned()),
            "SUPABASE_JWKS" => Some(jwks.clone()),
            _ => None,
        };
        let keys = EdgeKeys::from_env(&env);
        assert!(keys.verify(&mint(SECRET, json!({}))).is_ok());
        assert!(keys.verify(&mint_es256(&a, json!({}))).is_ok());
        // The oct key of the set is not used: HS256 is JWT_SECRET's alone.
        assert_eq!(
            keys.verify(&mint("some0other0secret0that0is0long0enough", json!({})))
                .err(),
            Some(JwtError::Signature)
        );
        let (b, _) = ec_pair(4, "b");
        assert_eq!(
            keys.verify(&mint_es256(&b, json!({}))).err(),
            Some(JwtError::UnknownKid)
        );
        let empty = EdgeKeys::from_env(&|name| (name == "SUPABASE_JWKS").then(|| "garbage".to_owned()));
        assert!(empty.verify(&mint_es256(&a, json!({}))).is_err());
        assert!(empty.verify(&mint(SECRET, json!({}))).is_err(), "no JWT_SECRET");
    }
}
