//! Judgement of the asymmetric key model, each value against the others:
//! `JWT_KEYS` (GoTrue's rules: exactly one signing key, unique `kid`s, `alg`
//! on every key), `JWT_JWKS` (the public part of `JWT_KEYS`, no private key),
//! both `oct` keys against `JWT_SECRET`, the ES256 API keys under `JWT_JWKS`,
//! and the checksums of the `sb_` keys. A flaw names keys by `kid` (public:
//! every token header carries it), never by a value.

use std::fmt;

use super::catalog::{Make, Role, SecretSpec};
use super::es256::{self, Check};
use super::jwk::{KeySet, SetError, Shape};
use super::jwt::{ISSUER, KeyFault, KeyWarning, judge_claims};
use super::{Secret, opaque};

pub use super::catalog::name::{JWT_JWKS, JWT_KEYS};

/// One thing wrong with a value of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flaw {
    NotASet(SetError),
    NoSigningKey,
    SeveralSigningKeys(usize),
    SigningKeyNotEs256,
    /// The signing key lacks its private part, or it does not belong to its point.
    SigningKeyBroken,
    MissingKid,
    DuplicateKid(String),
    /// A key without `alg`: its position in the set.
    NoAlg(usize),
    NoOct,
    OctNotJwtSecret,
    PrivateInPublicSet,
    MissingFromPublicSet(String),
    DiffersInPublicSet(String),
    NotInSigningSet(String),
    Opaque(opaque::Problem),
    ApiKey(ApiKeyFlaw),
}

/// What is wrong with an asymmetric API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyFlaw {
    NotEs256,
    NoKid,
    UnknownKid,
    BadSignature,
    Expired,
    WrongRole {
        want: &'static str,
    },
    WrongIssuer,
    /// Expires within `jwt::REFUSE_WITHIN_SECS`.
    ExpiresWithinTheHour {
        exp: u64,
    },
    /// Valid, but signed by a key that no longer signs.
    NotTheSigningKey,
    /// No usable `JWT_JWKS` to check it under.
    NoKeySet,
}

fn kid_phrase(kid: &str) -> String {
    let plain = !kid.is_empty() && kid.len() <= 64 && kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain {
        format!("kid {kid}")
    } else {
        "a kid".to_string()
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flaw::NotASet(err) => write!(f, "{err}"),
            Flaw::NoSigningKey => {
                f.write_str("has no key with key_ops sign (GoTrue refuses to start: no signing key detected)")
            }
            Flaw::SeveralSigningKeys(n) => write!(
                f,
                "has {n} keys with key_ops sign (GoTrue refuses to start: only 1 signing key is supported)"
            ),
            Flaw::SigningKeyNotEs256 => f.write_str("has a signing key that is not an EC P-256 (ES256) key"),
            Flaw::SigningKeyBroken => {
                f.write_str("has a signing key whose private part d is missing or does not belong to its x and y")
            }
            Flaw::MissingKid => f.write_str("has an EC key without a kid (GoTrue maps keys by kid)"),
            Flaw::DuplicateKid(kid) => write!(f, "has two keys with {} (GoTrue maps keys by kid)", kid_phrase(kid)),
            Flaw::NoAlg(n) => write!(f, "has a key without alg (key {})", n + 1),
            Flaw::NoOct => f.write_str("has no HS256 oct key, so the legacy keys stop verifying"),
            Flaw::OctNotJwtSecret => f.write_str("has an HS256 oct key that is not JWT_SECRET"),
            Flaw::PrivateInPublicSet => {
                f.write_str("holds a private key (d): the verifiers' set must hold public keys only")
            }
            Flaw::MissingFromPublicSet(kid) => write!(f, "lacks the public key {} of JWT_KEYS", kid_phrase(kid)),
            Flaw::DiffersInPublicSet(kid) => write!(
                f,
                "holds a public key {} that differs from the one in JWT_KEYS",
                kid_phrase(kid)
            ),
            Flaw::NotInSigningSet(kid) => write!(f, "holds a key {} that JWT_KEYS does not have", kid_phrase(kid)),
            Flaw::Opaque(problem) => write!(f, "{problem}"),
            Flaw::ApiKey(flaw) => write!(f, "{flaw}"),
        }
    }
}

