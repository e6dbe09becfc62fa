//! The opaque API keys on a running stack: Kong swaps `apikey: sb_publishable_…` for the
//! ES256 key of `anon` and `sb_secret_…` for the one of `service_role`, so each reaches
//! auth, rest and the functions with its role; a well-formed `sb_` key that is not the
//! configured one (a stale key, or a fresh one with a valid checksum) is refused by
//! Kong's key-auth. Only the `apikey` header is sent, as a client holding only an `sb_`
//! key does. Lines name keys, never their values.

use std::time::Instant;

use super::{Gateway, LiveCheck, Report, answers};
use crate::envfile::EnvFile;
use crate::secrets::opaque::{self, Opaque};
use crate::secrets::{Secret, name};

/// The two opaque keys of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueKeys {
    pub publishable: Secret,
    pub secret: Secret,
}

impl OpaqueKeys {
    /// `SUPABASE_PUBLISHABLE_KEY` and `SUPABASE_SECRET_KEY`, when both are set.
    pub fn from_env(env: &EnvFile) -> Option<OpaqueKeys> {
        let get = |name| env.get(name).filter(|v| !v.is_empty()).map(Secret::new);
        Some(OpaqueKeys {
            publishable: get(name::SUPABASE_PUBLISHABLE_KEY)?,
            secret: get(name::SUPABASE_SECRET_KEY)?,
        })
    }
}

/// Which key a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    Publishable,
    Secret,
    /// Any `sb_` key the gateway does not know.
    Unknown,
}

/// One request and what each holder gets: `(id, method, path, [publishable, secret, unknown])`.
/// auth's admin API tells the roles apart (GoTrue: 403 `not_admin` for anon); rest answers
/// its own 404 for a missing table once it took the JWT; the function runs for either.
pub const OPAQUE_PROBES: &[(&str, &str, &str, [u16; 3])] = &[
    ("auth-admin", "GET", "/auth/v1/admin/users?per_page=1", [403, 200, 401]),
    ("rest", "GET", "/rest/v1/receptor_live_check", [404, 404, 401]),
    ("functions", "POST", "/functions/v1/hello", [200, 200, 401]),
];

/// Prefix of every problem line of these checks.
pub const SUBJECT: &str = "sb_ key";

/// Sends every probe with each key; `stale` keys (ignored where they equal the current
/// ones) must be refused, and so must a fresh well-formed pair nobody configured.
pub fn check(gateway: &Gateway, keys: &OpaqueKeys, stale: Option<&OpaqueKeys>, deadline: Instant, report: &mut Report) {
    let unknown = OpaqueKeys {
        publishable: opaque::generate(Opaque::Publishable),
        secret: opaque::generate(Opaque::Secret),
    };
    let mut holders: Vec<(Holder, String, &Secret)> = vec![
        (
            Holder::Publishable,
            "SUPABASE_PUBLISHABLE_KEY (as anon)".into(),
            &keys.publishable,
        ),
        (
            Holder::Secret,
            "SUPABASE_SECRET_KEY (as service_role)".into(),
            &keys.secret,
        ),
        (
            Holder::Unknown,
            "an unconfigured sb_publishable_ key".into(),
            &unknown.publishable,
        ),
        (
            Holder::Unknown,
            "an unconfigured sb_secret_ key".into(),
            &unknown.secret,
        ),
    ];
    if let Some(stale) = stale {
        for (name, old, new) in [
            (name::SUPABASE_PUBLISHABLE_KEY, &stale.publishable, &keys.publishable),
            (name::SUPABASE_SECRET_KEY, &stale.secret, &keys.secret),
        ] {
            if old != new && !old.is_empty() {
                holders.push((Holder::Unknown, format!("the previous {name}"), old));
            }
        }
    }
    let url = gateway.url();
    for (id, method, path, statuses) in OPAQUE_PROBES {
        let mut held = Vec::new();
        for (holder, name, key) in &holders {
            let want = statuses[*holder as usize];
            let send = || gateway.request(method, path, &[("apikey", key.expose())]);
            match answers(deadline, send, want) {
                Ok(()) => held.push(format!("{name} {want}")),
                Err(answered) => report.fail(
                    LiveCheck::OpaqueKey,
                    format!(
                        "{SUBJECT}: {url}: {id} ({method} {path}) with {name} answered {answered} ({want} expected)"
                    ),
                ),
            }
        }
        if !held.is_empty() {
            report.passed.push(format!(
                "{id} ({method} {path}) with apikey answers {}",
                held.join(", ")
            ));
        }
    }
}
