//! The compose layer on the real Docker engine, against the test stack: a
//! real PostgreSQL and the stand-in gateway (Kong and the edge runtime
//! cannot be pulled here). These tests fail, never skip, without Docker.

use crate::common;

use std::collections::BTreeSet;
use std::os::unix::fs::symlink;

use common::Sandbox;
use common::stack::Stack;
use xtask::compose::{Compose, ComposeError, Redactor};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_consumers_derived_from_the_template_match_who_reads_each_secret() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let compose = Compose::new("receptor-dev", &sb.path("receptor-dev"), Redactor::default())
        .expect("Docker Compose v2+ must be installed (utils/test.sh installs it)");
    let consumers = compose.consumers().unwrap();
    let expected: &[(&str, &[&str])] = &[
        ("ANON_KEY", &["functions", "kong", "realtime", "storage", "studio"]),
        ("SERVICE_ROLE_KEY", &["functions", "kong", "storage", "studio"]),
        (
            "JWT_SECRET",
            &[
                "auth",
                "functions",
                "realtime",
                "rest",
                "storage",
                "studio",
                "supavisor",
            ],
        ),
        (
            "POSTGRES_PASSWORD",
            &[
                "analytics",
                "auth",
                "functions",
                "meta",
                "realtime",
                "rest",
                "storage",
                "studio",
                "supavisor",
            ],
        ),
        ("SECRET_KEY_BASE", &["realtime", "supavisor"]),
        ("VAULT_ENC_KEY", &["supavisor"]),
        ("REALTIME_DB_ENC_KEY", &["realtime"]),
        ("PG_META_CRYPTO_KEY", &["meta", "studio"]),
        ("LOGFLARE_PUBLIC_ACCESS_TOKEN", &["analytics", "studio", "vector"]),
        ("LOGFLARE_PRIVATE_ACCESS_TOKEN", &["analytics", "studio"]),
        ("DASHBOARD_PASSWORD", &["kong"]),
        ("CLOUDFLARED_TOKEN", &["cloudflared"]),
        ("SMTP_PASS", &["auth"]),
    ];
    for (var, services) in expected {
        assert_eq!(consumers.of(var), set(services), "{var}");
    }
    // The database reads its password and JWT_SECRET only when db-data is first created.
    assert_eq!(consumers.database.as_deref(), Some("db"));
    for var in ["JWT_SECRET", "POSTGRES_PASSWORD"] {
        assert_eq!(consumers.init_only_reading([var]), ["db"], "{var}");
    }
    for spec in xtask::secrets::CATALOG.iter().filter(|s| !s.when_declared) {
        assert!(
            !consumers.of(spec.name).is_empty(),
            "{} is read by no service",
            spec.name
        );
    }
}

#[test]
fn the_stack_comes_up_healthy_and_the_gateway_checks_keys_like_kong() {
    let stack = Stack::up();
    let env = stack.env();
    for state in stack.compose().ps().unwrap() {
        assert_eq!(
            (state.state.as_str(), state.health.as_str()),
            ("running", "healthy"),
            "{}",
            state.service
        );
    }
    // Kong, driven by the project's kong.yml: every probe of the table, every column.
    stack.assert_works_with(&env);
    let foreign = xtask::secrets::jwt::mint(
        xtask::secrets::Role::ServiceRole,
        &xtask::secrets::Secret::new("another-secret-another-secret-another-secret"),
        xtask::secrets::jwt::now(),
    );
    for probe in xtask::live::PROBES {
        let forged = stack.probe(probe, &env["ANON_KEY"], Some(foreign.expose()));
        assert_eq!(
            forged,
            probe.expected(xtask::live::Column::Forged),
            "{} forged",
            probe.id
        );
        let none = stack.probe(probe, &env["ANON_KEY"], None);
        assert_eq!(
            none,
            probe.expected(xtask::live::Column::NoKey),
            "{} without a key",
            probe.id
        );
    }
    // Routes kong.yml does not open need a key: /auth/v1/health is behind key-auth.
    assert_eq!(stack.get("/auth/v1/health", &[]), 401);
    assert_eq!(
        stack.get("/pg/tables", &[("apikey", &env["ANON_KEY"])]),
        403,
        "/pg/ is admin only"
    );
    let sql = stack
        .compose()
        .exec(
            "db",
            &["psql", "-U", "supabase_admin", "-d", "postgres", "-tA"],
            b"select 1;\n",
        )
        .unwrap();
    assert_eq!(sql.trim(), "1");
}

