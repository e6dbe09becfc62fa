//! What a rotation changes in `.env`: the variables asked for, their new
//! values, and what follows from them (a new `JWT_SECRET` re-mints both API
//! keys and rebuilds the HS256 `oct` key inside `JWT_KEYS` / `JWT_JWKS`; the
//! ES256 signing key stays). Refusals come before any change.

use crate::config::Env;
use crate::draft::{Decision, Draft};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};

use super::error::{MintError, NoNewValue, Refusal, RotateError};
use crate::printable::escaped;
use crate::secrets::asymmetric::{JWT_JWKS, JWT_KEYS};
use crate::secrets::jwk::{KeySet, Shape};
use crate::secrets::name;
use crate::secrets::{CATALOG, Make, Role, Secret, SecretSpec, Tier, catalog, es256, generate, jwt, opaque, rules};

use super::source::{self, Found, Sources};
use crate::sources::Nothing;
use crate::sources::prompt::Unfit;

/// The flag that lets a run replace a key that encrypts stored data.
pub const ENCRYPTING_OVERRIDE: &str = "--i-understand-encrypted-data-becomes-unreadable";

/// Which variables to rotate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Names(Vec<String>),
    /// Every Tier 1 secret the tool makes.
    Tier1,
    /// Tier 1, and every Tier 2 secret that is set or has a new value.
    All,
}

/// One variable that changes: its new value, and how it was made (what is
/// shown, never the value).
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    pub how: String,
    pub value: Secret,
}

impl Decision for Row {
    fn name(&self) -> &str {
        self.name
    }

    fn value(&self) -> Option<&Secret> {
        Some(&self.value)
    }
}

/// The new `.env` and what changed in it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rows: Vec<Row>,
    /// Variables left alone, and why.
    pub notes: Vec<String>,
    pub after: EnvFile,
}

impl Plan {
    pub fn names(&self) -> Vec<String> {
        self.rows.iter().map(|r| r.name.to_string()).collect()
    }

    pub fn changes(&self, name: &str) -> bool {
        self.rows.iter().any(|r| r.name == name)
    }
}

