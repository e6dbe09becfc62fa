//! The current key model on the real test stack, as a client meets it: a user signs up at
//! auth and gets an ES256 session (its signature checked here with Python's
//! `cryptography` under the project's `JWT_JWKS`), which rest and functions take through
//! the gateway; `sb_publishable_` reaches rest as `anon` and `sb_secret_` as
//! `service_role`; the legacy `ANON_KEY` still works; the user and the refresh token
//! outlive a recreated auth container, and a used refresh token rotates as GoTrue's do.

use crate::common::stack::{Stack, http_exchange};

/// `(status, JSON body)` of a request to the gateway.
fn call(stack: &Stack, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, serde_json::Value) {
    let (status, text) = http_exchange(stack.port, method, path, headers, body);
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

/// Verifies an ES256 `token` under the EC key of `jwks` its header's `kid` names, with
/// Python's `cryptography`; prints `ok` or why not.
fn python_verifies(jwks: &str, token: &str) -> String {
    let program = r#"
import base64, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.exceptions import InvalidSignature
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
jwks, token = json.loads(sys.stdin.readline()), sys.stdin.readline().strip()
head, body, sig = token.split(".")
header = json.loads(d(head))
if header.get("alg") != "ES256":
    print("not ES256"); sys.exit()
keys = [k for k in jwks["keys"] if k.get("kty") == "EC" and k.get("kid") == header.get("kid")]
if len(keys) != 1:
    print("no key for the kid"); sys.exit()
k = keys[0]
public = ec.EllipticCurvePublicNumbers(int.from_bytes(d(k["x"]), "big"), int.from_bytes(d(k["y"]), "big"), ec.SECP256R1()).public_key()
raw = d(sig)
try:
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")), f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    print("ok")
except InvalidSignature:
    print("bad signature")
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", program])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (the tests need Python's cryptography)");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}\n{token}", jwks.replace('\n', "")).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn role_at_rest(stack: &Stack, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let (status, body) = call(stack, "GET", "/rest/v1/", headers, "");
    (status, body["x-role"].as_str().map(str::to_owned))
}

