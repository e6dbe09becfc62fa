//! Minting and checking the asymmetric API keys (`ANON_KEY_ASYMMETRIC`,
//! `SERVICE_ROLE_KEY_ASYMMETRIC`): ES256 JWTs whose header names the signing
//! key's `kid`, with the same claims as the legacy keys. Kong sends them on
//! behalf of a client holding an `sb_` key; services verify them under
//! `JWT_JWKS` by their `kid`.

use jsonwebtoken::{Algorithm, Header};

use super::catalog::Role;
use super::jwk::{Jwk, KeySet};
use super::jwt::{Claims, ISSUER, Unreadable, read_claims};
use super::{Secret, opaque};

/// A new key for `role`, signed with the private EC key `signer`, valid from `iat` for five years.
/// `None` when `signer` is not a P-256 private key with a `kid`.
pub fn mint(role: Role, signer: &Jwk, iat: u64) -> Option<Secret> {
    let key = signer.encoding_key()?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(signer.kid.clone()?);
    jsonwebtoken::encode(&header, &Claims::new(role, iat), &key)
        .ok()
        .map(Secret::new)
}

/// What checking a key under a key set found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Valid {
        role: String,
        iss: Option<String>,
        /// `None`: no `exp` claim (judged by `jwt::judge_claims`, like an HS256 key).
        exp: Option<u64>,
        kid: String,
    },
    /// Not an ES256 JWT at all.
    Malformed,
    /// The header names no `kid`.
    NoKid,
    /// No EC key of the set has the header's `kid`.
    UnknownKid,
    BadSignature,
    Expired,
}

/// Checks `token` under `jwks`: the key its `kid` names, the signature, the expiry.
pub fn check(token: &str, jwks: &KeySet) -> Check {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Check::Malformed;
    };
    if header.alg != Algorithm::ES256 {
        return Check::Malformed;
    }
    let Some(kid) = header.kid else {
        return Check::NoKid;
    };
    let Some(key) = jwks.find(&kid).and_then(Jwk::decoding_key) else {
        return Check::UnknownKid;
    };
    match read_claims(token, &key, Algorithm::ES256) {
        Ok(claims) => Check::Valid {
            role: claims.role.unwrap_or_default(),
            iss: claims.iss,
            exp: claims.exp,
            kid,
        },
        Err(Unreadable::Expired) => Check::Expired,
        Err(Unreadable::BadSignature) => Check::BadSignature,
        Err(Unreadable::Malformed) => Check::Malformed,
    }
}

/// Whether `token` is a sound key for `role`: it verifies under `jwks`,
/// carries the role and iss `supabase`, and was signed by `signer`'s `kid`.
pub fn is_valid_for(token: &str, jwks: &KeySet, role: Role, signer: &Jwk) -> bool {
    matches!(check(token, jwks), Check::Valid { role: r, iss, kid, .. }
        if r == role.claim() && iss.as_deref() == Some(ISSUER) && Some(&kid) == signer.kid.as_ref())
}

/// The role an `sb_` key of `kind` stands for.
pub fn role_of(kind: opaque::Opaque) -> Role {
    match kind {
        opaque::Opaque::Publishable => Role::Anon,
        opaque::Opaque::Secret => Role::ServiceRole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::jwt::{LIFETIME_SECS, now};

    fn set() -> KeySet {
        KeySet::new_signing_set(&Secret::new("s".repeat(40)))
    }

    #[test]
    fn a_minted_key_verifies_under_the_public_set_by_its_kid() {
        let keys = set();
        let signer = keys.signing_key().unwrap();
        let iat = now();
        let token = mint(Role::ServiceRole, signer, iat).unwrap();
        let header = jsonwebtoken::decode_header(token.expose()).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid, signer.kid);
        let signature = token.expose().rsplit('.').next().unwrap();
        assert_eq!(signature.len(), 86, "64-byte r||s");
        match check(token.expose(), &keys.public_set()) {
            Check::Valid { role, iss, exp, kid } => {
                assert_eq!(role, "service_role");
                assert_eq!(iss.as_deref(), Some("supabase"));
                assert_eq!(exp, Some(iat + LIFETIME_SECS));
                assert_eq!(Some(kid), signer.kid.clone());
            }
            other => panic!("{other:?}"),
        }
        assert!(is_valid_for(
            token.expose(),
            &keys.public_set(),
            Role::ServiceRole,
            signer
        ));
        assert!(!is_valid_for(token.expose(), &keys.public_set(), Role::Anon, signer));
    }

    #[test]
    fn another_key_set_an_unknown_kid_and_garbage_are_told_apart() {
        let keys = set();
        let token = mint(Role::Anon, keys.signing_key().unwrap(), now()).unwrap();
        assert_eq!(check(token.expose(), &set().public_set()), Check::UnknownKid);
        // Same kid, another key: the signature fails.
        let mut other = set();
        other.keys[0].kid = keys.keys[0].kid.clone();
        assert_eq!(check(token.expose(), &other.public_set()), Check::BadSignature);
        assert_eq!(check("not.a.jwt", &keys), Check::Malformed);
        let hs = crate::secrets::jwt::mint(Role::Anon, &Secret::new("s".repeat(40)), now());
        assert_eq!(check(hs.expose(), &keys), Check::Malformed);
        let old = mint(Role::Anon, keys.signing_key().unwrap(), 1000).unwrap();
        assert_eq!(check(old.expose(), &keys), Check::Expired);
    }
}
