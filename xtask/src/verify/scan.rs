//! The leak scanner: finds secret-shaped text in file contents, by line.
//!
//! One pass of an Aho-Corasick automaton finds every anchor at once: each way
//! a base64url-encoded JSON object can start (`{"` is `eyJ`, `{ "` is `eyA`,
//! `{` and a newline is `ewo`, a CR `ew0`, a tab `ewk`), `sb_secret_`,
//! `-----BEGIN `, a JWK's `"kty"` member, the name of each catalog secret
//! (for assignments in configuration files, see `assign`) and each known
//! current secret value. Each anchor is then confirmed by decoding the bytes around it: a JWT
//! is three segments whose first two decode to JSON objects, whatever their
//! whitespace. A hit carries a kind and a line, never the text itself. A line
//! holding `receptor-verify: allow` is never reported.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use memchr::{memchr, memchr_iter, memmem, memrchr};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::assign;
use crate::secrets::defaults::{KNOWN_DEFAULT_JWT_SECRETS, KNOWN_DEFAULT_OPAQUE_KEYS};
use crate::secrets::{Secret, jwt};

/// The marker that allows a documented example on its line.
pub const ALLOW_MARKER: &str = "receptor-verify: allow";

/// Known values shorter than this are not searched for: they would match by chance.
pub const MIN_KNOWN_LEN: usize = 12;

/// The project ref a self-hosted stack's `sb_` key checksums are computed with.
pub const SELF_HOSTED_REF: &str = "supabase-self-hosted";

/// The first three base64url characters of a JSON object: `{` then `"` (and a
/// letter), a space, a newline, a carriage return or a tab.
const JSON_STARTS: [&str; 5] = ["eyJ", "eyA", "ewo", "ew0", "ewk"];
const ANCHORS: [&str; 9] = [
    "eyJ",
    "eyA",
    "ewo",
    "ew0",
    "ewk",
    "sb_secret_",
    "-----BEGIN ",
    "\"kty\"",
    "\\\"kty\\\"",
];
const SB_SECRET: usize = 5;
const BEGIN: usize = 6;
const KTY: usize = 7;
const KTY_ESCAPED: usize = 8;

/// What a hit looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A compact JWT whose signature verifies under a published default secret.
    DefaultJwt,
    /// A compact JWT signed with some other secret: possibly a live key.
    Jwt,
    /// A compact JWT with role `service_role` (HS256 or asymmetric) not signed with a published secret.
    ServiceRoleJwt,
    /// Supabase CLI's published `sb_secret_` key.
    DefaultSbSecret,
    /// An opaque Supabase secret key.
    SbSecret,
    /// An `sb_secret_` key whose checksum verifies for a self-hosted stack.
    SelfHostedSbSecret,
    /// A private-key block: a BEGIN armour line whose label names a private key.
    PrivateKey,
    /// A JWK (alone or in a key set) holding private material: `d`, or an `oct` key's `k`.
    PrivateJwk,
    /// An `oct` JWK whose `k` is a published default JWT secret.
    DefaultJwk,
    /// A catalog secret assigned a value that passes its rule (configuration files only).
    Assigned(&'static str),
    /// The current value of a known secret (index into the scanner's list).
    Known(usize),
}

/// A secret value to look for, and where it is from (for the message).
#[derive(Clone, Debug)]
pub struct KnownValue {
    /// The file holding it, e.g. `receptor-dev/.env`.
    pub origin: String,
    pub variable: String,
    pub value: Secret,
}

/// The compiled search: built once, shared by every thread.
pub struct Scanner {
    automaton: AhoCorasick,
    known: Vec<KnownValue>,
}

impl Scanner {
    /// A scanner for the fixed shapes and `known` values (shorter ones are dropped).
    pub fn new(known: Vec<KnownValue>) -> Scanner {
        let known: Vec<KnownValue> = known
            .into_iter()
            .filter(|k| k.value.expose().len() >= MIN_KNOWN_LEN)
            .collect();
        let patterns: Vec<&[u8]> = ANCHORS
            .iter()
            .map(|a| a.as_bytes())
            .chain(assign::JUDGED.iter().map(|s| s.name.as_bytes()))
            .chain(known.iter().map(|k| k.value.expose().as_bytes()))
            .collect();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .expect("a few literal patterns always compile");
        Scanner { automaton, known }
    }

    pub fn known(&self, index: usize) -> &KnownValue {
        &self.known[index]
    }