#[test]
fn user_sessions_and_sb_keys_reach_the_services_with_their_roles_and_survive_an_auth_recreate() {
    let stack = Stack::up();
    let env = stack.env();
    let publishable = env["SUPABASE_PUBLISHABLE_KEY"].as_str();
    let secret = env["SUPABASE_SECRET_KEY"].as_str();
    let anon = env["ANON_KEY"].as_str();
    assert!(publishable.starts_with("sb_publishable_") && secret.starts_with("sb_secret_"));

    // The opaque keys and the legacy one, each as its role.
    assert_eq!(
        role_at_rest(&stack, &[("apikey", publishable)]),
        (200, Some("anon".into()))
    );
    assert_eq!(
        role_at_rest(&stack, &[("apikey", secret)]),
        (200, Some("service_role".into()))
    );
    assert_eq!(role_at_rest(&stack, &[("apikey", anon)]), (200, Some("anon".into())));

    // A user signs up and signs in: an ES256 session signed by the project's key.
    let creds = r#"{"email":"rotation-user@example.com","password":"Correct0Horse"}"#;
    let (status, signup) = call(&stack, "POST", "/auth/v1/signup", &[("apikey", publishable)], creds);
    assert_eq!(status, 200, "signup: {signup}");
    let (status, session) = call(
        &stack,
        "POST",
        "/auth/v1/token?grant_type=password",
        &[("apikey", publishable)],
        creds,
    );
    assert_eq!(status, 200, "password grant: {session}");
    let access = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(python_verifies(&env["JWT_JWKS"], &access), "ok");
    let bearer = format!("Bearer {access}");
    assert_eq!(
        role_at_rest(&stack, &[("apikey", publishable), ("Authorization", &bearer)]),
        (200, Some("authenticated".into()))
    );
    let (status, _) = call(
        &stack,
        "POST",
        "/functions/v1/hello",
        &[("apikey", publishable), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200, "functions take the ES256 session");
    let (status, jwks) = call(
        &stack,
        "GET",
        "/auth/v1/.well-known/jwks.json",
        &[("apikey", publishable)],
        "",
    );
    assert_eq!(status, 200);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none() && k["kty"] != "oct")
    );

    // auth is recreated: the user and the refresh token are still known.
    stack
        .compose()
        .recreate(&["auth".to_string()], true, 60)
        .expect("auth is recreated");
    let first = session["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| {
        call(
            &stack,
            "POST",
            "/auth/v1/token?grant_type=refresh_token",
            &[("apikey", publishable)],
            &format!(r#"{{"refresh_token":"{token}"}}"#),
        )
    };
    let (status, refreshed) = refresh(&first);
    assert_eq!(status, 200, "refresh after the recreate: {refreshed}");
    assert_ne!(refreshed["refresh_token"].as_str(), Some(first.as_str()));
    assert_eq!(
        python_verifies(&env["JWT_JWKS"], refreshed["access_token"].as_str().unwrap()),
        "ok"
    );
    // The used token again, within GoTrue's reuse interval (10 s): its successor, no new one.
    let (status, reused) = refresh(&first);
    assert_eq!((status, &reused["refresh_token"]), (200, &refreshed["refresh_token"]));
    let (status, user) = call(
        &stack,
        "GET",
        "/auth/v1/user",
        &[("apikey", publishable), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(
        (status, user["email"].as_str()),
        (200, Some("rotation-user@example.com"))
    );
}

#[test]
fn rotating_an_sb_key_recreates_kong_and_only_the_new_key_is_accepted() {
    use xtask::secrets::opaque::{Opaque, check};
    let stack = Stack::up();
    for (name, kind, role, admin) in [
        ("SUPABASE_SECRET_KEY", Opaque::Secret, "service_role", 200),
        ("SUPABASE_PUBLISHABLE_KEY", Opaque::Publishable, "anon", 403),
    ] {
        let before = stack.env();
        let old = before[name].clone();
        let kong_before = stack.container_ids()["kong"].clone();
        let out = stack.rotate(&[name, "--yes"]).succeeds();
        let after = stack.env();
        let new = after[name].clone();
        assert_ne!(new, old, "{name} is re-minted");
        assert!(check(kind, &new).is_ok(), "{name}: a well-formed key with its checksum");
        assert_ne!(stack.container_ids()["kong"], kong_before, "kong is recreated");
        for (other, value) in &before {
            if other != name {
                assert_eq!(&after[other], value, "{other} is left as it was");
            }
        }
        assert_eq!(
            role_at_rest(&stack, &[("apikey", &new)]),
            (200, Some(role.into())),
            "{name}"
        );
        assert_eq!(
            role_at_rest(&stack, &[("apikey", &old)]).0,
            401,
            "the old {name} is refused"
        );
        let (status, _) = call(
            &stack,
            "GET",
            "/auth/v1/admin/users?per_page=1",
            &[("apikey", &new)],
            "",
        );
        assert_eq!(status, admin, "{name} at auth's admin API");
        assert_eq!(
            call(&stack, "POST", "/functions/v1/hello", &[("apikey", &new)], "").0,
            200
        );
        out.never_shows(&[&old, &new]);
    }
}

#[test]
fn a_legacy_project_moved_to_asymmetric_mode_keeps_its_keys_and_its_users_sessions_working() {
    let stack = Stack::up();
    // A legacy project: none of the six values of the current key model in .env, the
    // stack on the template's defaults (`[]`, the secret, `{"keys":[]}`).
    let path = format!("{}/.env", stack.project);
    let model = [
        "JWT_KEYS=",
        "JWT_JWKS=",
        "ANON_KEY_ASYMMETRIC=",
        "SERVICE_ROLE_KEY_ASYMMETRIC=",
        "SUPABASE_PUBLISHABLE_KEY=",
        "SUPABASE_SECRET_KEY=",
    ];
    let legacy: String = stack
        .sb
        .read(&path)
        .lines()
        .filter(|l| !model.iter().any(|m| l.starts_with(m)))
        .map(|l| format!("{l}\n"))
        .collect();
    stack.sb.write(&path, &legacy);
    let services: Vec<String> = ["auth", "functions", "kong", "rest"].map(String::from).to_vec();
    stack
        .compose()
        .recreate(&services, true, 60)
        .expect("the legacy stack starts");
    let env = stack.env();
    let anon = env["ANON_KEY"].clone();
    assert!(!env.contains_key("JWT_KEYS"));
    assert_eq!(role_at_rest(&stack, &[("apikey", &anon)]), (200, Some("anon".into())));
    let creds = r#"{"email":"legacy-user@example.com","password":"Correct0Horse"}"#;
    let (status, session) = call(&stack, "POST", "/auth/v1/signup", &[("apikey", &anon)], creds);
    assert_eq!(status, 200, "legacy signup: {session}");
    let access = session["access_token"].as_str().unwrap().to_owned();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(
        (header.alg, header.kid),
        (jsonwebtoken::Algorithm::HS256, None),
        "legacy sessions are HS256"
    );

    // setup moves it to asymmetric mode (no key it had changes) and recreates the stack.
    stack
        .sb
        .xtask(["setup", "--env", "dev", "--project-name", &stack.project, "--up"])
        .succeeds();
    let moved = stack.env();
    assert_eq!(moved["ANON_KEY"], anon);
    assert_eq!(moved["JWT_SECRET"], env["JWT_SECRET"]);
    assert!(moved["JWT_KEYS"].contains("\"sign\""));
    let publishable = moved["SUPABASE_PUBLISHABLE_KEY"].clone();
    assert_eq!(role_at_rest(&stack, &[("apikey", &anon)]), (200, Some("anon".into())));
    assert_eq!(
        role_at_rest(&stack, &[("apikey", &publishable)]),
        (200, Some("anon".into()))
    );
    // The HS256 session issued before the move still works everywhere.
    let bearer = format!("Bearer {access}");
    assert_eq!(
        role_at_rest(&stack, &[("apikey", &publishable), ("Authorization", &bearer)]),
        (200, Some("authenticated".into()))
    );
    let user = call(
        &stack,
        "GET",
        "/auth/v1/user",
        &[("apikey", &anon), ("Authorization", &bearer)],
        "",
    );
    assert_eq!(
        user.0, 200,
        "auth takes its own HS256 session by the secret: {}",
        user.1
    );
    assert_eq!(
        call(
            &stack,
            "POST",
            "/functions/v1/hello",
            &[("apikey", &anon), ("Authorization", &bearer)],
            ""
        )
        .0,
        200
    );
    // Its refresh token gives an ES256 session now.
    let token = session["refresh_token"].as_str().unwrap();
    let (status, refreshed) = call(
        &stack,
        "POST",
        "/auth/v1/token?grant_type=refresh_token",
        &[("apikey", &publishable)],
        &format!(r#"{{"refresh_token":"{token}"}}"#),
    );
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        python_verifies(&moved["JWT_JWKS"], refreshed["access_token"].as_str().unwrap()),
        "ok"
    );
}
