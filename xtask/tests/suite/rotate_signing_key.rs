//! `cargo xtask rotate signing-key`: the staged rotation of the ES256
//! signing key, on a project folder (flags, `--status`, `--dry-run`) and on
//! the real test stack (each stage, its timing, a kill mid-stage, a failing
//! check, a legacy project). Test tokens are minted by Python's
//! `cryptography` from the keys in `.env`, not by the xtask. Time is moved
//! with the `RECEPTOR_TEST_CLOCK_SKEW` test hook, never waited for.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::faults;
use common::stack::Stack;

const SKEW: &str = "RECEPTOR_TEST_CLOCK_SKEW";
const STATE: &str = "signing-key-rotation.json";

/// Seconds past standby when switch is due, and past the switch when revoke
/// is (JWT_EXPIRY 3600 + 15 min margin), each plus one.
const SWITCH_DUE: u64 = 601;
const REVOKE_DUE: u64 = 3600 + 900 + 1;

const MINTER: &str = r#"
import base64, hashlib, hmac, json, sys, time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

req = json.load(sys.stdin)
def b64e(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
now = int(time.time())
claims = {"sub": "11111111-1111-4111-8111-111111111111", "role": "service_role", "iss": "supabase", "iat": now, "exp": now + 600}
if "jwk" in req:
    jwk = req["jwk"]
    header = {"alg": "ES256", "typ": "JWT", "kid": jwk["kid"]}
else:
    header = {"alg": "HS256", "typ": "JWT"}
signed = (b64e(json.dumps(header).encode()) + "." + b64e(json.dumps(claims).encode())).encode()
if "jwk" in req:
    key = ec.derive_private_key(int.from_bytes(b64d(jwk["d"]), "big"), ec.SECP256R1())
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
else:
    signature = hmac.new(req["secret"].encode(), signed, hashlib.sha256).digest()
print(signed.decode() + "." + b64e(signature))
"#;

/// A `service_role` access token signed by `request` (`{"jwk": …}` or `{"secret": …}`), by Python.
fn python_token(request: serde_json::Value) -> String {
    let mut child = Command::new("python3")
        .args(["-c", MINTER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the token minter failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The private EC key of `JWT_KEYS` with `kid`, as JSON.
fn ec_key(env: &BTreeMap<String, String>, kid: &str) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = serde_json::from_str(&env["JWT_KEYS"]).unwrap();
    keys.into_iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("JWT_KEYS has no key {kid}"))
}

/// The kid of the one key that signs in `JWT_KEYS`.
fn signing_kid(env: &BTreeMap<String, String>) -> String {
    let keys: Vec<serde_json::Value> = serde_json::from_str(&env["JWT_KEYS"]).unwrap();
    let signing: Vec<_> = keys
        .iter()
        .filter(|k| {
            k["key_ops"]
                .as_array()
                .is_some_and(|ops| ops.iter().any(|o| o == "sign"))
        })
        .collect();
    assert_eq!(signing.len(), 1, "exactly one signing key");
    signing[0]["kid"].as_str().unwrap_or_default().to_string()
}

fn kid_of_token(token: &str) -> String {
    use base64::Engine;
    let head = token.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    header["kid"].as_str().unwrap_or_default().to_string()
}

/// The statuses the verifiers answer `token`: (auth admin, rest, functions).
fn verdicts(stack: &Stack, anon: &str, token: &str) -> (u16, u16, u16) {
    let bearer = format!("Bearer {token}");
    let headers = [("apikey", anon), ("Authorization", bearer.as_str())];
    let status = |method: &str, path: &str| common::stack::http_status(stack.port, method, path, &headers);
    (
        status("GET", "/auth/v1/admin/users?per_page=1"),
        status("GET", "/rest/v1/receptor_live_check"),
        status("POST", "/functions/v1/hello"),
    )
}

const ACCEPTED: (u16, u16, u16) = (200, 404, 200);
const REFUSED: (u16, u16, u16) = (403, 401, 401);

/// A user of the stack: signs up, then signs in; the session's access and refresh tokens.
fn sign_in(stack: &Stack, anon: &str, email: &str) -> (String, String) {
    let creds = format!(r#"{{"email":"{email}","password":"Correct0Horse"}}"#);
    let call = |path: &str, body: &str| {
        let (status, text) = common::stack::http_exchange(stack.port, "POST", path, &[("apikey", anon)], body);
        (
            status,
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
        )
    };
    let (status, _) = call("/auth/v1/signup", &creds);
    assert!(status == 200 || status == 422, "signup answered {status}");
    let (status, session) = call("/auth/v1/token?grant_type=password", &creds);
    assert_eq!(status, 200, "the password grant");
    (
        session["access_token"].as_str().unwrap().to_string(),
        session["refresh_token"].as_str().unwrap().to_string(),
    )
}

/// A refresh as supabase-js makes it: the new access token.
fn refresh(stack: &Stack, anon: &str, refresh_token: &str) -> String {
    let body = format!(r#"{{"refresh_token":"{refresh_token}"}}"#);
    let (status, text) = common::stack::http_exchange(
        stack.port,
        "POST",
        "/auth/v1/token?grant_type=refresh_token",
        &[("apikey", anon)],
        &body,
    );
    assert_eq!(status, 200, "the refresh grant");
    let session: serde_json::Value = serde_json::from_str(&text).unwrap();
    session["access_token"].as_str().unwrap().to_string()
}

/// The status of `GET /auth/v1/user` with a user's access token (200 while it verifies).
fn user_status(stack: &Stack, anon: &str, access: &str) -> u16 {
    let bearer = format!("Bearer {access}");
    common::stack::http_status(
        stack.port,
        "GET",
        "/auth/v1/user",
        &[("apikey", anon), ("Authorization", bearer.as_str())],
    )
}

fn state(stack: &Stack) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(stack.project_path(STATE)).unwrap()).unwrap()
}

fn secrets(env: &BTreeMap<String, String>) -> Vec<String> {
    env.iter()
        .filter(|(k, v)| v.len() >= 16 && !k.ends_with("_IMAGE"))
        .map(|(_, v)| v.clone())
        .collect()
}

fn no_secret(out: &common::Outcome, envs: &[&BTreeMap<String, String>], tokens: &[&str]) {
    let mut all: Vec<String> = envs.iter().flat_map(|e| secrets(e)).collect();
    all.extend(tokens.iter().map(|t| t.to_string()));
    // Each private scalar on its own, too.
    for env in envs {
        if let Ok(keys) = serde_json::from_str::<Vec<serde_json::Value>>(&env["JWT_KEYS"]) {
            all.extend(keys.iter().filter_map(|k| k["d"].as_str().map(String::from)));
        }
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    out.never_shows(&refs);
}

// ---- On a project folder ----------------------------------------------------

#[test]
fn the_signing_key_flags_belong_to_rotate_signing_key_alone() {
    let (sb, p) = common::dev_project();
    let before = sb.read(&format!("{p}/.env"));
    let out = sb
        .xtask([
            "rotate",
            "JWT_SECRET",
            "--stage",
            "switch",
            "--env",
            "dev",
            "--project-name",
            &p,
        ])
        .fails_with(2);
    assert!(
        out.one_line_error()
            .contains("belong to cargo xtask rotate signing-key only")
    );
    let out = sb
        .xtask([
            "rotate",
            "signing-key",
            "JWT_SECRET",
            "--env",
            "dev",
            "--project-name",
            &p,
        ])
        .fails_with(2);
    assert!(out.one_line_error().contains("signing-key is rotated on its own"));
    let out = sb
        .xtask([
            "rotate",
            "signing-key",
            "--margin",
            "15 minutes",
            "--env",
            "dev",
            "--project-name",
            &p,
        ])
        .fails_with(2);
    out.stderr_has("is not a duration");
    sb.xtask(["rotate", "--help"])
        .succeeds()
        .stdout_has("--stage <STAGE>")
        .stdout_has("--no-external-verifiers")
        .stdout_has("rotate signing-key --env prod --status");
    assert_eq!(sb.read(&format!("{p}/.env")), before, "nothing changed");
    assert!(!sb.path(&format!("{p}/{STATE}")).exists());
}

#[test]
fn status_of_a_project_with_no_rotation_names_the_signing_kid_only() {
    let (sb, p) = common::dev_project();
    let env = sb.env_values(&p);
    let out = sb
        .xtask([
            "rotate",
            "signing-key",
            "--status",
            "--env",
            "dev",
            "--project-name",
            &p,
        ])
        .succeeds();
    out.stdout_has(&format!("signs now: key {}", signing_kid(&env)))
        .stdout_has("no rotation recorded")
        .stdout_has("next: standby, due now");
    no_secret(&out, &[&env], &[]);
}

#[test]
fn dry_run_shows_the_plan_of_every_stage_and_changes_nothing() {
    let (sb, p) = common::dev_project();
    let env = sb.env_values(&p);
    let before = faults::files(&sb.path(&p));
    let out = sb
        .xtask([
            "rotate",
            "signing-key",
            "--dry-run",
            "--env",
            "dev",
            "--project-name",
            &p,
        ])
        .succeeds();
    out.stdout_has("standby: due now")
        .stdout_has("variable JWT_KEYS: new key B (ES256) added with key_ops [\"verify\"]")
        .stdout_has("switch: due ")
        .stdout_has("(in 10 min)")
        .stdout_has("ANON_KEY_ASYMMETRIC, SERVICE_ROLE_KEY_ASYMMETRIC: re-minted with B")
        .stdout_has("revoke: due ")
        .stdout_has("(in 1 h 25 min)")
        .stdout_has("services to recreate: ")
        .stdout_has("tokens signed by A (key ")
        .stdout_has("dry run: nothing changed");
    no_secret(&out, &[&env], &[]);
    assert_eq!(faults::files(&sb.path(&p)), before, "no file of the project changed");
}

// ---- On the real stack ------------------------------------------------------

#[test]
fn standby_switch_revoke_on_the_stack_log_nobody_out_until_revoke() {
    let stack = Stack::up();
    let env0 = stack.env();
    let anon = env0["ANON_KEY"].clone();
    let a = signing_kid(&env0);
    let token_a = python_token(serde_json::json!({ "jwk": ec_key(&env0, &a) }));
    assert_eq!(verdicts(&stack, &anon, &token_a), ACCEPTED, "A's token before anything");
    // A user signed in before the rotation: a session GoTrue signed with A.
    let (session_a, refresh_a) = sign_in(&stack, &anon, "before@example.com");
    assert_eq!(kid_of_token(&session_a), a);
    assert_eq!(user_status(&stack, &anon, &session_a), 200);

    // Standby.
    let out = stack.rotate(&["signing-key", "--stage", "standby"]).succeeds();
    out.stdout_has("standby done")
        .stdout_has("ok: a token signed by B (key ");
    let env1 = stack.env();
    no_secret(&out, &[&env0, &env1], &[&token_a]);
    let s = state(&stack);
    let b = s["new_kid"].as_str().unwrap().to_string();
    assert_eq!(s["old_kid"], a.as_str());
    assert_ne!(a, b);
    assert_eq!(signing_kid(&env1), a, "A still signs");
    assert_eq!(
        std::fs::metadata(stack.project_path(STATE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    common::independent::check_key_model(&env1);
    let token_b = python_token(serde_json::json!({ "jwk": ec_key(&env1, &b) }));
    assert_eq!(verdicts(&stack, &anon, &token_a), ACCEPTED, "A after standby");
    assert_eq!(verdicts(&stack, &anon, &token_b), ACCEPTED, "B after standby");
    stack.assert_works_with(&env1);

    // Switch: refused before standby + 600 s, then done.
    let out = stack.rotate(&["signing-key", "--stage", "switch"]).fails_with(2);
    assert!(
        out.one_line_error().contains("switch is not due before"),
        "{}",
        out.stderr
    );
    assert!(out.one_line_error().contains("--no-external-verifiers"));
    assert_eq!(stack.env(), env1, "a refused switch changes nothing");
    let skew = SWITCH_DUE.to_string();
    let out = stack.rotate(&["signing-key"]).env(SKEW, &skew).succeeds();
    out.stdout_has("stage switch").stdout_has("switch done");
    let env2 = stack.env();
    no_secret(&out, &[&env1, &env2], &[&token_a, &token_b, &session_a, &refresh_a]);
    assert_eq!(signing_kid(&env2), b, "B signs");
    assert_eq!(kid_of_token(&env2["ANON_KEY_ASYMMETRIC"]), b);
    assert_eq!(kid_of_token(&env2["SERVICE_ROLE_KEY_ASYMMETRIC"]), b);
    common::independent::check_key_model(&env2);
    assert_eq!(verdicts(&stack, &anon, &token_a), ACCEPTED, "A after switch");
    assert_eq!(verdicts(&stack, &anon, &token_b), ACCEPTED, "B after switch");
    stack.assert_works_with(&env2);
    // The user signed in before is still signed in; a refresh and a new sign-in get B's tokens.
    assert_eq!(
        user_status(&stack, &anon, &session_a),
        200,
        "a session of A after the switch"
    );
    let refreshed = refresh(&stack, &anon, &refresh_a);
    assert_eq!(kid_of_token(&refreshed), b, "GoTrue signs with B after the switch");
    assert_eq!(user_status(&stack, &anon, &refreshed), 200);
    let (session_b, _) = sign_in(&stack, &anon, "after@example.com");
    assert_eq!(kid_of_token(&session_b), b);

    // Revoke: refused before the switch + JWT_EXPIRY + margin, then done.
    let out = stack
        .rotate(&["signing-key", "--stage", "revoke"])
        .env(SKEW, &skew)
        .fails_with(2);
    assert!(out.one_line_error().contains("revoke is not due before"));
    let status = stack.rotate(&["signing-key", "--status"]).env(SKEW, &skew).succeeds();
    status
        .stdout_has(&format!("new key: key {b}"))
        .stdout_has("switch done at")
        .stdout_has("next: revoke, due ")
        .stdout_has("(in 1 h 15 min)");
    let later = (SWITCH_DUE + REVOKE_DUE).to_string();
    let out = stack.rotate(&["signing-key"]).env(SKEW, &later).succeeds();
    out.stdout_has("revoke done")
        .stdout_has("refused at auth-admin, rest-bearer, functions");
    let env3 = stack.env();
    assert!(
        !env3["JWT_KEYS"].contains(&a) && !env3["JWT_JWKS"].contains(&a),
        "A left both sets"
    );
    common::independent::check_key_model(&env3);
    assert_eq!(verdicts(&stack, &anon, &token_a), REFUSED, "A after revoke");
    assert_eq!(verdicts(&stack, &anon, &token_b), ACCEPTED, "B after revoke");
    assert_ne!(
        user_status(&stack, &anon, &session_a),
        200,
        "a session of A after revoke"
    );
    assert_eq!(
        user_status(&stack, &anon, &refreshed),
        200,
        "the refreshed session survives revoke"
    );
    assert_eq!(user_status(&stack, &anon, &session_b), 200);
    stack.assert_works_with(&env3);
    stack
        .rotate(&["signing-key", "--status"])
        .env(SKEW, &later)
        .succeeds()
        .stdout_has("the rotation is complete");

    // The audit log: each stage started and succeeded, with key ids and no value.
    let lines = stack.audit_lines();
    for stage in ["standby", "switch", "revoke"] {
        let of: Vec<_> = lines.iter().filter(|l| l["stage"] == stage).collect();
        let outcomes: Vec<_> = of.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["started", "succeeded"], "{stage}");
        assert_eq!(of[1]["key_ids"], serde_json::json!([a, b]), "{stage}");
    }
    let log = std::fs::read_to_string(stack.project_path("audit.log")).unwrap();
    for value in secrets(&env1).iter().chain(secrets(&env2).iter()) {
        assert!(!log.contains(value.as_str()), "audit.log holds a value");
    }
}

#[test]
fn a_stage_killed_midway_is_rolled_back_by_the_next_run_which_then_finishes_it() {
    let stack = Stack::up();
    let env0 = stack.env();
    let a = signing_kid(&env0);
    let token_a = python_token(serde_json::json!({ "jwk": ec_key(&env0, &a) }));

    // Killed once the stage is recorded as started, before .env changes.
    let child = faults::stop_at(stack.rotate(&["signing-key"]), "stage-started");
    faults::kill(child);
    assert_eq!(stack.env(), env0, "nothing changed yet");
    assert_eq!(state(&stack)["running"]["stage"], "standby");
    stack
        .rotate(&["signing-key", "--status"])
        .succeeds()
        .stdout_has("standby started at")
        .stdout_has("the next run rolls it back");
    // A dry run shows the repair, and changes no file.
    let tree = common::tree(&stack.project_path(""));
    let out = stack.rotate(&["signing-key", "--dry-run"]).succeeds();
    out.stdout_has("stage standby started at")
        .stdout_has("did not finish: rolling it back")
        .stdout_has("dry run: nothing changed");
    no_secret(&out, &[&env0], &[&token_a]);
    common::assert_unchanged(&tree, &stack.project_path(""), "a dry run of the repair");
    let out = stack.rotate(&["signing-key"]).succeeds();
    out.stdout_has("did not finish: rolling it back")
        .stdout_has("standby done");
    let env1 = stack.env();
    let b = state(&stack)["new_kid"].as_str().unwrap().to_string();
    assert!(state(&stack)["running"].is_null());

    // Killed during the switch, after auth and Kong run on B: rolled back to standby, then switched.
    let skew = SWITCH_DUE.to_string();
    let child = faults::stop_at(stack.rotate(&["signing-key"]).env(SKEW, &skew), "rotate-before-check");
    faults::kill(child);
    assert_eq!(signing_kid(&stack.env()), b, "the killed switch left B signing in .env");
    let out = stack
        .rotate(&["signing-key", "--stage", "switch"])
        .env(SKEW, &skew)
        .succeeds();
    out.stdout_has("stage switch started at")
        .stdout_has("rolling it back")
        .stdout_has("switch done");
    no_secret(&out, &[&env0, &env1, &stack.env()], &[&token_a]);
    assert_eq!(signing_kid(&stack.env()), b);
    assert_eq!(
        verdicts(&stack, &stack.env()["ANON_KEY"], &token_a),
        ACCEPTED,
        "A's sessions survived"
    );
    let outcomes: Vec<String> = stack
        .audit_lines()
        .iter()
        .filter(|l| l["stage"] == "switch")
        .map(|l| l["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["started", "rolled back the interrupted stage", "started", "succeeded"]
    );
}

#[test]
fn a_failing_check_rolls_the_stage_back_and_the_state_says_so() {
    let stack = Stack::up();
    let env0 = stack.env();
    let text0 = stack.env_text();
    let out = stack
        .rotate(&["signing-key", "--stage", "standby"])
        .env("RECEPTOR_TEST_FAIL_AT", "check")
        .fails_with(1);
    out.stdout_has("rolling back to the previous .env");
    assert_eq!(stack.env_text(), text0, "the previous .env is back");
    let s = state(&stack);
    assert!(s["standby_at"].is_null() && s["running"].is_null(), "{s}");
    stack.assert_works_with(&env0);
    stack
        .rotate(&["signing-key", "--status"])
        .succeeds()
        .stdout_has("next: standby, due now");
}

#[test]
fn a_legacy_project_moves_off_jwt_secret_signing_and_keeps_its_hs256_keys() {
    let stack = Stack::up();
    // A project from before the asymmetric keys: no key sets, no ES256 API keys, no sb_ keys.
    let text: String = stack
        .env_text()
        .lines()
        .map(|line| {
            for name in [
                "JWT_KEYS",
                "JWT_JWKS",
                "ANON_KEY_ASYMMETRIC",
                "SERVICE_ROLE_KEY_ASYMMETRIC",
                "SUPABASE_PUBLISHABLE_KEY",
                "SUPABASE_SECRET_KEY",
            ] {
                if line.starts_with(&format!("{name}=")) {
                    return format!("{name}=");
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::write(stack.project_path(".env"), &text).unwrap();
    stack.compose().up(&[], true, 120).unwrap();
    let env0 = stack.env();
    let anon = env0["ANON_KEY"].clone();
    let hs = python_token(serde_json::json!({ "secret": env0["JWT_SECRET"] }));
    assert_eq!(verdicts(&stack, &anon, &hs), ACCEPTED, "an HS256 session before");

    let out = stack.rotate(&["signing-key"]).succeeds();
    out.stdout_has("old key A: the legacy HS256 key (JWT_SECRET)")
        .stdout_has("standby done");
    let env1 = stack.env();
    let b = state(&stack)["new_kid"].as_str().unwrap().to_string();
    assert!(state(&stack)["old_kid"].is_null());
    let token_b = python_token(serde_json::json!({ "jwk": ec_key(&env1, &b) }));
    assert_eq!(verdicts(&stack, &anon, &hs), ACCEPTED, "HS256 after standby");
    assert_eq!(verdicts(&stack, &anon, &token_b), ACCEPTED, "B after standby");

    let out = stack.rotate(&["signing-key", "--no-external-verifiers"]).succeeds();
    out.stdout_has("switch done")
        .stdout_has("the legacy HS256 key stays verify-only")
        .stdout_has("What remains of the legacy HS256 key")
        .stdout_has("cargo xtask rotate JWT_SECRET retires the old secret");
    let env2 = stack.env();
    no_secret(&out, &[&env1, &env2], &[&hs, &token_b]);
    assert_eq!(signing_kid(&env2), b);
    assert_eq!(kid_of_token(&env2["ANON_KEY_ASYMMETRIC"]), b);
    assert_eq!(
        verdicts(&stack, &anon, &hs),
        ACCEPTED,
        "HS256 sessions survive the switch"
    );
    assert_eq!(verdicts(&stack, &anon, &token_b), ACCEPTED);
    stack.assert_works_with(&env2);
    let out = stack
        .rotate(&["signing-key", "--stage", "revoke", "--now"])
        .fails_with(2);
    assert!(out.one_line_error().contains("nothing to revoke"));
}

#[test]
fn killed_at_any_step_of_any_stage_the_next_run_repairs_and_finishes_it() {
    let stack = Stack::up();
    let env0 = stack.env();
    let anon = env0["ANON_KEY"].clone();
    let (mut session, _) = sign_in(&stack, &anon, "through-kills@example.com");
    let a = signing_kid(&env0);
    // (stage, its arguments, where it is killed)
    let cases: [(&str, &[&str], &str); 5] = [
        ("standby", &[], "mid-write:signing-key-rotation.json"),
        ("switch", &["--no-external-verifiers"], "after-rename:.env"),
        ("revoke", &["--stage", "revoke", "--now"], "stage-started"),
        ("standby", &[], "rotate-before-check"),
        ("switch", &["--no-external-verifiers"], "mid-write:.env"),
    ];
    let mut repaired = 0;
    for (stage, extra, spec) in cases {
        let context = format!("{stage} killed at {spec}");
        let before = stack.env_text();
        let mut args = vec!["signing-key"];
        args.extend_from_slice(extra);
        let child = faults::stop_at(stack.rotate(&args), spec);
        faults::kill(child);
        let running = std::fs::read_to_string(stack.project_path(STATE))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|s| !s["running"].is_null());
        assert!(
            running || stack.env_text() == before,
            "{context}: .env changed with no stage recorded as started"
        );
        let out = stack.rotate(&args).output();
        assert_eq!(out.code, 0, "{context}: the next run\n{}\n{}", out.stdout, out.stderr);
        if running {
            assert!(out.stdout.contains("did not finish: rolling it back"), "{context}");
            repaired += 1;
        }
        assert!(
            out.stdout.contains(&format!("{stage} done")),
            "{context}\n{}",
            out.stdout
        );
        let s = state(&stack);
        assert!(s["running"].is_null(), "{context}: {s}");
        assert!(
            !s[format!("{stage}_at")].is_null(),
            "{context}: {stage} recorded as done"
        );
        let env = stack.env();
        common::independent::check_key_model(&env);
        stack.assert_works_with(&env);
        let temps = faults::files(&stack.project_path(""))
            .into_keys()
            .filter(|p| xtask::private_file::is_temp_name(&p.file_name().unwrap().to_string_lossy()))
            .count();
        assert_eq!(temps, 0, "{context}: temporary files left behind");
        if stage == "revoke" {
            // Revoked early (--now): the session signed by A ended; the user signs in again.
            assert_ne!(
                user_status(&stack, &anon, &session),
                200,
                "{context}: A's session after revoke"
            );
            session = sign_in(&stack, &anon, "through-kills@example.com").0;
        }
        assert_eq!(
            user_status(&stack, &anon, &session),
            200,
            "{context}: the user is signed in"
        );
    }
    assert_eq!(repaired, 4, "every kill after the stage was recorded was rolled back");
    assert!(!stack.env()["JWT_KEYS"].contains(&a), "A was revoked along the way");
}
