//! The gateway stand-in follows `kong.yml`: driven by the template's own file and by a
//! fixture with the layout of upstream Supabase's file, with the service stand-ins behind
//! its routes, it answers every cell of the client-probe table of `docs/verify.md`, in
//! both Kong dialects; and Kong's own rules (404 for no route, ACL groups, basic-auth,
//! strip_path, hide_credentials, request-termination, request-transformer) hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use stand_in_gateway::http::{Request, Response, UpstreamError};
use stand_in_gateway::kong::{Gateway, Upstream};
use stand_in_gateway::server::Handler;
use stand_in_gateway::services::{edge::EdgeRuntime, gotrue::GoTrue, postgrest::PostgRest};

const SECRET: &str = "Contract0Secret0With0At0Least0Thirty0Two0Chars";
const OLD_SECRET: &str = "Previous0Secret0With0At0Least0Thirty0Two0Chr";
const RANDOM_SECRET: &str = "Random0Secret0Nobody0Configured0Anywhere00x";
const DASHBOARD_USER: &str = "supabase";
const DASHBOARD_PASSWORD: &str = "Dashboard0Password0Contract";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mint(secret: &str, role: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({"role": role, "iss": "supabase", "iat": now, "exp": now + 5 * 365 * 86400});
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

/// The keys of the table's columns.
struct Keys {
    anon: String,
    service_role: String,
    stale: String,
    random: String,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            anon: mint(SECRET, "anon"),
            service_role: mint(SECRET, "service_role"),
            stale: mint(OLD_SECRET, "service_role"),
            random: mint(RANDOM_SECRET, "service_role"),
        }
    }

    /// The key of column `index` (0 anon, 1 service_role, 2 stale, 3 random, 4 none).
    fn column(&self, index: usize) -> Option<&str> {
        [
            Some(&self.anon),
            Some(&self.service_role),
            Some(&self.stale),
            Some(&self.random),
            None,
        ][index]
            .map(String::as_str)
    }
}

/// The services behind the routes, in process: the upstream hosts of `kong.yml`.
struct Services {
    by_host: BTreeMap<&'static str, Arc<dyn Handler>>,
    last: Mutex<Option<(String, Request)>>,
}

/// What an upstream without a stand-in answers: 200 and the request it got.
struct Echo;

impl Handler for Echo {
    fn handle(&self, request: &Request) -> Response {
        Response::json(200, &serde_json::json!({"path": request.path}))
    }
    fn health_path(&self) -> &str {
        "/"
    }
}

/// The in-process network: the upstream each gateway under test reaches.
struct Network(Arc<Services>);

impl Upstream for Network {
    fn send(&self, host: &str, _port: u16, request: &Request) -> Result<Response, UpstreamError> {
        *self.0.last.lock().unwrap() = Some((host.to_owned(), request.clone()));
        match self.0.by_host.get(host) {
            Some(handler) => Ok(handler.handle(request)),
            None => Err(UpstreamError::Resolve),
        }
    }
}

fn services() -> Arc<Services> {
    services_with(None)
}

/// The services, `jwks` (when given) as `PGRST_JWT_SECRET` and `SUPABASE_JWKS`.
fn services_with(jwks: Option<&str>) -> Arc<Services> {
    let state = std::env::temp_dir().join(format!(
        "contract-auth-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    let env = |name: &str| -> Option<String> {
        Some(match name {
            "PGRST_JWT_SECRET" | "SUPABASE_JWKS" if jwks.is_some() => jwks.unwrap().to_owned(),
            "GOTRUE_JWT_SECRET" | "PGRST_JWT_SECRET" | "JWT_SECRET" => SECRET.to_owned(),
            "STAND_IN_AUTH_STATE" => state.to_string_lossy().into_owned(),
            "GOTRUE_JWT_ADMIN_ROLES" => "service_role".to_owned(),
            "PGRST_DB_ANON_ROLE" => "anon".to_owned(),
            "VERIFY_JWT" => "true".to_owned(),
            _ => return None,
        })
    };
    let mut by_host: BTreeMap<&'static str, Arc<dyn Handler>> = BTreeMap::new();
    by_host.insert("auth", Arc::new(GoTrue::from_env(&env).unwrap()));
    by_host.insert("rest", Arc::new(PostgRest::from_env(&env).unwrap()));
    by_host.insert("functions", Arc::new(EdgeRuntime::from_env(&env).unwrap()));
    for host in ["studio", "meta", "storage", "realtime-dev.supabase-realtime"] {
        by_host.insert(host, Arc::new(Echo));
    }
    Arc::new(Services {
        by_host,
        last: Mutex::new(None),
    })
}

/// Which kong.yml, rendered how, worded as which Kong.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Template,
    Upstream,
}

