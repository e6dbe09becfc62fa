//! A second implementation of the key model, to check what the xtask made:
//! Python's `cryptography` (installed by utils/test.sh) and `hashlib`, fed the
//! values on stdin, never argv. It verifies the ES256 API keys under
//! `JWT_JWKS`, the private key of `JWT_KEYS` against its public point, both
//! `oct` keys against `JWT_SECRET`, the legacy HS256 keys under that `oct`
//! key, and recomputes the `sb_` checksums.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

const CHECKER: &str = r#"
import base64, hashlib, hmac, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

env = json.load(sys.stdin)

def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def num(text):
    return int.from_bytes(b64(text), "big")

secret = env["JWT_SECRET"].encode()
keys = json.loads(env["JWT_KEYS"])
jwks = json.loads(env["JWT_JWKS"])
assert isinstance(keys, list), "JWT_KEYS is a JSON array"
assert isinstance(jwks, dict) and isinstance(jwks["keys"], list), "JWT_JWKS is a JWK Set"

signing = [k for k in keys if "sign" in k.get("key_ops", [])]
assert len(signing) == 1, "exactly one signing key"
ec_private = signing[0]
assert ec_private["kty"] == "EC" and ec_private["crv"] == "P-256" and ec_private["alg"] == "ES256"
private = ec.derive_private_key(num(ec_private["d"]), ec.SECP256R1())
point = private.public_key().public_numbers()
assert point.x == num(ec_private["x"]) and point.y == num(ec_private["y"]), "d belongs to x, y"

for name, key_set in (("JWT_KEYS", keys), ("JWT_JWKS", jwks["keys"])):
    octs = [k for k in key_set if k["kty"] == "oct"]
    assert len(octs) == 1, name + ": one oct key"
    assert b64(octs[0]["k"]) == secret, name + ": the oct key is JWT_SECRET"
    assert octs[0]["alg"] == "HS256"
    assert not ({"kid", "use", "key_ops"} & set(octs[0])), name + ": a bare oct key"

public = {k["kid"]: k for k in jwks["keys"] if k["kty"] == "EC"}
assert all("d" not in k for k in public.values()), "no private key in JWT_JWKS"
mirror = public[ec_private["kid"]]
assert (mirror["x"], mirror["y"], mirror["key_ops"]) == (ec_private["x"], ec_private["y"], ["verify"])

def claims_of(token):
    head, body, signature = token.split(".")
    return json.loads(b64(head)), json.loads(b64(body)), (head + "." + body).encode(), b64(signature)

for name, role in (("ANON_KEY_ASYMMETRIC", "anon"), ("SERVICE_ROLE_KEY_ASYMMETRIC", "service_role")):
    header, claims, signed, signature = claims_of(env[name])
    assert header == {"alg": "ES256", "typ": "JWT", "kid": ec_private["kid"]}, name + " header"
    jwk = public[header["kid"]]
    verifier = ec.EllipticCurvePublicNumbers(num(jwk["x"]), num(jwk["y"]), ec.SECP256R1()).public_key()
    assert len(signature) == 64, name + ": r||s"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    verifier.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    assert claims["role"] == role and claims["iss"] == "supabase", name + " claims"
    assert claims["exp"] - claims["iat"] == 157680000, name + ": five years"

oct_key = b64([k for k in jwks["keys"] if k["kty"] == "oct"][0]["k"])
for name, role in (("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")):
    header, claims, signed, signature = claims_of(env[name])
    assert header["alg"] == "HS256"
    assert hmac.compare_digest(hmac.new(oct_key, signed, hashlib.sha256).digest(), signature), name + " under the oct key"
    assert claims["role"] == role

for name, prefix in (("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_"), ("SUPABASE_SECRET_KEY", "sb_secret_")):
    key = env[name]
    assert key.startswith(prefix) and len(key) == len(prefix) + 31, name + " shape"
    body, checksum = key[: len(prefix) + 22], key[len(prefix) + 23 :]
    digest = hashlib.sha256(("supabase-self-hosted|" + body).encode()).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=")[:8] == checksum, name + " checksum"

print("independent check: ok")
"#;

/// Runs the independent checker on `values` (a project's `.env`); panics
/// with the checker's assertion (a name, never a value) when one fails.
pub fn check_key_model(values: &BTreeMap<String, String>) {
    let mut child = Command::new("python3")
        .args(["-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (utils/test.sh installs cryptography for it)");
    let input = serde_json::to_vec(values).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(out.status.success(), "the independent check failed: {last}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "independent check: ok");
}
