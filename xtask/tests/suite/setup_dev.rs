//! `cargo xtask setup --env dev`, driven as a contributor would run it.

use crate::common;

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;

use common::{Sandbox, parse_env};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

const TIER1_GENERATED: &[(&str, usize)] = &[
    ("POSTGRES_PASSWORD", 32),
    ("JWT_SECRET", 40),
    ("DASHBOARD_PASSWORD", 32),
    ("SECRET_KEY_BASE", 64),
    ("VAULT_ENC_KEY", 32),
    ("REALTIME_DB_ENC_KEY", 16),
    ("PG_META_CRYPTO_KEY", 32),
    ("LOGFLARE_PUBLIC_ACCESS_TOKEN", 32),
    ("LOGFLARE_PRIVATE_ACCESS_TOKEN", 32),
    ("S3_PROTOCOL_ACCESS_KEY_ID", 32),
    ("S3_PROTOCOL_ACCESS_KEY_SECRET", 64),
];

fn role_of(token: &str, secret: &str) -> Option<serde_json::Value> {
    let key = DecodingKey::from_secret(secret.as_bytes()).ok()?;
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &Validation::new(Algorithm::HS256)).ok()?;
    Some(data.claims)
}

#[test]
fn a_fresh_setup_generates_every_infrastructure_secret_privately() {
    let sb = Sandbox::new();
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    let env = sb.env_values("receptor-dev");
    for (name, len) in TIER1_GENERATED {
        let value = &env[*name];
        assert_eq!(value.len(), *len, "{name}");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
    }
    assert_ne!(
        env["LOGFLARE_PUBLIC_ACCESS_TOKEN"],
        env["LOGFLARE_PRIVATE_ACCESS_TOKEN"]
    );
    for (key, role) in [("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")] {
        let claims = role_of(&env[key], &env["JWT_SECRET"]).unwrap_or_else(|| panic!("{key} does not verify"));
        assert_eq!(claims["role"], role);
        assert_eq!(claims["iss"], "supabase");
        let years = (claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap()) / (365 * 24 * 3600);
        assert_eq!(years, 5);
    }
    for tier2 in [
        "OPENAI_API_KEY",
        "SMTP_PASS",
        "CLOUDFLARED_TOKEN",
        "SMS_TWILIO_AUTH_TOKEN",
    ] {
        assert_eq!(env[tier2], "", "{tier2} is never generated");
    }
    assert_eq!(sb.mode("receptor-dev/.env"), 0o600);
    assert_eq!(sb.mode("receptor-dev"), 0o700);
    out.stdout_has("VARIABLE")
        .stdout_has("generated")
        .stdout_has("minted")
        .stdout_has("left empty");
    let values: Vec<&str> = env.values().map(String::as_str).filter(|v| v.len() >= 16).collect();
    out.never_shows(&values);
}

#[test]
fn a_second_run_changes_nothing_and_says_so() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let first = sb.read("receptor-dev/.env");
    sb.xtask(["setup", "--env", "dev"]).succeeds().stdout_has("no changes");
    assert_eq!(sb.read("receptor-dev/.env"), first);
    assert!(
        !sb.path("receptor-dev/backups").exists(),
        "nothing changed, so nothing was backed up"
    );
}

