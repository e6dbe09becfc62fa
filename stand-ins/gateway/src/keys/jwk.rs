//! One JSON Web Key, read the way the services' JOSE libraries read it: `oct` (HS256, `k`
//! the base64url of the secret's bytes), `EC` P-256 (ES256, `x`/`y`, and `d` when it can
//! sign) and `RSA` (RS256, `n`/`e`, verify only). `alg`, when absent, is the one the key
//! type implies. Holds key material: no `Debug`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{Map, Value, json};

use super::{Claims, JwtError};

pub struct Key {
    pub kid: Option<String>,
    pub alg: Algorithm,
    /// `key_ops`, as written (empty when absent).
    pub ops: Vec<String>,
    decoding: DecodingKey,
    /// The private half, for an EC key with `d`.
    signer: Option<EncodingKey>,
    /// What a JWKS endpoint may publish: `None` for `oct` keys.
    public: Option<Value>,
}

fn field<'a>(jwk: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

fn bytes(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = field(jwk, name).ok_or_else(|| format!("has no {name:?}"))?;
    URL_SAFE_NO_PAD_INDIFFERENT
        .decode(text)
        .map_err(|_| format!("{name:?} is not base64url"))
}

fn algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        other => Err(format!("alg {other:?} is not one of HS256, ES256, RS256")),
    }
}

impl Key {
    /// A raw shared secret (`JWT_SECRET`): HS256 over its UTF-8 bytes, no `kid`.
    pub fn secret(secret: &str) -> Result<Key, String> {
        Ok(Key {
            kid: None,
            alg: Algorithm::HS256,
            ops: Vec::new(),
            decoding: DecodingKey::from_secret(secret.as_bytes())
                .map_err(|_| "the secret is not usable as an HS256 key".to_owned())?,
            signer: None,
            public: None,
        })
    }

    /// Reads one JWK; the error says what is wrong with it, never a value.
    pub fn from_jwk(value: &Value) -> Result<Key, String> {
        let jwk = value.as_object().ok_or("a key is not a JSON object")?;
        let kty = field(jwk, "kty").ok_or("a key has no \"kty\"")?;
        let declared = field(jwk, "alg").map(algorithm).transpose()?;
        let ops = jwk
            .get("key_ops")
            .and_then(Value::as_array)
            .map(|ops| ops.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let kid = field(jwk, "kid").map(str::to_owned);
        let mut public = Map::new();
        let (alg, decoding, signer) = match kty {
            "oct" => {
                let k = bytes(jwk, "k")?;
                let decoding =
                    DecodingKey::from_secret(&k).map_err(|_| "an oct key's k is not usable as an HS256 key")?;
                (Algorithm::HS256, decoding, None)
            }
            "EC" => {
                if field(jwk, "crv") != Some("P-256") {
                    return Err("an EC key is not on curve P-256".into());
                }
                let (x, y) = (field(jwk, "x").unwrap_or_default(), field(jwk, "y").unwrap_or_default());
                let decoding = DecodingKey::from_ec_components(x, y).map_err(|_| "an EC key has no valid x and y")?;
                let signer = match jwk.get("d") {
                    None => None,
                    Some(_) => {
                        let d = bytes(jwk, "d")?;
                        let secret =
                            p256::SecretKey::from_slice(&d).map_err(|_| "an EC key's d is not a P-256 scalar")?;
                        let der = secret.to_pkcs8_der().map_err(|_| "an EC key's d cannot be encoded")?;
                        Some(EncodingKey::from_ec_der(der.as_bytes()))
                    }
                };
                for name in ["kty", "crv", "x", "y"] {
                    public.insert(name.into(), jwk[name].clone());
                }
                (Algorithm::ES256, decoding, signer)
            }
            "RSA" => {
                let (n, e) = (field(jwk, "n").unwrap_or_default(), field(jwk, "e").unwrap_or_default());
                let decoding = DecodingKey::from_rsa_components(n, e).map_err(|_| "an RSA key has no valid n and e")?;
                for name in ["kty", "n", "e"] {
                    public.insert(name.into(), jwk[name].clone());
                }
                (Algorithm::RS256, decoding, None)
            }
            other => return Err(format!("key type {other:?} is not one of oct, EC, RSA")),
        };
        if declared.is_some_and(|d| d != alg) {
            return Err(format!("a {kty} key declares an alg its type cannot have"));
        }
        let public = (kty != "oct").then(|| {
            public.insert("alg".into(), json!(format!("{alg:?}")));
            public.insert("key_ops".into(), json!(["verify"]));
            for name in ["kid", "use"] {
                if let Some(v) = jwk.get(name) {
                    public.insert(name.into(), v.clone());
                }
            }
            Value::Object(public)
        });
        Ok(Key {
            kid,
            alg,
            ops,
            decoding,
            signer,
            public,
        })
    }

    /// Whether `key_ops` names `op`.
    pub fn has_op(&self, op: &str) -> bool {
        self.ops.iter().any(|o| o == op)
    }

    /// The public JWK, for a JWKS endpoint; `None` for a symmetric key.
    pub fn public(&self) -> Option<&Value> {
        self.public.as_ref()
    }

    /// The private key, when this key can sign.
    pub fn signer(&self) -> Option<&EncodingKey> {
        self.signer.as_ref()
    }

    /// Checks `token` under this key: its algorithm, its signature, `exp` when present
    /// (no leeway); `aud` is left to the service.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let mut validation = Validation::new(self.alg);
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        match jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation) {
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

/// What a token's header says: its `alg` and `kid`, or `None` when it is not a JWT.
pub fn header(token: &str) -> Option<(String, Option<String>)> {
    let first = token.split('.').next()?;
    let raw = URL_SAFE_NO_PAD_INDIFFERENT.decode(first).ok()?;
    let header: Map<String, Value> = serde_json::from_slice(&raw).ok()?;
    let alg = field(&header, "alg")?.to_owned();
    Some((alg, field(&header, "kid").map(str::to_owned)))
}

/// The algorithm a header names, when the stand-ins know it.
pub fn algorithm_of(name: &str) -> Option<Algorithm> {
    algorithm(name).ok()
}

impl super::Verifier for Key {
    fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        Key::verify(self, token)
    }
}