/// Builds the new `.env` from `before`. Refuses (exit 2) unknown names, keys
/// that encrypt stored data without the override, the pgsodium key, and new
/// values that break their rule or equal the current ones; reports (exit 3)
/// values no source has and nobody can be asked for.
pub fn plan(
    before: &EnvFile,
    selection: &Selection,
    env: Env,
    allow_encrypting: bool,
    sources: &mut Sources<'_>,
) -> Result<Plan> {
    let mut refused = Vec::new();
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    let primaries = select(before, selection, allow_encrypting, sources, &mut refused, &mut notes)?;

    let mut draft = Draft::new(before.clone());
    let mut to_ask: Vec<(&'static SecretSpec, Nothing)> = Vec::new();
    for spec in &primaries {
        let current = before.get(spec.name).unwrap_or_default();
        let (value, how) = match (spec.make, env) {
            (Make::Random { charset, len }, Env::Dev) => (
                generate::for_spec(spec).expect("a random spec generates"),
                format!("generated: {len} {}", charset.describe()),
            ),
            (Make::Opaque(kind), Env::Dev) => (
                opaque::generate(kind),
                format!("generated: a new {} key with its checksum", kind.prefix()),
            ),
            (Make::MintedAsymmetric(role), _) => match minted_asymmetric(before, role, &current) {
                Ok(value) => (
                    value,
                    format!(
                        "re-minted: ES256 JWT, role {}, signed with the signing key of JWT_KEYS",
                        role.claim()
                    ),
                ),
                Err(why) => {
                    refused.push(Refusal::CannotMint { name: spec.name, why });
                    continue;
                }
            },
            _ => match sources.look_up(spec)? {
                Found::Value(value, source) => (value, source::describe(source).to_string()),
                Found::Nothing(why) if spec.tier == Tier::One => {
                    to_ask.push((spec, why));
                    continue;
                }
                Found::Nothing(why) => {
                    missing.push(NoNewValue::InSource { name: spec.name, why });
                    continue;
                }
            },
        };
        if value.expose() == current {
            refused.push(Refusal::SourceUnchanged { name: spec.name });
            continue;
        }
        draft.decide(Row {
            name: spec.name,
            how,
            value,
        })?;
    }

    // Tier 1 values the environment lacks: typed at a terminal, else missing.
    if !to_ask.is_empty() && refused.is_empty() {
        let mut typed = Vec::new();
        for (spec, why) in &to_ask {
            let check = |value: &str| {
                if before.get(spec.name).as_deref() == Some(value) {
                    return Err(Unfit::Current);
                }
                Ok(rules::check(spec, value, &|name| draft.get(name))?)
            };
            match sources.ask(spec, &check)? {
                Found::Value(value, source) => typed.push((spec.name, value, source)),
                Found::Nothing(Nothing::NobodyToAsk(no_terminal)) => missing.push(NoNewValue::NoTerminal {
                    name: spec.name,
                    why: why.clone(),
                    no_terminal,
                }),
                Found::Nothing(other) => missing.push(NoNewValue::InSource {
                    name: spec.name,
                    why: other,
                }),
            }
        }
        for (name, value, source) in typed {
            let how = source::describe(source).to_string();
            draft.decide(Row { name, how, value })?;
        }
    }

    // The variables asked for, in catalog order, then those that follow from them.
    let asked_for = draft.decisions().len();
    if draft.decisions().iter().any(|r| r.name == name::JWT_SECRET) {
        let injected = env != Env::Dev;
        derive_from_jwt_secret(&mut draft, &mut refused, injected.then_some(sources))?;
    }
    let mut rows = draft.decisions().to_vec();
    rows[..asked_for].sort_by_key(|row| CATALOG.iter().position(|s| s.name == row.name));
    for row in &rows {
        let spec = catalog::find(row.name).expect("rows come from the catalog");
        let value = draft.get(row.name).unwrap_or_default();
        if spec.is_derived() || value.is_empty() {
            continue;
        }
        if let Err(why) = rules::check(spec, &value, &|name| draft.get(name)) {
            refused.push(Refusal::NewValueBreaks { name: row.name, why });
        }
    }
    if !refused.is_empty() {
        return Err(Error::refused(refused));
    }
    if !missing.is_empty() {
        return Err(RotateError::NoNewValues(missing).into());
    }
    let after = draft.render()?;
    Ok(Plan { rows, notes, after })
}

/// The catalog entries to give new values, in catalog order.
fn select(
    before: &EnvFile,
    selection: &Selection,
    allow_encrypting: bool,
    sources: &mut Sources<'_>,
    refused: &mut Vec<Refusal>,
    notes: &mut Vec<String>,
) -> Result<Vec<&'static SecretSpec>> {
    let mut wanted: Vec<&'static str> = Vec::new();
    let rotatable = |spec: &SecretSpec| matches!(spec.make, Make::Random { .. } | Make::Opaque(_));
    match selection {
        Selection::Names(names) => {
            for name in names {
                if name.to_ascii_lowercase().contains("pgsodium") {
                    refused.push(Refusal::Pgsodium);
                    continue;
                }
                let Some(spec) = catalog::find(name) else {
                    refused.push(Refusal::NotASecret { name: name.clone() });
                    continue;
                };
                if matches!(spec.make, Make::Minted(_)) {
                    notes.push(format!(
                        "{name} is signed with JWT_SECRET and stays valid until the secret changes: JWT_SECRET is rotated and both API keys are re-minted"
                    ));
                    wanted.push(name::JWT_SECRET);
                } else if matches!(spec.make, Make::SigningKeys | Make::PublicKeys) {
                    refused.push(Refusal::SigningKey { name: spec.name });
                } else if spec.encrypts_data && !allow_encrypting {
                    refused.push(Refusal::Encrypting { spec });
                } else {
                    wanted.push(spec.name);
                }
            }
        }
        Selection::Tier1 | Selection::All => {
            let in_stack = |s: &SecretSpec| !s.when_declared || before.line_of(s.name).is_some();
            for spec in CATALOG
                .iter()
                .filter(|s| s.tier == Tier::One && rotatable(s) && in_stack(s))
            {
                if spec.encrypts_data && !allow_encrypting {
                    notes.push(format!(
                        "{} skipped: it encrypts stored data; add {ENCRYPTING_OVERRIDE} to rotate it too",
                        spec.name
                    ));
                } else {
                    wanted.push(spec.name);
                }
            }
            if *selection == Selection::All {
                for spec in CATALOG.iter().filter(|s| s.tier == Tier::Two) {
                    let empty = before.get(spec.name).unwrap_or_default().is_empty();
                    if empty && matches!(sources.look_up(spec)?, Found::Nothing(_)) {
                        notes.push(format!("{} skipped: not set, and no new value", spec.name));
                    } else {
                        wanted.push(spec.name);
                    }
                }
            }
        }
    }
    Ok(CATALOG.iter().filter(|spec| wanted.contains(&spec.name)).collect())
}