impl fmt::Display for ApiKeyFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKeyFlaw::NotEs256 => f.write_str("is not a valid ES256 JWT"),
            ApiKeyFlaw::NoKid => f.write_str("names no kid in its header, so verifiers cannot pick its key"),
            ApiKeyFlaw::UnknownKid => f.write_str("names a kid that JWT_JWKS does not have"),
            ApiKeyFlaw::BadSignature => f.write_str("does not verify under JWT_JWKS by its kid"),
            ApiKeyFlaw::Expired => f.write_str("has expired"),
            ApiKeyFlaw::ExpiresWithinTheHour { exp } => {
                write!(f, "{}", super::jwt::KeyFault::ExpiresWithinTheHour { exp: *exp })
            }
            ApiKeyFlaw::WrongRole { want } => write!(f, "does not carry role {want}"),
            ApiKeyFlaw::WrongIssuer => write!(f, "does not carry iss {ISSUER}"),
            ApiKeyFlaw::NotTheSigningKey => f.write_str("is signed by a key of JWT_KEYS that no longer signs"),
            ApiKeyFlaw::NoKeySet => f.write_str("cannot be checked: JWT_JWKS is empty or broken"),
        }
    }
}

/// `JWT_KEYS` read, with every flaw of its structure (its `oct` key aside:
/// see [`oct_flaws`]).
pub fn signing_set(text: &str) -> (Option<KeySet>, Vec<Flaw>) {
    let set = match KeySet::parse(text, Shape::Array) {
        Ok(set) => set,
        Err(err) => return (None, vec![Flaw::NotASet(err)]),
    };
    let mut flaws = structure(&set);
    match set.signing_keys().as_slice() {
        [] => flaws.push(Flaw::NoSigningKey),
        [key] if !(key.is_ec() && key.alg.as_deref() == Some("ES256") && key.crv.as_deref() == Some("P-256")) => {
            flaws.push(Flaw::SigningKeyNotEs256)
        }
        [key] if !key.private_matches_public() => flaws.push(Flaw::SigningKeyBroken),
        [_] => {}
        many => flaws.push(Flaw::SeveralSigningKeys(many.len())),
    }
    (Some(set), flaws)
}

/// `JWT_JWKS` read, with every flaw of its structure and against `signing`
/// (the EC keys of both must be the same public keys).
pub fn public_set(text: &str, signing: Option<&KeySet>) -> (Option<KeySet>, Vec<Flaw>) {
    let set = match KeySet::parse(text, Shape::Jwks) {
        Ok(set) => set,
        Err(err) => return (None, vec![Flaw::NotASet(err)]),
    };
    let mut flaws = structure(&set);
    if set.holds_private_ec() {
        flaws.push(Flaw::PrivateInPublicSet);
    }
    if let Some(signing) = signing {
        for key in signing.keys.iter().filter(|k| k.is_ec()) {
            let kid = key.kid.clone().unwrap_or_default();
            match set.keys.iter().find(|k| k.is_ec() && k.kid == key.kid) {
                None => flaws.push(Flaw::MissingFromPublicSet(kid)),
                Some(public) if !public.same_public_key(key) => flaws.push(Flaw::DiffersInPublicSet(kid)),
                Some(_) => {}
            }
        }
        for key in set.keys.iter().filter(|k| k.is_ec()) {
            if !signing.keys.iter().any(|k| k.is_ec() && k.kid == key.kid) {
                flaws.push(Flaw::NotInSigningSet(key.kid.clone().unwrap_or_default()));
            }
        }
    }
    (Some(set), flaws)
}

/// What both sets must have: a `kid` on every EC key, no two keys with one
/// `kid`, an `alg` on every key.
fn structure(set: &KeySet) -> Vec<Flaw> {
    let mut flaws = Vec::new();
    for (n, key) in set.keys.iter().enumerate() {
        if key.alg.as_deref().unwrap_or_default().is_empty() {
            flaws.push(Flaw::NoAlg(n));
        }
        match &key.kid {
            None if key.is_ec() => flaws.push(Flaw::MissingKid),
            Some(kid) if set.keys[..n].iter().any(|k| k.kid.as_ref() == Some(kid)) => {
                flaws.push(Flaw::DuplicateKid(kid.clone()))
            }
            _ => {}
        }
    }
    flaws
}

/// The `oct` key of a set against `JWT_SECRET`.
pub fn oct_flaws(set: &KeySet, jwt_secret: &Secret) -> Vec<Flaw> {
    if set.octs().next().is_none() {
        vec![Flaw::NoOct]
    } else if !set.octs_hold(jwt_secret) {
        vec![Flaw::OctNotJwtSecret]
    } else {
        Vec::new()
    }
}

