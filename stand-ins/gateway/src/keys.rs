//! Every key decision of the stand-ins, in one place: how each service verifies a JWT
//! (which variable holds its key, which algorithms it takes), and what the gateway's
//! template expressions put in a request header.
//!
//! Each service builds its [`Verifier`] from its own environment, like the real one:
//!
//! | service | variable | rule |
//! |---|---|---|
//! | GoTrue | `GOTRUE_JWT_SECRET` | HS256, the raw bytes of the secret; `exp` checked when present |
//! | PostgREST | `PGRST_JWT_SECRET` | HS256 with the raw secret (a JWK or JWKS document is not read yet) |
//! | edge runtime | `JWT_SECRET` | HS256 with the raw secret, only when `VERIFY_JWT` is `true` |
//!
//! A later key model (asymmetric signing keys, `JWT_KEYS` / `JWT_JWKS`, opaque `sb_` API
//! keys swapped for internal JWTs at the gateway) extends [`Verifier`] implementations
//! and [`Expression::evaluate`] here, and nothing else.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

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
}

/// How one service checks the JWTs it is given. Holds key material: no `Debug`.
pub trait Verifier: Send + Sync {
    fn verify(&self, token: &str) -> Result<Claims, JwtError>;
}

/// HS256 under a shared secret, its raw bytes as the HMAC key (how every Supabase service
/// reads `JWT_SECRET`: not base64-decoded). `exp` is checked when present, with no leeway;
/// `aud` is not checked (the API keys carry none).
pub struct SharedSecret {
    key: DecodingKey,
    validation: Validation,
}

impl SharedSecret {
    pub fn new(secret: &str) -> Result<SharedSecret, String> {
        let key = DecodingKey::from_secret(secret.as_bytes())
            .map_err(|_| "the secret is not usable as an HS256 key".to_owned())?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        Ok(SharedSecret { key, validation })
    }
}

impl Verifier for SharedSecret {
    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &self.key, &self.validation) {
            Ok(data) => Ok(Claims(data.claims)),
            Err(error) => Err(match error.kind() {
                ErrorKind::InvalidSignature => JwtError::Signature,
                ErrorKind::ExpiredSignature => JwtError::Expired,
                ErrorKind::InvalidAlgorithm => JwtError::Algorithm,
                _ => JwtError::Malformed,
            }),
        }
    }
}

/// Reads a variable of the service's environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn required(env: Env<'_>, name: &str) -> Result<String, String> {
    match env(name) {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(format!("{name} is empty; set it in the container's environment")),
        None => Err(format!("{name} is not set; set it in the container's environment")),
    }
}

/// GoTrue: `GOTRUE_JWT_SECRET`.
pub fn gotrue_verifier(env: Env<'_>) -> Result<Box<dyn Verifier>, String> {
    Ok(Box::new(
        SharedSecret::new(&required(env, "GOTRUE_JWT_SECRET")?).map_err(|e| format!("GOTRUE_JWT_SECRET: {e}"))?,
    ))
}

/// PostgREST: `PGRST_JWT_SECRET`, a raw secret (PostgREST also takes a JWK or a JWKS
/// document there; this stand-in refuses one rather than misread it).
pub fn postgrest_verifier(env: Env<'_>) -> Result<Box<dyn Verifier>, String> {
    let secret = required(env, "PGRST_JWT_SECRET")?;
    if secret.trim_start().starts_with('{') {
        return Err("PGRST_JWT_SECRET holds a JWK or JWKS document, which this stand-in does not read yet".into());
    }
    if env("PGRST_JWT_SECRET_IS_BASE64").is_some_and(|v| v == "true") {
        return Err("PGRST_JWT_SECRET_IS_BASE64=true is not supported by this stand-in".into());
    }
    Ok(Box::new(
        SharedSecret::new(&secret).map_err(|e| format!("PGRST_JWT_SECRET: {e}"))?,
    ))
}

