//! `cargo xtask rotate` on the real test stack (a real PostgreSQL and the
//! stand-in gateway), one test a rotation path: JWT_SECRET, POSTGRES_PASSWORD,
//! a Tier 2 value, and what is refused before anything changes. These tests
//! fail, never skip, without Docker.

use crate::common;

use std::collections::BTreeMap;

use common::stack::{LOGIN_ROLES, Stack};
use xtask::secrets::{Role, jwt};

fn values(env: &BTreeMap<String, String>) -> Vec<&str> {
    env.values().map(String::as_str).filter(|v| v.len() >= 16).collect()
}

fn sql(stack: &Stack, database: &str, query: &str) -> String {
    stack
        .compose()
        .exec(
            "db",
            &["psql", "-X", "-U", "supabase_admin", "-d", database, "-tA"],
            query.as_bytes(),
        )
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn jwt_secret_re_mints_both_keys_and_the_gateway_accepts_only_the_new_ones() {
    let stack = Stack::up();
    let old = stack.env();
    let old_text = stack.env_text();
    let ids = stack.container_ids();

    let out = stack.rotate(&["JWT_SECRET", "--yes"]).succeeds();
    out.stdout_has("re-minted")
        .stdout_has("services to recreate: auth, functions, kong, rest")
        .stdout_has("not recreated, they read these values only when their volume is first initialised: db")
        .stdout_has("pre-flight: the stack passes the client checks");
    let new = stack.env();
    for name in ["JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY"] {
        assert_ne!(new[name], old[name], "{name}");
    }
    assert_eq!(new["POSTGRES_PASSWORD"], old["POSTGRES_PASSWORD"]);
    assert!(jwt::is_valid_for(&new["ANON_KEY"], &new["JWT_SECRET"], Role::Anon));
    assert!(jwt::is_valid_for(
        &new["SERVICE_ROLE_KEY"],
        &new["JWT_SECRET"],
        Role::ServiceRole
    ));

    stack.assert_works_with(&new);
    stack.assert_keys_refused(&old);
    let after = stack.container_ids();
    for service in ["auth", "functions", "kong", "rest"] {
        assert_ne!(ids[service], after[service], "{service} was recreated");
    }
    assert_eq!(
        ids["db"], after["db"],
        "the database reads JWT_SECRET only at first init: it keeps running"
    );
    let drift = stack.compose().drift().unwrap();
    assert!(drift.is_clean(), "{drift:?}");
    assert_eq!(drift.expected[0].service, "db");
    // Older installs keep the secret in a database setting: it follows.
    let matches = sql(
        &stack,
        "postgres",
        &format!(
            "SELECT current_setting('app.settings.jwt_secret', true) = '{}';",
            new["JWT_SECRET"]
        ),
    );
    assert_eq!(matches, "t");

    // The previous .env is kept byte for byte, privately; the audit log has names only.
    let backups: Vec<_> = std::fs::read_dir(stack.project_path("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), old_text);
    let audit = stack.audit_lines();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["outcome"], "started");
    assert_eq!(audit[1]["outcome"], "succeeded");
    assert_eq!(audit[1]["environment"], "dev");
    assert_eq!(
        audit[1]["names"],
        serde_json::json!(["JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY", "JWT_KEYS", "JWT_JWKS"]),
        "the HS256 oct key inside both key sets follows JWT_SECRET"
    );
    assert_eq!(
        audit[1]["services"],
        serde_json::json!(["auth", "functions", "kong", "rest"])
    );
    assert_eq!(stack.sb.mode(&format!("{}/audit.log", stack.project)), 0o600);

    let mut secrets = values(&old);
    secrets.extend(values(&new));
    out.never_shows(&secrets);
    let log = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
    for secret in secrets {
        assert!(!log.contains(secret), "a value reached audit.log");
    }
}

#[test]
fn postgres_password_changes_inside_the_running_database_and_only_its_consumers_are_recreated() {
    let stack = Stack::up();
    let old = stack.env();
    let ids = stack.container_ids();

    // No confirmation needed: no user session ends.
    let out = stack.rotate(&["POSTGRES_PASSWORD"]).succeeds();
    out.stdout_has("services to recreate: auth, functions, rest");
    let new = stack.env();
    assert_ne!(new["POSTGRES_PASSWORD"], old["POSTGRES_PASSWORD"]);
    assert_eq!(new["JWT_SECRET"], old["JWT_SECRET"]);

    stack.assert_works_with(&new);
    for role in LOGIN_ROLES {
        assert!(
            !stack.db_login(role, &old["POSTGRES_PASSWORD"]),
            "{role} still takes the old password"
        );
    }
    assert!(
        stack.db_login("supabase_read_only_user", &old["POSTGRES_PASSWORD"]),
        "supabase_read_only_user keeps its own password"
    );
    let after = stack.container_ids();
    assert_eq!(
        ids["db"], after["db"],
        "the password changed inside the running database"
    );
    for service in ["auth", "functions", "rest"] {
        assert_ne!(ids[service], after[service], "{service} was recreated");
    }
    assert_eq!(ids["kong"], after["kong"], "kong does not read POSTGRES_PASSWORD");

    // The pooler's schema is recreated and the analytics URL carries the new password.
    assert_eq!(
        sql(
            &stack,
            "_supabase",
            "SELECT count(*) FROM pg_namespace WHERE nspname = '_supavisor';"
        ),
        "1"
    );
    assert_eq!(
        sql(
            &stack,
            "_supabase",
            &format!(
                "SELECT config->>'url' = 'postgresql://supabase_admin:{}@db:5432/postgres' FROM _analytics.source_backends;",
                new["POSTGRES_PASSWORD"]
            )
        ),
        "t"
    );
    assert!(stack.compose().drift().unwrap().is_clean());
    out.never_shows(&[&old["POSTGRES_PASSWORD"], &new["POSTGRES_PASSWORD"]]);
}

#[test]
fn a_tier_2_value_comes_from_its_source_and_recreates_its_consumers() {
    let stack = Stack::up();
    let ids = stack.container_ids();
    let old_text = stack.env_text();

    // Tier 2 is never generated: without a new value, nothing changes (exit 3).
    let out = stack.rotate(&["SMTP_PASS"]).fails_with(3);
    out.stderr_has("SMTP_PASS: no new value");
    assert_eq!(stack.env_text(), old_text);

    let value = "sm7p 'pa$$' \"w0rd\" #1";
    let out = stack.rotate(&["SMTP_PASS"]).env("SMTP_PASS", value).succeeds();
    out.stdout_has("from the environment")
        .stdout_has("services to recreate: auth");
    let env = xtask::envfile::EnvFile::load(&stack.project_path(".env")).unwrap();
    assert_eq!(env.get("SMTP_PASS").as_deref(), Some(value));
    let after = stack.container_ids();
    assert_ne!(ids["auth"], after["auth"]);
    for service in ["db", "functions", "kong", "rest"] {
        assert_eq!(ids[service], after[service], "{service}");
    }
    assert!(
        stack.compose().drift().unwrap().is_clean(),
        "auth runs with the new value"
    );
    stack.assert_works_with(&stack.env());
    out.never_shows(&[value, "pa$$"]);
    let log = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
    assert!(!log.contains("pa$$") && log.contains("\"SMTP_PASS\""));

    // The same value again: the source was not updated.
    stack
        .rotate(&["SMTP_PASS"])
        .env("SMTP_PASS", value)
        .fails_with(2)
        .stderr_has("SMTP_PASS: the source still holds the current value: update the vault first");
}

#[test]
fn refusals_confirmations_and_dry_runs_change_nothing() {
    let stack = Stack::up();
    let text = stack.env_text();
    let ids = stack.container_ids();
    let unchanged = |what: &str| {
        assert_eq!(stack.env_text(), text, "{what} changed .env");
        assert_eq!(stack.container_ids(), ids, "{what} touched a container");
        assert!(!stack.project_path("backups").exists(), "{what} took a backup");
        assert!(!stack.project_path("audit.log").exists(), "{what} wrote the audit log");
    };

    let out = stack.rotate(&["VAULT_ENC_KEY"]).fails_with(2);
    let line = out.one_line_error();
    assert!(line.contains("VAULT_ENC_KEY encrypts stored data"), "{line}");
    assert!(line.contains("becomes unreadable"), "{line}");
    assert!(
        line.contains("--i-understand-encrypted-data-becomes-unreadable"),
        "{line}"
    );
    let out = stack.rotate(&["REALTIME_DB_ENC_KEY", "--tier", "1"]).output();
    assert_eq!(out.code, 2, "a name and --tier conflict");
    stack
        .rotate(&["pgsodium"])
        .fails_with(2)
        .stderr_has("the pgsodium root key is not in .env");
    stack
        .rotate(&["pgsodium", "--i-understand-encrypted-data-becomes-unreadable"])
        .fails_with(2)
        .stderr_has("never changes it");
    unchanged("a refusal");

    // JWT_SECRET ends every session: with no terminal and no --yes, exit 3.
    let out = stack.rotate(&["JWT_SECRET"]).fails_with(3);
    assert!(out.one_line_error().contains("pass --yes"), "{}", out.stderr);
    unchanged("an unconfirmed rotation");

    let out = stack
        .rotate(&["JWT_SECRET", "POSTGRES_PASSWORD", "--dry-run"])
        .succeeds();
    out.stdout_has("POSTGRES_PASSWORD")
        .stdout_has("re-minted")
        .stdout_has("services to recreate: auth, functions, kong, rest")
        .stdout_has("ALTER ROLE <role> WITH PASSWORD [REDACTED]")
        .stdout_has("app.settings.jwt_secret TO [REDACTED]")
        .stdout_has("dry run: nothing changed");
    out.never_shows(&values(&stack.env()));
    let out = stack
        .rotate(&[
            "VAULT_ENC_KEY",
            "--i-understand-encrypted-data-becomes-unreadable",
            "--dry-run",
        ])
        .succeeds();
    out.stdout_has("VAULT_ENC_KEY");
    unchanged("a dry run");

    // A stack that does not run is not rotated: its database cannot change.
    stack.compose().down(false).unwrap();
    let out = stack.rotate(&["POSTGRES_PASSWORD"]).fails_with(2);
    assert!(out.one_line_error().contains("is not running"), "{}", out.stderr);
    assert_eq!(stack.env_text(), text);
    assert!(!stack.project_path("backups").exists());
}
