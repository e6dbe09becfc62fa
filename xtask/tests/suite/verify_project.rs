//! `cargo xtask verify --env …`: a project's `.env` against the catalog, each
//! problem planted in a freshly set-up project and caught by variable name.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::Sandbox;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use xtask::secrets::defaults::KNOWN_DEFAULT_JWT_SECRETS;

/// A fresh dev project.
fn dev_project() -> Sandbox {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    sb
}

/// Replaces the value of `key` in `project`'s `.env`; returns the old value.
fn set(sb: &Sandbox, project: &str, key: &str, value: &str) -> String {
    let path = format!("{project}/.env");
    let text = sb.read(&path);
    let old = sb.env_values(project)[key].clone();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap()
        .to_string();
    sb.write(&path, &text.replacen(&line, &format!("{key}={value}"), 1));
    fs::set_permissions(sb.path(&path), fs::Permissions::from_mode(0o600)).unwrap();
    old
}

fn token(secret: &str, role: &str, iss: &str, exp: u64) -> String {
    let claims = serde_json::json!({ "role": role, "iss": iss, "iat": 1_700_000_000u64, "exp": exp });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> u64 {
    xtask::secrets::jwt::now()
}

fn secrets_of(sb: &Sandbox, project: &str) -> Vec<String> {
    sb.env_values(project).into_values().filter(|v| v.len() >= 12).collect()
}

fn never_shows_any(out: &common::Outcome, values: &[String]) {
    out.never_shows(&values.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn a_fresh_dev_project_passes_even_strictly() {
    let sb = dev_project();
    let out = sb.xtask(["verify", "--env", "dev", "--strict"]).succeeds();
    out.stdout_has("pass    project.api-keys")
        .stdout_has("verify (project):");
    never_shows_any(&out, &secrets_of(&sb, "receptor-dev"));
}

#[test]
fn a_missing_project_folder_could_not_run() {
    let sb = Sandbox::new();
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(2);
    let line = out.one_line_error();
    assert!(line.contains("receptor-dev does not exist"), "{line}");
    assert!(line.contains("cargo xtask setup --env dev"), "{line}");
}

#[test]
fn a_default_jwt_secret_is_caught_by_name() {
    let sb = dev_project();
    set(&sb, "receptor-dev", "JWT_SECRET", KNOWN_DEFAULT_JWT_SECRETS[0]);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.no-defaults");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(
        found[0].contains("JWT_SECRET is a published default value"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("run cargo xtask setup --env dev"), "{}", found[0]);
    out.never_shows(&[KNOWN_DEFAULT_JWT_SECRETS[0]]);
}

#[test]
fn an_anon_key_signed_with_another_secret_is_caught() {
    let sb = dev_project();
    let foreign = token(
        "another-secret-of-forty-characters-xxxxx",
        "anon",
        "supabase",
        now() + 1_000_000,
    );
    set(&sb, "receptor-dev", "ANON_KEY", &foreign);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.api-keys");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(
        found[0].contains("ANON_KEY is not signed with JWT_SECRET"),
        "{}",
        found[0]
    );
    out.never_shows(&[&foreign]);
    never_shows_any(&out, &secrets_of(&sb, "receptor-dev"));
}

#[test]
fn swapped_keys_are_named_as_swapped() {
    let sb = dev_project();
    let env = sb.env_values("receptor-dev");
    set(&sb, "receptor-dev", "ANON_KEY", &env["SERVICE_ROLE_KEY"]);
    set(&sb, "receptor-dev", "SERVICE_ROLE_KEY", &env["ANON_KEY"]);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.api-keys");
    assert_eq!(found.len(), 2, "{}", out.stdout);
    assert!(
        found[0].contains("ANON_KEY has role service_role: ANON_KEY and SERVICE_ROLE_KEY are swapped"),
        "{}",
        found[0]
    );
    never_shows_any(&out, &secrets_of(&sb, "receptor-dev"));
}

#[test]
fn a_vault_key_of_31_characters_is_caught_with_the_rotate_command() {
    let sb = dev_project();
    let weak = "abcdefabcdefabcdefabcdefabcdefa";
    set(&sb, "receptor-dev", "VAULT_ENC_KEY", weak);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.rules");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(
        found[0].contains("VAULT_ENC_KEY must be exactly 32 characters (has 31)"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("receptor-dev/.env:"), "{}", found[0]);
    assert!(found[0].ends_with("cargo xtask rotate VAULT_ENC_KEY"), "{}", found[0]);
    out.never_shows(&[weak]);
}

#[test]
fn a_world_readable_env_is_caught_with_the_chmod_command() {
    let sb = dev_project();
    fs::set_permissions(sb.path("receptor-dev/.env"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.file-mode");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("mode 0644"), "{}", found[0]);
    assert!(found[0].ends_with("chmod 600 receptor-dev/.env"), "{}", found[0]);
}

#[test]
fn an_env_owned_by_another_user_is_caught() {
    let sb = dev_project();
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test gives a file to another user, which needs root (CI and the development machines run as root)"
    );
    std::os::unix::fs::chown(sb.path("receptor-dev/.env"), Some(12345), None).unwrap();
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.owner");
    assert!(found.len() == 1 && found[0].contains("uid 12345"), "{}", out.stdout);
    assert!(found[0].ends_with("chown 0 receptor-dev/.env"), "{}", found[0]);
}

#[test]
fn a_missing_secret_names_the_setup_command() {
    let sb = dev_project();
    set(&sb, "receptor-dev", "POSTGRES_PASSWORD", "");
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.required");
    assert!(
        found.len() == 1 && found[0].contains("POSTGRES_PASSWORD is not set"),
        "{}",
        out.stdout
    );
    assert!(found[0].ends_with("run cargo xtask setup --env dev"), "{}", found[0]);
}

#[test]
fn a_key_near_its_expiry_warns_and_an_expired_one_fails() {
    let sb = dev_project();
    let secret = sb.env_values("receptor-dev")["JWT_SECRET"].clone();
    let soon = token(&secret, "anon", "supabase", now() + 10 * 24 * 3600 + 600);
    set(&sb, "receptor-dev", "ANON_KEY", &soon);
    let out = sb.xtask(["verify", "--env", "dev"]).succeeds();
    let found = out.findings_of("project.key-expiry");
    assert!(found.len() == 1 && found[0].starts_with("warn"), "{}", out.stdout);
    assert!(found[0].contains("ANON_KEY expires in 10 days"), "{}", found[0]);
    sb.xtask(["verify", "--env", "dev", "--strict"]).fails_with(1);

    let expired = token(&secret, "anon", "supabase", now() - 60);
    set(&sb, "receptor-dev", "ANON_KEY", &expired);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    assert!(out.findings_of("project.key-expiry")[0].contains("ANON_KEY has expired"));
    let wrong_issuer = token(&secret, "anon", "someone-else", now() + 100 * 24 * 3600);
    set(&sb, "receptor-dev", "ANON_KEY", &wrong_issuer);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    assert!(
        out.findings_of("project.api-keys")[0].contains("ANON_KEY has iss someone-else where iss supabase is required"),
        "{}",
        out.stdout
    );
    out.never_shows(&[&secret, &wrong_issuer]);
}

#[test]
fn staging_needs_resolved_tier2_secrets_and_no_localhost() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "receptor-stg"])
        .succeeds();
    let out = sb.xtask(["verify", "--env", "staging"]).fails_with(1);
    let tier2 = out.findings_of("project.tier2-resolved");
    assert!(
        tier2
            .iter()
            .any(|l| l.contains("SMTP_PASS is referenced in setup.conf") && l.contains("export SMTP_PASS")),
        "{}",
        out.stdout
    );
    let dev = out.findings_of("project.no-dev-values");
    assert!(
        dev.iter().any(|l| l.contains("SITE_URL points to this machine")),
        "{}",
        out.stdout
    );
    assert!(dev.iter().any(|l| l.contains("API_EXTERNAL_URL")), "{}", out.stdout);
    // The same folder checked as dev has none of these findings.
    sb.xtask(["verify", "--env", "dev", "--project-name", "receptor-stg"])
        .succeeds();
}

