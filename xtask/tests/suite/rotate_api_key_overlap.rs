//! `cargo xtask rotate NAME --overlap DURATION` and `--stage revoke`: new API
//! keys published next to the old ones, on a project folder (flags, status,
//! dry-run) and on the real test stack, where the gateway (the project's own
//! kong.yml rendered by its kong-entrypoint.sh) takes both keys until revoke.
//! Time is moved with the `RECEPTOR_TEST_CLOCK_SKEW` test hook, never waited for.

use crate::common;

use std::collections::BTreeMap;

use common::Sandbox;
use common::faults;
use common::stack::{Stack, http_exchange};

const SKEW: &str = "RECEPTOR_TEST_CLOCK_SKEW";
const STATE: &str = "api-key-overlap.json";

/// The status at rest through the gateway with `apikey`, and the role rest saw.
fn role_at_rest(stack: &Stack, apikey: &str) -> (u16, Option<String>) {
    let (status, text) = http_exchange(stack.port, "GET", "/rest/v1/", &[("apikey", apikey)], "");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, body["x-role"].as_str().map(str::to_owned))
}

fn secrets(envs: &[&BTreeMap<String, String>]) -> Vec<String> {
    envs.iter()
        .flat_map(|env| env.iter())
        .filter(|(k, v)| v.len() >= 16 && !k.ends_with("_IMAGE"))
        .map(|(_, v)| v.clone())
        .collect()
}

fn no_secret(out: &common::Outcome, envs: &[&BTreeMap<String, String>]) {
    let all = secrets(envs);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    out.never_shows(&refs);
}

fn dev_project() -> (Sandbox, String) {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    (sb, "p".to_string())
}

fn rotate(sb: &Sandbox, p: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["rotate"];
    all.extend_from_slice(args);
    all.extend(["--env", "dev", "--project-name", p]);
    sb.xtask(all)
}

// ---- On a project folder ----------------------------------------------------

#[test]
fn overlap_flags_are_checked_and_dry_run_and_status_change_nothing() {
    let (sb, p) = dev_project();
    let env = sb.env_values(&p);
    let before = faults::files(&sb.path(&p));

    let out = rotate(&sb, &p, &["JWT_SECRET", "--overlap", "1h"]).fails_with(2);
    out.stderr_has("JWT_SECRET cannot overlap");
    let out = rotate(&sb, &p, &["SUPABASE_SECRET_KEY", "--stage", "switch"]).fails_with(2);
    out.stderr_has("one stage: --stage revoke");
    let out = rotate(&sb, &p, &["SUPABASE_SECRET_KEY", "--overlap", "an hour"]).fails_with(2);
    out.stderr_has("is not a duration");
    let out = rotate(&sb, &p, &["SUPABASE_SECRET_KEY", "--stage", "revoke"]).fails_with(2);
    out.stderr_has("SUPABASE_SECRET_KEY has no overlap to revoke");

    let out = rotate(&sb, &p, &["SUPABASE_SECRET_KEY", "--status"]).succeeds();
    out.stdout_has("SUPABASE_SECRET_KEY: no overlap");

    let out = rotate(
        &sb,
        &p,
        &["SUPABASE_SECRET_KEY", "ANON_KEY", "--overlap", "2h", "--dry-run"],
    )
    .succeeds();
    out.stdout_has("SUPABASE_SECRET_KEY: generated: a new sb_secret_ key with its checksum")
        .stdout_has("SUPABASE_SECRET_KEY_PREVIOUS: the current SUPABASE_SECRET_KEY, accepted by the gateway until ")
        .stdout_has("(in 2 h)")
        .stdout_has("ANON_KEY: re-minted: HS256 JWT, role anon, signed with the same JWT_SECRET (no session ends)")
        .stdout_has("dry run: nothing changed");
    no_secret(&out, &[&env]);
    sb.xtask(["rotate", "--help"])
        .succeeds()
        .stdout_has("--overlap <DURATION>");
    assert_eq!(faults::files(&sb.path(&p)), before, "no file of the project changed");
    assert!(!sb.path(&format!("{p}/{STATE}")).exists());
}