    /// Every hit in `bytes` as (1-based line, kind), in line order, one per
    /// line and kind; catalog secrets assigned values only with `assignments`.
    pub fn scan(&self, bytes: &[u8], assignments: bool) -> Vec<(usize, Kind)> {
        let names = ANCHORS.len() + assign::JUDGED.len();
        let mut found: Vec<(usize, Kind)> = Vec::new();
        let mut jwt_end = 0;
        for m in self.automaton.find_overlapping_iter(bytes) {
            let at = m.start();
            let kind = match m.pattern().as_usize() {
                n if n < JSON_STARTS.len() => {
                    if at < jwt_end {
                        continue;
                    }
                    match jwt_at(bytes, at) {
                        Some((end, kind)) => {
                            jwt_end = end;
                            kind
                        }
                        None => continue,
                    }
                }
                SB_SECRET => match sb_secret_at(bytes, at) {
                    Some(kind) => kind,
                    None => continue,
                },
                BEGIN => match private_key_at(bytes, at) {
                    true => Kind::PrivateKey,
                    false => continue,
                },
                KTY | KTY_ESCAPED => match jwk_at(bytes, at, m.pattern().as_usize() == KTY_ESCAPED) {
                    Some(kind) => kind,
                    None => continue,
                },
                n if n < names => {
                    let spec = assign::JUDGED[n - ANCHORS.len()];
                    if !assignments || !assign::assigns_real_value(bytes, at, m.end(), spec) {
                        continue;
                    }
                    Kind::Assigned(spec.name)
                }
                n => Kind::Known(n - names),
            };
            if !allowed(bytes, at) {
                found.push((at, kind));
            }
        }
        lines_of(bytes, found)
    }
}

/// Turns offsets into 1-based lines, dropping repeats of a kind on one line.
/// A known value that is itself a JWT or a key set is reported once, as the known value.
fn lines_of(bytes: &[u8], mut found: Vec<(usize, Kind)>) -> Vec<(usize, Kind)> {
    found.sort();
    let mut out: Vec<(usize, Kind)> = Vec::with_capacity(found.len());
    let (mut line, mut counted) = (1, 0);
    for (at, kind) in found {
        line += memchr_iter(b'\n', &bytes[counted..at]).count();
        counted = at;
        out.push((line, kind));
    }
    out.sort();
    out.dedup();
    let known_lines: Vec<usize> = out
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Known(_)))
        .map(|(l, _)| *l)
        .collect();
    out.retain(|(l, k)| matches!(k, Kind::Known(_) | Kind::PrivateKey) || !known_lines.contains(l));
    out
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn run_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !is_b64url(*b))
        .map_or(bytes.len(), |n| from + n)
}

