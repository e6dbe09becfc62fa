//! A stack whose database is not a Compose service: PostgreSQL runs outside
//! Compose (here a container the test starts with `docker run`), and `.env`'s
//! POSTGRES_HOST:POSTGRES_PORT point at it. JWT_SECRET rotates without a
//! database step, POSTGRES_PASSWORD rotates through this machine's psql, and
//! `verify --live` passes. These tests fail, never skip, without Docker.

use crate::common;

use common::stack::{LOGIN_ROLES, Stack};

#[test]
fn jwt_secret_rotates_without_a_database_step_and_verify_passes() {
    let stack = Stack::up_with_external_db();
    let old = stack.env();
    let out = stack.rotate(&["JWT_SECRET", "--yes"]).succeeds();
    out.stdout_has("database: not a Compose service, so app.settings.jwt_secret is not changed")
        .stdout_has("services to recreate: auth, functions, kong, rest")
        .stdout_has("rotate done");
    assert!(!out.stdout.contains("ALTER DATABASE"), "{}", out.stdout);
    let new = stack.env();
    assert_ne!(new["JWT_SECRET"], old["JWT_SECRET"]);
    stack.assert_works_with(&new);
    stack.assert_keys_refused(&old);
    out.never_shows(&[&new["JWT_SECRET"], &old["JWT_SECRET"], &new["ANON_KEY"]]);

    let out = stack
        .sb
        .xtask(["verify", "--project-name", &stack.project, "--live"])
        .succeeds();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("pass") && l.contains("live.database")),
        "{}",
        out.stdout
    );
}

#[test]
fn postgres_password_rotates_through_the_host_psql() {
    let stack = Stack::up_with_external_db();
    let old = stack.env();
    let out = stack.rotate(&["POSTGRES_PASSWORD"]).succeeds();
    out.stdout_has("psql --host=127.0.0.1")
        .stdout_has("services to recreate: auth, functions, rest")
        .stdout_has("service role passwords changed");
    let new = stack.env();
    assert_ne!(new["POSTGRES_PASSWORD"], old["POSTGRES_PASSWORD"]);
    for role in LOGIN_ROLES {
        assert!(
            stack.db_login(role, &new["POSTGRES_PASSWORD"]),
            "{role} takes the new password"
        );
        assert!(
            !stack.db_login(role, &old["POSTGRES_PASSWORD"]),
            "{role} still takes the old one"
        );
    }
    stack.assert_works_with(&new);
    out.never_shows(&[&new["POSTGRES_PASSWORD"], &old["POSTGRES_PASSWORD"]]);

    // And back: the rollback reaches the same server the same way.
    stack.rotate(&["--rollback"]).succeeds().stdout_has("rollback done");
    for role in LOGIN_ROLES {
        assert!(
            stack.db_login(role, &old["POSTGRES_PASSWORD"]),
            "{role} is back on the old password"
        );
    }
}