#[test]
fn restart_does_not_apply_a_changed_env_but_recreating_the_drifted_services_does() {
    let stack = Stack::up();
    let old = stack.env();
    assert!(
        stack.compose().drift().unwrap().is_clean(),
        "a fresh stack has no drift"
    );

    // A new JWT_SECRET in .env; setup re-mints the two keys under it.
    let path = format!("{}/.env", stack.project);
    let new_secret = "NewJwtSecretForTheDriftTest0123456789abcd";
    stack
        .sb
        .write(&path, &stack.sb.read(&path).replace(&old["JWT_SECRET"], new_secret));
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project])
        .succeeds()
        .stdout_has("re-minted");
    let new = stack.env();
    assert_ne!(new["ANON_KEY"], old["ANON_KEY"]);

    let drift = stack.compose().drift().unwrap();
    let drifted = drift.services();
    assert_eq!(drifted, ["auth", "functions", "kong", "rest"]);
    // The database reads JWT_SECRET only at first init: expected, not drift.
    assert_eq!(drift.expected.len(), 1);
    assert_eq!(
        (drift.expected[0].service.as_str(), drift.expected[0].variables.clone()),
        ("db", vec!["JWT_SECRET".to_string()])
    );
    let kong = drift.services.iter().find(|s| s.service == "kong").unwrap();
    assert_eq!(kong.variables, ["ANON_KEY", "SERVICE_ROLE_KEY"]);
    let shown = format!("{drift:?}");
    for value in [new_secret, &new["ANON_KEY"], &old["ANON_KEY"], &old["JWT_SECRET"]] {
        assert!(!shown.contains(value), "the drift report holds a value");
    }

    // `docker compose restart` keeps the old environment: old key still works, new one does not.
    stack.compose().restart(&drifted).unwrap();
    common::stack::wait_for(|| stack.rest(&old["ANON_KEY"]) == 404);
    assert_eq!(stack.rest(&old["ANON_KEY"]), 404, "restart applied the new .env?");
    assert_eq!(stack.rest(&new["ANON_KEY"]), 401);
    assert_eq!(
        stack.compose().drift().unwrap().services(),
        drifted,
        "restart leaves the drift in place"
    );
}

#[test]
fn recreating_the_drifted_services_applies_the_new_values() {
    let stack = Stack::up();
    let old = stack.env();
    let path = format!("{}/.env", stack.project);
    stack.sb.write(
        &path,
        &stack
            .sb
            .read(&path)
            .replace(&old["JWT_SECRET"], "AnotherNewJwtSecretForRecreate0123456789"),
    );
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project])
        .succeeds();
    let new = stack.env();
    let compose = stack.compose();
    let drifted = compose.drift().unwrap().services();
    assert!(!drifted.is_empty());
    let out = stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project, "--up"])
        .succeeds();
    out.stdout_has("healthy");
    out.never_shows(&[&new["ANON_KEY"], &new["JWT_SECRET"], &new["POSTGRES_PASSWORD"]]);
    assert_eq!(stack.rest(&new["ANON_KEY"]), 404);
    assert_eq!(stack.rest(&old["ANON_KEY"]), 401);
    let bearer = format!("Bearer {}", new["SERVICE_ROLE_KEY"]);
    assert_eq!(stack.get("/functions/v1/hello", &[("Authorization", &bearer)]), 200);
    assert!(compose.drift().unwrap().is_clean());
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project])
        .succeeds()
        .stdout_has("the running stack uses the values in .env");
}

#[test]
fn a_service_that_never_gets_healthy_and_an_unknown_service_are_typed_errors() {
    let stack = Stack::up();
    let compose = stack.compose();
    match compose.up(&["nosuch".to_string()], false, 10) {
        Err(ComposeError::NoSuchService { service }) => assert_eq!(service, "nosuch"),
        other => panic!("expected NoSuchService, got {other:?}"),
    }
    // A healthcheck that always fails: the services never turn healthy.
    let file = stack.sb.path(&format!("{}/docker-compose.yml", stack.project));
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text
        .replace(r#""functions", "--health"]"#, r#""functions", "--no-such-flag"]"#)
        .replace("retries: 30", "retries: 2");
    assert_ne!(broken, text);
    std::fs::write(&file, broken).unwrap();
    match compose.up(&[], false, 8) {
        Err(ComposeError::Unhealthy { services }) => assert!(!services.is_empty(), "names the unhealthy services"),
        other => panic!("expected Unhealthy, got {other:?}"),
    }
}

/// `setup --up` maps each broken environment to a one-line error and exit 4.
#[test]
fn setup_up_reports_a_stopped_daemon_missing_compose_v1_and_an_invalid_file() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();

    let out = sb
        .xtask(["setup", "--env", "dev", "--up"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .fails_with(4);
    assert!(
        out.one_line_error().contains("Docker engine is not running"),
        "{}",
        out.stderr
    );

    let empty = sb.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = sb
        .xtask(["setup", "--env", "dev", "--up"])
        .env("PATH", empty.to_str().unwrap())
        .fails_with(4);
    assert!(
        out.one_line_error().contains("Compose v2 or later is not installed"),
        "{}",
        out.stderr
    );

    let v1 = std::path::Path::new("/usr/bin/docker-compose");
    assert!(
        v1.exists(),
        "this test needs Debian's docker-compose 1.x at /usr/bin/docker-compose (apt-get install docker-compose)"
    );
    let only_v1 = sb.path("v1-bin");
    std::fs::create_dir_all(&only_v1).unwrap();
    symlink(v1, only_v1.join("docker-compose")).unwrap();
    for tool in ["python3", "env"] {
        if let Ok(path) = which(tool) {
            symlink(path, only_v1.join(tool)).unwrap();
        }
    }
    let out = sb
        .xtask(["setup", "--env", "dev", "--up"])
        .env("PATH", only_v1.to_str().unwrap())
        .fails_with(4);
    assert!(out.one_line_error().contains("is v1"), "{}", out.stderr);

    sb.write(
        "receptor-dev/docker-compose.yml",
        "services:\n  db:\n    image: [unclosed\n",
    );
    let out = sb.xtask(["setup", "--env", "dev", "--up"]).fails_with(4);
    assert!(
        out.one_line_error().contains("compose file is invalid"),
        "{}",
        out.stderr
    );
}

fn which(tool: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
        .ok_or(())
}
