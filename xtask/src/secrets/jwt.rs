//! Minting and checking the HS256 API keys (`ANON_KEY`, `SERVICE_ROLE_KEY`),
//! and the one judgement of such a key that setup, rotate and verify share.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Secret;
use super::catalog::Role;
use super::defaults::KNOWN_DEFAULT_JWT_SECRETS;

/// The issuer Supabase's own key generator writes.
pub const ISSUER: &str = "supabase";
/// How long a minted key lives.
pub const LIFETIME_SECS: u64 = 5 * 365 * 24 * 3600;

/// The claims of a minted key, HS256 or ES256 alike.
#[derive(Serialize, Deserialize)]
pub(crate) struct Claims {
    role: String,
    iss: String,
    iat: u64,
    exp: u64,
}

impl Claims {
    /// The claims of a key for `role`, valid from `iat` for five years.
    pub(crate) fn new(role: Role, iat: u64) -> Claims {
        Claims {
            role: role.claim().to_string(),
            iss: ISSUER.to_string(),
            iat,
            exp: iat + LIFETIME_SECS,
        }
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A new key for `role`, signed with `jwt_secret`, valid from `iat` for five years.
pub fn mint(role: Role, jwt_secret: &Secret, iat: u64) -> Secret {
    let claims = Claims::new(role, iat);
    let key = EncodingKey::from_secret(jwt_secret.expose().as_bytes()).expect("an HMAC key accepts any bytes");
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .expect("HS256 encoding of plain claims cannot fail");
    Secret::new(token)
}

/// What checking a key against a secret found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    Valid {
        role: String,
        iss: Option<String>,
        /// `None`: the key carries no `exp` claim, so it never expires.
        exp: Option<u64>,
    },
    /// The signature does not verify under the secret (PostgREST's `PGRST301`).
    BadSignature,
    Expired,
    /// Not a JWT at all, or claims of the wrong shape.
    Malformed,
}

/// The claims an API key is judged by, each optional so that a missing one is
/// reported rather than a decoding failure.
#[derive(Deserialize)]
pub(crate) struct LooseClaims {
    pub role: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<u64>,
}

/// Why a token's signature and claims could not be read back, or were refused.
pub(crate) enum Unreadable {
    BadSignature,
    Malformed,
    Expired,
}

/// Verifies `token`'s signature under `key` with `alg`, reads its claims and
/// refuses an expired one (a missing `exp` never expires); the other claims
/// are left to the caller to judge (HS256 keys here, ES256 keys in `es256`).
pub(crate) fn read_claims(token: &str, key: &DecodingKey, alg: Algorithm) -> Result<LooseClaims, Unreadable> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<LooseClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Unreadable::BadSignature,
            _ => Unreadable::Malformed,
        })?;
    if claims.exp.is_some_and(|exp| exp <= now()) {
        return Err(Unreadable::Expired);
    }
    Ok(claims)
}

/// Checks `token` against `jwt_secret`: signature, expiry and the claims read back.
pub fn check(token: &str, jwt_secret: &str) -> KeyCheck {
    let Ok(key) = DecodingKey::from_secret(jwt_secret.as_bytes()) else {
        return KeyCheck::Malformed;
    };
    match read_claims(token, &key, Algorithm::HS256) {
        Ok(claims) => KeyCheck::Valid {
            role: claims.role.unwrap_or_default(),
            iss: claims.iss,
            exp: claims.exp,
        },
        Err(Unreadable::Expired) => KeyCheck::Expired,
        Err(Unreadable::BadSignature) => KeyCheck::BadSignature,
        Err(Unreadable::Malformed) => KeyCheck::Malformed,
    }
}

/// A key closer than this to its expiry is refused: it would stop working
/// before the stack it is deployed to has settled.
pub const REFUSE_WITHIN_SECS: u64 = 3600;
/// A key closer than this to its expiry is accepted with a warning.
pub const WARN_WITHIN_SECS: u64 = 30 * 24 * 3600;

/// Why an API key is refused. Never holds the key; a claim is shown only
/// when it is a plain word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFault {
    /// Signed with a published secret: anybody can forge it.
    PublishedSigner,
    /// Not an HS256 JWT, or claims of the wrong shape.
    Malformed,
    /// The signature does not verify under `JWT_SECRET`.
    BadSignature,
    WrongRole(String),
    WrongIssuer(Option<String>),
    Expired,
    /// Expires within [`REFUSE_WITHIN_SECS`].
    ExpiresWithinTheHour {
        exp: u64,
    },
}

