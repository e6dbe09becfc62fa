//! The leak scanner: finds secret-shaped text in file contents, by line.
//!
//! One pass of an Aho-Corasick automaton finds every anchor at once: the
//! start of a JWT (`eyJ`), `sb_secret_`, `-----BEGIN `, and each known
//! current secret value. Each anchor is then confirmed by looking at the
//! bytes around it. A hit carries a kind and a line, never the text itself.
//! A line holding `receptor-verify: allow` is never reported.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use memchr::{memchr, memchr_iter, memmem, memrchr};

use crate::secrets::defaults::KNOWN_DEFAULT_OPAQUE_KEYS;
use crate::secrets::{Secret, jwt};

/// The marker that allows a documented example on its line.
pub const ALLOW_MARKER: &str = "receptor-verify: allow";

/// Known values shorter than this are not searched for: they would match by chance.
pub const MIN_KNOWN_LEN: usize = 12;

const ANCHORS: [&str; 3] = ["eyJ", "sb_secret_", "-----BEGIN "];
const JWT: usize = 0;
const SB_SECRET: usize = 1;
const BEGIN: usize = 2;

/// What a hit looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A compact JWT whose signature verifies under a published default secret.
    DefaultJwt,
    /// A compact JWT signed with some other secret: possibly a live key.
    Jwt,
    /// Supabase CLI's published `sb_secret_` key.
    DefaultSbSecret,
    /// An opaque Supabase secret key.
    SbSecret,
    /// A private-key block: a BEGIN armour line whose label names a private key.
    PrivateKey,
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

    /// Every hit in `bytes` as (1-based line, kind), in line order, one per line and kind.
    pub fn scan(&self, bytes: &[u8]) -> Vec<(usize, Kind)> {
        let mut found: Vec<(usize, Kind)> = Vec::new();
        let mut jwt_end = 0;
        for m in self.automaton.find_overlapping_iter(bytes) {
            let at = m.start();
            let kind = match m.pattern().as_usize() {
                JWT if at >= jwt_end => match jwt_at(bytes, at) {
                    Some((end, kind)) => {
                        jwt_end = end;
                        kind
                    }
                    None => continue,
                },
                JWT => continue,
                SB_SECRET => match sb_secret_at(bytes, at) {
                    Some(kind) => kind,
                    None => continue,
                },
                BEGIN => match private_key_at(bytes, at) {
                    true => Kind::PrivateKey,
                    false => continue,
                },
                n => Kind::Known(n - ANCHORS.len()),
            };
            if !allowed(bytes, at) {
                found.push((at, kind));
            }
        }
        lines_of(bytes, found)
    }
}

/// Turns offsets into 1-based lines, dropping repeats of a kind on one line.
/// A known value that is itself a JWT is reported once, as the known value.
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

/// Whether a segment decodes to a JSON object (and, for a header, names `alg`).
fn json_object(segment: &[u8], needs_alg: bool) -> bool {
    let Ok(decoded) = URL_SAFE_NO_PAD.decode(segment) else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&decoded) {
        Ok(serde_json::Value::Object(map)) => !needs_alg || map.contains_key("alg"),
        _ => false,
    }
}

/// A compact JWT starting at `at`: `header.payload.signature`, header and
/// payload JSON objects. Returns where it ends and its kind.
fn jwt_at(bytes: &[u8], at: usize) -> Option<(usize, Kind)> {
    if at > 0 && (is_b64url(bytes[at - 1]) || bytes[at - 1] == b'.') {
        return None;
    }
    let header_end = run_end(bytes, at);
    if bytes.get(header_end) != Some(&b'.') || !bytes[header_end + 1..].starts_with(b"eyJ") {
        return None;
    }
    let payload_end = run_end(bytes, header_end + 1);
    if bytes.get(payload_end) != Some(&b'.') {
        return None;
    }
    let end = run_end(bytes, payload_end + 1);
    // HS256 signatures are 43 characters; anything under 16 is not a signature.
    if end - payload_end - 1 < 16 {
        return None;
    }
    if !json_object(&bytes[at..header_end], true) || !json_object(&bytes[header_end + 1..payload_end], false) {
        return None;
    }
    let token = std::str::from_utf8(&bytes[at..end]).ok()?;
    let kind = if jwt::signed_by_known_default(token) {
        Kind::DefaultJwt
    } else {
        Kind::Jwt
    };
    Some((end, kind))
}

/// `sb_secret_` followed by a key body of at least 16 characters.
fn sb_secret_at(bytes: &[u8], at: usize) -> Option<Kind> {
    if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
        return None;
    }
    let body = at + "sb_secret_".len();
    let end = run_end(bytes, body);
    if end - body < 16 {
        return None;
    }
    let key = &bytes[at..end];
    Some(if KNOWN_DEFAULT_OPAQUE_KEYS.iter().any(|k| k.as_bytes() == key) {
        Kind::DefaultSbSecret
    } else {
        Kind::SbSecret
    })
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
        scanner.scan(text.as_bytes())
    }

    #[test]
    fn jwts_are_found_by_line_and_told_apart_by_their_signer() {
        let ours = jwt::mint(Role::ServiceRole, &Secret::new("k".repeat(40)), jwt::now());
        let public = jwt::mint(Role::Anon, &Secret::new(KNOWN_DEFAULT_JWT_SECRETS[0]), 1);
        let text = format!("intro\nkey: {}\n\nanon = \"{}\"\n", ours.expose(), public.expose());
        assert_eq!(
            kinds(&Scanner::new(vec![]), &text),
            vec![(2, Kind::Jwt), (4, Kind::DefaultJwt)]
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

    #[test]
    fn opaque_keys_private_keys_and_the_allow_marker() {
        let scanner = Scanner::new(vec![]);
        let begin = "-----BEGIN ";
        let text = format!(
            "a sb_secret_ prefix in prose\nSUPABASE_SECRET_KEY=sb_secret_{}\n{}\n{begin}OPENSSH PRIVATE KEY-----\n{begin}CERTIFICATE-----\nsb_secret_{} # {ALLOW_MARKER}\n",
            "Q".repeat(31),
            KNOWN_DEFAULT_OPAQUE_KEYS[1],
            "Z".repeat(31)
        );
        assert_eq!(
            kinds(&scanner, &text),
            vec![(2, Kind::SbSecret), (3, Kind::DefaultSbSecret), (4, Kind::PrivateKey)]
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