/// The edge runtime's main service: `JWT_SECRET`, checked only when `VERIFY_JWT=true`.
/// `None`: every request passes without a token.
pub fn edge_verifier(env: Env<'_>) -> Result<Option<Box<dyn Verifier>>, String> {
    if env("VERIFY_JWT").as_deref() != Some("true") {
        return Ok(None);
    }
    Ok(Some(Box::new(
        SharedSecret::new(&required(env, "JWT_SECRET")?).map_err(|e| format!("JWT_SECRET: {e}"))?,
    )))
}

/// A value Kong computes per request in a `request-transformer` template (`$(…)`), as
/// the Kong entrypoint of upstream Supabase defines them (`LUA_AUTH_EXPR`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expression {
    /// `LUA_AUTH_EXPR`: the client's `Authorization` unless it is a `Bearer sb_…` key,
    /// else the `apikey` header (legacy keys pass through unchanged).
    AuthHeader,
    /// `LUA_RT_WS_EXPR`: the `apikey` query parameter.
    RealtimeKey,
    /// `LUA_FUNCTIONS_EXPR`: the internal JWT for an opaque key; nothing for legacy keys.
    FunctionsKey,
}

impl Expression {
    /// The entrypoint variable that stands for this expression in `kong.yml`.
    pub fn variable(self) -> &'static str {
        match self {
            Expression::AuthHeader => "LUA_AUTH_EXPR",
            Expression::RealtimeKey => "LUA_RT_WS_EXPR",
            Expression::FunctionsKey => "LUA_FUNCTIONS_EXPR",
        }
    }

    pub const ALL: [Expression; 3] = [
        Expression::AuthHeader,
        Expression::RealtimeKey,
        Expression::FunctionsKey,
    ];

    /// The marker the stand-in's entrypoint puts in the rendered file (`$(name)`).
    pub fn marker(self) -> String {
        format!("$({})", self.variable())
    }

    pub fn from_marker(text: &str) -> Option<Expression> {
        Expression::ALL.into_iter().find(|e| e.marker() == text.trim())
    }

    /// The header value; `None` is Lua's nil, which Kong renders as an empty value.
    pub fn evaluate(self, request: &Request) -> Option<String> {
        match self {
            Expression::AuthHeader => match request.header("authorization") {
                Some(auth) if !auth.starts_with("Bearer sb_") => Some(auth.to_owned()),
                _ => request.header("apikey").map(str::to_owned),
            },
            Expression::RealtimeKey => request.query_param("apikey").map(str::to_owned),
            Expression::FunctionsKey => None,
        }
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
    use jsonwebtoken::{EncodingKey, Header};
    use std::time::{SystemTime, UNIX_EPOCH};

    pub const SECRET: &str = "test0secret0with0at0least0thirty0two0chars";

    pub fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    pub fn mint(secret: &str, claims: serde_json::Value) -> String {
        let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    #[test]
    fn a_shared_secret_checks_signature_and_expiry() {
        let verifier = SharedSecret::new(SECRET).unwrap();
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
    fn the_auth_expression_prefers_a_user_session_over_the_apikey() {
        let request = Request::new("GET", "/").with_header("apikey", "k");
        assert_eq!(Expression::AuthHeader.evaluate(&request).as_deref(), Some("k"));
        let session = request.clone().with_header("Authorization", "Bearer user");
        assert_eq!(
            Expression::AuthHeader.evaluate(&session).as_deref(),
            Some("Bearer user")
        );
        let opaque = request.with_header("Authorization", "Bearer sb_secret_x");
        assert_eq!(Expression::AuthHeader.evaluate(&opaque).as_deref(), Some("k"));
        assert_eq!(
            Expression::from_marker(" $(LUA_AUTH_EXPR)"),
            Some(Expression::AuthHeader)
        );
    }

    #[test]
    fn same_bytes_compares_whole_values() {
        assert!(same_bytes("abc", "abc"));
        assert!(!same_bytes("abc", "abd"));
        assert!(!same_bytes("abc", "abcd"));
    }
}
