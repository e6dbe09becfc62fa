//! The auth decisions of the real stack, with the same outcomes a client sees there.
//!
//! - `/rest/v1/`: Kong's key-auth first (the `apikey` header must be one of its two
//!   consumers' keys, `ANON_KEY` or `SERVICE_ROLE_KEY`), then PostgREST's JWT check (the
//!   key must verify as HS256 under `JWT_SECRET` and must not be expired).
//! - `/functions/v1/<name>`: the edge runtime's JWT check on `Authorization: Bearer …`,
//!   and this stand-in's functions additionally require the `service_role` role.
//!
//! So a stale key after a `JWT_SECRET` rotation fails like upstream (PostgREST's
//! `PGRST301 JWSInvalidSignature`), and a re-signed key that Kong was not recreated for
//! fails like upstream too (Kong's `Invalid API key`).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// What the gateway was configured with at start. Holds secrets: no `Debug`.
pub struct Keys {
    decoding: DecodingKey,
    validation: Validation,
    anon_key: String,
    service_role_key: String,
}

/// Why a request was refused; every refusal is a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Kong key-auth: no `apikey` header.
    NoApiKey,
    /// Kong key-auth: the key is neither `ANON_KEY` nor `SERVICE_ROLE_KEY`.
    UnknownApiKey,
    /// The JWT's signature does not verify under `JWT_SECRET`.
    BadSignature,
    /// The JWT's `exp` is in the past.
    Expired,
    /// Not a well-formed HS256 JWT with an `exp` claim.
    InvalidJwt,
    /// A function call without `Authorization: Bearer <JWT>`.
    NoBearer,
    /// A function call whose JWT verifies but whose `role` is not `service_role`.
    NotServiceRole,
}

impl Denied {
    /// The JSON body Kong or PostgREST answers a `/rest/v1/` request with.
    pub fn rest_body(self) -> &'static str {
        match self {
            Denied::NoApiKey => r#"{"message":"No API key found in request"}"#,
            Denied::UnknownApiKey => r#"{"message":"Invalid API key"}"#,
            Denied::BadSignature => r#"{"code":"PGRST301","message":"JWSInvalidSignature"}"#,
            Denied::Expired => r#"{"code":"PGRST303","message":"JWT expired"}"#,
            Denied::InvalidJwt => r#"{"code":"PGRST301","message":"JWSInvalid"}"#,
            Denied::NoBearer => r#"{"msg":"Error: Missing authorization header"}"#,
            Denied::NotServiceRole => r#"{"msg":"service_role required"}"#,
        }
    }

    /// The JSON body the edge runtime answers a `/functions/v1/` request with.
    pub fn function_body(self) -> &'static str {
        match self {
            Denied::NoBearer | Denied::NotServiceRole => self.rest_body(),
            _ => r#"{"msg":"Invalid JWT"}"#,
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    role: Option<String>,
}

impl Keys {
    /// `jwt_secret` is the HMAC key as raw bytes (not base64-decoded), like every
    /// Supabase service reads `JWT_SECRET`.
    pub fn new(
        jwt_secret: &[u8],
        anon_key: String,
        service_role_key: String,
    ) -> Result<Keys, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Supabase keys carry no `aud`; user sessions carry `authenticated`.
        validation.validate_aud = false;
        validation.leeway = 0;
        Ok(Keys {
            decoding: DecodingKey::from_secret(jwt_secret)?,
            validation,
            anon_key,
            service_role_key,
        })
    }

    /// Verifies a JWT and returns its `role` claim (empty when absent).
    fn verify(&self, token: &str) -> Result<String, Denied> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims.role.unwrap_or_default()),
            Err(error) => Err(match error.kind() {
                ErrorKind::InvalidSignature => Denied::BadSignature,
                ErrorKind::ExpiredSignature => Denied::Expired,
                _ => Denied::InvalidJwt,
            }),
        }
    }
}

/// `GET /rest/v1/…`: key-auth, then the JWT check. Returns the key's role.
pub fn rest(keys: &Keys, apikey: Option<&str>) -> Result<String, Denied> {
    let apikey = apikey.ok_or(Denied::NoApiKey)?;
    let is_consumer = same_bytes(apikey, &keys.anon_key) | same_bytes(apikey, &keys.service_role_key);
    if !is_consumer {
        return Err(Denied::UnknownApiKey);
    }
    keys.verify(apikey)
}

/// `GET|POST /functions/v1/<name>`: a verified JWT with `role` = `service_role`.
pub fn function(keys: &Keys, authorization: Option<&str>) -> Result<(), Denied> {
    let token = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(Denied::NoBearer)?;
    match keys.verify(token)?.as_str() {
        "service_role" => Ok(()),
        _ => Err(Denied::NotServiceRole),
    }
}

