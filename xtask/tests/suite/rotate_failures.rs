//! A rotation that fails at any step ends on the previous keys: `.env`
//! restored byte for byte, the database passwords put back, the services
//! recreated on them, and the stack working for its clients (exit 1).
//!
//! Each failure is real, caused through the `RECEPTOR_TEST_FAIL_AT` fail
//! points (this module needs the `test-hooks` feature):
//! the database refuses the last transaction after the first committed,
//! Compose talks to an engine that does not exist, the recreated services
//! never get healthy, or the step after the client checks fails. These tests
//! fail, never skip, without Docker.

use crate::common;

use common::stack::Stack;

/// Rotates JWT_SECRET and POSTGRES_PASSWORD with `step` failing, then checks
/// that the stack is back on the previous values and works.
fn fails_at(step: &str, expected: &str) {
    let stack = Stack::up();
    let old = stack.env();
    let old_text = stack.env_text();

    let out = stack
        .rotate(&["JWT_SECRET", "POSTGRES_PASSWORD", "--yes"])
        .env("RECEPTOR_TEST_FAIL_AT", step)
        .fails_with(1);
    let line = out.one_line_error();
    assert!(
        line.contains(&format!("rotate failed at step {step} and was rolled back")),
        "{line}"
    );
    assert!(line.contains(expected), "{line}");
    out.stdout_has("rolling back to the previous .env");

    assert_eq!(stack.env_text(), old_text, ".env is restored byte for byte");
    stack.assert_works_with(&old);
    assert!(
        stack.compose().drift().unwrap().is_clean(),
        "every container runs the restored .env"
    );
    assert!(
        !stack.project_path(".receptor-test-hook-never-healthy.yml").exists(),
        "the hook leaves no file behind"
    );

    let audit = stack.audit_lines();
    let last = audit.last().unwrap();
    assert_eq!(last["outcome"], "rolled back");
    assert_eq!(last["step"], step);

    let secrets: Vec<&str> = old.values().map(String::as_str).filter(|v| v.len() >= 16).collect();
    out.never_shows(&secrets);

    // Consistent means usable: the next rotation goes through.
    stack.rotate(&["POSTGRES_PASSWORD"]).succeeds();
    stack.assert_works_with(&stack.env());
}

#[test]
fn the_database_refusing_the_change_rolls_back_the_part_that_committed() {
    fails_at("database", "receptor_test_hook_the_database_refuses");
}

#[test]
fn compose_failing_to_recreate_rolls_back() {
    fails_at("recreate", "Docker engine is not running");
}

#[test]
fn services_that_never_get_healthy_are_recreated_on_the_previous_values() {
    fails_at("health", "did not become healthy");
}

#[test]
fn a_failing_check_after_the_recreate_rolls_everything_back() {
    fails_at("check", "the check fail point failed this step (a test hook)");
}

#[test]
fn a_stack_that_already_fails_a_client_check_is_not_rotated() {
    let stack = Stack::up();
    let text = stack.env_text();
    // PostgREST down before anything changes: its probes answer 503 (its name no longer resolves), not 404.
    std::process::Command::new("docker")
        .args(["compose", "-p", &stack.project, "stop", "rest"])
        .current_dir(stack.project_path(""))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .output()
        .unwrap();
    let out = stack.rotate(&["JWT_SECRET", "--yes"]).fails_with(2);
    let line = out.one_line_error();
    assert!(
        line.starts_with("error: pre-flight: the stack fails a client check before any change"),
        "{line}"
    );
    assert!(
        line.contains("rest (GET /rest/v1/receptor_live_check) with ANON_KEY answered 503 (404 expected)"),
        "{line}"
    );
    assert!(line.contains("nothing changed"), "{line}");
    assert_eq!(stack.env_text(), text);
    assert!(
        !stack.project_path("backups").exists(),
        "no backup: nothing was started"
    );
    out.never_shows(
        &stack
            .env()
            .values()
            .map(String::as_str)
            .filter(|v| v.len() >= 16)
            .collect::<Vec<_>>(),
    );
}