#[test]
fn an_overlap_the_compose_file_cannot_carry_is_refused() {
    let (sb, p) = dev_project();
    // A compose file from before the overlap: Kong is not given the previous keys.
    let compose = sb.read(&format!("{p}/docker-compose.yml"));
    let old: String = compose
        .lines()
        .filter(|l| !l.contains("_PREVIOUS"))
        .map(|l| format!("{l}\n"))
        .collect();
    sb.write(&format!("{p}/docker-compose.yml"), &old);
    let before = faults::files(&sb.path(&p));
    let out = rotate(&sb, &p, &["SUPABASE_SECRET_KEY", "--overlap", "1h", "--dry-run"]).fails_with(2);
    out.stderr_has("reads SUPABASE_SECRET_KEY_PREVIOUS, so the gateway would refuse the old key at once");
    assert_eq!(faults::files(&sb.path(&p)), before, "nothing changed");
}

#[test]
fn legacy_keys_are_not_re_minted_under_a_weak_jwt_secret() {
    let (sb, p) = dev_project();
    let env_path = format!("{p}/.env");
    let weak = "WeakCanary0";
    let text: String = sb
        .read(&env_path)
        .lines()
        .map(|l| {
            if l.starts_with("JWT_SECRET=") {
                format!("JWT_SECRET={weak}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    sb.write(&env_path, &text);
    let before = faults::files(&sb.path(&p));
    for dry in [true, false] {
        let mut args = vec!["ANON_KEY", "--overlap", "1h"];
        if dry {
            args.push("--dry-run");
        }
        let out = rotate(&sb, &p, &args).fails_with(2);
        out.stderr_has("JWT_SECRET: ").stderr_has("rotate JWT_SECRET first");
        assert!(
            !out.stdout.contains(weak) && !out.stderr.contains(weak),
            "the weak value is never shown"
        );
    }
    assert_eq!(faults::files(&sb.path(&p)), before, "nothing changed");
}

// ---- On the real stack ------------------------------------------------------

#[test]
fn during_an_overlap_old_and_new_keys_work_and_after_revoke_only_the_new() {
    let stack = Stack::up();
    let env0 = stack.env();
    let (s0, p0, a0) = (
        env0["SUPABASE_SECRET_KEY"].clone(),
        env0["SUPABASE_PUBLISHABLE_KEY"].clone(),
        env0["ANON_KEY"].clone(),
    );
    assert_eq!(role_at_rest(&stack, &s0), (200, Some("service_role".into())));

    // The overlap starts: new keys, the old ones kept as *_PREVIOUS.
    let out = stack
        .rotate(&[
            "SUPABASE_SECRET_KEY",
            "SUPABASE_PUBLISHABLE_KEY",
            "ANON_KEY",
            "--overlap",
            "1h",
        ])
        .succeeds();
    out.stdout_has("overlap started: SUPABASE_SECRET_KEY is new")
        .stdout_has("cargo xtask rotate SUPABASE_SECRET_KEY --stage revoke");
    let env1 = stack.env();
    no_secret(&out, &[&env0, &env1]);
    let (s1, p1, a1) = (
        env1["SUPABASE_SECRET_KEY"].clone(),
        env1["SUPABASE_PUBLISHABLE_KEY"].clone(),
        env1["ANON_KEY"].clone(),
    );
    assert!(s1 != s0 && p1 != p0 && a1 != a0, "new keys");
    assert!(s1.starts_with("sb_secret_") && p1.starts_with("sb_publishable_"));
    assert_eq!(env1["SUPABASE_SECRET_KEY_PREVIOUS"], s0);
    assert_eq!(env1["SUPABASE_PUBLISHABLE_KEY_PREVIOUS"], p0);
    assert_eq!(env1["ANON_KEY_PREVIOUS"], a0);
    assert_eq!(env1["JWT_SECRET"], env0["JWT_SECRET"], "no session ends");
    for (key, role) in [
        (&s0, "service_role"),
        (&s1, "service_role"),
        (&p0, "anon"),
        (&p1, "anon"),
        (&a0, "anon"),
        (&a1, "anon"),
    ] {
        assert_eq!(
            role_at_rest(&stack, key),
            (200, Some(role.into())),
            "during the overlap, as {role}"
        );
    }
    let mode = std::fs::metadata(stack.project_path(STATE)).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    // Status and verify say until when.
    let out = stack.rotate(&["SUPABASE_SECRET_KEY", "--status"]).succeeds();
    out.stdout_has("SUPABASE_SECRET_KEY: in an overlap since ")
        .stdout_has("(in 1 h)");
    no_secret(&out, &[&env1]);
    let out = stack
        .sb
        .xtask(["verify", "--env", "dev", "--project-name", &stack.project]);
    let out = out.output();
    out.stdout_has("project.overlap")
        .stdout_has("SUPABASE_SECRET_KEY: in an overlap since ");
    assert!(out.findings_of("project.overlap").is_empty(), "{}", out.stdout);
    no_secret(&out, &[&env1]);

    // Revoke before its time is refused, and changes nothing.
    let text = stack.env_text();
    let out = stack
        .rotate(&["SUPABASE_SECRET_KEY", "--stage", "revoke"])
        .fails_with(2);
    out.stderr_has("revoke of SUPABASE_SECRET_KEY is not due before ")
        .stderr_has("--now revokes anyway");
    assert_eq!(stack.env_text(), text);
    assert_eq!(role_at_rest(&stack, &s0), (200, Some("service_role".into())));

    // A dry run of the revoke, once due, changes nothing either.
    let before = faults::files(&stack.project_path(""));
    let out = stack
        .rotate(&[
            "SUPABASE_SECRET_KEY",
            "SUPABASE_PUBLISHABLE_KEY",
            "ANON_KEY",
            "--stage",
            "revoke",
            "--dry-run",
        ])
        .env(SKEW, "3601")
        .succeeds();
    out.stdout_has("SUPABASE_SECRET_KEY_PREVIOUS: emptied")
        .stdout_has("services to recreate: ")
        .stdout_has("dry run: nothing changed");
    assert_eq!(faults::files(&stack.project_path("")), before);

    // Past the overlap's end, verify warns that the old keys are still accepted.
    let out = stack
        .sb
        .xtask(["verify", "--env", "dev", "--project-name", &stack.project])
        .env(SKEW, "3601")
        .output();
    let found = out.findings_of("project.overlap");
    assert_eq!(found.len(), 3, "{}", out.stdout);
    assert!(
        found.iter().all(|l| l.starts_with("warn") && l.contains("has ended")),
        "{found:?}"
    );

    // ANON_KEY revoked early with --now: a warning, and the old key gets 401 at once.
    let out = stack.rotate(&["ANON_KEY", "--stage", "revoke", "--now"]).succeeds();
    out.stdout_has("warning: revoking the old ANON_KEY before ")
        .stdout_has("get 401 from now on");
    no_secret(&out, &[&env0, &env1]);
    assert_eq!(role_at_rest(&stack, &a0).0, 401, "the old ANON_KEY after --now");
    assert_eq!(
        role_at_rest(&stack, &s0),
        (200, Some("service_role".into())),
        "the others still overlap"
    );

    // Revoke, once the overlap has ended: the old keys get 401, the new ones work.
    let out = stack
        .rotate(&["SUPABASE_SECRET_KEY", "SUPABASE_PUBLISHABLE_KEY", "--stage", "revoke"])
        .env(SKEW, "3601")
        .succeeds();
    out.stdout_has("revoke done: the old SUPABASE_SECRET_KEY is refused");
    no_secret(&out, &[&env0, &env1]);
    let env2 = stack.env();
    assert_eq!(env2["SUPABASE_SECRET_KEY_PREVIOUS"], "");
    assert_eq!(env2["SUPABASE_SECRET_KEY"], s1);
    for old in [&s0, &p0, &a0] {
        assert_eq!(role_at_rest(&stack, old).0, 401, "an old key after revoke");
    }
    assert_eq!(role_at_rest(&stack, &s1), (200, Some("service_role".into())));
    assert_eq!(role_at_rest(&stack, &p1), (200, Some("anon".into())));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.project_path(STATE)).unwrap()).unwrap();
    assert_eq!(state["overlaps"], serde_json::json!({}));

    // The audit log names both changes, and holds no value.
    let audit = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
    assert!(
        audit.contains("\"stage\":\"overlap\"") && audit.contains("\"stage\":\"revoke\""),
        "{audit}"
    );
    for secret in secrets(&[&env0, &env1]) {
        assert!(!audit.contains(&secret), "a value reached audit.log");
    }
    assert!(
        !std::fs::read_to_string(stack.project_path(STATE))
            .unwrap()
            .contains(&s0)
    );
}
