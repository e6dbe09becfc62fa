//! JSON Web Keys and key sets: the typed model of `JWT_KEYS` (GoTrue's JSON
//! array, with the private signing key) and `JWT_JWKS` (the verifiers'
//! `{"keys": [...]}`, public keys only), both holding the legacy `oct` key of
//! `JWT_SECRET`. Keys are added, removed and changed as values, never by
//! editing text; fields this model does not know are kept as they were.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use p256::elliptic_curve::Generate;
use p256::pkcs8::EncodePrivateKey;
use rand::TryRng;
use rand::rngs::SysRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Secret;

/// What a key may be used for (`key_ops`).
pub const SIGN: &str = "sign";
pub const VERIFY: &str = "verify";

/// One JSON Web Key. `Debug` never shows `d` or `k`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The private scalar of an EC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// The bytes of an `oct` (HMAC) key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("d", &self.d.as_ref().map(|_| "[REDACTED]"))
            .field("k", &self.k.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl Jwk {
    fn empty(kty: &str) -> Jwk {
        Jwk {
            kty: kty.to_string(),
            kid: None,
            use_: None,
            key_ops: None,
            alg: None,
            ext: None,
            crv: None,
            x: None,
            y: None,
            d: None,
            k: None,
            extra: Map::new(),
        }
    }

    /// The legacy HS256 key: `k` is the base64url of `JWT_SECRET`'s bytes.
    /// No `kid`, `use` or `key_ops`, the way Supabase writes it.
    pub fn oct(jwt_secret: &Secret) -> Jwk {
        Jwk {
            k: Some(URL_SAFE_NO_PAD.encode(jwt_secret.expose())),
            alg: Some("HS256".into()),
            ..Jwk::empty("oct")
        }
    }

    /// A fresh P-256 signing key (ES256) with a random UUID v4 `kid`, able to sign and verify.
    pub fn generate_es256() -> Jwk {
        let secret = p256::SecretKey::try_generate().expect("the operating system's random source failed");
        Jwk::es256_from(&secret, &uuid_v4())
    }

    fn es256_from(secret: &p256::SecretKey, kid: &str) -> Jwk {
        let point = secret.public_key().to_sec1_bytes();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        Jwk {
            kid: Some(kid.to_string()),
            use_: Some("sig".into()),
            key_ops: Some(vec![SIGN.into(), VERIFY.into()]),
            alg: Some("ES256".into()),
            ext: Some(true),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..])),
            d: Some(URL_SAFE_NO_PAD.encode(secret.to_bytes())),
            ..Jwk::empty("EC")
        }
    }

    pub fn is_oct(&self) -> bool {
        self.kty == "oct"
    }

    pub fn is_ec(&self) -> bool {
        self.kty == "EC"
    }

    /// Whether `key_ops` holds `sign`: GoTrue signs with exactly one such key.
    pub fn signs(&self) -> bool {
        self.key_ops.as_ref().is_some_and(|ops| ops.iter().any(|op| op == SIGN))
    }

    pub fn set_key_ops(&mut self, ops: &[&str]) {
        self.key_ops = Some(ops.iter().map(|op| op.to_string()).collect());
    }

    /// The bytes of an `oct` key, padded or not.
    pub fn oct_bytes(&self) -> Option<Vec<u8>> {
        let k = self.k.as_deref()?;
        URL_SAFE_NO_PAD_INDIFFERENT.decode(k).ok()
    }

    /// Whether this is the `oct` key of `jwt_secret`.
    pub fn holds_secret(&self, jwt_secret: &Secret) -> bool {
        self.is_oct()
            && self
                .oct_bytes()
                .is_some_and(|bytes| bytes == jwt_secret.expose().as_bytes())
    }

    /// What a verifier gets: an EC key without its private `d`, only able to
    /// verify; any other key as it is (an `oct` key has no public part).
    pub fn public_part(&self) -> Jwk {
        if !self.is_ec() {
            return self.clone();
        }
        let mut public = self.clone();
        public.d = None;
        if public.key_ops.is_some() {
            public.set_key_ops(&[VERIFY]);
        }
        public
    }

    /// Whether `self` and `other` are the same public key: type, id, curve,
    /// point (or `oct` bytes) and algorithm; `key_ops` and `d` aside.
    pub fn same_public_key(&self, other: &Jwk) -> bool {
        self.kty == other.kty
            && self.kid == other.kid
            && self.alg == other.alg
            && self.crv == other.crv
            && self.x == other.x
            && self.y == other.y
            && (!self.is_oct() || self.oct_bytes() == other.oct_bytes())
    }

    /// The point of an EC key, for a verifier.
    pub fn decoding_key(&self) -> Option<jsonwebtoken::DecodingKey> {
        if !self.is_ec() || self.crv.as_deref() != Some("P-256") {
            return None;
        }
        jsonwebtoken::DecodingKey::from_ec_components(self.x.as_deref()?, self.y.as_deref()?).ok()
    }

    fn private_scalar(&self) -> Option<p256::SecretKey> {
        if !self.is_ec() || self.crv.as_deref() != Some("P-256") {
            return None;
        }
        let d = URL_SAFE_NO_PAD_INDIFFERENT.decode(self.d.as_deref()?).ok()?;
        p256::SecretKey::from_slice(&d).ok()
    }

    /// The private key as a signer takes it, when `d` is a P-256 scalar.
    pub fn encoding_key(&self) -> Option<jsonwebtoken::EncodingKey> {
        let der = self.private_scalar()?.to_pkcs8_der().ok()?;
        Some(jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()))
    }

    /// Whether the private `d` of this EC key belongs to its `x` and `y`.
    pub fn private_matches_public(&self) -> bool {
        match self.private_scalar() {
            Some(secret) => Jwk::es256_from(&secret, "").same_point(self),
            None => false,
        }
    }

    fn same_point(&self, other: &Jwk) -> bool {
        self.x == other.x && self.y == other.y
    }
}