/// A new `JWT_SECRET` re-mints both API keys (in staging and prod, keys
/// injected with it are taken when they verify under it) and rebuilds the key
/// sets that embed it.
fn derive_from_jwt_secret(
    draft: &mut Draft<Row>,
    refused: &mut Vec<Refusal>,
    mut injected: Option<&mut Sources<'_>>,
) -> Result<()> {
    let new = draft.secret(name::JWT_SECRET).unwrap_or_else(Secret::empty);
    let now = jwt::now();
    let minted = [
        (name::ANON_KEY, Role::Anon),
        (name::SERVICE_ROLE_KEY, Role::ServiceRole),
    ];
    for (name, role) in minted {
        let spec = catalog::find(name).expect("in the catalog");
        let given = match injected.as_deref_mut() {
            Some(sources) => match sources.look_up(spec)? {
                Found::Value(key, source) => Some((key, source)),
                Found::Nothing(_) => None,
            },
            None => None,
        };
        let (key, how) = match given {
            Some((key, source)) if jwt::is_valid_for(key.expose(), new.expose(), role) => (
                key,
                format!("{}: verifies under the new JWT_SECRET", source::describe(source)),
            ),
            Some((_, source)) => {
                refused.push(Refusal::InjectedKeyMismatch {
                    name,
                    from: source,
                    role,
                });
                continue;
            }
            None => (
                jwt::mint(role, &new, now),
                format!(
                    "re-minted: HS256 JWT, role {}, signed with the new JWT_SECRET",
                    role.claim()
                ),
            ),
        };
        draft.decide(Row {
            name: spec.name,
            how,
            value: key,
        })?;
    }
    for (name, shape) in [(JWT_KEYS, Shape::Array), (JWT_JWKS, Shape::Jwks)] {
        let text = draft.file().get(name).unwrap_or_default();
        if text.trim().is_empty() {
            continue;
        }
        match KeySet::parse(&text, shape) {
            Ok(mut set) => {
                set.set_oct(&new);
                draft.decide(Row {
                    name: catalog::find(name).expect("in the catalog").name,
                    how: "rebuilt: its HS256 oct key now holds the new JWT_SECRET; the ES256 keys are kept".to_string(),
                    value: Secret::new(set.render(shape)),
                })?;
            }
            Err(why) => refused.push(Refusal::BrokenKeySet { name, why }),
        }
    }
    Ok(())
}

/// A new ES256 API key for `role`, signed with the signing key of `JWT_KEYS` in `before`,
/// different from `current`.
fn minted_asymmetric(before: &EnvFile, role: Role, current: &str) -> std::result::Result<Secret, MintError> {
    let text = before.get(JWT_KEYS).unwrap_or_default();
    let keys = KeySet::parse(&text, Shape::Array).map_err(|_| MintError::NoKeySet)?;
    let signer = keys.signing_key().ok_or(MintError::NoSigningKey)?;
    // ECDSA signatures are deterministic here (RFC 6979): a key minted in the
    // same second as the current one would be the same key.
    let now = jwt::now();
    [now, now + 1]
        .into_iter()
        .filter_map(|iat| es256::mint(role, signer, iat))
        .find(|key| key.expose() != current)
        .ok_or(MintError::CannotSign)
}

