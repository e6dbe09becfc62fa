//! Tokens signed by given keys, checked at every verifier behind the
//! gateway: short-lived `service_role` access tokens, minted here because
//! the tool holds the private keys, sent to GoTrue, PostgREST and the Edge
//! Functions the way a signed-in client sends its access token. They are
//! secrets: they go on the wire only, never in output.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::secrets::jwk::Jwk;
use crate::secrets::jwt::{ISSUER, now};
use crate::secrets::{Role, Secret};

use super::{Column, Gateway, LiveCheck, PROBES, Probe, Report};

/// How long a test token lives: long enough for the checks, no longer.
pub const TOKEN_LIFETIME_SECS: u64 = 300;

/// A key tokens are signed with.
#[derive(Clone, Debug)]
pub enum Signer {
    /// A private ES256 key of `JWT_KEYS`: the token names its `kid`.
    Es256(Box<Jwk>),
    /// The legacy HS256 secret (`JWT_SECRET`), no `kid`.
    Hs256(Secret),
}

/// A signer and how the report names it (`key A (kid …)`).
#[derive(Clone, Debug)]
pub struct Named {
    pub label: String,
    pub signer: Signer,
}

/// Which keys every verifier must accept, and which it must refuse.
#[derive(Clone, Debug, Default)]
pub struct TokenCheck {
    pub accepted: Vec<Named>,
    pub refused: Vec<Named>,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    role: &'a str,
    iss: &'a str,
    iat: u64,
    exp: u64,
}

/// A `service_role` token signed by `signer`, valid for [`TOKEN_LIFETIME_SECS`].
pub fn mint(signer: &Signer) -> Option<Secret> {
    let iat = now();
    let claims = Claims {
        sub: "00000000-0000-4000-8000-000000000000",
        role: Role::ServiceRole.claim(),
        iss: ISSUER,
        iat,
        exp: iat + TOKEN_LIFETIME_SECS,
    };
    let (header, key) = match signer {
        Signer::Es256(jwk) => {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(jwk.kid.clone()?);
            (header, jwk.encoding_key()?)
        }
        Signer::Hs256(secret) => (
            Header::new(Algorithm::HS256),
            EncodingKey::from_secret(secret.expose().as_bytes()).ok()?,
        ),
    };
    jsonwebtoken::encode(&header, &claims, &key).ok().map(Secret::new)
}

/// The probes whose `Authorization` header reaches a verifier: the key
/// under test is the bearer token, and Kong's key-auth (where the route has
/// it) gets the current `ANON_KEY` as `apikey`.
pub fn verifier_probes() -> impl Iterator<Item = &'static Probe> {
    PROBES.iter().filter(|p| p.apikey_is_anon || p.is_function())
}

/// Sends a token of every key of `check` to every verifier probe, with
/// `anon` as `apikey`: accepted keys must get the answer a valid
/// `service_role` token gets, refused ones the answer a stale key gets.
pub fn check(gateway: &Gateway, anon: &Secret, check: &TokenCheck, settle: Duration) -> Report {
    let mut report = Report::default();
    let deadline = Instant::now() + settle;
    let cases = check
        .accepted
        .iter()
        .map(|n| (n, Column::ServiceRole, "accepts"))
        .chain(check.refused.iter().map(|n| (n, Column::Stale, "refuses")));
    for (named, column, verb) in cases {
        let Some(token) = mint(&named.signer) else {
            report.fail(
                LiveCheck::Tokens,
                format!("tokens: {} cannot sign a token", named.label),
            );
            continue;
        };
        let mut held = Vec::new();
        for probe in verifier_probes() {
            let want = probe.expected(column);
            let send = || {
                let bearer = format!("Bearer {}", token.expose());
                let headers = [("apikey", anon.expose()), ("Authorization", bearer.as_str())];
                gateway.request(probe.method, probe.path, &headers)
            };
            let status = super::settle(deadline, send, want);
            if matches!(status, Ok(code) if code == want) {
                held.push(probe.id);
            } else {
                report.fail(
                    LiveCheck::Tokens,
                    format!(
                        "tokens: {}: {} ({}) with a token signed by {} answered {} ({want} expected: it {verb} such tokens)",
                        gateway.url(),
                        probe.id,
                        probe.request(),
                        named.label,
                        super::Answered(status),
                    ),
                );
            }
        }
        if !held.is_empty() {
            report.passed.push(format!(
                "a token signed by {}: {} at {}",
                named.label,
                if column == Column::Stale { "refused" } else { "accepted" },
                held.join(", ")
            ));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::es256;
    use crate::secrets::jwk::KeySet;

    #[test]
    fn tokens_are_short_lived_and_name_their_key() {
        let keys = KeySet::new_signing_set(&Secret::new("z".repeat(40)));
        let signer = keys.signing_key().unwrap().clone();
        let token = mint(&Signer::Es256(Box::new(signer.clone()))).unwrap();
        match es256::check(token.expose(), &keys.public_set()) {
            es256::Check::Valid { role, kid, exp, .. } => {
                assert_eq!(role, "service_role");
                assert_eq!(Some(kid), signer.kid);
                assert!(exp.is_some_and(|exp| exp <= now() + TOKEN_LIFETIME_SECS));
            }
            other => panic!("{other:?}"),
        }
        let hs = mint(&Signer::Hs256(Secret::new("z".repeat(40)))).unwrap();
        assert!(matches!(
            crate::secrets::jwt::check(hs.expose(), &"z".repeat(40)),
            crate::secrets::jwt::KeyCheck::Valid { role, .. } if role == "service_role"
        ));
        let ids: Vec<&str> = verifier_probes().map(|p| p.id).collect();
        assert_eq!(ids, ["auth-admin", "rest-bearer", "functions"]);
    }
}
