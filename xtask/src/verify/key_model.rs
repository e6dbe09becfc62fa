//! The project scope's checks of the asymmetric key model: `JWT_KEYS` by
//! GoTrue's rules, `JWT_JWKS` as its public part, both `oct` keys against
//! `JWT_SECRET`, the ES256 API keys under `JWT_JWKS` by their `kid`, and the
//! checksum of each `sb_` key. Published values are left to
//! `project.no-defaults`; empty ones to `project.required`.

use super::finding::{Check, Finding, Outcome, Where};
use crate::envfile::EnvFile;
use crate::secrets::asymmetric::{self, Flaw, JWT_JWKS, JWT_KEYS};
use crate::secrets::jwk::KeySet;
use crate::secrets::{CATALOG, Make, Secret, defaults, name, opaque};

pub static SIGNING_KEYS: Check = Check {
    id: "project.signing-keys",
    scope: "project",
    title: "JWT_KEYS holds exactly one ES256 signing key, unique kids, alg on every key, and the oct key of JWT_SECRET",
};
pub static PUBLIC_KEYS: Check = Check {
    id: "project.public-keys",
    scope: "project",
    title: "JWT_JWKS is the public part of JWT_KEYS, holds no private key, and its oct key is JWT_SECRET",
};
pub static ASYMMETRIC_API_KEYS: Check = Check {
    id: "project.asymmetric-api-keys",
    scope: "project",
    title: "ANON_KEY_ASYMMETRIC and SERVICE_ROLE_KEY_ASYMMETRIC verify under JWT_JWKS by their kid, with their role and iss supabase",
};
pub static OPAQUE_KEYS: Check = Check {
    id: "project.opaque-keys",
    scope: "project",
    title: "SUPABASE_PUBLISHABLE_KEY and SUPABASE_SECRET_KEY have their prefix, length and checksum",
};

/// How a finding of this module names its place and its fix.
pub(super) struct Wording<'a> {
    pub at: &'a dyn Fn(&str) -> Where,
    /// The setup command for this project.
    pub setup: String,
    /// Staging or prod: values are injected, not made here.
    pub strict: bool,
}

/// The four outcomes, and expiry findings for `project.key-expiry`.
pub(super) fn run(w: &Wording, env: &EnvFile, expiry: &mut Outcome) -> Vec<Outcome> {
    let value = |name: &str| env.get(name).unwrap_or_default();
    let published = |name: &str| defaults::is_known_default(&value(name));
    let secret = env.secret(name::JWT_SECRET).unwrap_or_else(Secret::empty);
    let mut signing = Outcome::new(&SIGNING_KEYS);
    let mut public = Outcome::new(&PUBLIC_KEYS);
    let mut api = Outcome::new(&ASYMMETRIC_API_KEYS);
    let mut opaque_keys = Outcome::new(&OPAQUE_KEYS);

    let rederive = |name: &str| {
        if w.strict {
            format!("inject a {name} that matches JWT_KEYS, or none, and run {}", w.setup)
        } else {
            format!("run {} (derives {name} again)", w.setup)
        }
    };

    // JWT_KEYS: its own structure, then its oct key.
    let keys_text = value(JWT_KEYS);
    let mut keys: Option<KeySet> = None;
    if !keys_text.is_empty() && !published(JWT_KEYS) {
        let (parsed, flaws) = asymmetric::signing_set(&keys_text);
        for flaw in &flaws {
            signing.push(Finding::fail(
                (w.at)(JWT_KEYS),
                format!("{JWT_KEYS} {flaw}"),
                format!("fix {JWT_KEYS} (see docs/key-management.md); emptying it makes setup generate a new signing key, which signs every user out"),
            ));
        }
        if let Some(set) = &parsed {
            for flaw in asymmetric::oct_flaws(set, &secret) {
                signing.push(Finding::fail(
                    (w.at)(JWT_KEYS),
                    format!("{JWT_KEYS} {flaw}"),
                    format!("run {} (rebuilds its oct key from JWT_SECRET)", w.setup),
                ));
            }
        }
        if flaws.is_empty() {
            keys = parsed;
        }
    }

    // JWT_JWKS: its structure, the mirror of JWT_KEYS, its oct key.
    let jwks_text = value(JWT_JWKS);
    let mut jwks: Option<KeySet> = None;
    if !jwks_text.is_empty() && !published(JWT_JWKS) {
        let (parsed, flaws) = asymmetric::public_set(&jwks_text, keys.as_ref());
        let mut flaws = flaws;
        if let Some(set) = &parsed {
            flaws.extend(asymmetric::oct_flaws(set, &secret));
        }
        for flaw in &flaws {
            public.push(Finding::fail(
                (w.at)(JWT_JWKS),
                format!("{JWT_JWKS} {flaw}"),
                rederive(JWT_JWKS),
            ));
        }
        if !flaws.iter().any(|f| matches!(f, Flaw::NotASet(_))) {
            jwks = parsed;
        }
    }

    // The ES256 API keys, under JWT_JWKS by their kid.
    for spec in CATALOG {
        let Make::MintedAsymmetric(role) = spec.make else {
            continue;
        };
        let token = value(spec.name);
        if token.is_empty() || published(spec.name) {
            continue;
        }
        let fix = if w.strict {
            format!("cargo xtask rotate {}", spec.name)
        } else {
            format!("run {} (mints the key again)", w.setup)
        };
        let Some(set) = &jwks else {
            api.push(Finding::fail(
                (w.at)(spec.name),
                format!("{} {}", spec.name, asymmetric::ApiKeyFlaw::NoKeySet),
                rederive(JWT_JWKS),
            ));
            continue;
        };
        match asymmetric::api_key(&token, role, set, keys.as_ref()) {
            Ok(None) => {}
            Ok(Some(warning)) => expiry.push(Finding::warn(
                (w.at)(spec.name),
                format!("{} {warning}", spec.name),
                format!("cargo xtask rotate {}", spec.name),
            )),
            Err(flaw @ (asymmetric::ApiKeyFlaw::Expired | asymmetric::ApiKeyFlaw::ExpiresWithinTheHour { .. })) => {
                expiry.push(Finding::fail((w.at)(spec.name), format!("{} {flaw}", spec.name), fix))
            }
            Err(flaw) => api.push(Finding::fail((w.at)(spec.name), format!("{} {flaw}", spec.name), fix)),
        }
    }

    // The sb_ keys: prefix, length, checksum.
    for spec in CATALOG {
        let Make::Opaque(kind) = spec.make else {
            continue;
        };
        let key = value(spec.name);
        if key.is_empty() || published(spec.name) {
            continue;
        }
        if let Err(problem) = opaque::check(kind, &key) {
            opaque_keys.push(Finding::fail(
                (w.at)(spec.name),
                format!("{} {problem}", spec.name),
                format!("cargo xtask rotate {}", spec.name),
            ));
        }
    }
    vec![signing, public, api, opaque_keys]
}