/// The plan as lines for the terminal: names and how, never a value.
pub fn render(plan: &Plan) -> String {
    let width = plan
        .rows
        .iter()
        .map(|r| escaped(r.name).chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!("{:<width$}  NEW VALUE\n", "VARIABLE");
    for row in &plan.rows {
        out.push_str(&format!("{:<width$}  {}\n", escaped(row.name), escaped(&row.how)));
    }
    for note in &plan.notes {
        out.push_str(&format!("note: {}\n", escaped(note)));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::secrets::Secret;

    fn env_file() -> EnvFile {
        let secret = Secret::new("J".repeat(40));
        let text = format!(
            "# head\nPOSTGRES_PASSWORD={}\nJWT_SECRET={}\nANON_KEY={}\nSERVICE_ROLE_KEY={}\nVAULT_ENC_KEY={}\nJWT_KEYS=\nSMTP_PASS=\n",
            "a".repeat(32),
            secret.expose(),
            jwt::mint(Role::Anon, &secret, jwt::now()).expose(),
            jwt::mint(Role::ServiceRole, &secret, jwt::now()).expose(),
            "b".repeat(32),
        );
        EnvFile::parse(Path::new("p/.env"), text).unwrap()
    }

    fn plan(before: &EnvFile, selection: &Selection, env: Env, allow: bool) -> Result<Plan> {
        let conf = crate::config::SetupConf::default();
        let mut sources = Sources::new(&conf, env, true);
        super::plan(before, selection, env, allow, &mut sources)
    }

    fn names(list: &[&str]) -> Selection {
        Selection::Names(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_new_jwt_secret_re_mints_both_keys_and_keeps_the_rest_of_the_file() {
        let before = env_file();
        let plan = plan(&before, &names(&["JWT_SECRET"]), Env::Dev, false).unwrap();
        assert_eq!(plan.names(), vec!["JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY"]);
        let secret = plan.after.get("JWT_SECRET").unwrap();
        assert_ne!(secret, before.get("JWT_SECRET").unwrap());
        assert!(jwt::is_valid_for(
            &plan.after.get("ANON_KEY").unwrap(),
            &secret,
            Role::Anon
        ));
        assert!(jwt::is_valid_for(
            &plan.after.get("SERVICE_ROLE_KEY").unwrap(),
            &secret,
            Role::ServiceRole
        ));
        assert_eq!(plan.after.get("POSTGRES_PASSWORD"), before.get("POSTGRES_PASSWORD"));
        assert!(plan.after.text().starts_with("# head\n"));
        let shown = render(&plan);
        assert!(!shown.contains(&secret));
    }

    #[test]
    fn naming_an_api_key_rotates_the_secret_behind_it() {
        let plan = plan(&env_file(), &names(&["SERVICE_ROLE_KEY"]), Env::Dev, false).unwrap();
        assert!(plan.changes("JWT_SECRET") && plan.changes("ANON_KEY"));
        assert!(plan.notes[0].contains("SERVICE_ROLE_KEY is signed with JWT_SECRET"));
    }

    #[test]
    fn encrypting_keys_unknown_names_and_pgsodium_are_refused_together() {
        let err = plan(
            &env_file(),
            &names(&["VAULT_ENC_KEY", "NOPE", "pgsodium_root_key", "JWT_KEYS"]),
            Env::Dev,
            false,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.exit_code(), 2);
        assert!(text.contains("VAULT_ENC_KEY encrypts stored data"), "{text}");
        assert!(text.contains(ENCRYPTING_OVERRIDE));
        assert!(text.contains("NOPE is not a secret"));
        assert!(text.contains("pgsodium root key"));
        assert!(text.contains("JWT_KEYS holds the ES256 signing key"), "{text}");
        assert_eq!(text.lines().count(), 4);
        let plan = plan(&env_file(), &names(&["VAULT_ENC_KEY"]), Env::Dev, true).unwrap();
        assert_eq!(plan.names(), vec!["VAULT_ENC_KEY"]);
    }

    /// `env_file()` in asymmetric mode, as setup leaves it.
    fn asymmetric_env_file() -> (EnvFile, KeySet) {
        let mut env = env_file();
        let secret = Secret::new(env.get("JWT_SECRET").unwrap());
        let keys = KeySet::new_signing_set(&secret);
        let signer = keys.signing_key().unwrap();
        env.set(JWT_KEYS, &keys.render(Shape::Array)).unwrap();
        env.set(JWT_JWKS, &keys.public_set().render(Shape::Jwks)).unwrap();
        for (name, role) in [
            ("ANON_KEY_ASYMMETRIC", Role::Anon),
            ("SERVICE_ROLE_KEY_ASYMMETRIC", Role::ServiceRole),
        ] {
            env.set(name, es256::mint(role, signer, jwt::now()).unwrap().expose())
                .unwrap();
        }
        env.set(
            "SUPABASE_PUBLISHABLE_KEY",
            opaque::generate(opaque::Opaque::Publishable).expose(),
        )
        .unwrap();
        env.set("SUPABASE_SECRET_KEY", opaque::generate(opaque::Opaque::Secret).expose())
            .unwrap();
        (env, keys)
    }

    #[test]
    fn an_sb_key_is_re_minted_alone_with_its_checksum() {
        let (before, _) = asymmetric_env_file();
        let plan = plan(&before, &names(&["SUPABASE_SECRET_KEY"]), Env::Dev, false).unwrap();
        assert_eq!(plan.names(), vec!["SUPABASE_SECRET_KEY"]);
        let new = plan.after.get("SUPABASE_SECRET_KEY").unwrap();
        assert_ne!(Some(&new), before.get("SUPABASE_SECRET_KEY").as_ref());
        assert_eq!(opaque::check(opaque::Opaque::Secret, &new), Ok(()));
        for kept in ["SUPABASE_PUBLISHABLE_KEY", JWT_KEYS, "SERVICE_ROLE_KEY_ASYMMETRIC"] {
            assert_eq!(plan.after.get(kept), before.get(kept), "{kept}");
        }
        assert!(!render(&plan).contains(&new));
    }

    #[test]
    fn a_new_jwt_secret_rebuilds_the_oct_key_in_both_sets_and_keeps_the_signing_key() {
        let (before, keys) = asymmetric_env_file();
        let plan = plan(&before, &names(&["JWT_SECRET"]), Env::Dev, false).unwrap();
        assert_eq!(
            plan.names(),
            vec!["JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY", JWT_KEYS, JWT_JWKS]
        );
        let new = Secret::new(plan.after.get("JWT_SECRET").unwrap());
        let after_keys = KeySet::parse(&plan.after.get(JWT_KEYS).unwrap(), Shape::Array).unwrap();
        let after_jwks = KeySet::parse(&plan.after.get(JWT_JWKS).unwrap(), Shape::Jwks).unwrap();
        assert!(after_keys.octs_hold(&new) && after_jwks.octs_hold(&new));
        assert_eq!(after_keys.signing_key(), keys.signing_key());
        assert!(after_jwks.same_public_keys(&after_keys.public_set()));
        // The ES256 API keys need nothing: they still verify under the rebuilt set.
        let anon = plan.after.get("ANON_KEY_ASYMMETRIC").unwrap();
        assert_eq!(Some(&anon), before.get("ANON_KEY_ASYMMETRIC").as_ref());
        assert!(es256::is_valid_for(
            &anon,
            &after_jwks,
            Role::Anon,
            keys.signing_key().unwrap()
        ));
    }

    #[test]
    fn an_asymmetric_api_key_is_re_minted_with_the_same_signing_key() {
        let (before, keys) = asymmetric_env_file();
        let plan = plan(&before, &names(&["SERVICE_ROLE_KEY_ASYMMETRIC"]), Env::Staging, false).unwrap();
        assert_eq!(plan.names(), vec!["SERVICE_ROLE_KEY_ASYMMETRIC"]);
        let new = plan.after.get("SERVICE_ROLE_KEY_ASYMMETRIC").unwrap();
        assert_ne!(Some(&new), before.get("SERVICE_ROLE_KEY_ASYMMETRIC").as_ref());
        assert!(es256::is_valid_for(
            &new,
            &keys.public_set(),
            Role::ServiceRole,
            keys.signing_key().unwrap()
        ));
    }

    #[test]
    fn tier_1_skips_encrypting_keys_unless_overridden() {
        let plan1 = plan(&env_file(), &Selection::Tier1, Env::Dev, false).unwrap();
        assert!(plan1.changes("POSTGRES_PASSWORD") && plan1.changes("ANON_KEY"));
        assert!(!plan1.changes("VAULT_ENC_KEY") && !plan1.changes("SMTP_PASS"));
        assert!(plan1.notes.iter().any(|n| n.starts_with("VAULT_ENC_KEY skipped")));
        let plan2 = plan(&env_file(), &Selection::Tier1, Env::Dev, true).unwrap();
        assert!(plan2.changes("VAULT_ENC_KEY") && plan2.changes("REALTIME_DB_ENC_KEY"));
    }
}