impl std::fmt::Display for KeyFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyFault::PublishedSigner => f.write_str("is signed with a published JWT secret: anybody can forge it"),
            KeyFault::Malformed => f.write_str("is not a valid HS256 JWT"),
            KeyFault::BadSignature => f.write_str("is not signed with JWT_SECRET"),
            KeyFault::WrongRole(role) => write!(f, "has {}", claim_phrase("role", role)),
            KeyFault::WrongIssuer(None) => write!(f, "carries no iss claim where iss {ISSUER} is required"),
            KeyFault::WrongIssuer(Some(iss)) => {
                write!(f, "has {} where iss {ISSUER} is required", claim_phrase("iss", iss))
            }
            KeyFault::Expired => f.write_str("has expired"),
            KeyFault::ExpiresWithinTheHour { exp } => {
                write!(f, "expires within the hour, at {}", crate::clock::iso8601(*exp))
            }
        }
    }
}

/// `role service_role`, or `an unexpected role` when the claim is not a
/// plain word (lowercase letters, `_`, `-`, `.`): a claim could hold anything.
pub fn claim_phrase(claim: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || matches!(c, '_' | '-' | '.'));
    if plain {
        format!("{claim} {value}")
    } else {
        format!("an unexpected {claim}")
    }
}

/// Why a sound key still deserves a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyWarning {
    /// No `exp` claim: it never expires, so a leaked copy works forever.
    NeverExpires,
    /// Expires within [`WARN_WITHIN_SECS`].
    ExpiresSoon { exp: u64 },
}

impl std::fmt::Display for KeyWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyWarning::NeverExpires => f.write_str("carries no exp claim: it never expires"),
            KeyWarning::ExpiresSoon { exp } => write!(
                f,
                "expires in {} days, on {}",
                exp.saturating_sub(now()) / (24 * 3600),
                &crate::clock::iso8601(*exp)[..10]
            ),
        }
    }
}

/// The one judgement of an API key for `role` under `jwt_secret` at `now`:
/// setup (dev and injected), rotate and verify all ask this.
pub fn judge(token: &str, jwt_secret: &str, role: Role, now: u64) -> Result<Option<KeyWarning>, KeyFault> {
    if signed_by_known_default(token) {
        return Err(KeyFault::PublishedSigner);
    }
    let (found, iss, exp) = match check(token, jwt_secret) {
        KeyCheck::Valid { role, iss, exp } => (role, iss, exp),
        KeyCheck::BadSignature => return Err(KeyFault::BadSignature),
        KeyCheck::Expired => return Err(KeyFault::Expired),
        KeyCheck::Malformed => return Err(KeyFault::Malformed),
    };
    judge_claims(&found, iss.as_deref(), exp, role, now)
}

/// The judgement of the claims of an API key whose signature verified, HS256 or
/// ES256 alike: the role, `iss`, and how long it has left (none without `exp`).
pub fn judge_claims(
    found: &str,
    iss: Option<&str>,
    exp: Option<u64>,
    role: Role,
    now: u64,
) -> Result<Option<KeyWarning>, KeyFault> {
    if found != role.claim() {
        return Err(KeyFault::WrongRole(found.to_string()));
    }
    if iss != Some(ISSUER) {
        return Err(KeyFault::WrongIssuer(iss.map(str::to_string)));
    }
    match exp {
        None => Ok(Some(KeyWarning::NeverExpires)),
        Some(exp) if exp <= now => Err(KeyFault::Expired),
        Some(exp) if exp - now < REFUSE_WITHIN_SECS => Err(KeyFault::ExpiresWithinTheHour { exp }),
        Some(exp) if exp - now < WARN_WITHIN_SECS => Ok(Some(KeyWarning::ExpiresSoon { exp })),
        Some(_) => Ok(None),
    }
}

/// Whether `token` is a sound key for `role` under `jwt_secret` (see [`judge`]).
pub fn is_valid_for(token: &str, jwt_secret: &str, role: Role) -> bool {
    judge(token, jwt_secret, role, now()).is_ok()
}