/// An asymmetric API key for `role` under `jwks`, signed by `signing`'s signing key when
/// given; its claims judged as an HS256 key's are (`jwt::judge_claims`), so a key
/// without `exp` gets the same "never expires" warning.
pub fn api_key(
    token: &str,
    role: Role,
    jwks: &KeySet,
    signing: Option<&KeySet>,
) -> Result<Option<KeyWarning>, ApiKeyFlaw> {
    match es256::check(token, jwks) {
        Check::Valid {
            role: found,
            iss,
            exp,
            kid,
        } => {
            let judged =
                judge_claims(&found, iss.as_deref(), exp, role, super::jwt::now()).map_err(|fault| match fault {
                    KeyFault::WrongRole(_) => ApiKeyFlaw::WrongRole { want: role.claim() },
                    KeyFault::WrongIssuer(_) => ApiKeyFlaw::WrongIssuer,
                    KeyFault::ExpiresWithinTheHour { exp } => ApiKeyFlaw::ExpiresWithinTheHour { exp },
                    _ => ApiKeyFlaw::Expired,
                })?;
            if let Some(signer) = signing.and_then(KeySet::signing_key)
                && signer.kid.as_deref() != Some(kid.as_str())
            {
                return Err(ApiKeyFlaw::NotTheSigningKey);
            }
            Ok(judged)
        }
        Check::Malformed => Err(ApiKeyFlaw::NotEs256),
        Check::NoKid => Err(ApiKeyFlaw::NoKid),
        Check::UnknownKid => Err(ApiKeyFlaw::UnknownKid),
        Check::BadSignature => Err(ApiKeyFlaw::BadSignature),
        Check::Expired => Err(ApiKeyFlaw::Expired),
    }
}

/// Whether two values of `spec` are the same apart from what follows
/// `JWT_SECRET`: for a key set, the same keys once their `oct` keys are set
/// aside; for anything else, the same text.
pub fn same_apart_from_oct(spec: &SecretSpec, a: &str, b: &str) -> bool {
    let shape = match spec.make {
        Make::SigningKeys => Shape::Array,
        Make::PublicKeys => Shape::Jwks,
        _ => return a == b,
    };
    match (KeySet::parse(a, shape), KeySet::parse(b, shape)) {
        (Ok(a), Ok(b)) => {
            let without_oct = |set: KeySet| set.keys.into_iter().filter(|k| !k.is_oct()).collect::<Vec<_>>();
            without_oct(a) == without_oct(b)
        }
        _ => a == b,
    }
}

/// A complete and sound set of the model's values for `jwt_secret`, in
/// catalog order: a new signing key, its public set, both ES256 API keys and
/// both `sb_` keys (what a new dev project gets).
pub fn fresh_values(jwt_secret: &Secret) -> Vec<(&'static str, Secret)> {
    let keys = KeySet::new_signing_set(jwt_secret);
    let signer = keys.signing_key().expect("a new set has one signing key");
    let iat = super::jwt::now();
    super::CATALOG
        .iter()
        .filter_map(|spec| {
            let value = match spec.make {
                Make::Opaque(kind) => opaque::generate(kind),
                Make::SigningKeys => Secret::new(keys.render(Shape::Array)),
                Make::PublicKeys => Secret::new(keys.public_set().render(Shape::Jwks)),
                Make::MintedAsymmetric(role) => es256::mint(role, signer, iat).expect("a new key signs"),
                _ => return None,
            };
            Some((spec.name, value))
        })
        .collect()
}

