//! `cargo xtask setup --env staging|prod`: Tier 1 secrets injected through
//! the environment, never generated; driven as a CI job would run it.

use crate::common;

use std::time::{Duration, Instant};

use common::Sandbox;
use common::inject::{canaries, get, pairs, tier1, tier1_without};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use xtask::envfile::EnvFile;

fn claims(token: &str, secret: &str) -> Option<serde_json::Value> {
    let key = DecodingKey::from_secret(secret.as_bytes()).ok()?;
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &Validation::new(Algorithm::HS256)).ok()?;
    Some(data.claims)
}

fn sign(role: &str, secret: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({"role": role, "iss": "supabase", "iat": now, "exp": now + 3600 * 24 * 365});
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

#[test]
fn staging_takes_every_tier1_value_from_the_environment_and_mints_the_keys() {
    let sb = Sandbox::new();
    let values = tier1();
    let out = sb
        .xtask(["setup", "--env", "staging", "--non-interactive"])
        .envs(&pairs(&values))
        .env("CI", "true")
        .succeeds();
    let env = sb.env_values("receptor-stg");
    for (name, value) in &values {
        assert_eq!(&env[*name], value, "{name}");
    }
    for (key, role) in [("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")] {
        let claims = claims(&env[key], get(&values, "JWT_SECRET")).unwrap_or_else(|| panic!("{key} does not verify"));
        assert_eq!(claims["role"], role);
    }
    // The asymmetric model: JWT_KEYS and the sb_ keys as injected, the rest derived from them.
    common::independent::check_key_model(&env);
    assert_eq!(sb.mode("receptor-stg/.env"), 0o600);
    out.stdout_has("SOURCE")
        .stdout_has("environment")
        .stdout_has("minted")
        .stdout_has("changed: POSTGRES_PASSWORD, JWT_SECRET")
        .never_shows(&canaries(&values))
        .never_shows(&[&env["ANON_KEY"], &env["SERVICE_ROLE_KEY"]]);

    // The same injection again: nothing to do.
    sb.xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .succeeds()
        .stdout_has("no changes");
}

#[test]
fn prod_uses_its_own_project_and_nothing_defaults_to_it() {
    let sb = Sandbox::new();
    let values = tier1();
    sb.xtask(["setup", "--env", "prod"]).envs(&pairs(&values)).succeeds();
    assert!(sb.path("receptor-prod/.env").is_file());
    let out = sb.xtask(["setup"]).envs(&pairs(&values)).fails_with(2);
    out.stderr_has("--env");
    assert!(!sb.path("receptor-dev").exists() && !sb.path("receptor-stg").exists());
}

#[test]
fn with_no_terminal_missing_values_fail_at_once_with_exit_3_naming_every_one() {
    let values = tier1_without(&["JWT_SECRET", "VAULT_ENC_KEY"]);
    let runs: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        ("CI is set", vec!["setup", "--env", "staging"], Some("true")),
        (
            "--non-interactive",
            vec!["setup", "--env", "prod", "--non-interactive"],
            None,
        ),
        (
            "standard input is not a terminal",
            vec!["setup", "--env", "staging"],
            None,
        ),
    ];
    for (why, args, ci) in runs {
        let sb = Sandbox::new();
        let mut run = sb.xtask(&args).envs(&pairs(&values));
        if let Some(ci) = ci {
            run = run.env("CI", ci);
        }
        let start = Instant::now();
        let out = run.fails_with(3);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{why}: took {:?}",
            start.elapsed()
        );
        let line = out.one_line_error();
        assert!(line.contains(why), "{line}");
        assert!(line.contains("JWT_SECRET, VAULT_ENC_KEY"), "{line}");
        assert!(!line.ends_with('.'), "{line}");
        out.never_shows(&canaries(&values));
        let entries: Vec<_> = std::fs::read_dir(&sb.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries.len(),
            2,
            "{why}: nothing written but docker/ and setup.conf: {entries:?}"
        );
    }
    // With nothing injected at all, every required name is listed in one message.
    let sb = Sandbox::new();
    let out = sb
        .xtask(["setup", "--env", "staging", "--non-interactive"])
        .fails_with(3);
    for (name, _) in tier1() {
        out.stderr_has(name);
    }
}

