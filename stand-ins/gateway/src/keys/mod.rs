//! Every key decision of the stand-ins, in one place: which variable holds each
//! service's keys and how a token's header picks the key that checks it.
//!
//! | service | variables | rule |
//! |---|---|---|
//! | GoTrue | `GOTRUE_JWT_KEYS`, `GOTRUE_JWT_SECRET` | [`gotrue`]: a map by `kid`, exactly one `sign` key (it signs the user sessions), a token's `kid` picks its key, an HS256 token with no known `kid` falls back to the secret; the algorithms of the configured keys only |
//! | PostgREST | `PGRST_JWT_SECRET` | [`postgrest`]: a raw secret, one JWK or a JWKS; a token with a `kid` is checked by that key only, one without by every key of its algorithm |
//! | edge runtime | `JWT_SECRET`, `SUPABASE_JWKS` | [`edge`]: when `VERIFY_JWT=true`, HS256 under the secret, ES256/RS256 by `kid` and `alg` under the key set |
//!
//! What Kong puts in a header for an `sb_` key is not decided here: the gateway runs the
//! project's own entrypoint and evaluates the expressions it writes (`kong::lua`).

pub mod edge;
pub mod gotrue;
pub mod jwk;
pub mod postgrest;

use crate::http::Request;

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(pub serde_json::Map<String, serde_json::Value>);

impl Claims {
    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_str())
    }

    /// The `role` claim.
    pub fn role(&self) -> Option<&str> {
        self.text("role")
    }

    /// The `sub` claim.
    pub fn sub(&self) -> Option<&str> {
        self.text("sub").filter(|s| !s.is_empty())
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url segments of JSON.
    Malformed,
    /// Signed with an algorithm the service does not take.
    Algorithm,
    /// The signature does not verify under the service's key.
    Signature,
    /// `exp` is in the past.
    Expired,
    /// The header names a `kid` no configured key has.
    UnknownKid,
}

/// How one service checks the JWTs it is given. Holds key material: no `Debug`.
pub trait Verifier: Send + Sync {
    fn verify(&self, token: &str) -> Result<Claims, JwtError>;
}

/// Reads a variable of the service's environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) fn required(env: Env<'_>, name: &str) -> Result<String, String> {
    match env(name) {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(format!("{name} is empty; set it in the container's environment")),
        None => Err(format!("{name} is not set; set it in the container's environment")),
    }
}

/// The bearer token of an `Authorization` header (`Bearer` in any case).
pub fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares without an early exit, so timing does not tell how much of a key matched.
pub fn same_bytes(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use std::time::{SystemTime, UNIX_EPOCH};

    pub const SECRET: &str = "test0secret0with0at0least0thirty0two0chars";

    pub fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    pub fn mint(secret: &str, claims: serde_json::Value) -> String {
        mint_kid(secret, None, claims)
    }

    /// An HS256 token with a `kid` in its header.
    pub fn mint_kid(secret: &str, kid: Option<&str>, claims: serde_json::Value) -> String {
        let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    /// A P-256 key pair as JWKs (private with `d`, and public), from a fixed scalar `seed`.
    pub fn ec_pair(seed: u8, kid: &str) -> (serde_json::Value, serde_json::Value) {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut d = [seed; 32];
        d[0] = 1;
        let secret = p256::SecretKey::from_slice(&d).unwrap();
        let point = secret.public_key().to_sec1_bytes();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let public = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
            "x": b64(&point[1..33]), "y": b64(&point[33..]), "key_ops": ["verify"]});
        let mut private = public.clone();
        private["d"] = b64(&d).into();
        private["key_ops"] = serde_json::json!(["sign", "verify"]);
        (private, public)
    }

    /// An ES256 token signed by the private JWK `private`, its `kid` in the header.
    pub fn mint_es256(private: &serde_json::Value, claims: serde_json::Value) -> String {
        let key = jwk::Key::from_jwk(private).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = key.kid.clone();
        jsonwebtoken::encode(&header, &claims, key.signer().unwrap()).unwrap()
    }

    /// The `oct` JWK of a secret, as `JWT_KEYS` / `JWT_JWKS` carry it.
    pub fn oct(secret: &str) -> serde_json::Value {
        use base64::Engine;
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        serde_json::json!({"kty": "oct", "k": k, "alg": "HS256"})
    }

    #[test]
    fn a_shared_secret_checks_signature_and_expiry() {
        let verifier = jwk::Key::secret(SECRET).unwrap();
        let good = mint(SECRET, serde_json::json!({"role": "anon", "exp": now() + 60}));
        assert_eq!(verifier.verify(&good).unwrap().role(), Some("anon"));
        let no_exp = mint(SECRET, serde_json::json!({"role": "service_role"}));
        assert_eq!(verifier.verify(&no_exp).unwrap().role(), Some("service_role"));
        let other = mint(
            "another0secret0with0at0least0thirty0two0c",
            serde_json::json!({"role": "anon"}),
        );
        assert_eq!(verifier.verify(&other).err(), Some(JwtError::Signature));
        let expired = mint(SECRET, serde_json::json!({"role": "anon", "exp": now() - 5}));
        assert_eq!(verifier.verify(&expired).err(), Some(JwtError::Expired));
        assert_eq!(verifier.verify("not-a-jwt").err(), Some(JwtError::Malformed));
    }

    #[test]
    fn an_ec_key_verifies_its_own_tokens_and_no_other() {
        let (private, public) = ec_pair(7, "k1");
        let (other, _) = ec_pair(9, "k1");
        let key = jwk::Key::from_jwk(&public).unwrap();
        let token = mint_es256(&private, serde_json::json!({"role": "anon"}));
        assert_eq!(key.verify(&token).unwrap().role(), Some("anon"));
        let forged = mint_es256(&other, serde_json::json!({"role": "anon"}));
        assert_eq!(key.verify(&forged).err(), Some(JwtError::Signature));
        assert!(key.signer().is_none() && key.public().is_some());
        assert!(jwk::Key::from_jwk(&oct(SECRET)).unwrap().public().is_none());
    }

    #[test]
    fn same_bytes_compares_whole_values() {
        assert!(same_bytes("abc", "abc"));
        assert!(!same_bytes("abc", "abd"));
        assert!(!same_bytes("abc", "abcd"));
    }
}