/// Renders `template` with the project's own `volumes/api/kong-entrypoint.sh`, run by the
/// host's `sh` and `awk` with `env` as its whole environment. Only its two container
/// paths change: where it reads the template, and its final `exec` of Kong.
pub fn render(template: &Path, env: &[(&str, String)]) -> String {
    let script = std::fs::read_to_string(repo().join("docker/volumes/api/kong-entrypoint.sh")).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "contract-kong-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (read_from, exec) = (
        "template=/home/kong/kong.tmpl.yml\n",
        "exec /entrypoint.sh kong docker-start\n",
    );
    assert_eq!(
        script.matches(read_from).count(),
        1,
        "the entrypoint reads /home/kong/kong.tmpl.yml"
    );
    assert_eq!(
        script.matches(exec).count(),
        1,
        "the entrypoint execs Kong's /entrypoint.sh"
    );
    let script = script
        .replace(read_from, &format!("template='{}'\n", template.display()))
        .replace(exec, "exit 0\n");
    let out = dir.join("kong.yml");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("KONG_DECLARATIVE_CONFIG", &out)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .expect("sh runs the entrypoint");
    assert!(status.success(), "the entrypoint failed");
    let rendered = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    rendered
}

fn gateway(layout: Layout, version: &str, keys: &Keys) -> (Gateway, Arc<Services>) {
    let file = match layout {
        Layout::Template => repo().join("docker/volumes/api/kong.yml"),
        Layout::Upstream => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-kong.yml"),
    };
    // The kong service's environment, as the compose file sets it; no sb_ keys.
    let rendered = render(
        &file,
        &[
            ("SUPABASE_ANON_KEY", keys.anon.clone()),
            ("SUPABASE_SERVICE_KEY", keys.service_role.clone()),
            ("DASHBOARD_USERNAME", DASHBOARD_USER.to_owned()),
            ("DASHBOARD_PASSWORD", DASHBOARD_PASSWORD.to_owned()),
            ("SUPABASE_PUBLISHABLE_KEY", String::new()),
            ("SUPABASE_SECRET_KEY", String::new()),
        ],
    );
    let env = |name: &str| (name == "STAND_IN_KONG_VERSION").then(|| version.to_owned());
    let services = services();
    let gateway = stand_in_gateway::gateway_from_config(&rendered, &env, Box::new(Network(Arc::clone(&services))))
        .unwrap_or_else(|e| panic!("{layout:?}: {e}"));
    (gateway, services)
}

/// One row of the table: probe, method, path, whether `apikey` is always ANON_KEY, statuses.
struct Row {
    probe: String,
    method: String,
    target: String,
    apikey_is_anon: bool,
    statuses: [u16; 5],
}

fn table() -> Vec<Row> {
    let doc = std::fs::read_to_string(repo().join("docs/verify.md")).unwrap();
    let start = doc
        .find("<!-- probes:start -->")
        .expect("docs/verify.md has the probe table");
    let end = doc.find("<!-- probes:end -->").unwrap();
    let rows: Vec<Row> = doc[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let unquote = |s: &str| s.trim_matches('`').to_owned();
            let request = unquote(cells[1]);
            let (method, target) = request.split_once(' ').unwrap();
            let statuses: Vec<u16> = cells[4..9].iter().map(|c| c.parse().unwrap()).collect();
            Row {
                probe: unquote(cells[0]),
                method: method.to_owned(),
                target: target.to_owned(),
                apikey_is_anon: cells[2].starts_with("`apikey: ANON_KEY`"),
                statuses: statuses.try_into().unwrap(),
            }
        })
        .collect();
    assert_eq!(rows.len(), 5, "the probe table of docs/verify.md");
    rows
}

fn probe(row: &Row, keys: &Keys, key: Option<&str>) -> Request {
    let mut request = Request::new(&row.method, &row.target);
    let apikey = if row.apikey_is_anon {
        Some(keys.anon.as_str())
    } else {
        key
    };
    if let Some(apikey) = apikey {
        request = request.with_header("apikey", apikey);
    }
    if let Some(key) = key {
        request = request.with_header("Authorization", &format!("Bearer {key}"));
    }
    request
}