#[test]
fn weak_or_published_values_are_refused_by_name_and_rule_and_the_env_left_as_it_was() {
    let sb = Sandbox::new();
    let values = tier1();
    sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    let before = sb.read("receptor-stg/.env");

    let weak = "CanaryWeakJwtSecret"; // 19 characters
    let published = "your-super-secret-and-long-postgres-password";
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .env("JWT_SECRET", weak)
        .env("POSTGRES_PASSWORD", published)
        .fails_with(2);
    out.stderr_has("JWT_SECRET from the environment must be at least 32 characters (has 19)")
        .stderr_has("POSTGRES_PASSWORD from the environment is a published default value")
        .never_shows(&[weak, published])
        .never_shows(&canaries(&values));
    assert_eq!(out.stderr.lines().count(), 2, "one line a problem:\n{}", out.stderr);
    assert_eq!(
        sb.read("receptor-stg/.env"),
        before,
        "a refused run leaves .env byte for byte"
    );
    assert!(!sb.path("receptor-stg/backups").exists());
}

#[test]
fn an_injected_value_that_differs_from_an_existing_env_is_a_rotation_unless_forced() {
    let sb = Sandbox::new();
    let values = tier1();
    sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    let before = sb.read("receptor-stg/.env");
    let old_anon = sb.env_values("receptor-stg")["ANON_KEY"].clone();

    let new_secret = "CanaryRotatedJwtSecret0123456789abcdefgh";
    let new_pg = "CanaryRotatedPostgres0123456789ab";
    let args = ["setup", "--env", "staging", "--non-interactive"];
    let out = sb
        .xtask(args)
        .envs(&pairs(&values))
        .env("JWT_SECRET", new_secret)
        .env("POSTGRES_PASSWORD", new_pg)
        .fails_with(2);
    let line = out.one_line_error();
    assert!(
        line.contains("the injected POSTGRES_PASSWORD, JWT_SECRET differ"),
        "{line}"
    );
    assert!(
        line.contains("cargo xtask rotate POSTGRES_PASSWORD JWT_SECRET"),
        "{line}"
    );
    assert!(line.contains("--force"), "{line}");
    out.never_shows(&[new_secret, new_pg]);
    assert_eq!(sb.read("receptor-stg/.env"), before);

    let out = sb
        .xtask(["setup", "--env", "staging", "--non-interactive", "--force"])
        .envs(&pairs(&values))
        .env("JWT_SECRET", new_secret)
        .env("POSTGRES_PASSWORD", new_pg)
        .succeeds();
    out.stdout_has("replaced")
        .stdout_has("re-minted")
        .stdout_has("changed: POSTGRES_PASSWORD, JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY, JWT_KEYS, JWT_JWKS\n")
        .never_shows(&[new_secret, new_pg]);
    let env = sb.env_values("receptor-stg");
    assert_eq!(env["JWT_SECRET"], new_secret);
    assert_eq!(env["POSTGRES_PASSWORD"], new_pg);
    assert_ne!(env["ANON_KEY"], old_anon);
    assert!(
        claims(&env["ANON_KEY"], new_secret).is_some(),
        "keys follow the new JWT_SECRET"
    );
    assert_eq!(
        std::fs::read_dir(sb.path("receptor-stg/backups")).unwrap().count(),
        1,
        "the old .env is backed up"
    );
    // The vault's JWT_KEYS still holds the old oct key: not a rotation, nothing to do.
    sb.xtask(["setup", "--env", "staging", "--non-interactive"])
        .envs(&pairs(&values))
        .env("JWT_SECRET", new_secret)
        .env("POSTGRES_PASSWORD", new_pg)
        .succeeds()
        .stdout_has("no changes");
}

