//! Minting and checking the HS256 API keys (`ANON_KEY`, `SERVICE_ROLE_KEY`).

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

#[derive(Serialize, Deserialize)]
struct Claims {
    role: String,
    iss: String,
    iat: u64,
    exp: u64,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A new key for `role`, signed with `jwt_secret`, valid from `iat` for five years.
pub fn mint(role: Role, jwt_secret: &Secret, iat: u64) -> Secret {
    let claims = Claims {
        role: role.claim().to_string(),
        iss: ISSUER.to_string(),
        iat,
        exp: iat + LIFETIME_SECS,
    };
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
        exp: u64,
    },
    /// The signature does not verify under the secret (PostgREST's `PGRST301`).
    BadSignature,
    Expired,
    /// Not a JWT at all, or claims of the wrong shape.
    Malformed,
}

#[derive(Deserialize)]
struct LooseClaims {
    role: Option<String>,
    iss: Option<String>,
    exp: Option<u64>,
}

/// Checks `token` against `jwt_secret`: signature, expiry and the claims read back.
pub fn check(token: &str, jwt_secret: &str) -> KeyCheck {
    let Ok(key) = DecodingKey::from_secret(jwt_secret.as_bytes()) else {
        return KeyCheck::Malformed;
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.leeway = 0;
    match jsonwebtoken::decode::<LooseClaims>(token, &key, &validation) {
        Ok(data) => {
            let exp = data.claims.exp.unwrap_or(0);
            if exp <= now() {
                return KeyCheck::Expired;
            }
            KeyCheck::Valid {
                role: data.claims.role.unwrap_or_default(),
                iss: data.claims.iss,
                exp,
            }
        }
        Err(err) => match err.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => KeyCheck::BadSignature,
            _ => KeyCheck::Malformed,
        },
    }
}

/// Whether `token` is a valid key for `role` under `jwt_secret`.
pub fn is_valid_for(token: &str, jwt_secret: &str, role: Role) -> bool {
    matches!(check(token, jwt_secret), KeyCheck::Valid { role: r, .. } if r == role.claim())
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
                assert_eq!(exp, now + LIFETIME_SECS);
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
}