#[test]
fn every_cell_of_the_probe_table_holds_on_both_layouts_and_both_kong_versions() {
    let keys = Keys::new();
    let columns = [
        "ANON_KEY",
        "SERVICE_ROLE_KEY",
        "stale key",
        "random-secret key",
        "no key",
    ];
    let mut wrong = Vec::new();
    for layout in [Layout::Template, Layout::Upstream] {
        for version in ["2.8.1", "3.9.1"] {
            let (gateway, _) = gateway(layout, version, &keys);
            for row in table() {
                for (index, column) in columns.iter().enumerate() {
                    let answer = gateway.handle(&probe(&row, &keys, keys.column(index)));
                    if answer.status != row.statuses[index] {
                        wrong.push(format!(
                            "{layout:?} Kong {version}: {} with {column}: {} (table: {}) {}",
                            row.probe,
                            answer.status,
                            row.statuses[index],
                            String::from_utf8_lossy(&answer.body)
                        ));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn body(answer: &Response) -> serde_json::Value {
    answer.body_json()
}

#[test]
fn kong_refusals_carry_kong_wording() {
    let keys = Keys::new();
    for layout in [Layout::Template, Layout::Upstream] {
        let (kong2, _) = gateway(layout, "2.8.1", &keys);
        let (kong3, _) = gateway(layout, "3.9.1", &keys);
        let none = Request::new("GET", "/rest/v1/x");
        let answer = kong2.handle(&none);
        assert_eq!(
            body(&answer),
            serde_json::json!({"message": "No API key found in request"})
        );
        assert_eq!(answer.header("WWW-Authenticate"), Some("Key realm=\"kong\""));
        let forged = Request::new("GET", "/rest/v1/x").with_header("apikey", &keys.random);
        assert_eq!(
            body(&kong2.handle(&forged)),
            serde_json::json!({"message": "Invalid authentication credentials"})
        );
        let kong3_answer = body(&kong3.handle(&forged));
        assert_eq!(kong3_answer["message"], "Unauthorized");
        assert!(kong3_answer["request_id"].is_string());
        // The key may come as a query parameter too.
        let query = Request::new("GET", &format!("/auth/v1/health?apikey={}", keys.anon));
        assert_eq!(kong2.handle(&query).status, 200, "{layout:?}");
    }
}

#[test]
fn acl_groups_basic_auth_and_termination_follow_the_file() {
    let keys = Keys::new();
    for layout in [Layout::Template, Layout::Upstream] {
        let (kong, _) = gateway(layout, "2.8.1", &keys);
        let pg = |key: &str| kong.handle(&Request::new("GET", "/pg/tables").with_header("apikey", key));
        let refused = pg(&keys.anon);
        assert_eq!(
            (refused.status, body(&refused)),
            (403, serde_json::json!({"message": "You cannot consume this service"})),
            "{layout:?}"
        );
        assert_eq!(pg(&keys.service_role).status, 200, "{layout:?}");

        let dashboard = |auth: Option<String>| {
            let mut request = Request::new("GET", "/project/default");
            if let Some(auth) = auth {
                request = request.with_header("Authorization", &auth);
            }
            kong.handle(&request)
        };
        use base64::Engine;
        let basic = |pair: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
        let missing = dashboard(None);
        assert_eq!(
            (missing.status, missing.header("WWW-Authenticate")),
            (401, Some("Basic realm=\"kong\""))
        );
        assert_eq!(dashboard(Some(basic(&format!("{DASHBOARD_USER}:wrong")))).status, 401);
        assert_eq!(
            dashboard(Some(basic(&format!("{DASHBOARD_USER}:{DASHBOARD_PASSWORD}")))).status,
            200
        );
    }
    let (upstream, _) = gateway(Layout::Upstream, "3.9.1", &keys);
    let blocked =
        upstream.handle(&Request::new("GET", "/realtime/v1/api/tenants").with_header("apikey", &keys.service_role));
    assert_eq!(
        (blocked.status, body(&blocked)["message"].as_str()),
        (403, Some("Access is forbidden."))
    );
}

#[test]
fn routes_strip_their_prefix_and_hide_credentials_as_configured() {
    let keys = Keys::new();
    let get = |layout: Layout, path: &str| {
        let (kong, services) = gateway(layout, "2.8.1", &keys);
        let answer = kong.handle(
            &Request::new("GET", path)
                .with_header("apikey", &keys.anon)
                .with_header("Authorization", &format!("Bearer {}", keys.anon)),
        );
        let last = services.last.lock().unwrap().clone();
        (answer, last)
    };
    let (_, last) = get(Layout::Template, "/auth/v1/health");
    let (host, forwarded) = last.unwrap();
    assert_eq!((host.as_str(), forwarded.path.as_str()), ("auth", "/health"));
    assert_eq!(forwarded.header("X-Consumer-Username"), Some("anon"));
    assert!(forwarded.header("X-Consumer-Groups").is_none(), "hide_groups_header");
    // Both files set hide_credentials: false on rest: the key is passed on.
    let (_, last) = get(Layout::Template, "/rest/v1/items");
    assert_eq!(last.as_ref().unwrap().1.header("apikey"), Some(keys.anon.as_str()));
    assert_eq!(last.unwrap().1.path, "/items");
    let (_, last) = get(Layout::Upstream, "/rest/v1/items");
    assert_eq!(last.unwrap().1.header("apikey"), Some(keys.anon.as_str()));
    // graphql gets its Content-Profile; the open verify route needs no key.
    let (_, last) = get(Layout::Template, "/graphql/v1");
    let (_, graphql) = last.unwrap();
    assert_eq!(
        (graphql.path.as_str(), graphql.header("Content-Profile")),
        ("/rpc/graphql", Some("graphql_public"))
    );
    let (kong, services) = gateway(Layout::Template, "2.8.1", &keys);
    assert_eq!(kong.handle(&Request::new("GET", "/auth/v1/verify?token=x")).status, 400);
    assert_eq!(services.last.lock().unwrap().as_ref().unwrap().1.path, "/verify");
    // Upstream: an empty sb-api-key never reaches the functions.
    let (_, last) = get(Layout::Upstream, "/functions/v1/hello");
    assert_eq!(last.unwrap().1.header("sb-api-key"), None);
}

#[test]
fn a_path_no_route_matches_is_kong_404_and_an_unknown_host_is_503() {
    let services = services();
    let env = |name: &str| (name == "STAND_IN_KONG_VERSION").then(|| "2.8.1".to_owned());
    let file = "_format_version: '2.1'\nconsumers:\n  - username: anon\n    keyauth_credentials:\n      - key: k\nservices:\n  - name: rest\n    url: http://rest:3000/\n    routes:\n      - paths: [/rest/v1/]\n    plugins:\n      - name: key-auth\n        config:\n          hide_credentials: true\n  - name: gone\n    url: http://nowhere:1/\n    routes:\n      - paths: [/gone/]\n";
    let kong = stand_in_gateway::gateway_from_config(file, &env, Box::new(Network(Arc::clone(&services)))).unwrap();
    let answer = kong.handle(&Request::new("GET", "/auth/v1/health"));
    assert_eq!(
        (answer.status, body(&answer)),
        (
            404,
            serde_json::json!({"message": "no Route matched with those values"})
        )
    );
    assert_eq!(kong.handle(&Request::new("GET", "/gone/x")).status, 503);
    let answer = kong.handle(&Request::new("GET", "/rest/v1/x").with_header("apikey", "k"));
    assert_eq!(answer.status, 404, "PostgREST's own 404");
    let forwarded = services.last.lock().unwrap().clone().unwrap().1;
    assert_eq!(
        forwarded.header("apikey"),
        None,
        "hide_credentials: true keeps the key from the service"
    );
}

/// A P-256 key, its JWKS (with the `oct` key of `SECRET`) and the two asymmetric API keys
/// signed with it, all made by Python's `cryptography`: `(jwks, anon, service_role)`.
fn python_es256_keys(kid: &str) -> (String, String, String) {
    let program = r#"
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
kid, secret = sys.argv[1], sys.argv[2]
key = ec.generate_private_key(ec.SECP256R1())
numbers = key.public_key().public_numbers()
public = {"kty": "EC", "kid": kid, "use": "sig", "key_ops": ["verify"], "alg": "ES256", "ext": True,
          "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}
oct_key = {"kty": "oct", "k": b64(secret.encode()), "alg": "HS256"}
def mint(role):
    now = int(time.time())
    head = b64(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps({"role": role, "iss": "supabase", "iat": now, "exp": now + 3600}).encode())
    r, s = decode_dss_signature(key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
print(json.dumps({"jwks": json.dumps({"keys": [public, oct_key]}), "anon": mint("anon"), "service": mint("service_role")}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", program, kid, SECRET])
        .output()
        .expect("python3 runs (the tests need Python's cryptography)");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = |name: &str| made[name].as_str().unwrap().to_owned();
    (text("jwks"), text("anon"), text("service"))
}

const PUBLISHABLE: &str = "sb_publishable_Contract0Publish0Key0A_abcdEFGH";
const SECRET_KEY: &str = "sb_secret_Contract0Secret0Key00A_abcdEFGH"; // made up for the test: receptor-verify: allow
const STALE_SECRET_KEY: &str = "sb_secret_Contract0Stale00Key00A_abcdEFGH"; // made up for the test: receptor-verify: allow

#[test]
fn sb_keys_become_the_es256_key_of_their_role_as_the_projects_entrypoint_writes_it() {
    let keys = Keys::new();
    let (jwks, anon_es256, service_es256) = python_es256_keys("contract-kid");
    let rendered = render(
        &repo().join("docker/volumes/api/kong.yml"),
        &[
            ("SUPABASE_ANON_KEY", keys.anon.clone()),
            ("SUPABASE_SERVICE_KEY", keys.service_role.clone()),
            ("DASHBOARD_USERNAME", DASHBOARD_USER.to_owned()),
            ("DASHBOARD_PASSWORD", DASHBOARD_PASSWORD.to_owned()),
            ("SUPABASE_PUBLISHABLE_KEY", PUBLISHABLE.to_owned()),
            ("SUPABASE_SECRET_KEY", SECRET_KEY.to_owned()),
            ("ANON_KEY_ASYMMETRIC", anon_es256.clone()),
            ("SERVICE_ROLE_KEY_ASYMMETRIC", service_es256.clone()),
        ],
    );
    let services = services_with(Some(&jwks));
    let env = |name: &str| (name == "STAND_IN_KONG_VERSION").then(|| "3.9.1".to_owned());
    let kong =
        stand_in_gateway::gateway_from_config(&rendered, &env, Box::new(Network(Arc::clone(&services)))).unwrap();
    let role_at_rest = |apikey: &str, auth: Option<&str>| {
        let mut request = Request::new("GET", "/rest/v1/").with_header("apikey", apikey);
        if let Some(auth) = auth {
            request = request.with_header("Authorization", auth);
        }
        let answer = kong.handle(&request);
        (answer.status, answer.body_json()["x-role"].as_str().map(str::to_owned))
    };
    assert_eq!(role_at_rest(PUBLISHABLE, None), (200, Some("anon".into())));
    assert_eq!(role_at_rest(SECRET_KEY, None), (200, Some("service_role".into())));
    let forwarded = services.last.lock().unwrap().clone().unwrap().1;
    assert_eq!(
        forwarded.header("authorization"),
        Some(format!("Bearer {service_es256}").as_str())
    );
    // `Bearer sb_…` is no session: the apikey decides.
    let bearer_sb = format!("Bearer {PUBLISHABLE}");
    assert_eq!(
        role_at_rest(SECRET_KEY, Some(&bearer_sb)),
        (200, Some("service_role".into()))
    );
    // A legacy key, and a session next to an sb_ key, pass as they are.
    assert_eq!(role_at_rest(&keys.anon, None), (200, Some("anon".into())));
    let user = mint(SECRET, "authenticated");
    assert_eq!(
        role_at_rest(PUBLISHABLE, Some(&format!("Bearer {user}"))),
        (200, Some("authenticated".into()))
    );
    // A well-formed sb_ key that is not the configured one: Kong's 401.
    assert_eq!(role_at_rest(STALE_SECRET_KEY, None).0, 401);

    let function = |apikey: &str| {
        let answer = kong.handle(&Request::new("POST", "/functions/v1/hello").with_header("apikey", apikey));
        let forwarded = services.last.lock().unwrap().clone().unwrap().1;
        (answer.status, forwarded.header("sb-api-key").map(str::to_owned))
    };
    assert_eq!(function(SECRET_KEY), (200, Some(service_es256)));
    assert_eq!(function(PUBLISHABLE), (200, Some(anon_es256)));
    // A legacy key: no sb-api-key, and no Authorization either, so the function refuses.
    assert_eq!(function(&keys.anon), (401, None));
}

/// A value that could leave its Lua string (a quote) or its line (a newline) stops the
/// project's entrypoint before it renders anything, naming the variable, never the value.
#[test]
fn the_entrypoint_refuses_a_key_that_could_break_out_of_its_lua_string() {
    let script = std::fs::read_to_string(repo().join("docker/volumes/api/kong-entrypoint.sh")).unwrap();
    let dir = std::env::temp_dir().join(format!("contract-kong-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("kong.yml");
    for hostile in [
        "sb_secret_Canary0' or true or '",
        "sb_secret_Canary0\nline",
        "sb_secret_Canary0\\x",
    ] {
        let run = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("KONG_DECLARATIVE_CONFIG", &out)
            .env("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_Fine0Key_abcdEFGH")
            .env("SUPABASE_SECRET_KEY", hostile)
            .output()
            .expect("sh runs the entrypoint");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{hostile:?}: {stderr}");
        assert!(
            stderr.contains("SUPABASE_SECRET_KEY holds a character outside base64url"),
            "{stderr}"
        );
        assert!(!stderr.contains("Canary0") && !String::from_utf8_lossy(&run.stdout).contains("Canary0"));
        assert!(!out.exists(), "nothing rendered for {hostile:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