/// Whether `token`'s signature verifies under a published default secret,
/// whatever its claims or expiry: such a key can be forged by anybody.
pub fn signed_by_known_default(token: &str) -> bool {
    KNOWN_DEFAULT_JWT_SECRETS
        .iter()
        .any(|secret| matches!(check(token, secret), KeyCheck::Valid { .. } | KeyCheck::Expired))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

    #[test]
    fn a_minted_key_verifies_with_its_role_issuer_and_five_years() {
        let now = now();
        let key = mint(Role::ServiceRole, &Secret::new(SECRET), now);
        match check(key.expose(), SECRET) {
            KeyCheck::Valid { role, iss, exp } => {
                assert_eq!(role, "service_role");
                assert_eq!(iss.as_deref(), Some("supabase"));
                assert_eq!(exp, Some(now + LIFETIME_SECS));
            }
            other => panic!("{other:?}"),
        }
        assert!(is_valid_for(key.expose(), SECRET, Role::ServiceRole));
        assert!(!is_valid_for(key.expose(), SECRET, Role::Anon));
    }

    #[test]
    fn the_header_is_hs256_jwt() {
        let key = mint(Role::Anon, &Secret::new(SECRET), 1);
        let header = jsonwebtoken::decode_header(key.expose()).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
    }

    #[test]
    fn another_secret_and_garbage_are_told_apart() {
        let key = mint(Role::Anon, &Secret::new(SECRET), now());
        assert_eq!(
            check(key.expose(), "another-secret-of-at-least-32-characters"),
            KeyCheck::BadSignature
        );
        assert_eq!(check("not.a.jwt", SECRET), KeyCheck::Malformed);
        let old = mint(Role::Anon, &Secret::new(SECRET), 1000);
        assert_eq!(check(old.expose(), SECRET), KeyCheck::Expired);
    }

    #[test]
    fn the_upstream_demo_keys_are_caught_whatever_their_claims() {
        // Shaped like upstream's demo keys: iss supabase-demo, iat 1641769200, exp 1799535600,
        // signed with the .env.example secret.
        let claims = Claims {
            role: "anon".into(),
            iss: "supabase-demo".into(),
            iat: 1_641_769_200,
            exp: 1_799_535_600,
        };
        let key = EncodingKey::from_secret(KNOWN_DEFAULT_JWT_SECRETS[0].as_bytes()).unwrap();
        let demo = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(signed_by_known_default(&demo));
        let forged = mint(Role::ServiceRole, &Secret::new(KNOWN_DEFAULT_JWT_SECRETS[1]), now());
        assert!(signed_by_known_default(forged.expose()));
        let ours = mint(Role::ServiceRole, &Secret::new(SECRET), now());
        assert!(!signed_by_known_default(ours.expose()));
    }

    #[test]
    fn minted_keys_satisfy_gitlab_masking() {
        // GitLab masks a variable of 8+ characters from [a-zA-Z0-9_+=/@:.~-];
        // a compact JWT is three base64url segments (no padding) and two dots.
        for role in [Role::Anon, Role::ServiceRole] {
            for _ in 0..20 {
                let secret = crate::secrets::generate::random(crate::secrets::catalog::Charset::Alphanumeric, 40);
                let key = mint(role, &secret, now());
                let key = key.expose();
                assert!(key.len() >= 8);
                assert_eq!(key.matches('.').count(), 2, "{role:?}");
                assert!(
                    key.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'),
                    "{role:?}: a character outside base64url and dots"
                );
                assert!(
                    key.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=/@:.~-".contains(c))
                );
            }
        }
    }

    fn signed(claims: serde_json::Value) -> String {
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    #[test]
    fn one_judgement_of_issuer_and_expiry() {
        let now = now();
        let judge_it = |claims| judge(&signed(claims), SECRET, Role::Anon, now);
        let exp = now + 365 * 24 * 3600;
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "supabase", "exp": exp})),
            Ok(None)
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "other", "exp": exp})),
            Err(KeyFault::WrongIssuer(Some("other".into())))
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "exp": exp})),
            Err(KeyFault::WrongIssuer(None))
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "supabase"})),
            Ok(Some(KeyWarning::NeverExpires))
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "supabase", "exp": now + 600})),
            Err(KeyFault::ExpiresWithinTheHour { exp: now + 600 })
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "supabase", "exp": now + 7 * 24 * 3600})),
            Ok(Some(KeyWarning::ExpiresSoon {
                exp: now + 7 * 24 * 3600
            }))
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "anon", "iss": "supabase", "exp": now - 1})),
            Err(KeyFault::Expired)
        );
        assert_eq!(
            judge_it(serde_json::json!({"role": "service_role", "iss": "supabase", "exp": exp})),
            Err(KeyFault::WrongRole("service_role".into()))
        );
        let public = mint(Role::Anon, &Secret::new(KNOWN_DEFAULT_JWT_SECRETS[1]), now);
        assert_eq!(
            judge(public.expose(), KNOWN_DEFAULT_JWT_SECRETS[1], Role::Anon, now),
            Err(KeyFault::PublishedSigner)
        );
    }

    #[test]
    fn faults_never_show_a_claim_that_is_not_a_plain_word() {
        let shown = KeyFault::WrongIssuer(Some("sk-live-Canary0123".into())).to_string();
        assert!(!shown.contains("Canary"), "{shown}");
        assert_eq!(
            KeyFault::WrongRole("service_role".into()).to_string(),
            "has role service_role"
        );
    }
}