#[test]
fn injected_keys_must_verify_under_the_injected_secret_with_their_role() {
    let values = tier1();
    let secret = get(&values, "JWT_SECRET");
    let foreign = sign("anon", "CanaryAnotherSecretEntirely0123456789xyz");
    let swapped = sign("service_role", secret);
    for (key, why) in [
        (&foreign, "ANON_KEY from the environment is not signed with JWT_SECRET"),
        (
            &swapped,
            "ANON_KEY from the environment has role service_role where role anon is required",
        ),
    ] {
        let sb = Sandbox::new();
        let out = sb
            .xtask(["setup", "--env", "staging"])
            .envs(&pairs(&values))
            .env("ANON_KEY", key)
            .fails_with(2);
        assert!(out.one_line_error().contains(why), "{}", out.stderr);
        out.never_shows(&[key.as_str(), secret]);
        assert!(!sb.path("receptor-stg").exists(), "refused before anything is written");
    }
    // A sound injected key is written as it is, not minted again.
    let sb = Sandbox::new();
    let good = sign("anon", secret);
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .env("ANON_KEY", &good)
        .succeeds();
    out.never_shows(&[&good]);
    assert_eq!(sb.env_values("receptor-stg")["ANON_KEY"], good);
}

#[test]
fn nothing_is_ever_generated_in_staging_even_for_a_published_default_in_env() {
    let sb = Sandbox::new();
    let values = tier1();
    sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    let published = "your-32-character-encryption-key";
    let text = sb
        .read("receptor-stg/.env")
        .replace(get(&values, "VAULT_ENC_KEY"), published);
    sb.write("receptor-stg/.env", &text);
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&tier1_without(&["VAULT_ENC_KEY"])))
        .fails_with(2);
    let line = out.one_line_error();
    assert!(line.contains(".env:"), "{line}");
    assert!(line.contains("VAULT_ENC_KEY is a published default value"), "{line}");
    assert!(line.contains("cargo xtask rotate VAULT_ENC_KEY"), "{line}");
    assert_eq!(sb.read("receptor-stg/.env"), text);
    // With --force on a stack known to be fresh it is asked for, never generated.
    let out = sb
        .xtask(["setup", "--env", "staging", "--force"])
        .envs(&pairs(&tier1_without(&["VAULT_ENC_KEY"])))
        .fails_with(3);
    assert!(out.one_line_error().contains(": VAULT_ENC_KEY;"), "{}", out.stderr);
    assert_eq!(sb.read("receptor-stg/.env"), text);
}

#[test]
fn tier2_references_and_settings_are_written_with_their_source() {
    let sb = Sandbox::new();
    sb.write(
        "setup.conf",
        "[secrets]\nSMTP_PASS = \"${CI_SMTP_PASS}\"\nOPENAI_API_KEY = \"${OPENAI_API_KEY}\"\n\
         GOTRUE_EXTERNAL_GITHUB_SECRET = \"${GITHUB_SECRET}\"\n\n[settings]\nSITE_URL = \"https://stg.receptor.example\"\n",
    );
    let values = tier1();
    let smtp = "Canary smtp 'pass' with $dollar=equals and ünïcode \"quotes\"";
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .env("CI_SMTP_PASS", smtp)
        .env("GITHUB_SECRET", "CanaryGithubSecret42")
        .succeeds();
    out.never_shows(&[smtp, "CanaryGithubSecret42"]);
    let file = EnvFile::load(&sb.path("receptor-stg/.env")).unwrap();
    assert_eq!(file.get("SMTP_PASS").as_deref(), Some(smtp));
    assert_eq!(
        file.get("GOTRUE_EXTERNAL_GITHUB_SECRET").as_deref(),
        Some("CanaryGithubSecret42")
    );
    assert_eq!(file.get("SITE_URL").as_deref(), Some("https://stg.receptor.example"));
    assert_eq!(file.get("OPENAI_API_KEY").as_deref(), Some(""));
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("SMTP_PASS"), "SMTP_PASS 2 set environment");
    assert_eq!(
        row("SITE_URL"),
        "SITE_URL - replaced setup.conf",
        "the template's value gives way"
    );
    assert_eq!(
        row("OPENAI_API_KEY"),
        "OPENAI_API_KEY 2 left empty - ${OPENAI_API_KEY} is unset"
    );

    // A later run without the variable keeps the value it wrote.
    let out = sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    out.stdout_has("${CI_SMTP_PASS} is unset: the value in .env is kept");
    let file = EnvFile::load(&sb.path("receptor-stg/.env")).unwrap();
    assert_eq!(file.get("SMTP_PASS").as_deref(), Some(smtp));
}