/// A random UUID version 4, e.g. `3f2b…-…`, as `crypto.randomUUID()` makes them.
fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source failed");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Why a key set text is not one. Never holds a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// Not JSON: where the parser stopped.
    NotJson { line: usize, column: usize },
    /// JSON of the other shape (an array where `{"keys": [...]}` belongs, or the reverse).
    WrongShape(&'static str),
    /// A member that is not a JWK: its position in the set.
    NotAKey(usize),
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::NotJson { line, column } => write!(f, "is not valid JSON (line {line}, column {column})"),
            SetError::WrongShape(want) => write!(f, "must be {want}"),
            SetError::NotAKey(n) => write!(f, "has a member that is not a JWK (key {})", n + 1),
        }
    }
}

/// The two shapes Supabase writes a key set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `JWT_KEYS`: a JSON array of JWKs (GoTrue's `GOTRUE_JWT_KEYS`).
    Array,
    /// `JWT_JWKS`: a JWK Set, `{"keys": [...]}`.
    Jwks,
}

impl Shape {
    fn phrase(self) -> &'static str {
        match self {
            Shape::Array => "a JSON array of JWKs",
            Shape::Jwks => "a JWK Set object {\"keys\": [...]}",
        }
    }
}

/// An ordered set of keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

impl KeySet {
    /// Parses `text` written in `shape`.
    pub fn parse(text: &str, shape: Shape) -> Result<KeySet, SetError> {
        let value: Value = serde_json::from_str(text).map_err(|err| SetError::NotJson {
            line: err.line(),
            column: err.column(),
        })?;
        let members = match (shape, value) {
            (Shape::Array, Value::Array(keys)) => keys,
            (Shape::Jwks, Value::Object(mut set)) => match set.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(SetError::WrongShape(shape.phrase())),
            },
            _ => return Err(SetError::WrongShape(shape.phrase())),
        };
        let keys = members
            .into_iter()
            .enumerate()
            .map(|(n, member)| serde_json::from_value::<Jwk>(member).map_err(|_| SetError::NotAKey(n)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeySet { keys })
    }

    /// The set as one line of JSON in `shape`.
    pub fn render(&self, shape: Shape) -> String {
        let keys = serde_json::to_string(&self.keys).expect("a JWK serializes");
        match shape {
            Shape::Array => keys,
            Shape::Jwks => format!("{{\"keys\":{keys}}}"),
        }
    }