/// Compares without an early exit, so timing does not tell how much of a key matched.
fn same_bytes(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use std::time::{SystemTime, UNIX_EPOCH};

    const SECRET: &str = "test0secret0with0at0least0thirty0two0chars";
    const OTHER_SECRET: &str = "another0secret0with0at0least0thirty0two0c";

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    fn mint(secret: &str, role: &str, exp: u64) -> String {
        let claims = serde_json::json!({ "role": role, "iss": "supabase", "iat": now(), "exp": exp });
        let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    fn in_five_years() -> u64 {
        now() + 5 * 365 * 24 * 3600
    }

    /// A gateway configured like a fresh stack: both keys signed with `SECRET`.
    fn gateway(anon: &str, service: &str) -> Keys {
        Keys::new(SECRET.as_bytes(), anon.to_owned(), service.to_owned()).unwrap()
    }

    #[test]
    fn rest_accepts_the_anon_key() {
        let anon = mint(SECRET, "anon", in_five_years());
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&anon, &service);
        assert_eq!(rest(&keys, Some(&anon)), Ok("anon".to_owned()));
        assert_eq!(rest(&keys, Some(&service)), Ok("service_role".to_owned()));
    }

    #[test]
    fn rest_rejects_a_configured_key_signed_with_another_secret() {
        // JWT_SECRET rotated but ANON_KEY not re-signed: Kong lets it through,
        // PostgREST answers PGRST301.
        let stale = mint(OTHER_SECRET, "anon", in_five_years());
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&stale, &service);
        assert_eq!(rest(&keys, Some(&stale)), Err(Denied::BadSignature));
        assert!(Denied::BadSignature.rest_body().contains("PGRST301"));
    }

    #[test]
    fn rest_rejects_a_valid_jwt_that_is_not_a_consumer_key() {
        let anon = mint(SECRET, "anon", in_five_years());
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&anon, &service);
        let fresh = mint(SECRET, "anon", in_five_years() + 1);
        assert_eq!(rest(&keys, Some(&fresh)), Err(Denied::UnknownApiKey));
        assert_eq!(rest(&keys, None), Err(Denied::NoApiKey));
        assert_eq!(rest(&keys, Some("")), Err(Denied::UnknownApiKey));
    }

    #[test]
    fn rest_rejects_an_expired_key() {
        let expired = mint(SECRET, "anon", now() - 10);
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&expired, &service);
        assert_eq!(rest(&keys, Some(&expired)), Err(Denied::Expired));
    }

    #[test]
    fn rest_rejects_a_consumer_key_that_is_not_a_jwt() {
        let keys = gateway("not-a-jwt", "also.not.ajwt");
        assert_eq!(rest(&keys, Some("not-a-jwt")), Err(Denied::InvalidJwt));
        assert_eq!(rest(&keys, Some("also.not.ajwt")), Err(Denied::InvalidJwt));
    }

    #[test]
    fn function_needs_service_role() {
        let anon = mint(SECRET, "anon", in_five_years());
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&anon, &service);
        assert_eq!(function(&keys, Some(&format!("Bearer {service}"))), Ok(()));
        assert_eq!(
            function(&keys, Some(&format!("Bearer {anon}"))),
            Err(Denied::NotServiceRole)
        );
        assert_eq!(function(&keys, None), Err(Denied::NoBearer));
        assert_eq!(function(&keys, Some(&service)), Err(Denied::NoBearer));
        assert_eq!(function(&keys, Some("Bearer ")), Err(Denied::NoBearer));
    }

    #[test]
    fn function_rejects_service_role_signed_with_another_secret_or_expired() {
        let anon = mint(SECRET, "anon", in_five_years());
        let service = mint(SECRET, "service_role", in_five_years());
        let keys = gateway(&anon, &service);
        let forged = mint(OTHER_SECRET, "service_role", in_five_years());
        let expired = mint(SECRET, "service_role", now() - 10);
        assert_eq!(
            function(&keys, Some(&format!("Bearer {forged}"))),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            function(&keys, Some(&format!("Bearer {expired}"))),
            Err(Denied::Expired)
        );
        assert_eq!(Denied::BadSignature.function_body(), r#"{"msg":"Invalid JWT"}"#);
    }

    #[test]
    fn same_bytes_compares_whole_values() {
        assert!(same_bytes("abc", "abc"));
        assert!(!same_bytes("abc", "abd"));
        assert!(!same_bytes("abc", "abcd"));
        assert!(same_bytes("", ""));
    }
}