/// A segment decoded to a JSON object, whatever whitespace its JSON holds.
fn json_object(segment: &[u8]) -> Option<Map<String, Value>> {
    if !JSON_STARTS.iter().any(|s| segment.starts_with(s.as_bytes())) {
        return None;
    }
    let decoded = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice::<Value>(&decoded) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A compact JWT starting at `at`: `header.payload.signature`, header and
/// payload JSON objects (the header naming `alg`). Returns where it ends and its kind.
fn jwt_at(bytes: &[u8], at: usize) -> Option<(usize, Kind)> {
    if at > 0 && (is_b64url(bytes[at - 1]) || bytes[at - 1] == b'.') {
        return None;
    }
    let header_end = run_end(bytes, at);
    if bytes.get(header_end) != Some(&b'.') {
        return None;
    }
    let payload_end = run_end(bytes, header_end + 1);
    if bytes.get(payload_end) != Some(&b'.') {
        return None;
    }
    let end = run_end(bytes, payload_end + 1);
    // HS256 signatures are 43 characters, ES256 86; anything under 16 is not a signature.
    if end - payload_end - 1 < 16 {
        return None;
    }
    let header = json_object(&bytes[at..header_end])?;
    if !header.contains_key("alg") {
        return None;
    }
    let payload = json_object(&bytes[header_end + 1..payload_end])?;
    let token = std::str::from_utf8(&bytes[at..end]).ok()?;
    let kind = if jwt::signed_by_known_default(token) {
        Kind::DefaultJwt
    } else if payload.get("role").and_then(Value::as_str) == Some("service_role") {
        Kind::ServiceRoleJwt
    } else {
        Kind::Jwt
    };
    Some((end, kind))
}

/// `sb_secret_` and a key body of Supabase's shape: 22 random characters, `_`, an 8-character checksum.
fn sb_secret_at(bytes: &[u8], at: usize) -> Option<Kind> {
    if at > 0 && is_b64url(bytes[at - 1]) {
        return None;
    }
    let body = at + "sb_secret_".len();
    let end = run_end(bytes, body);
    if end - body != 31 || bytes[body + 22] != b'_' {
        return None;
    }
    let key = &bytes[at..end];
    Some(if KNOWN_DEFAULT_OPAQUE_KEYS.iter().any(|k| k.as_bytes() == key) {
        Kind::DefaultSbSecret
    } else if checksum_verifies(key, SELF_HOSTED_REF) {
        Kind::SelfHostedSbSecret
    } else {
        Kind::SbSecret
    })
}

/// Whether the last 8 characters of an `sb_` key are the checksum of the rest for `project_ref`.
pub fn checksum_verifies(key: &[u8], project_ref: &str) -> bool {
    let Some((inter, checksum)) = key.len().checked_sub(9).map(|n| (&key[..n], &key[n + 1..])) else {
        return false;
    };
    let mut hasher = Sha256::new();
    hasher.update(project_ref.as_bytes());
    hasher.update(b"|");
    hasher.update(inter);
    let digest = URL_SAFE_NO_PAD.encode(hasher.finalize());
    digest.as_bytes()[..8] == *checksum
}

/// An armour line `BEGIN <label>` (five dashes each side) whose label names a private key.
fn private_key_at(bytes: &[u8], at: usize) -> bool {
    let label_start = at + "-----BEGIN ".len();
    let window = &bytes[label_start..bytes.len().min(label_start + 48)];
    let window = &window[..memchr(b'\n', window).unwrap_or(window.len())];
    match memmem::find(window, b"-----") {
        Some(n) => memmem::find(&window[..n], b"PRIVATE KEY").is_some(),
        None => false,
    }
}

/// How far around a `"kty"` member a JWK's braces are looked for.
const JWK_REACH: usize = 16 * 1024;

/// The JSON object around the `"kty"` member at `at` (`escaped`: inside a
/// JSON string, as `\"kty\"`), when it is a JWK holding private material.
fn jwk_at(bytes: &[u8], at: usize, escaped: bool) -> Option<Kind> {
    let start = object_start(bytes, at)?;
    let end = object_end(bytes, start)?;
    let text = &bytes[start..end];
    let map = if escaped {
        let unescaped = String::from_utf8_lossy(text).replace("\\\"", "\"");
        serde_json::from_str::<Map<String, Value>>(&unescaped).ok()?
    } else {
        serde_json::from_slice::<Map<String, Value>>(text).ok()?
    };
    let field = |name: &str| map.get(name).and_then(Value::as_str).unwrap_or_default();
    let key_material = |value: &str, min: usize| value.len() >= min && value.bytes().all(is_b64url);
    if field("kty") == "oct" && key_material(field("k"), 22) {
        let secret = URL_SAFE_NO_PAD.decode(field("k")).unwrap_or_default();
        return Some(if KNOWN_DEFAULT_JWT_SECRETS.iter().any(|s| s.as_bytes() == secret) {
            Kind::DefaultJwk
        } else {
            Kind::PrivateJwk
        });
    }
    key_material(field("d"), 32).then_some(Kind::PrivateJwk)
}

/// The `{` opening the object that holds offset `at`, within reach.
fn object_start(bytes: &[u8], at: usize) -> Option<usize> {
    let floor = at.saturating_sub(JWK_REACH);
    let mut depth = 0usize;
    for i in (floor..at).rev() {
        match bytes[i] {
            b'}' => depth += 1,
            b'{' if depth == 0 => return Some(i),
            b'{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Just past the `}` closing the object that opens at `start`, within reach.
fn object_end(bytes: &[u8], start: usize) -> Option<usize> {
    let ceiling = bytes.len().min(start + JWK_REACH);
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().take(ceiling).skip(start) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the line holding `at` carries the allow marker.
fn allowed(bytes: &[u8], at: usize) -> bool {
    let start = memrchr(b'\n', &bytes[..at]).map_or(0, |n| n + 1);
    let end = memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
    memmem::find(&bytes[start..end], ALLOW_MARKER.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Role;
    use crate::secrets::defaults::KNOWN_DEFAULT_JWT_SECRETS;

    fn kinds(scanner: &Scanner, text: &str) -> Vec<(usize, Kind)> {
        scanner.scan(text.as_bytes(), false)
    }

    #[test]
    fn jwts_are_found_by_line_and_told_apart_by_their_signer() {
        let ours = jwt::mint(Role::ServiceRole, &Secret::new("k".repeat(40)), jwt::now());
        let public = jwt::mint(Role::Anon, &Secret::new(KNOWN_DEFAULT_JWT_SECRETS[0]), 1);
        let text = format!("intro\nkey: {}\n\nanon = \"{}\"\n", ours.expose(), public.expose());
        assert_eq!(
            kinds(&Scanner::new(vec![]), &text),
            vec![(2, Kind::ServiceRoleJwt), (4, Kind::DefaultJwt)]
        );
    }

    #[test]
    fn look_alikes_are_not_jwts() {
        let scanner = Scanner::new(vec![]);
        for text in [
            "eyJ alone",
            "eyJhbGciOiJIUzI1NiJ9.notjson.c2lnbmF0dXJlc2lnbmF0dXJl",
            "abceyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
            "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYSJ9.short",
        ] {
            assert_eq!(kinds(&scanner, text), vec![], "{text}");
        }
    }

    /// An `sb_secret_` key of Supabase's shape, its checksum computed for `project_ref`.
    fn opaque(random: &str, project_ref: &str) -> String {
        let inter = format!("sb_secret_{random}");
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{project_ref}|{inter}")));
        format!("{inter}_{}", &digest[..8])
    }

    #[test]
    fn opaque_keys_private_keys_and_the_allow_marker() {
        let scanner = Scanner::new(vec![]);
        let begin = "-----BEGIN ";
        let text = format!(
            "a sb_secret_ prefix in prose, sb_secret_key_for_the_project_x\nSUPABASE_SECRET_KEY={}\n{}\n{begin}OPENSSH PRIVATE KEY-----\n{begin}CERTIFICATE-----\n{} # {ALLOW_MARKER}\nhosted: {}\npublishable: sb_publishable_{}_{}\n",
            opaque(&"Q".repeat(22), SELF_HOSTED_REF),
            KNOWN_DEFAULT_OPAQUE_KEYS[1],
            opaque(&"Z".repeat(22), SELF_HOSTED_REF),
            opaque(&"a-b_c".repeat(5)[..22], "abcdefghijklmnopqrst"),
            "P".repeat(22),
            "checksum",
        );
        assert_eq!(
            kinds(&scanner, &text),
            vec![
                (2, Kind::SelfHostedSbSecret),
                (3, Kind::DefaultSbSecret),
                (4, Kind::PrivateKey),
                (7, Kind::SbSecret)
            ]
        );
    }

    #[test]
    fn the_cli_keys_do_not_checksum_as_self_hosted_but_our_shape_does() {
        assert!(!checksum_verifies(
            KNOWN_DEFAULT_OPAQUE_KEYS[1].as_bytes(),
            SELF_HOSTED_REF
        ));
        let key = opaque("abcdefghijklmnopqrstuv", SELF_HOSTED_REF);
        assert!(checksum_verifies(key.as_bytes(), SELF_HOSTED_REF));
        assert!(!checksum_verifies(key.as_bytes(), "another-project"));
    }

    /// A JWT with exactly this header and payload text, signed HS256 with `secret`.
    fn raw_jwt(header: &str, payload: &str, secret: &str) -> String {
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
        format!("{input}.{signature}")
    }

    #[test]
    fn jwts_of_pretty_printed_json_are_found_whatever_their_whitespace() {
        let scanner = Scanner::new(vec![]);
        let compact = r#"{"alg":"HS256","typ":"JWT"}"#;
        // Supabase's demo keys: a compact header, a pretty-printed payload, the published secret.
        let demo = raw_jwt(
            compact,
            "{\n  \"role\": \"anon\",\n  \"iss\": \"supabase-demo\",\n  \"iat\": 1641769200,\n  \"exp\": 1799535600\n}",
            KNOWN_DEFAULT_JWT_SECRETS[0],
        );
        assert!(demo.split('.').nth(1).unwrap().starts_with("ewo"), "{demo}");
        let secret = "k".repeat(40);
        let spaced = raw_jwt(
            r#"{ "alg": "HS256", "typ": "JWT" }"#,
            r#"{ "role": "service_role", "iss": "supabase" }"#,
            &secret,
        );
        assert!(spaced.starts_with("eyAi"), "{spaced}");
        let tabbed = raw_jwt("{\t\"alg\":\"HS256\"}", "{\r\n\"role\":\"anon\"}", &secret);
        assert!(tabbed.starts_with("ewk"), "{tabbed}");
        let deep = raw_jwt("{  \"alg\":\"HS256\"}", "{\n\t\"role\":\"anon\"}", &secret);
        assert!(deep.starts_with("eyAg"), "{deep}");
        let text = format!("a {demo}\nb {spaced}\nc \"{tabbed}\"\nd={deep}\n");
        assert_eq!(
            kinds(&scanner, &text),
            vec![
                (1, Kind::DefaultJwt),
                (2, Kind::ServiceRoleJwt),
                (3, Kind::Jwt),
                (4, Kind::Jwt)
            ]
        );
    }

    #[test]
    fn an_es256_service_role_key_is_a_service_role_jwt() {
        // Its signature is not checked: the shape and the role are enough.
        let header =
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"JWT","kid":"5f1e0b3a-7c1d-4e9a-9b7a-2f6c8d0e1a2b"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"role":"service_role","iss":"supabase","iat":1,"exp":2}"#);
        let signature = URL_SAFE_NO_PAD.encode([7u8; 64]);
        let text = format!("SERVICE_ROLE_KEY_ASYMMETRIC={header}.{payload}.{signature}\n");
        assert_eq!(kinds(&Scanner::new(vec![]), &text), vec![(1, Kind::ServiceRoleJwt)]);
    }

    #[test]
    fn private_jwks_are_found_and_public_ones_are_not() {
        let scanner = Scanner::new(vec![]);
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let d = URL_SAFE_NO_PAD.encode([2u8; 32]);
        let k = URL_SAFE_NO_PAD.encode("s".repeat(40));
        let published = URL_SAFE_NO_PAD.encode(KNOWN_DEFAULT_JWT_SECRETS[1]);
        let ec_private = format!(r#"{{"kty":"EC","kid":"a","crv":"P-256","x":"{x}","y":"{x}","d":"{d}"}}"#);
        let ec_public = format!(r#"{{"kty":"EC","kid":"a","crv":"P-256","x":"{x}","y":"{x}"}}"#);
        let oct = format!(r#"{{"kty":"oct","k":"{k}","alg":"HS256"}}"#);
        let text = format!(
            "JWT_KEYS=[{ec_private},{oct}]\npublic: {{\"keys\":[{ec_public}]}}\ndoc: {{\"kty\":\"EC\",\"d\":\"…\"}}\n{{\n  \"keys\": [\n    {{\n      \"crv\": \"P-256\",\n      \"d\": \"{d}\",\n      \"kty\": \"EC\"\n    }}\n  ]\n}}\nenv: \"{{\\\"kty\\\":\\\"oct\\\",\\\"k\\\":\\\"{k}\\\"}}\"\ndemo: {{\"kty\":\"oct\",\"k\":\"{published}\"}}\n"
        );
        assert_eq!(
            kinds(&scanner, &text),
            vec![
                (1, Kind::PrivateJwk),
                (9, Kind::PrivateJwk),
                (13, Kind::PrivateJwk),
                (14, Kind::DefaultJwk)
            ]
        );
    }

    #[test]
    fn known_values_are_found_anywhere_and_short_ones_ignored() {
        let known = |variable: &str, value: &str| KnownValue {
            origin: "receptor-dev/.env".into(),
            variable: variable.into(),
            value: Secret::new(value),
        };
        let scanner = Scanner::new(vec![
            known("SHORT", "abc123"),
            known("POSTGRES_PASSWORD", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ]);
        let text = "abc123\nurl=postgres://x:0f1e2d3c4b5a69788796a5b4c3d2e1f0@db\n";
        assert_eq!(kinds(&scanner, text), vec![(2, Kind::Known(0))]);
        assert_eq!(scanner.known(0).variable, "POSTGRES_PASSWORD");
    }

    #[test]
    fn a_known_key_is_reported_once_as_known() {
        let key = jwt::mint(Role::Anon, &Secret::new("k".repeat(40)), jwt::now());
        let scanner = Scanner::new(vec![KnownValue {
            origin: "receptor-dev/.env".into(),
            variable: "ANON_KEY".into(),
            value: key.clone(),
        }]);
        assert_eq!(
            kinds(&scanner, &format!("x\n{}\n", key.expose())),
            vec![(2, Kind::Known(0))]
        );
    }
}