#[test]
fn real_values_are_kept_defaults_replaced_and_the_old_file_backed_up() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let mut text = sb.read("receptor-dev/.env");
    let env = parse_env(&text);
    let custom_pg = "KeepMePostgres1234567890";
    text = text.replace(
        &format!("POSTGRES_PASSWORD={}", env["POSTGRES_PASSWORD"]),
        &format!("POSTGRES_PASSWORD={custom_pg}"),
    );
    text = text.replace(
        &format!("JWT_SECRET={}", env["JWT_SECRET"]),
        "JWT_SECRET=your-super-secret-jwt-token-with-at-least-32-characters-long",
    );
    text = text.replace(&format!("VAULT_ENC_KEY={}", env["VAULT_ENC_KEY"]), "VAULT_ENC_KEY=");
    text.push_str("# a comment of mine\n");
    sb.write("receptor-dev/.env", &text);

    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    out.stdout_has("replaced default")
        .stdout_has("re-minted")
        .stdout_has("backed up");
    let after = sb.env_values("receptor-dev");
    assert_eq!(after["POSTGRES_PASSWORD"], custom_pg);
    assert_ne!(
        after["JWT_SECRET"],
        "your-super-secret-jwt-token-with-at-least-32-characters-long"
    );
    assert_eq!(after["VAULT_ENC_KEY"].len(), 32);
    assert!(
        role_of(&after["ANON_KEY"], &after["JWT_SECRET"]).is_some(),
        "keys follow the new JWT_SECRET"
    );
    assert_eq!(after["SECRET_KEY_BASE"], env["SECRET_KEY_BASE"]);
    assert!(sb.read("receptor-dev/.env").ends_with("# a comment of mine\n"));

    let backups: Vec<_> = fs::read_dir(sb.path("receptor-dev/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        fs::read_to_string(&backups[0]).unwrap(),
        text,
        "the backup is the file as it was"
    );
    assert_eq!(fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777, 0o600);
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn keys_signed_with_another_secret_or_swapped_are_reminted_and_good_ones_kept() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let env = sb.env_values("receptor-dev");
    let text = sb.read("receptor-dev/.env");
    // Swap the two keys: each then has the wrong role.
    let swapped = text
        .replace(&env["ANON_KEY"], "@@ANON@@")
        .replace(&env["SERVICE_ROLE_KEY"], &env["ANON_KEY"])
        .replace("@@ANON@@", &env["SERVICE_ROLE_KEY"]);
    sb.write("receptor-dev/.env", &swapped);
    sb.xtask(["setup", "--env", "dev"]).succeeds().stdout_has("re-minted");
    let after = sb.env_values("receptor-dev");
    assert_eq!(
        role_of(&after["ANON_KEY"], &after["JWT_SECRET"]).unwrap()["role"],
        "anon"
    );
    assert_eq!(
        role_of(&after["SERVICE_ROLE_KEY"], &after["JWT_SECRET"]).unwrap()["role"],
        "service_role"
    );
    assert_eq!(after["JWT_SECRET"], env["JWT_SECRET"]);
}

/// Each bad `.env` gets a one-line error naming the file and line, exit 2,
/// and every file stays as it was.
#[test]
fn bad_env_files_are_refused_with_file_and_line_and_left_untouched() {
    let cases: &[(&str, &str, &str)] = &[
        ("A=1\nJWT_SECRET=x\nA=2\n", ".env:3:", "A is set again"),
        ("A=1\nNO_EQUALS_SIGN\n", ".env:2:", "has no `=`"),
        ("A=1\nB=\"never closed\nC=3\n", ".env:2:", "quote"),
        ("A=1\r\nB=2\r\n", ".env:1:", "CRLF"),
        ("A=1\nB=price$5\n", ".env:2:", "`$`"),
        ("A=1\nB=two\twords\n", ".env:2:", "tab"),
        ("B=a#b\n", ".env:1:", "`#`"),
    ];
    for (text, location, problem) in cases {
        let sb = Sandbox::new();
        sb.write("receptor-dev/.env", text);
        let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
        let line = out.one_line_error();
        assert!(line.contains(location), "{text:?}: {line}");
        assert!(line.contains(problem), "{text:?}: {line}");
        assert_eq!(sb.read("receptor-dev/.env"), *text, "{text:?} was changed");
        assert!(!sb.path("receptor-dev/backups").exists());
    }
}