/// The first flaw of a non-empty `value` for an asymmetric `spec`, with
/// `others` giving the rest of the file. Flaws that setup and rotate repair
/// themselves (an `oct` key that no longer holds `JWT_SECRET`) are left out.
pub fn check(spec: &SecretSpec, value: &str, others: &dyn Fn(&str) -> Option<String>) -> Result<(), Flaw> {
    let signing = || others(JWT_KEYS).and_then(|text| signing_set(&text).0);
    let first = |flaws: Vec<Flaw>| flaws.into_iter().next().map_or(Ok(()), Err);
    match spec.make {
        Make::Opaque(kind) => opaque::check(kind, value).map_err(Flaw::Opaque),
        Make::SigningKeys => first(signing_set(value).1),
        Make::PublicKeys => first(public_set(value, signing().as_ref()).1),
        Make::MintedAsymmetric(role) => {
            let signing = signing();
            let jwks = others(JWT_JWKS)
                .and_then(|text| KeySet::parse(&text, Shape::Jwks).ok())
                .or_else(|| signing.as_ref().map(KeySet::public_set))
                .ok_or(Flaw::ApiKey(ApiKeyFlaw::NoKeySet))?;
            api_key(value, role, &jwks, signing.as_ref())
                .map(|_| ())
                .map_err(Flaw::ApiKey)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::jwk::{Jwk, SIGN, VERIFY};
    use crate::secrets::jwt::now;

    fn secret() -> Secret {
        Secret::new("s".repeat(40))
    }

    #[test]
    fn a_fresh_pair_of_sets_has_no_flaw() {
        let keys = KeySet::new_signing_set(&secret());
        let (parsed, flaws) = signing_set(&keys.render(Shape::Array));
        assert_eq!(flaws, []);
        let parsed = parsed.unwrap();
        assert_eq!(oct_flaws(&parsed, &secret()), []);
        let (jwks, flaws) = public_set(&keys.public_set().render(Shape::Jwks), Some(&parsed));
        assert_eq!(flaws, []);
        let jwks = jwks.unwrap();
        assert_eq!(oct_flaws(&jwks, &secret()), []);
        let token = es256::mint(Role::Anon, parsed.signing_key().unwrap(), now()).unwrap();
        assert!(api_key(token.expose(), Role::Anon, &jwks, Some(&parsed)).is_ok());
        assert_eq!(
            api_key(token.expose(), Role::ServiceRole, &jwks, Some(&parsed)),
            Err(ApiKeyFlaw::WrongRole { want: "service_role" })
        );
    }

    #[test]
    fn an_es256_key_without_exp_is_judged_as_an_hs256_one_is() {
        use crate::secrets::jwt::{self, KeyWarning};
        let keys = KeySet::new_signing_set(&secret());
        let signer = keys.signing_key().unwrap();
        let claims = serde_json::json!({"role": "anon", "iss": "supabase", "iat": now()});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = signer.kid.clone();
        let es256 = jsonwebtoken::encode(&header, &claims, &signer.encoding_key().unwrap()).unwrap();
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret().expose().as_bytes()).unwrap(),
        )
        .unwrap();
        let hs_judged = jwt::judge(&hs256, secret().expose(), Role::Anon, now());
        assert_eq!(hs_judged, Ok(Some(KeyWarning::NeverExpires)));
        assert_eq!(
            api_key(&es256, Role::Anon, &keys.public_set(), Some(&keys)),
            Ok(Some(KeyWarning::NeverExpires)),
            "the same judgement as the HS256 key: a warning, not expired"
        );
    }

    #[test]
    fn gotrue_rules_on_the_signing_set() {
        let mut keys = KeySet::new_signing_set(&secret());
        let mut second = Jwk::generate_es256();
        keys.add(second.clone());
        assert_eq!(signing_set(&keys.render(Shape::Array)).1, [Flaw::SeveralSigningKeys(2)]);
        second.set_key_ops(&[VERIFY]);
        keys.keys[2] = second.clone();
        assert_eq!(signing_set(&keys.render(Shape::Array)).1, []);
        keys.keys[0].set_key_ops(&[VERIFY]);
        assert_eq!(signing_set(&keys.render(Shape::Array)).1, [Flaw::NoSigningKey]);
        keys.keys[0].set_key_ops(&[SIGN, VERIFY]);
        keys.keys[2].kid = keys.keys[0].kid.clone();
        keys.keys[1].alg = None;
        let flaws = signing_set(&keys.render(Shape::Array)).1;
        assert!(flaws.contains(&Flaw::NoAlg(1)), "{flaws:?}");
        assert!(flaws.iter().any(|f| matches!(f, Flaw::DuplicateKid(_))), "{flaws:?}");
        let mut broken = KeySet::new_signing_set(&secret());
        broken.keys[0].d = Jwk::generate_es256().d;
        assert_eq!(signing_set(&broken.render(Shape::Array)).1, [Flaw::SigningKeyBroken]);
    }

    #[test]
    fn the_public_set_must_mirror_the_signing_set_without_private_keys() {
        let keys = KeySet::new_signing_set(&secret());
        let other = KeySet::new_signing_set(&secret());
        let kid = keys.keys[0].kid.clone().unwrap();
        let flaws = public_set(&other.public_set().render(Shape::Jwks), Some(&keys)).1;
        assert!(flaws.contains(&Flaw::MissingFromPublicSet(kid.clone())), "{flaws:?}");
        let mut moved = other.public_set();
        moved.keys[0].kid = Some(kid.clone());
        let flaws = public_set(&moved.render(Shape::Jwks), Some(&keys)).1;
        assert_eq!(flaws, [Flaw::DiffersInPublicSet(kid)]);
        let flaws = public_set(&keys.render(Shape::Jwks), Some(&keys)).1;
        assert_eq!(flaws, [Flaw::PrivateInPublicSet]);
        assert_eq!(oct_flaws(&keys, &Secret::new("t".repeat(40))), [Flaw::OctNotJwtSecret]);
        let ec_only = KeySet {
            keys: vec![keys.keys[0].clone()],
        };
        assert_eq!(oct_flaws(&ec_only, &secret()), [Flaw::NoOct]);
    }

    #[test]
    fn flaws_never_show_a_value_and_odd_kids_are_not_echoed() {
        assert_eq!(
            Flaw::DuplicateKid("sk-live-a b".into()).to_string(),
            "has two keys with a kid (GoTrue maps keys by kid)"
        );
        let keys = KeySet::new_signing_set(&secret());
        let d = keys.keys[0].d.clone().unwrap();
        let (_, flaws) = public_set(&keys.render(Shape::Jwks), Some(&keys));
        for flaw in flaws {
            assert!(!flaw.to_string().contains(&d));
        }
    }
}
