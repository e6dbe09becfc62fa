//! `verify --live` on the real test stack: a sound stack passes, drift and a
//! database left on another password are caught, a stopped stack is exit 2.

use crate::common;

use common::stack::Stack;

fn live(stack: &Stack) -> common::Outcome {
    stack
        .sb
        .xtask(["verify", "--project-name", &stack.project, "--live", "--format", "json"])
        .output()
}

#[test]
fn a_running_stack_with_its_env_passes_every_live_check() {
    let stack = Stack::up();
    let out = stack
        .sb
        .xtask(["verify", "--project-name", &stack.project, "--live"])
        .succeeds();
    for check in [
        "live.drift",
        "live.gateway",
        "live.foreign-key",
        "live.functions",
        "live.opaque-keys",
        "live.database",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with("pass") && l.contains(check)),
            "{check}:\n{}",
            out.stdout
        );
    }
    let env = stack.env();
    out.never_shows(&[
        &env["ANON_KEY"],
        &env["SERVICE_ROLE_KEY"],
        &env["POSTGRES_PASSWORD"],
        &env["JWT_SECRET"],
        &env["SUPABASE_PUBLISHABLE_KEY"],
        &env["SUPABASE_SECRET_KEY"],
        &env["ANON_KEY_ASYMMETRIC"],
        &env["SERVICE_ROLE_KEY_ASYMMETRIC"],
    ]);
}

#[test]
fn an_sb_secret_key_the_gateway_does_not_hold_is_a_finding_that_never_shows_a_key() {
    use xtask::secrets::opaque::{Opaque, generate};
    let stack = Stack::up();
    let path = format!("{}/.env", stack.project);
    let old = stack.env();
    // A well-formed key with a valid checksum, in .env only: Kong still holds the old one.
    let canary = generate(Opaque::Secret);
    stack.sb.write(
        &path,
        &stack
            .sb
            .read(&path)
            .replace(&old["SUPABASE_SECRET_KEY"], canary.expose()),
    );
    let out = live(&stack);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let opaque = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "live.opaque-keys")
        .expect("the report has live.opaque-keys");
    assert_eq!(opaque["status"], "fail", "{opaque}");
    let text = opaque.to_string();
    assert!(text.contains("SUPABASE_SECRET_KEY"), "{text}");
    out.never_shows(&[
        canary.expose(),
        &old["SUPABASE_SECRET_KEY"],
        &old["SUPABASE_PUBLISHABLE_KEY"],
        &old["SERVICE_ROLE_KEY_ASYMMETRIC"],
    ]);
}

#[test]
fn drift_and_keys_the_gateway_does_not_know_are_findings_naming_services_never_values() {
    let stack = Stack::up();
    let path = format!("{}/.env", stack.project);
    let old = stack.env();
    stack.sb.write(
        &path,
        &stack
            .sb
            .read(&path)
            .replace(&old["JWT_SECRET"], "LiveCheckNewJwtSecret0123456789abcdefghij"),
    );
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project])
        .succeeds();
    let out = live(&stack);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"live.drift"), "{failed:?}");
    assert!(
        failed.contains(&"live.gateway"),
        "the gateway still holds the old keys: {failed:?}"
    );
    assert!(
        out.stdout.contains("\"service\": \"kong\"") || out.stdout.contains("\"service\":\"kong\""),
        "{}",
        out.stdout
    );
    let new = stack.env();
    out.never_shows(&[
        &new["ANON_KEY"],
        &new["JWT_SECRET"],
        &old["ANON_KEY"],
        &old["JWT_SECRET"],
    ]);

    // The fix verify names: setup --up recreates the drifted services.
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project, "--up"])
        .succeeds();
    assert_eq!(live(&stack).code, 0);
}

#[test]
fn a_database_on_another_password_is_a_finding() {
    let stack = Stack::up();
    let sql = b"ALTER ROLE authenticator WITH PASSWORD 'SomethingElseEntirely123';\n";
    stack
        .compose()
        .exec("db", &["psql", "-U", "supabase_admin", "-d", "postgres", "-q"], sql)
        .unwrap();
    let out = stack
        .sb
        .xtask(["verify", "--project-name", &stack.project, "--live"])
        .fails_with(1);
    let line = out.stdout.lines().find(|l| l.contains("live.database")).unwrap();
    assert!(line.starts_with("fail") && line.contains("authenticator"), "{line}");
    out.never_shows(&["SomethingElseEntirely123", &stack.env()["POSTGRES_PASSWORD"]]);
}

#[test]
fn a_stopped_stack_cannot_be_checked_and_says_how_to_start_it() {
    let stack = Stack::up();
    stack.compose().down(false).unwrap();
    let out = stack
        .sb
        .xtask(["verify", "--project-name", &stack.project, "--live"])
        .fails_with(2);
    out.stderr_has("is not running").stderr_has("--up");
}