#[test]
fn a_published_tier2_placeholder_is_refused_in_staging_and_pointed_out_in_dev() {
    let sb = Sandbox::new();
    let values = tier1();
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .env("SMTP_PASS", "fake_mail_password")
        .fails_with(2);
    assert!(
        out.one_line_error()
            .contains("SMTP_PASS from the environment is a published default value"),
        "{}",
        out.stderr
    );
    assert!(!sb.path("receptor-stg/.env").exists());
    sb.xtask(["setup", "--env", "dev"])
        .env("SMTP_PASS", "fake_mail_password")
        .succeeds()
        .stdout_has("a published placeholder");
}

#[test]
fn dev_shows_where_each_value_came_from_and_ignores_injected_tier1() {
    let sb = Sandbox::new();
    let out = sb
        .xtask(["setup", "--env", "dev"])
        .env("JWT_SECRET", "CanaryDevShellJwtSecret0123456789abcdefgh")
        .succeeds();
    out.stdout_has("SOURCE");
    let row = out.stdout.lines().find(|l| l.starts_with("JWT_SECRET ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..4], ["JWT_SECRET", "1", "generated", "generated"], "{row}");
    let row = out.stdout.lines().find(|l| l.starts_with("ANON_KEY ")).unwrap();
    assert!(row.contains("minted"), "{row}");
    assert_ne!(
        sb.env_values("receptor-dev")["JWT_SECRET"],
        "CanaryDevShellJwtSecret0123456789abcdefgh",
        "dev generates; a shell export from elsewhere is not taken"
    );
}

#[test]
fn a_template_with_published_placeholders_gets_injected_values_and_loses_its_placeholders() {
    let sb = Sandbox::new();
    let example = sb
        .read("docker/.env.example")
        .replace(
            "\nPOSTGRES_PASSWORD=\n",
            "\nPOSTGRES_PASSWORD=your-super-secret-and-long-postgres-password\n",
        )
        .replace("\nSMTP_PASS=\n", "\nSMTP_PASS=fake_mail_password\n");
    assert!(
        example.contains("SMTP_PASS=fake_mail_password"),
        "the template lists SMTP_PASS"
    );
    sb.write("docker/.env.example", &example);
    let values = tier1();
    let out = sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    out.stdout_has("the template's published placeholder was dropped");
    let env = sb.env_values("receptor-stg");
    assert_eq!(env["SMTP_PASS"], "");
    assert_eq!(env["POSTGRES_PASSWORD"], get(&values, "POSTGRES_PASSWORD"));
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("POSTGRES_PASSWORD "))
        .unwrap();
    assert!(row.contains("replaced default"), "{row}");

    // In a .env the operator already has, a placeholder is refused instead.
    let text = sb
        .read("receptor-stg/.env")
        .replace("SMTP_PASS=", "SMTP_PASS=fake_mail_password");
    sb.write("receptor-stg/.env", &text);
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .fails_with(2);
    assert!(
        out.one_line_error().contains("SMTP_PASS is a published default value"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.read("receptor-stg/.env"), text);
}

fn sign_claims(claims: serde_json::Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

#[test]
fn setup_and_verify_judge_an_injected_key_alike() {
    let values = tier1();
    let secret = get(&values, "JWT_SECRET");
    let now = jsonwebtoken::get_current_timestamp();
    let other_iss = sign_claims(
        serde_json::json!({"role": "anon", "iss": "someone-else", "iat": now, "exp": now + 3600 * 24 * 365}),
        secret,
    );
    let within_the_hour = sign_claims(
        serde_json::json!({"role": "anon", "iss": "supabase", "iat": now, "exp": now + 1800}),
        secret,
    );
    for (key, why) in [
        (
            &other_iss,
            "ANON_KEY from the environment has iss someone-else where iss supabase is required",
        ),
        (
            &within_the_hour,
            "ANON_KEY from the environment expires within the hour",
        ),
    ] {
        let sb = Sandbox::new();
        let out = sb
            .xtask(["setup", "--env", "staging"])
            .envs(&pairs(&values))
            .env("ANON_KEY", key)
            .fails_with(2);
        assert!(out.one_line_error().contains(why), "{}", out.stderr);
        out.never_shows(&[key.as_str(), secret]);
        assert!(!sb.path("receptor-stg").exists(), "refused before anything is written");
    }
    // No exp: it never expires, which is no expiry; accepted with a warning, by both.
    let no_exp = sign_claims(
        serde_json::json!({"role": "anon", "iss": "supabase", "iat": now}),
        secret,
    );
    let soon = sign_claims(
        serde_json::json!({"role": "service_role", "iss": "supabase", "iat": now, "exp": now + 3600 * 24 * 10}),
        secret,
    );
    let sb = Sandbox::git_repo();
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .env("ANON_KEY", &no_exp)
        .env("SERVICE_ROLE_KEY", &soon)
        .succeeds();
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {}", out.stdout))
            .to_string()
    };
    assert!(
        row("ANON_KEY").contains("warning: carries no exp claim: it never expires"),
        "{}",
        out.stdout
    );
    assert!(!row("ANON_KEY").contains("expired"), "{}", out.stdout);
    assert!(
        row("SERVICE_ROLE_KEY").contains("warning: expires in "),
        "{}",
        out.stdout
    );
    out.never_shows(&[&no_exp, &soon, secret]);
    // (The sandbox's staging settings are a dev's: only the key findings matter here.)
    let out = sb.xtask(["verify", "--env", "staging"]).output();
    assert!(out.findings_of("project.api-keys").is_empty(), "{}", out.stdout);
    let found = out.findings_of("project.key-expiry");
    assert_eq!(found.len(), 2, "{}", out.stdout);
    assert!(
        found
            .iter()
            .any(|l| l.starts_with("warn") && l.contains("ANON_KEY carries no exp claim")),
        "{}",
        out.stdout
    );
    assert!(
        found
            .iter()
            .any(|l| l.starts_with("warn") && l.contains("SERVICE_ROLE_KEY expires in ")),
        "{}",
        out.stdout
    );
    out.never_shows(&[&no_exp, &soon, secret]);
}

#[test]
fn staging_refuses_the_supabase_cli_keys_in_its_env() {
    let published = xtask::secrets::defaults::KNOWN_DEFAULT_OPAQUE_KEYS[1];
    let values = tier1();
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).succeeds();
    let text = sb.read("receptor-stg/.env");
    let line = text.lines().find(|l| l.starts_with("SUPABASE_SECRET_KEY=")).unwrap();
    let with_key = text.replace(line, &format!("SUPABASE_SECRET_KEY={published}"));
    sb.write("receptor-stg/.env", &with_key);
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .envs(&pairs(&values))
        .fails_with(2);
    // Refused (as a published default, or as a rotation of the injected key).
    assert!(out.stderr.contains("SUPABASE_SECRET_KEY"), "{}", out.stderr);
    out.never_shows(&[published]);
    assert_eq!(sb.read("receptor-stg/.env"), with_key, "left as it was");
}

#[test]
fn injected_public_keys_and_es256_keys_must_match_the_injected_signing_set() {
    let values = tier1();
    let other = xtask::secrets::asymmetric::fresh_values(&xtask::secrets::Secret::new(get(&values, "JWT_SECRET")));
    let other = |name: &str| other.iter().find(|(n, _)| *n == name).unwrap().1.expose().to_string();
    for (name, why) in [
        ("JWT_JWKS", "JWT_JWKS from the environment lacks the public key kid"),
        (
            "SERVICE_ROLE_KEY_ASYMMETRIC",
            "SERVICE_ROLE_KEY_ASYMMETRIC from the environment names a kid that JWT_JWKS does not have",
        ),
    ] {
        let sb = Sandbox::new();
        let foreign = other(name);
        let out = sb
            .xtask(["setup", "--env", "staging", "--non-interactive"])
            .envs(&pairs(&values))
            .env(name, &foreign)
            .fails_with(2);
        let line = out.one_line_error();
        assert!(line.contains(why), "{line}");
        out.never_shows(&canaries(&values)).never_shows(&[&foreign]);
        assert!(
            !sb.path("receptor-stg").exists(),
            "nothing written, not even the project folder"
        );
    }
}