#[test]
fn a_weak_value_is_refused_by_name_and_line_without_echoing_it() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let env = sb.env_values("receptor-dev");
    let weak = "abcdefabcdefabcdefabcdefabcdefa"; // 31 characters
    let text = sb.read("receptor-dev/.env").replace(&env["VAULT_ENC_KEY"], weak);
    sb.write("receptor-dev/.env", &text);
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    let line = out.one_line_error().to_string();
    let number = text.lines().position(|l| l.starts_with("VAULT_ENC_KEY=")).unwrap() + 1;
    assert!(
        line.contains(&format!(
            ".env:{number}: VAULT_ENC_KEY must be exactly 32 characters (has 31)"
        )),
        "{line}"
    );
    assert!(line.contains("cargo xtask rotate VAULT_ENC_KEY"), "{line}");
    out.never_shows(&[weak]);
    assert_eq!(sb.read("receptor-dev/.env"), text);
}

#[test]
fn a_symlinked_env_is_refused_and_its_target_untouched() {
    let sb = Sandbox::new();
    sb.write("elsewhere.env", "A=1\n");
    fs::create_dir_all(sb.path("receptor-dev")).unwrap();
    symlink(sb.path("elsewhere.env"), sb.path("receptor-dev/.env")).unwrap();
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(5);
    assert!(out.one_line_error().contains("receptor-dev/.env: is a symbolic link"));
    assert_eq!(sb.read("elsewhere.env"), "A=1\n");
    assert!(
        fs::symlink_metadata(sb.path("receptor-dev/.env"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn project_names_that_are_not_plain_folder_names_are_refused() {
    for bad in ["../escape", "a/b", "/tmp/abs", "..", ".hidden"] {
        let sb = Sandbox::new();
        let out = sb.xtask(["setup", "--env", "dev", "--project-name", bad]).fails_with(2);
        assert!(out.one_line_error().contains("is not a plain folder name"), "{bad}");
        let entries: Vec<_> = fs::read_dir(&sb.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries.len(),
            2,
            "{bad}: nothing but docker/ and setup.conf: {entries:?}"
        );
    }
}

#[test]
fn a_project_folder_of_any_name_is_never_staged_by_git() {
    let sb = Sandbox::new();
    let git = |args: &[&str]| common::git(&sb.root, args);
    git(&["init", "-q"]);
    sb.xtask(["setup", "--env", "dev", "--project-name", "my-stack"])
        .succeeds();
    git(&["add", "-A"]);
    let staged = git(&["diff", "--cached", "--name-only"]);
    assert!(!staged.contains("my-stack"), "staged:\n{staged}");
    assert!(
        staged.contains("setup.conf"),
        "the rest of the tree is staged as usual:\n{staged}"
    );
}

#[test]
fn an_unwritable_project_folder_fails_cleanly_and_leaves_the_env_as_it_was() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let text = sb
        .read("receptor-dev/.env")
        .replace(&sb.env_values("receptor-dev")["JWT_SECRET"], "");
    sb.write("receptor-dev/.env", &text);
    // Tests run as root, which ignores mode bits: the immutable attribute stops root too.
    let status = Command::new("chattr")
        .arg("+i")
        .arg(sb.path("receptor-dev"))
        .status()
        .expect("chattr (e2fsprogs) is installed");
    assert!(
        status.success(),
        "chattr +i failed: this file system must support the immutable attribute"
    );
    let out = sb.xtask(["setup", "--env", "dev"]).output();
    Command::new("chattr")
        .arg("-i")
        .arg(sb.path("receptor-dev"))
        .status()
        .unwrap();
    assert_eq!(out.code, 5, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.lines().count() == 1 && out.stderr.contains("receptor-dev"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.read("receptor-dev/.env"), text);
}

#[test]
fn the_generated_project_is_accepted_by_docker_compose() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let dir = sb.path("receptor-dev");
    let out = Command::new("docker")
        .args(["compose", "--project-directory"])
        .arg(&dir)
        .arg("--env-file")
        .arg(dir.join(".env"))
        .arg("-f")
        .arg(dir.join("docker-compose.yml"))
        .args(["config", "-q"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .output()
        .expect("docker CLI must be installed for this test (.ci/run installs Compose v2+)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "docker compose config -q failed (is the Compose v2+ plugin installed?): {stderr}"
    );
    assert!(
        !stderr.contains("not set"),
        "compose warns about unset variables: {stderr}"
    );
}

#[test]
fn the_old_setup_script_runs_cargo_xtask_setup() {
    let out = Command::new(common::repo().join("utils/setup.sh"))
        .arg("--help")
        .output()
        .expect("utils/setup.sh runs (bash and cargo are installed)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Usage: cargo xtask setup"), "{stdout}");
}

#[test]
fn a_project_name_the_repository_tracks_is_refused() {
    let sb = Sandbox::git_repo();
    for name in ["docker", "setup.conf"] {
        let out = sb
            .xtask(["setup", "--env", "dev", "--project-name", name])
            .fails_with(2);
        assert!(
            out.one_line_error()
                .contains(&format!("project name {name} is tracked by this repository")),
            "{}",
            out.stderr
        );
    }
    assert!(
        !sb.path("docker/.gitignore").exists(),
        "no .gitignore of `*` in a tracked folder"
    );
    assert!(!sb.path("docker/.env").exists());
    assert_eq!(
        sb.git(&["status", "--porcelain"]),
        "",
        "nothing changed in the work tree"
    );
    sb.xtask(["setup", "--env", "dev", "--project-name", "receptor-other"])
        .succeeds();
}

const MODEL: &[&str] = &[
    "SUPABASE_PUBLISHABLE_KEY",
    "SUPABASE_SECRET_KEY",
    "JWT_KEYS",
    "JWT_JWKS",
    "ANON_KEY_ASYMMETRIC",
    "SERVICE_ROLE_KEY_ASYMMETRIC",
];

/// `key`'s value in `project`'s `.env` replaced by `value` (mode kept 0600).
fn set_value(sb: &Sandbox, key: &str, value: &str) {
    let path = "receptor-dev/.env";
    let text = sb.read(path);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap()
        .to_string();
    sb.write(path, &text.replacen(&line, &format!("{key}={value}"), 1));
    fs::set_permissions(sb.path(path), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
fn the_new_key_model_passes_an_independent_implementation() {
    let sb = Sandbox::new();
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    let values = sb.env_values("receptor-dev");
    for name in MODEL {
        assert!(!values[*name].is_empty(), "{name} is set");
    }
    out.never_shows(&MODEL.iter().map(|n| values[*n].as_str()).collect::<Vec<_>>());
    common::independent::check_key_model(&values);
}

#[test]
fn a_legacy_project_moves_to_asymmetric_mode_keeping_every_key_it_had() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    // A project made before the new key model: none of its values, the rest as they were.
    for name in MODEL {
        set_value(&sb, name, "");
    }
    let legacy = sb.env_values("receptor-dev");
    // ... laid out from the older template, whose auth did not read JWT_KEYS.
    let compose = sb.read("receptor-dev/docker-compose.yml");
    let old_compose: String = compose
        .lines()
        .filter(|l| !l.contains("GOTRUE_JWT_KEYS"))
        .map(|l| format!("{l}\n"))
        .collect();
    sb.write("receptor-dev/docker-compose.yml", &old_compose);
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    out.stdout_has("differ from the stack template: docker-compose.yml;");
    assert_eq!(
        sb.read("receptor-dev/docker-compose.yml"),
        old_compose,
        "never overwritten"
    );
    sb.write("receptor-dev/docker-compose.yml", &compose);
    let after = sb.env_values("receptor-dev");
    for (name, value) in &legacy {
        if !MODEL.contains(&name.as_str()) {
            assert_eq!(&after[name], value, "{name} is kept");
        }
    }
    out.stdout_has("backed up the previous .env");
    // Clients holding the legacy keys keep working: ANON_KEY and SERVICE_ROLE_KEY verify
    // under the oct key of JWT_JWKS, which PostgREST, Storage and Realtime now read.
    common::independent::check_key_model(&after);
    sb.xtask(["verify", "--env", "dev", "--strict"]).succeeds();
}

#[test]
fn a_replaced_jwt_secret_rebuilds_the_oct_keys_and_keeps_the_signing_key() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let before = sb.env_values("receptor-dev");
    set_value(
        &sb,
        "JWT_SECRET",
        xtask::secrets::defaults::KNOWN_DEFAULT_JWT_SECRETS[0],
    );
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    let after = sb.env_values("receptor-dev");
    assert_ne!(after["JWT_SECRET"], before["JWT_SECRET"]);
    let rows: Vec<&str> = out.stdout.lines().collect();
    for (name, action) in [
        ("JWT_KEYS", "rebuilt"),
        ("JWT_JWKS", "rebuilt"),
        ("ANON_KEY_ASYMMETRIC", "kept"),
    ] {
        assert!(
            rows.iter().any(|l| l.starts_with(name) && l.contains(action)),
            "{name} {action}:\n{}",
            out.stdout
        );
    }
    let ec = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()[0].clone();
    assert_eq!(
        ec(&after["JWT_KEYS"]),
        ec(&before["JWT_KEYS"]),
        "the signing key is kept"
    );
    assert_eq!(after["ANON_KEY_ASYMMETRIC"], before["ANON_KEY_ASYMMETRIC"]);
    common::independent::check_key_model(&after);
}

#[test]
fn a_broken_signing_set_is_refused_by_name_and_line_without_echoing_it() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let keys = sb.env_values("receptor-dev")["JWT_KEYS"].clone();
    let mut set: Vec<serde_json::Value> = serde_json::from_str(&keys).unwrap();
    let second = set[0].clone();
    set.push(second);
    let twice = serde_json::to_string(&set).unwrap();
    set_value(&sb, "JWT_KEYS", &format!("'{twice}'"));
    let text = sb.read("receptor-dev/.env");
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    let line = out.one_line_error();
    assert!(
        line.contains("receptor-dev/.env:") && line.contains("JWT_KEYS"),
        "{line}"
    );
    assert!(line.contains("2 keys with key_ops sign"), "{line}");
    out.never_shows(&[&twice, set[0]["d"].as_str().unwrap()]);
    assert_eq!(sb.read("receptor-dev/.env"), text, "left as it was");
}

/// Kong's entrypoint, run by `sh` on this machine with the template of a
/// fresh project: an sb_ key is swapped for the ES256 JWT of its role, the
/// legacy keys stay accepted, and without sb_ keys no empty credential is left.
#[test]
fn the_kong_entrypoint_swaps_sb_keys_and_keeps_the_legacy_ones() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let values = sb.env_values("receptor-dev");
    let dir = sb.path("receptor-dev/volumes/api");
    let script = fs::read_to_string(dir.join("kong-entrypoint.sh")).unwrap();
    // The container's paths and Kong itself, replaced for this machine.
    let local = script
        .replace("/home/kong/kong.tmpl.yml", &dir.join("kong.yml").display().to_string())
        .replace("exec /entrypoint.sh kong docker-start", "exit 0");
    let render = |with_sb_keys: bool| {
        let out_file = dir.join(format!("rendered-{with_sb_keys}.yml"));
        let mut command = Command::new("sh");
        command
            .args(["-c", &local])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("KONG_DECLARATIVE_CONFIG", &out_file)
            .env("SUPABASE_ANON_KEY", &values["ANON_KEY"])
            .env("SUPABASE_SERVICE_KEY", &values["SERVICE_ROLE_KEY"])
            .env("DASHBOARD_USERNAME", "supabase")
            .env("DASHBOARD_PASSWORD", &values["DASHBOARD_PASSWORD"]);
        // As the compose file passes them outside an overlap: set, and empty.
        for var in [
            "SUPABASE_ANON_KEY_PREVIOUS",
            "SUPABASE_SERVICE_KEY_PREVIOUS",
            "SUPABASE_PUBLISHABLE_KEY_PREVIOUS",
            "SUPABASE_SECRET_KEY_PREVIOUS",
        ] {
            command.env(var, "");
        }
        if with_sb_keys {
            for (var, name) in [
                ("SUPABASE_PUBLISHABLE_KEY", "SUPABASE_PUBLISHABLE_KEY"),
                ("SUPABASE_SECRET_KEY", "SUPABASE_SECRET_KEY"),
                ("ANON_KEY_ASYMMETRIC", "ANON_KEY_ASYMMETRIC"),
                ("SERVICE_ROLE_KEY_ASYMMETRIC", "SERVICE_ROLE_KEY_ASYMMETRIC"),
            ] {
                command.env(var, &values[name]);
            }
        }
        let status = command.status().unwrap();
        assert!(status.success());
        fs::read_to_string(out_file).unwrap()
    };
    let full = render(true);
    for name in [
        "ANON_KEY",
        "SERVICE_ROLE_KEY",
        "SUPABASE_PUBLISHABLE_KEY",
        "SUPABASE_SECRET_KEY",
    ] {
        assert!(
            full.contains(&format!("- key: {}\n", values[name])),
            "{name} is a credential"
        );
    }
    let swap = format!(
        "headers.apikey == '{}' and 'Bearer {}'",
        values["SUPABASE_SECRET_KEY"], values["SERVICE_ROLE_KEY_ASYMMETRIC"]
    );
    assert!(
        full.contains(&swap),
        "the secret key becomes the service_role ES256 JWT"
    );
    let anon_swap = format!(
        "headers.apikey == '{}' and 'Bearer {}'",
        values["SUPABASE_PUBLISHABLE_KEY"], values["ANON_KEY_ASYMMETRIC"]
    );
    assert!(full.contains(&anon_swap));
    assert!(
        !full.contains("$LUA_") && !full.contains("$SUPABASE_"),
        "every placeholder is filled"
    );
    let legacy = render(false);
    assert!(!legacy.lines().any(|l| l.trim() == "- key:"), "no empty credential");
    assert!(legacy.contains(&format!("- key: {}\n", values["ANON_KEY"])));
    assert!(
        legacy.contains("or headers.apikey)") && !legacy.contains("headers.apikey == '"),
        "no swap without sb_ keys"
    );
}

/// What `cargo xtask rotate` recreates for each new key, read from the
/// project's compose file by the real Compose, as rotate reads it.
#[test]
fn each_new_key_is_read_by_the_services_upstream_wires_it_to() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let dir = sb.path("receptor-dev");
    let env = xtask::envfile::EnvFile::load(&dir.join(".env")).unwrap();
    let conf = xtask::config::SetupConf::default();
    let compose =
        xtask::compose::Compose::new("receptor-dev", &dir, xtask::compose::Redactor::of([&env], &conf)).unwrap();
    let consumers = compose.consumers().expect("docker compose config reads the project");
    for (name, services) in [
        ("SUPABASE_SECRET_KEY", &["functions", "kong", "studio"][..]),
        ("SUPABASE_PUBLISHABLE_KEY", &["functions", "kong", "studio"]),
        ("ANON_KEY_ASYMMETRIC", &["kong"]),
        ("SERVICE_ROLE_KEY_ASYMMETRIC", &["kong"]),
        ("JWT_KEYS", &["auth"]),
        ("JWT_JWKS", &["functions", "realtime", "rest", "storage"]),
    ] {
        assert_eq!(consumers.services_reading([name]), services, "{name}");
    }
}
