//! `rotate --rollback`, runs that meet on one project, and values injected
//! in staging: on the real test stack. These tests fail, never skip, without
//! Docker.

use crate::common;

use std::process::Stdio;

use common::stack::{LOGIN_ROLES, Stack};

fn audit_outcomes(stack: &Stack) -> Vec<String> {
    stack
        .audit_lines()
        .iter()
        .map(|v| format!("{} {}", v["action"].as_str().unwrap(), v["outcome"].as_str().unwrap()))
        .collect()
}

#[test]
fn rollback_puts_the_previous_keys_and_passwords_back_on_the_running_stack() {
    let stack = Stack::up();
    let old = stack.env();
    let old_text = stack.env_text();
    stack.rotate(&["JWT_SECRET", "POSTGRES_PASSWORD", "--yes"]).succeeds();
    let rotated = stack.env();
    let rotated_text = stack.env_text();

    // The plan first: it names the backup and changes nothing.
    let out = stack.rotate(&["--rollback", "--dry-run"]).succeeds();
    out.stdout_has("variables restored: POSTGRES_PASSWORD, JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY")
        .stdout_has("dry run: nothing changed");
    assert_eq!(stack.env_text(), rotated_text);
    // Ending sessions again needs a confirmation.
    stack.rotate(&["--rollback"]).fails_with(3);

    let out = stack.rotate(&["--rollback", "--yes"]).succeeds();
    out.stdout_has("rollback done");
    assert_eq!(stack.env_text(), old_text, "the backup comes back byte for byte");
    stack.assert_works_with(&old);
    stack.assert_keys_refused(&rotated);
    for role in LOGIN_ROLES {
        assert!(!stack.db_login(role, &rotated["POSTGRES_PASSWORD"]), "{role}");
    }
    // The rolled-back .env is kept too, and a second rollback finds nothing newer to undo.
    let names: Vec<String> = std::fs::read_dir(stack.project_path("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let kept = names
        .iter()
        .find(|n| n.ends_with(".before-rollback"))
        .expect("a copy of the rotated .env");
    assert_eq!(
        std::fs::read_to_string(stack.project_path(&format!("backups/{kept}"))).unwrap(),
        rotated_text
    );
    assert_eq!(
        audit_outcomes(&stack),
        [
            "rotate started",
            "rotate succeeded",
            "rollback started",
            "rollback succeeded"
        ]
    );

    // A named backup goes back to exactly that one: here, the rotated values.
    stack
        .rotate(&["--rollback", kept, "--yes"])
        .succeeds()
        .never_shows(&[&rotated["JWT_SECRET"], &old["JWT_SECRET"]]);
    assert_eq!(stack.env_text(), rotated_text);
    stack.assert_works_with(&rotated);

    stack
        .rotate(&["--rollback", "../.env"])
        .fails_with(2)
        .stderr_has("is not a file name");
}

#[test]
fn rollback_repairs_a_database_left_on_other_passwords() {
    let stack = Stack::up();
    let env = stack.env();
    // A hand edit of the roles (or an interrupted run): .env no longer matches the database.
    stack
        .compose()
        .exec(
            "db",
            &["psql", "-X", "-q", "-U", "supabase_admin", "-d", "postgres"],
            b"ALTER ROLE authenticator PASSWORD 'SomethingElse0123456789';\n",
        )
        .unwrap();
    assert!(!stack.db_login("authenticator", &env["POSTGRES_PASSWORD"]));
    let backup = {
        stack
            .rotate(&["SMTP_PASS"])
            .env("SMTP_PASS", "a-new-smtp-password")
            .succeeds();
        std::fs::read_dir(stack.project_path("backups"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .into_owned()
    };
    let out = stack.rotate(&["--rollback", &backup]).succeeds();
    out.stdout_has("ALTER ROLE <role> WITH PASSWORD [REDACTED]");
    stack.assert_works_with(&env);
}

#[test]
fn concurrent_rotations_take_turns_on_the_project_lock() {
    let stack = Stack::up();
    let spawn = || {
        let mut run = stack.rotate(&["POSTGRES_PASSWORD"]);
        run.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        run.cmd.spawn().unwrap()
    };
    let first = spawn();
    let second = spawn();
    let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    for out in &outputs {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let waited = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("waiting for another cargo xtask run"))
        .count();
    assert_eq!(waited, 1, "one run waited for the other");
    assert_eq!(
        audit_outcomes(&stack),
        [
            "rotate started",
            "rotate succeeded",
            "rotate started",
            "rotate succeeded"
        ],
        "the runs did not interleave"
    );
    stack.assert_works_with(&stack.env());
}

#[test]
fn staging_takes_values_from_the_environment_and_never_prints_them() {
    let stack = Stack::up();
    let old = stack.env();
    let staging = |args: &[&str]| {
        let mut all = vec!["rotate"];
        all.extend_from_slice(args);
        all.extend(["--env", "staging", "--project-name", &stack.project]);
        stack.sb.xtask(all)
    };

    // Nothing injected: exit 3, nothing changed.
    let out = staging(&["POSTGRES_PASSWORD", "JWT_SECRET", "--yes"]).fails_with(3);
    out.stderr_has("POSTGRES_PASSWORD: no new value")
        .stderr_has("JWT_SECRET: no new value");
    // The vault still holds the running value.
    staging(&["POSTGRES_PASSWORD"])
        .env("POSTGRES_PASSWORD", &old["POSTGRES_PASSWORD"])
        .fails_with(2)
        .stderr_has("update the vault first");
    // A value that breaks its rule is refused, and not shown.
    let out = staging(&["POSTGRES_PASSWORD"])
        .env("POSTGRES_PASSWORD", "short-canary")
        .fails_with(2);
    out.stderr_has("POSTGRES_PASSWORD: the new value")
        .never_shows(&["short-canary"]);

    let canary_pw = "CanaryPostgresPassword7f3e9d2a";
    let canary_jwt = "CanaryJwtSecret7f3e9d2aCanaryJwtSecret7f3e9d";
    let out = staging(&["POSTGRES_PASSWORD", "JWT_SECRET", "--yes"])
        .env("POSTGRES_PASSWORD", canary_pw)
        .env("JWT_SECRET", canary_jwt)
        .succeeds();
    let new = stack.env();
    assert_eq!(new["POSTGRES_PASSWORD"], canary_pw);
    assert_eq!(new["JWT_SECRET"], canary_jwt);
    stack.assert_works_with(&new);
    let hex: String = canary_pw.bytes().map(|b| format!("{b:02x}")).collect();
    out.never_shows(&[canary_pw, canary_jwt, &hex, &new["ANON_KEY"], &new["SERVICE_ROLE_KEY"]]);
    let log = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
    for value in [canary_pw, canary_jwt, hex.as_str(), "7f3e9d"] {
        assert!(!log.contains(value), "a value reached audit.log");
    }
    assert!(log.contains("\"environment\":\"staging\""));
}