    /// A new `JWT_KEYS`: one signing key and the `oct` key of `jwt_secret`.
    pub fn new_signing_set(jwt_secret: &Secret) -> KeySet {
        KeySet {
            keys: vec![Jwk::generate_es256(), Jwk::oct(jwt_secret)],
        }
    }

    /// The keys whose `key_ops` hold `sign`.
    pub fn signing_keys(&self) -> Vec<&Jwk> {
        self.keys.iter().filter(|key| key.signs()).collect()
    }

    /// The one signing key, when there is exactly one and it is an EC key.
    pub fn signing_key(&self) -> Option<&Jwk> {
        match self.signing_keys().as_slice() {
            [key] if key.is_ec() => Some(key),
            _ => None,
        }
    }

    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }

    pub fn find_mut(&mut self, kid: &str) -> Option<&mut Jwk> {
        self.keys.iter_mut().find(|key| key.kid.as_deref() == Some(kid))
    }

    pub fn add(&mut self, key: Jwk) {
        self.keys.push(key);
    }

    /// Removes the key `kid`; whether there was one.
    pub fn remove(&mut self, kid: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|key| key.kid.as_deref() != Some(kid));
        self.keys.len() != before
    }

    pub fn octs(&self) -> impl Iterator<Item = &Jwk> {
        self.keys.iter().filter(|key| key.is_oct())
    }

    /// Whether the set holds an `oct` key and every one is `jwt_secret`'s.
    pub fn octs_hold(&self, jwt_secret: &Secret) -> bool {
        self.octs().next().is_some() && self.octs().all(|key| key.holds_secret(jwt_secret))
    }

    /// The `oct` keys replaced by the one of `jwt_secret` (added if there was
    /// none), where the first of them stood; every other key untouched.
    pub fn set_oct(&mut self, jwt_secret: &Secret) {
        let at = self.keys.iter().position(Jwk::is_oct).unwrap_or(self.keys.len());
        let kept_fields = self.keys.get(at).filter(|key| key.is_oct()).cloned();
        self.keys.retain(|key| !key.is_oct());
        let mut oct = Jwk::oct(jwt_secret);
        if let Some(old) = kept_fields {
            // Keep what the old key carried besides its bytes (a kid, key_ops, extra fields).
            oct = Jwk {
                k: oct.k,
                alg: old.alg.clone().or(oct.alg),
                ..old
            };
        }
        self.keys.insert(at.min(self.keys.len()), oct);
    }

    /// What verifiers get: the public part of every key.
    pub fn public_set(&self) -> KeySet {
        KeySet {
            keys: self.keys.iter().map(Jwk::public_part).collect(),
        }
    }

    /// Whether both sets hold the same public keys, in any order.
    pub fn same_public_keys(&self, other: &KeySet) -> bool {
        self.keys.len() == other.keys.len()
            && self
                .keys
                .iter()
                .all(|key| other.keys.iter().any(|o| key.same_public_key(o)))
            && other
                .keys
                .iter()
                .all(|key| self.keys.iter().any(|o| key.same_public_key(o)))
    }

    /// Whether any key carries private material other than an `oct` key's bytes.
    pub fn holds_private_ec(&self) -> bool {
        self.keys.iter().any(|key| key.d.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

    #[test]
    fn a_new_signing_set_has_the_shape_supabase_writes() {
        let set = KeySet::new_signing_set(&Secret::new(SECRET));
        let text = set.render(Shape::Array);
        let value: Value = serde_json::from_str(&text).unwrap();
        let ec = &value[0];
        assert_eq!(ec["kty"], "EC");
        assert_eq!(ec["use"], "sig");
        assert_eq!(ec["key_ops"], serde_json::json!(["sign", "verify"]));
        assert_eq!(ec["alg"], "ES256");
        assert_eq!(ec["ext"], true);
        assert_eq!(ec["crv"], "P-256");
        for field in ["x", "y", "d"] {
            assert_eq!(ec[field].as_str().unwrap().len(), 43, "{field}");
        }
        let kid = ec["kid"].as_str().unwrap();
        assert_eq!(kid.len(), 36);
        assert_eq!(&kid[14..15], "4", "UUID version 4");
        assert!("89ab".contains(&kid[19..20]), "UUID variant");
        let oct = value[1].as_object().unwrap();
        let mut fields: Vec<&str> = oct.keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["alg", "k", "kty"], "no kid, use or key_ops on the oct key");
        assert_eq!(oct["k"], URL_SAFE_NO_PAD.encode(SECRET));
        assert!(set.signing_key().unwrap().private_matches_public());
    }

    #[test]
    fn the_public_set_drops_d_and_may_only_verify() {
        let set = KeySet::new_signing_set(&Secret::new(SECRET));
        let public = set.public_set();
        let text = public.render(Shape::Jwks);
        assert!(text.starts_with("{\"keys\":["));
        assert!(!text.contains("\"d\""));
        assert!(!public.holds_private_ec() && set.holds_private_ec());
        assert_eq!(public.keys[0].key_ops.as_deref(), Some(&["verify".to_string()][..]));
        assert!(public.same_public_keys(&set.public_set()));
        assert!(public.same_public_keys(&set));
        let reread = KeySet::parse(&text, Shape::Jwks).unwrap();
        assert_eq!(reread, public);
    }

    #[test]
    fn set_oct_rebuilds_only_the_hs256_key() {
        let mut set = KeySet::new_signing_set(&Secret::new(SECRET));
        let ec = set.keys[0].clone();
        let new = Secret::new("N".repeat(40));
        set.set_oct(&new);
        assert_eq!(set.keys[0], ec);
        assert!(set.octs_hold(&new) && !set.octs_hold(&Secret::new(SECRET)));
        let mut legacy = KeySet { keys: vec![ec.clone()] };
        legacy.set_oct(&new);
        assert_eq!(legacy.keys.len(), 2);
        assert!(legacy.octs_hold(&new));
    }

    #[test]
    fn keys_are_added_removed_and_their_ops_changed_as_values() {
        let mut set = KeySet::new_signing_set(&Secret::new(SECRET));
        let mut standby = Jwk::generate_es256();
        standby.set_key_ops(&[VERIFY]);
        let kid = standby.kid.clone().unwrap();
        set.add(standby);
        assert_eq!(set.signing_keys().len(), 1);
        set.find_mut(&kid).unwrap().set_key_ops(&[SIGN, VERIFY]);
        assert_eq!(set.signing_keys().len(), 2);
        assert!(set.signing_key().is_none());
        assert!(set.remove(&kid));
        assert!(!set.remove(&kid));
        assert!(set.signing_key().is_some());
    }

    #[test]
    fn unknown_fields_survive_and_secrets_stay_out_of_debug() {
        let text = format!(
            "[{{\"kty\":\"oct\",\"k\":\"{}\",\"alg\":\"HS256\",\"x-note\":{{\"a\":1}}}}]",
            URL_SAFE_NO_PAD.encode(SECRET)
        );
        let set = KeySet::parse(&text, Shape::Array).unwrap();
        assert!(set.render(Shape::Array).contains("\"x-note\":{\"a\":1}"));
        let shown = format!("{set:?}");
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode(SECRET)), "{shown}");
        let signing = KeySet::new_signing_set(&Secret::new(SECRET));
        let d = signing.keys[0].d.clone().unwrap();
        assert!(!format!("{signing:?}").contains(&d));
    }

    #[test]
    fn the_wrong_shape_and_garbage_are_named_without_a_value() {
        let array = KeySet::new_signing_set(&Secret::new(SECRET)).render(Shape::Array);
        assert_eq!(
            KeySet::parse(&array, Shape::Jwks),
            Err(SetError::WrongShape("a JWK Set object {\"keys\": [...]}"))
        );
        assert!(matches!(
            KeySet::parse("[{", Shape::Array),
            Err(SetError::NotJson { .. })
        ));
        assert_eq!(KeySet::parse("[1]", Shape::Array), Err(SetError::NotAKey(0)));
        let err = KeySet::parse(&array[..array.len() - 3], Shape::Array).unwrap_err();
        assert!(!err.to_string().contains(SECRET));
    }
}