#[test]
fn dev_setup_mints_again_what_verify_refuses_and_keeps_what_it_only_warns_about() {
    let sb = dev_project();
    let secret = sb.env_values("receptor-dev")["JWT_SECRET"].clone();
    let other_iss = token(&secret, "anon", "someone-else", now() + 100 * 24 * 3600);
    let within_the_hour = token(&secret, "service_role", "supabase", now() + 1200);
    set(&sb, "receptor-dev", "ANON_KEY", &other_iss);
    set(&sb, "receptor-dev", "SERVICE_ROLE_KEY", &within_the_hour);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    assert!(
        out.findings_of("project.api-keys")[0].contains("ANON_KEY has iss someone-else"),
        "{}",
        out.stdout
    );
    let expiry = out.findings_of("project.key-expiry");
    assert!(
        expiry[0].starts_with("fail") && expiry[0].contains("SERVICE_ROLE_KEY expires within the hour"),
        "{}",
        out.stdout
    );
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    for (name, why) in [
        ("ANON_KEY ", "has iss someone-else"),
        ("SERVICE_ROLE_KEY ", "expires within the hour"),
    ] {
        let row = out.stdout.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(row.contains("re-minted") && row.contains(why), "{}", out.stdout);
    }
    out.never_shows(&[&secret, &other_iss, &within_the_hour]);
    sb.xtask(["verify", "--env", "dev", "--strict"]).succeeds();
}

