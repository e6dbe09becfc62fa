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

fn rotate(sb: &Sandbox, p: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["rotate"];
    all.extend_from_slice(args);
    all.extend(["--env", "dev", "--project-name", p]);
    sb.xtask(all)
}

// ---- On a project folder ----------------------------------------------------

#[test]
fn overlap_flags_are_checked_and_dry_run_and_status_change_nothing() {
    let (sb, p) = common::dev_project();
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
    let (sb, p) = common::dev_project();
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
    let (sb, p) = common::dev_project();
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

// ---- Killed midway, on the real stack ------------------------------------

/// Where a step is killed: each pause point between its backup and its end.
const KILLS: [&str; 7] = [
    // The backup is in place, nothing recorded yet.
    "after-rename:.env.*",
    // The record of the step as started is half written.
    "mid-write:api-key-overlap.json",
    // Recorded as started, .env not yet changed.
    "stage-started",
    // The new .env half written.
    "mid-write:.env",
    // .env written, the stack not yet recreated: .env ahead of the containers.
    "after-rename:.env",
    // Recreated and healthy, not yet checked.
    "rotate-before-check",
    // Checked, not yet recorded as done.
    "stage-checked",
];

/// The state file, `Null` when there is none.
fn state_of(stack: &Stack) -> serde_json::Value {
    std::fs::read_to_string(stack.project_path(STATE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// What a test saw: every `.env` the project had, every output.
#[derive(Default)]
struct Seen {
    envs: Vec<BTreeMap<String, String>>,
    outputs: Vec<common::Outcome>,
}

impl Seen {
    /// No value of any `.env` seen is in any output, the audit log or the state file.
    fn no_value_anywhere(&self, stack: &Stack) {
        let envs: Vec<&BTreeMap<String, String>> = self.envs.iter().collect();
        for out in &self.outputs {
            no_secret(out, &envs);
        }
        let audit = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
        let state = std::fs::read_to_string(stack.project_path(STATE)).unwrap();
        for secret in secrets(&envs) {
            assert!(!audit.contains(&secret), "a value reached audit.log");
            assert!(!state.contains(&secret), "a value reached {STATE}");
        }
    }
}

/// Kills `rotate args` (with the clock moved by `skew` seconds) at `spec`.
/// When the step was recorded as started, `--status` and `verify` name it as
/// cut short (neither calls a revoke due), and a dry run of the next run
/// shows the repair and changes no file. Returns whether it was recorded.
fn kill_step(stack: &Stack, key: &str, args: &[&str], skew: &str, spec: &str, seen: &mut Seen) -> bool {
    let context = format!("{args:?} killed at {spec}");
    let before = stack.env_text();
    let child = faults::stop_at(stack.rotate(args).env(SKEW, skew), spec);
    seen.outputs.push(faults::kill_with_output(child).into());
    seen.envs.push(stack.env());
    let running = state_of(stack)["running"].clone();
    if running.is_null() {
        assert_eq!(
            stack.env_text(),
            before,
            "{context}: .env changed with no step recorded as started"
        );
        return false;
    }
    let step = running["stage"].as_str().unwrap().to_string();
    assert_eq!(running["keys"], serde_json::json!([key]), "{context}");
    let status = stack.rotate(&[key, "--status"]).env(SKEW, skew).succeeds();
    status
        .stdout_has(&format!("{key}: the {step} step started at "))
        .stdout_has("did not finish: the next run rolls it back to .env.");
    assert!(!status.stdout.contains("revoke is due"), "{context}: {}", status.stdout);
    let verify = stack
        .sb
        .xtask(["verify", "--env", "dev", "--project-name", &stack.project])
        .env(SKEW, skew)
        .output();
    let found = verify.findings_of("project.overlap");
    assert!(
        found.len() == 1 && found[0].starts_with("warn") && found[0].contains("did not finish"),
        "{context}: {}",
        verify.stdout
    );
    assert!(
        !verify.stdout.contains("revoke is due") && !verify.stdout.contains("has ended"),
        "{context}: {}",
        verify.stdout
    );
    let tree = common::tree(&stack.project_path(""));
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = stack.rotate(&dry).env(SKEW, skew).succeeds();
    out.stdout_has(&format!("the {step} step of {key} started at "))
        .stdout_has("did not finish: rolling it back to .env.")
        .stdout_has("dry run: nothing changed");
    common::assert_unchanged(&tree, &stack.project_path(""), &format!("{context}: a dry run"));
    seen.outputs.extend([status, verify, out]);
    true
}

/// The run after a kill, the same command: it rolls the step back first
/// when it was `cut_short` (and only then), and says `done` at its end.
/// Returns the `.env` it left.
fn next_run(
    stack: &Stack,
    args: &[&str],
    skew: &str,
    cut_short: bool,
    done: &str,
    context: &str,
    seen: &mut Seen,
) -> BTreeMap<String, String> {
    let out = stack.rotate(args).env(SKEW, skew).output();
    assert_eq!(out.code, 0, "{context}: the next run\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.contains("did not finish: rolling it back"),
        cut_short,
        "{context}\n{}",
        out.stdout
    );
    out.stdout_has(done);
    seen.outputs.push(out);
    let env = stack.env();
    seen.envs.push(env.clone());
    env
}

/// After a run that finished a step: nothing left under way, no temporary file.
fn settled(stack: &Stack, context: &str) -> serde_json::Value {
    let state = state_of(stack);
    assert!(state["running"].is_null(), "{context}: {state}");
    let temps = faults::files(&stack.project_path(""))
        .into_keys()
        .filter(|p| xtask::private_file::is_temp_name(&p.file_name().unwrap().to_string_lossy()))
        .count();
    assert_eq!(temps, 0, "{context}: temporary files left behind");
    state
}

/// How many interrupted steps of `step` the audit log says were rolled back.
fn rolled_back_in_audit(stack: &Stack, step: &str) -> usize {
    stack
        .audit_lines()
        .iter()
        .filter(|l| l["stage"] == step && l["outcome"] == "rolled back the interrupted stage")
        .count()
}

#[test]
fn an_overlap_killed_at_any_step_is_rolled_back_by_the_next_run_which_then_starts_it() {
    let stack = Stack::up();
    let (key, previous) = ("SUPABASE_SECRET_KEY", "SUPABASE_SECRET_KEY_PREVIOUS");
    let args = [key, "--overlap", "1h"];
    let mut seen = Seen {
        envs: vec![stack.env()],
        ..Seen::default()
    };
    let mut repaired = 0;
    for spec in KILLS {
        let context = format!("the overlap killed at {spec}");
        let old = stack.env()[key].clone();
        let cut_short = kill_step(&stack, key, &args, "0", spec, &mut seen);
        let killed = seen.envs.last().unwrap()[key].clone();

        let env = next_run(
            &stack,
            &args,
            "0",
            cut_short,
            "overlap started: SUPABASE_SECRET_KEY is new",
            &context,
            &mut seen,
        );
        repaired += usize::from(cut_short);
        // As a finished overlap promises: the old key and the new one work.
        assert_eq!(env[previous], old, "{context}: the old key is the previous one");
        assert_ne!(env[key], old);
        let service = (200, Some("service_role".to_string()));
        assert_eq!(role_at_rest(&stack, &old), service, "{context}: the old key");
        assert_eq!(role_at_rest(&stack, &env[key]), service, "{context}: the new key");
        if killed != old && killed != env[key] {
            assert_eq!(
                role_at_rest(&stack, &killed).0,
                401,
                "{context}: the key the killed run wrote was rolled back"
            );
        }
        let state = settled(&stack, &context);
        let window = &state["overlaps"][key];
        assert_eq!(
            window["ends_at"].as_u64().unwrap() - window["started_at"].as_u64().unwrap(),
            3600,
            "{context}: {state}"
        );

        // Revoked, for the next kill.
        seen.outputs
            .push(stack.rotate(&[key, "--stage", "revoke", "--now"]).succeeds());
        assert_eq!(role_at_rest(&stack, &old).0, 401, "{context}: revoked");
    }
    assert_eq!(repaired, 5, "every kill after the step was recorded was rolled back");
    assert_eq!(rolled_back_in_audit(&stack, "overlap"), 5);
    seen.no_value_anywhere(&stack);
}

#[test]
fn a_revoke_killed_at_any_step_is_rolled_back_by_the_next_run_which_then_revokes() {
    let stack = Stack::up();
    let (key, previous) = ("SUPABASE_SECRET_KEY", "SUPABASE_SECRET_KEY_PREVIOUS");
    let args = [key, "--stage", "revoke"];
    let due = "3601";
    let mut seen = Seen::default();
    let mut repaired = 0;
    for spec in KILLS {
        let context = format!("the revoke killed at {spec}");
        seen.outputs.push(stack.rotate(&[key, "--overlap", "1h"]).succeeds());
        let env = stack.env();
        let (old, new) = (env[previous].clone(), env[key].clone());
        seen.envs.push(env);
        let cut_short = kill_step(&stack, key, &args, due, spec, &mut seen);

        let env = next_run(
            &stack,
            &args,
            due,
            cut_short,
            "revoke done: the old SUPABASE_SECRET_KEY is refused",
            &context,
            &mut seen,
        );
        repaired += usize::from(cut_short);
        // As a finished revoke promises: the new key alone works.
        assert_eq!(env[previous], "", "{context}");
        assert_eq!(env[key], new, "{context}: the new key is kept");
        assert_eq!(role_at_rest(&stack, &old).0, 401, "{context}: the old key");
        assert_eq!(
            role_at_rest(&stack, &new),
            (200, Some("service_role".to_string())),
            "{context}: the new key"
        );
        let state = settled(&stack, &context);
        assert!(state["overlaps"].get(key).is_none(), "{context}: {state}");
    }
    assert_eq!(repaired, 5, "every kill after the step was recorded was rolled back");
    assert_eq!(rolled_back_in_audit(&stack, "revoke"), 5);
    seen.no_value_anywhere(&stack);
}