#[test]
fn the_supabase_cli_keys_are_published_defaults_for_setup_and_verify() {
    use xtask::secrets::defaults::{KNOWN_DEFAULT_JWT_SECRETS, KNOWN_DEFAULT_OPAQUE_KEYS};
    let sb = dev_project();
    set(
        &sb,
        "receptor-dev",
        "SUPABASE_PUBLISHABLE_KEY",
        KNOWN_DEFAULT_OPAQUE_KEYS[0],
    );
    set(&sb, "receptor-dev", "SUPABASE_SECRET_KEY", KNOWN_DEFAULT_OPAQUE_KEYS[1]);
    let cli_secret = KNOWN_DEFAULT_JWT_SECRETS[1];
    set(&sb, "receptor-dev", "JWT_SECRET", cli_secret);
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.no-defaults");
    for needle in ["SUPABASE_PUBLISHABLE_KEY", "SUPABASE_SECRET_KEY", "JWT_SECRET"] {
        assert!(found.iter().any(|l| l.contains(needle)), "{needle}: {}", out.stdout);
    }
    out.never_shows(&[KNOWN_DEFAULT_OPAQUE_KEYS[0], KNOWN_DEFAULT_OPAQUE_KEYS[1], cli_secret]);

    // Setup replaces every one of them.
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    out.never_shows(&[KNOWN_DEFAULT_OPAQUE_KEYS[0], KNOWN_DEFAULT_OPAQUE_KEYS[1], cli_secret]);
    let env = sb.env_values("receptor-dev");
    assert_ne!(env["JWT_SECRET"], cli_secret);
    assert_ne!(env["SUPABASE_PUBLISHABLE_KEY"], KNOWN_DEFAULT_OPAQUE_KEYS[0]);
    assert_ne!(env["SUPABASE_SECRET_KEY"], KNOWN_DEFAULT_OPAQUE_KEYS[1]);
}

/// Each flaw of the asymmetric key model, planted in a fresh dev project:
/// (what is planted, the check that must fail, the variable it names).
type Plant = fn(&BTreeMap<String, String>) -> Vec<(&'static str, String)>;

fn json_edit(text: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
    edit(&mut value);
    format!("'{}'", serde_json::to_string(&value).unwrap())
}

#[test]
fn every_flaw_of_the_key_model_is_caught_by_name_without_a_value() {
    let other_secret = xtask::secrets::Secret::new("Q".repeat(40));
    let foreign = xtask::secrets::asymmetric::fresh_values(&other_secret);
    let foreign = |name: &str| foreign.iter().find(|(n, _)| *n == name).unwrap().1.expose().to_string();
    let cases: Vec<(&str, Plant, &str, &str)> = vec![
        (
            "a wrong sb_ checksum",
            |v| {
                let key = &v["SUPABASE_SECRET_KEY"];
                let last = if key.ends_with('A') { 'B' } else { 'A' };
                vec![("SUPABASE_SECRET_KEY", format!("{}{last}", &key[..key.len() - 1]))]
            },
            "project.opaque-keys",
            "SUPABASE_SECRET_KEY",
        ),
        (
            "two signing keys",
            |v| {
                vec![(
                    "JWT_KEYS",
                    json_edit(&v["JWT_KEYS"], |set| {
                        let mut second = set[0].clone();
                        second["kid"] = "second-key".into();
                        set.as_array_mut().unwrap().push(second);
                    }),
                )]
            },
            "project.signing-keys",
            "JWT_KEYS",
        ),
        (
            "no signing key",
            |v| {
                vec![(
                    "JWT_KEYS",
                    json_edit(&v["JWT_KEYS"], |set| set[0]["key_ops"] = serde_json::json!(["verify"])),
                )]
            },
            "project.signing-keys",
            "JWT_KEYS",
        ),
        (
            "a duplicate kid",
            |v| {
                vec![(
                    "JWT_KEYS",
                    json_edit(&v["JWT_KEYS"], |set| set[1]["kid"] = set[0]["kid"].clone()),
                )]
            },
            "project.signing-keys",
            "JWT_KEYS",
        ),
        (
            "a key without alg",
            |v| {
                vec![(
                    "JWT_KEYS",
                    json_edit(&v["JWT_KEYS"], |set| {
                        set[1].as_object_mut().unwrap().remove("alg");
                    }),
                )]
            },
            "project.signing-keys",
            "JWT_KEYS",
        ),
        (
            "an oct key that is not JWT_SECRET in JWT_KEYS",
            |v| {
                vec![(
                    "JWT_KEYS",
                    json_edit(&v["JWT_KEYS"], |set| set[1]["k"] = "b3RoZXItc2VjcmV0".into()),
                )]
            },
            "project.signing-keys",
            "JWT_KEYS",
        ),
        (
            "an oct key that is not JWT_SECRET in JWT_JWKS",
            |v| {
                vec![(
                    "JWT_JWKS",
                    json_edit(&v["JWT_JWKS"], |set| set["keys"][1]["k"] = "b3RoZXItc2VjcmV0".into()),
                )]
            },
            "project.public-keys",
            "JWT_JWKS",
        ),
        (
            "a public key that differs from JWT_KEYS",
            |v| {
                vec![(
                    "JWT_JWKS",
                    json_edit(&v["JWT_JWKS"], |set| {
                        let y = set["keys"][0]["y"].as_str().unwrap().to_string();
                        set["keys"][0]["x"] = y.into();
                    }),
                )]
            },
            "project.public-keys",
            "JWT_JWKS",
        ),
        (
            "a private key in JWT_JWKS",
            |v| {
                let d = serde_json::from_str::<serde_json::Value>(&v["JWT_KEYS"]).unwrap()[0]["d"].clone();
                vec![("JWT_JWKS", json_edit(&v["JWT_JWKS"], |set| set["keys"][0]["d"] = d))]
            },
            "project.public-keys",
            "JWT_JWKS",
        ),
        (
            "swapped asymmetric API keys",
            |v| {
                vec![
                    ("ANON_KEY_ASYMMETRIC", v["SERVICE_ROLE_KEY_ASYMMETRIC"].clone()),
                    ("SERVICE_ROLE_KEY_ASYMMETRIC", v["ANON_KEY_ASYMMETRIC"].clone()),
                ]
            },
            "project.asymmetric-api-keys",
            "ANON_KEY_ASYMMETRIC",
        ),
        (
            "the Supabase CLI's published secret key",
            |_| {
                vec![(
                    "SUPABASE_SECRET_KEY",
                    xtask::secrets::defaults::KNOWN_DEFAULT_OPAQUE_KEYS[1].to_string(),
                )]
            },
            "project.no-defaults",
            "SUPABASE_SECRET_KEY",
        ),
    ];
    let mut ran = 0;
    for (what, plant, check, variable) in cases {
        let sb = dev_project();
        let values = sb.env_values("receptor-dev");
        let planted = plant(&values);
        for (name, value) in &planted {
            set(&sb, "receptor-dev", name, value);
        }
        let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
        let found = out.findings_of(check);
        assert!(
            found.iter().any(|l| l.contains(variable)),
            "{what}: {check} names {variable}:\n{}",
            out.stdout
        );
        let mut secrets = secrets_of(&sb, "receptor-dev");
        secrets.extend(planted.iter().map(|(_, v)| v.trim_matches('\'').to_string()));
        never_shows_any(&out, &secrets);
        ran += 1;
    }
    assert_eq!(ran, 11);
    // An API key signed by a key this project does not have.
    let sb = dev_project();
    set(
        &sb,
        "receptor-dev",
        "SERVICE_ROLE_KEY_ASYMMETRIC",
        &foreign("SERVICE_ROLE_KEY_ASYMMETRIC"),
    );
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let found = out.findings_of("project.asymmetric-api-keys");
    assert!(
        found
            .iter()
            .any(|l| l.contains("names a kid that JWT_JWKS does not have")),
        "{}",
        out.stdout
    );
}
