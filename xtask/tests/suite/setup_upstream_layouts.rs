//! `setup --upstream` on stacks shaped like Supabase's real `docker/` folder:
//! the layout at the ref `setup.conf` pins and the newest one, rebuilt here
//! from upstream's published facts (unquoted values with spaces, published
//! placeholders, Realtime's hard-coded `DB_ENC_KEY`, the s3 overlay) and
//! served from a local bare repository with the real git. The project is
//! then checked with the real Docker Compose and with `verify`.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::Sandbox;

/// The published `JWT_SECRET` of upstream's `.env.example`.
const DEFAULT_JWT_SECRET: &str = "your-super-secret-jwt-token-with-at-least-32-characters-long";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=master",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git must be installed for this test");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An HS256 API key for `role`, signed with `secret` (the demo keys of
/// `.env.example` are signed with the published secret, `iss` supabase-demo).
fn api_key(role: &str, secret: &str, iss: &str) -> String {
    let claims = serde_json::json!({ "role": role, "iss": iss, "iat": 1_641_769_200u64, "exp": 4_102_444_800u64 });
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `docker/` at the ref `setup.conf` pins (f813858).
    Pinned,
    /// The newest layout: more secrets, MinIO's password in `.env`.
    Newest,
}

fn env_example(layout: Layout) -> String {
    let anon = api_key("anon", DEFAULT_JWT_SECRET, "supabase-demo");
    let service = api_key("service_role", DEFAULT_JWT_SECRET, "supabase-demo");
    let mut text = format!(
        "############\n# Secrets\n# YOU MUST CHANGE THESE BEFORE GOING INTO PRODUCTION\n############\n\n\
POSTGRES_PASSWORD=your-super-secret-and-long-postgres-password\n\
JWT_SECRET={DEFAULT_JWT_SECRET}\n\
ANON_KEY={anon}\n\
SERVICE_ROLE_KEY={service}\n\
DASHBOARD_USERNAME=supabase\n\
DASHBOARD_PASSWORD=this_password_is_insecure_and_should_be_updated\n\
SECRET_KEY_BASE=UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq\n"
    );
    match layout {
        Layout::Pinned => text.push_str("VAULT_ENC_KEY=your-encryption-key-32-chars-min\n"),
        Layout::Newest => text.push_str(
            "VAULT_ENC_KEY=your-32-character-encryption-key\n\
# Used by Studio to access Postgres via postgres-meta\n\
PG_META_CRYPTO_KEY=your-encryption-key-32-chars-min\n\
LOGFLARE_PUBLIC_ACCESS_TOKEN=your-super-secret-and-long-logflare-key-public\n\
LOGFLARE_PRIVATE_ACCESS_TOKEN=your-super-secret-and-long-logflare-key-private\n\
S3_PROTOCOL_ACCESS_KEY_ID=625729a08b95bf1b7ff351a663f3a23c\n\
S3_PROTOCOL_ACCESS_KEY_SECRET=850181e4652dd023b7a98c58ae0d2d34bd487ee0cc3254aed6eda37307425907\n",
        ),
    }
    text.push_str(
        "\n############\n# Database\n############\n\nPOSTGRES_HOST=db\nPOSTGRES_DB=postgres\nPOSTGRES_PORT=5432\n# default user is postgres\n\n\
# Supavisor\nPOOLER_PROXY_PORT_TRANSACTION=6543\nPOOLER_DEFAULT_POOL_SIZE=20\n# Unique tenant identifier\nPOOLER_TENANT_ID=your-tenant-id\n\n\
KONG_HTTP_PORT=8000\nKONG_HTTPS_PORT=8443\nPGRST_DB_SCHEMAS=public,storage,graphql_public\n\n\
## General\nSITE_URL=http://localhost:3000\nADDITIONAL_REDIRECT_URLS=\nJWT_EXPIRY=3600\nAPI_EXTERNAL_URL=http://localhost:8000\n\n\
## Mailer Config\nMAILER_URLPATHS_CONFIRMATION=\"/auth/v1/verify\"\n\n\
## Email auth\nENABLE_EMAIL_AUTOCONFIRM=false\nSMTP_HOST=supabase-mail\nSMTP_USER=fake_mail_user\nSMTP_PASS=fake_mail_password\nSMTP_SENDER_NAME=fake_sender\n\n\
STUDIO_DEFAULT_ORGANIZATION=Default Organization\nSTUDIO_DEFAULT_PROJECT=Default Project\n\
SUPABASE_PUBLIC_URL=http://localhost:8000\n",
    );
    match layout {
        Layout::Pinned => text.push_str(
            "\n# Add your OpenAI API key to enable SQL Editor Assistant\nOPENAI_API_KEY=\n\n\
# these cannot be the same value\n\
LOGFLARE_PUBLIC_ACCESS_TOKEN=your-super-secret-and-long-logflare-key-public\n\
LOGFLARE_PRIVATE_ACCESS_TOKEN=your-super-secret-and-long-logflare-key-private\n",
        ),
        Layout::Newest => text.push_str(
            "\n# Add your OpenAI API key to enable AI Assistant\nOPENAI_API_KEY=sk-proj-xxxxxxxx\n\n\
# S3 bucket when using S3 backend, directory name when using 'file'\nGLOBAL_S3_BUCKET=stub\nREGION=stub\n\
# Used by MinIO when added via:\n# docker compose -f docker-compose.yml -f docker-compose.s3.yml up -d\n\
MINIO_ROOT_USER=supa-storage\nMINIO_ROOT_PASSWORD=secret1234\nSTORAGE_TENANT_ID=stub\n",
        ),
    }
    text.push_str("\nDOCKER_SOCKET_LOCATION=/var/run/docker.sock\nGOOGLE_PROJECT_ID=GOOGLE_PROJECT_ID\n");
    text
}

fn compose_file(layout: Layout) -> String {
    let newest = layout == Layout::Newest;
    let only_newest = |line: &str| if newest { format!("{line}\n") } else { String::new() };
    COMPOSE
        .replace("@STUDIO_KEY@\n", &only_newest("      PG_META_CRYPTO_KEY: ${PG_META_CRYPTO_KEY}"))
        .replace("@META_KEY@\n", &only_newest("      CRYPTO_KEY: ${PG_META_CRYPTO_KEY}"))
        .replace(
            "@STORAGE_S3@\n",
            &only_newest(
                "      S3_PROTOCOL_ACCESS_KEY_ID: ${S3_PROTOCOL_ACCESS_KEY_ID}\n      S3_PROTOCOL_ACCESS_KEY_SECRET: ${S3_PROTOCOL_ACCESS_KEY_SECRET}",
            ),
        )
}

/// Upstream's compose file, cut down to what reads the secrets.
const COMPOSE: &str = r#"# Usage
#   Start:              docker compose up

name: supabase

services:

  studio:
    image: upstream/studio:1
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
@STUDIO_KEY@
      DEFAULT_ORGANIZATION_NAME: ${STUDIO_DEFAULT_ORGANIZATION}
      DEFAULT_PROJECT_NAME: ${STUDIO_DEFAULT_PROJECT}
      OPENAI_API_KEY: ${OPENAI_API_KEY:-}
      SUPABASE_ANON_KEY: ${ANON_KEY}
      SUPABASE_SERVICE_KEY: ${SERVICE_ROLE_KEY}
      AUTH_JWT_SECRET: ${JWT_SECRET}
      LOGFLARE_PRIVATE_ACCESS_TOKEN: ${LOGFLARE_PRIVATE_ACCESS_TOKEN}

  kong:
    image: upstream/kong:1
    ports:
      - ${KONG_HTTP_PORT}:8000/tcp
    volumes:
      - ./volumes/api/kong.yml:/home/kong/temp.yml:ro,z
    environment:
      KONG_DATABASE: "off"
      SUPABASE_ANON_KEY: ${ANON_KEY}
      SUPABASE_SERVICE_KEY: ${SERVICE_ROLE_KEY}
      DASHBOARD_USERNAME: ${DASHBOARD_USERNAME}
      DASHBOARD_PASSWORD: ${DASHBOARD_PASSWORD}
    entrypoint: bash -c 'eval "echo \"$$(cat ~/temp.yml)\"" > ~/kong.yml && /docker-entrypoint.sh kong docker-start'

  auth:
    image: upstream/gotrue:1
    environment:
      GOTRUE_DB_DATABASE_URL: postgres://supabase_auth_admin:${POSTGRES_PASSWORD}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}
      GOTRUE_SITE_URL: ${SITE_URL}
      GOTRUE_JWT_SECRET: ${JWT_SECRET}
      GOTRUE_SMTP_PASS: ${SMTP_PASS}
      GOTRUE_MAILER_URLPATHS_CONFIRMATION: ${MAILER_URLPATHS_CONFIRMATION}
      # GOTRUE_EXTERNAL_GOOGLE_SECRET: ${GOOGLE_SECRET}

  realtime:
    image: upstream/realtime:1
    healthcheck:
      test: ["CMD", "curl", "-H", "Authorization: Bearer ${ANON_KEY}", "http://localhost:4000/api/health"]
    environment:
      DB_PASSWORD: ${POSTGRES_PASSWORD}
      DB_AFTER_CONNECT_QUERY: 'SET search_path TO _realtime'
      DB_ENC_KEY: supabaserealtime
      API_JWT_SECRET: ${JWT_SECRET}
      SECRET_KEY_BASE: ${SECRET_KEY_BASE}

  # To use S3 backed storage: docker compose -f docker-compose.yml -f docker-compose.s3.yml up
  storage:
    image: upstream/storage:1
    environment:
      ANON_KEY: ${ANON_KEY}
      SERVICE_KEY: ${SERVICE_ROLE_KEY}
      PGRST_JWT_SECRET: ${JWT_SECRET}
      DATABASE_URL: postgres://supabase_storage_admin:${POSTGRES_PASSWORD}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}
      STORAGE_BACKEND: file
      TENANT_ID: stub
@STORAGE_S3@

  meta:
    image: upstream/postgres-meta:1
    environment:
      PG_META_DB_PASSWORD: ${POSTGRES_PASSWORD}
@META_KEY@

  analytics:
    image: upstream/logflare:1
    environment:
      DB_PASSWORD: ${POSTGRES_PASSWORD}
      LOGFLARE_PUBLIC_ACCESS_TOKEN: ${LOGFLARE_PUBLIC_ACCESS_TOKEN}
      LOGFLARE_PRIVATE_ACCESS_TOKEN: ${LOGFLARE_PRIVATE_ACCESS_TOKEN}

  db:
    image: upstream/postgres:1
    volumes:
      - db-config:/etc/postgresql-custom
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      JWT_SECRET: ${JWT_SECRET}
      JWT_EXP: ${JWT_EXPIRY}

  vector:
    image: upstream/vector:1
    volumes:
      - ${DOCKER_SOCKET_LOCATION}:/var/run/docker.sock:ro,z
    environment:
      LOGFLARE_PUBLIC_ACCESS_TOKEN: ${LOGFLARE_PUBLIC_ACCESS_TOKEN}

  supavisor:
    image: upstream/supavisor:1
    ports:
      - ${POOLER_PROXY_PORT_TRANSACTION}:6543
    environment:
      DATABASE_URL: ecto://supabase_admin:${POSTGRES_PASSWORD}@${POSTGRES_HOST}:${POSTGRES_PORT}/_supabase
      SECRET_KEY_BASE: ${SECRET_KEY_BASE}
      VAULT_ENC_KEY: ${VAULT_ENC_KEY}
      API_JWT_SECRET: ${JWT_SECRET}
      POOLER_TENANT_ID: ${POOLER_TENANT_ID}
      POOLER_DEFAULT_POOL_SIZE: ${POOLER_DEFAULT_POOL_SIZE}

volumes:
  db-config:
"#;

/// The s3 overlay: at the pinned ref MinIO's password is written in the
/// overlay itself; in the newest layout it comes from `.env`.
fn s3_overlay(layout: Layout) -> String {
    let (user, password) = match layout {
        Layout::Pinned => ("supa-storage", "secret1234"),
        Layout::Newest => ("${MINIO_ROOT_USER}", "${MINIO_ROOT_PASSWORD}"),
    };
    S3_OVERLAY.replace("@USER@", user).replace("@PASSWORD@", password)
}

const S3_OVERLAY: &str = r#"services:

  minio:
    image: upstream/minio:1
    environment:
      MINIO_ROOT_USER: @USER@
      MINIO_ROOT_PASSWORD: @PASSWORD@
    command: server --console-address ":9001" /data

  storage:
    image: upstream/storage:1
    environment:
      STORAGE_BACKEND: s3
      AWS_ACCESS_KEY_ID: @USER@
      AWS_SECRET_ACCESS_KEY: @PASSWORD@
"#;

const KONG_PINNED: &str = "_format_version: '2.1'\nconsumers:\n  - username: anon\n    keyauth_credentials:\n      - key: $SUPABASE_ANON_KEY\n";

/// Writes `layout` into `work/docker` (and a folder the sparse checkout skips).
fn write_layout(work: &Path, layout: Layout) {
    let docker = work.join("docker");
    std::fs::create_dir_all(docker.join("volumes/api")).unwrap();
    std::fs::create_dir_all(docker.join("volumes/db")).unwrap();
    std::fs::create_dir_all(work.join("apps/www")).unwrap();
    std::fs::write(docker.join(".env.example"), env_example(layout)).unwrap();
    std::fs::write(docker.join("docker-compose.yml"), compose_file(layout)).unwrap();
    std::fs::write(docker.join("docker-compose.s3.yml"), s3_overlay(layout)).unwrap();
    let kong = match layout {
        Layout::Pinned => KONG_PINNED.to_string(),
        Layout::Newest => format!(
            "{KONG_PINNED}  - username: service_role\n    keyauth_credentials:\n      - key: $SUPABASE_SERVICE_KEY\n"
        ),
    };
    std::fs::write(docker.join("volumes/api/kong.yml"), kong).unwrap();
    std::fs::write(
        docker.join("volumes/db/jwt.sql"),
        "\\set jwt_secret `echo \"$JWT_SECRET\"`\n",
    )
    .unwrap();
    std::fs::write(work.join("apps/www/big.txt"), "not wanted").unwrap();
}

/// A bare repository with the pinned layout tagged `pinned`, then the newest
/// layout committed on top and tagged `newest`.
fn upstream(sb: &Sandbox) -> String {
    let work = sb.path("upstream-work");
    write_layout(&work, Layout::Pinned);
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "the pinned layout"]);
    git(&work, &["tag", "pinned"]);
    write_layout(&work, Layout::Newest);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "the newest layout"]);
    git(&work, &["tag", "newest"]);
    let bare = sb.path("upstream.git");
    git(
        &sb.root,
        &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()],
    );
    format!("file://{}", bare.display())
}

fn point_setup_conf_at(sb: &Sandbox, url: &str) {
    let conf = sb
        .read("setup.conf")
        .replace("https://github.com/supabase/supabase", url);
    sb.write("setup.conf", &conf);
}

/// `docker compose config -q` on the project folder with the real Compose
/// binary, with the s3 overlay, from a controlled environment.
fn compose_accepts(sb: &Sandbox, project: &str) {
    let dir = sb.path(project);
    let out = Command::new("docker")
        .args(["compose", "-p", project, "--project-directory"])
        .arg(&dir)
        .arg("--env-file")
        .arg(dir.join(".env"))
        .args([
            "-f",
            "docker-compose.yml",
            "-f",
            "docker-compose.s3.yml",
            "config",
            "-q",
        ])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .output()
        .expect("docker must be installed for this test (utils/test.sh installs Compose)");
    assert!(
        out.status.success(),
        "docker compose config -q refused the project: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every secret the layout publishes is fresh in the project's `.env`.
fn every_secret_is_fresh(sb: &Sandbox, layout: Layout) {
    let env = sb.env_values("receptor-dev");
    let example = common::parse_env(&env_example(layout));
    let mut secrets = vec![
        "POSTGRES_PASSWORD",
        "JWT_SECRET",
        "ANON_KEY",
        "SERVICE_ROLE_KEY",
        "DASHBOARD_PASSWORD",
        "SECRET_KEY_BASE",
        "VAULT_ENC_KEY",
        "LOGFLARE_PUBLIC_ACCESS_TOKEN",
        "LOGFLARE_PRIVATE_ACCESS_TOKEN",
    ];
    if layout == Layout::Newest {
        secrets.extend([
            "PG_META_CRYPTO_KEY",
            "S3_PROTOCOL_ACCESS_KEY_ID",
            "S3_PROTOCOL_ACCESS_KEY_SECRET",
            "MINIO_ROOT_PASSWORD",
        ]);
    }
    for name in secrets {
        let value = &env[name];
        assert!(!value.is_empty(), "{name} is empty");
        assert_ne!(Some(value), example.get(name), "{name} kept its published value");
    }
    // Third-party placeholders are never kept as if real.
    assert_eq!(env["SMTP_PASS"], "");
    assert_eq!(env["OPENAI_API_KEY"], "");
    // Settings stay as published, spaces and all.
    assert_eq!(env["STUDIO_DEFAULT_ORGANIZATION"], "Default Organization");
    assert_eq!(env["POSTGRES_HOST"], "db");
    // The pooler's tenant is the project's own, not the published one.
    assert_eq!(env["POOLER_TENANT_ID"], "receptor-dev");
}

fn set_up(layout: Layout) -> Sandbox {
    let sb = Sandbox::new();
    let url = upstream(&sb);
    point_setup_conf_at(&sb, &url);
    let tag = match layout {
        Layout::Pinned => "pinned",
        Layout::Newest => "newest",
    };
    let out = sb.xtask(["setup", "--env", "dev", "--upstream", tag]).succeeds();
    out.stdout_has("replaced default");
    every_secret_is_fresh(&sb, layout);
    let env = sb.env_values("receptor-dev");
    out.never_shows(&[&env["POSTGRES_PASSWORD"], &env["JWT_SECRET"], &env["SERVICE_ROLE_KEY"]]);
    compose_accepts(&sb, "receptor-dev");
    let again = sb.xtask(["setup", "--env", "dev", "--upstream", tag]).succeeds();
    again.stdout_has("no changes");
    assert_eq!(sb.env_values("receptor-dev"), env, "a second run changes nothing");
    sb
}

/// The `project.compose` findings of `verify --env dev`, which must be its only failures.
fn compose_findings(sb: &Sandbox) -> Vec<String> {
    let out = sb.xtask(["verify", "--env", "dev"]).fails_with(1);
    let failing: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("fail")).collect();
    assert!(
        failing
            .iter()
            .all(|l| l.split_whitespace().nth(1) == Some("project.compose")),
        "only the planted findings fail:\n{}",
        out.stdout
    );
    out.findings_of("project.compose")
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn the_pinned_layout_sets_up_and_verify_finds_its_hard_coded_keys() {
    let sb = set_up(Layout::Pinned);
    let env = sb.env_values("receptor-dev");
    // The pinned compose file reads none of these: they are reported unused, not made.
    for name in ["REALTIME_DB_ENC_KEY", "PG_META_CRYPTO_KEY", "S3_PROTOCOL_ACCESS_KEY_ID"] {
        assert!(env.get(name).is_none_or(|v| v.is_empty()), "{name} was made");
    }
    let out = sb.xtask(["setup", "--env", "dev", "--upstream", "pinned"]).succeeds();
    let unused = out
        .stdout
        .lines()
        .find(|l| l.contains("REALTIME_DB_ENC_KEY"))
        .unwrap_or("");
    assert!(unused.contains("unused"), "{}", out.stdout);
    let findings = compose_findings(&sb);
    let compose_line = 1 + compose_file(Layout::Pinned)
        .lines()
        .position(|l| l.contains("DB_ENC_KEY: supabaserealtime"))
        .unwrap();
    assert!(
        findings.iter().any(
            |f| f.contains(&format!("receptor-dev/docker-compose.yml:{compose_line}")) && f.contains("DB_ENC_KEY")
        ),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("receptor-dev/docker-compose.s3.yml:") && f.contains("MINIO_ROOT_PASSWORD")),
        "{findings:?}"
    );
    assert_eq!(
        findings.len(),
        3,
        "DB_ENC_KEY, MINIO_ROOT_PASSWORD, AWS_SECRET_ACCESS_KEY: {findings:?}"
    );
}

#[test]
fn the_newest_layout_sets_up_with_a_fresh_minio_password() {
    let sb = set_up(Layout::Newest);
    let env = sb.env_values("receptor-dev");
    assert_eq!(env["MINIO_ROOT_PASSWORD"].len(), 32);
    let findings = compose_findings(&sb);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("DB_ENC_KEY"), "{findings:?}");
}

#[test]
fn an_error_in_the_template_names_the_template_at_its_ref() {
    let sb = Sandbox::new();
    let work = sb.path("upstream-work");
    write_layout(&work, Layout::Newest);
    let example = env_example(Layout::Newest).replace("POSTGRES_DB=postgres", "POSTGRES_DB=post#gres");
    std::fs::write(work.join("docker/.env.example"), &example).unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "a bad line"]);
    git(&work, &["tag", "bad"]);
    point_setup_conf_at(&sb, &format!("file://{}", work.display()));
    let out = sb.xtask(["setup", "--env", "dev", "--upstream", "bad"]).fails_with(2);
    let line = 1 + example.lines().position(|l| l.contains("post#gres")).unwrap();
    let error = out.one_line_error();
    assert!(
        error.starts_with(&format!("error: bad:docker/.env.example:{line}: POSTGRES_DB holds `#`")),
        "{error}"
    );
    assert!(!error.contains("/tmp"), "no scratch path: {error}");
}

/// An install made by upstream's own generate-keys.sh (`openssl rand
/// -base64`), taken over: every sound value is kept, the keys that verify are
/// not re-minted, and only the published placeholders are replaced.
#[test]
fn an_install_made_by_upstreams_generate_keys_is_adopted_as_it_is() {
    let sb = Sandbox::new();
    let url = upstream(&sb);
    point_setup_conf_at(&sb, &url);
    // The operator's install: upstream's docker/ folder, run as it is.
    let install = sb.path("install");
    write_layout(&install, Layout::Newest);
    let install = install.join("docker");
    // The operator's .env, as generate-keys.sh writes it over .env.example.
    let jwt_secret = "q1w+e2r/t3y4u5i6o7p8a9s0d1f2g3h4j5k6l7z8";
    let made = [
        ("JWT_SECRET", jwt_secret.to_string()),
        ("ANON_KEY", api_key("anon", jwt_secret, "supabase")),
        ("SERVICE_ROLE_KEY", api_key("service_role", jwt_secret, "supabase")),
        (
            "SECRET_KEY_BASE",
            "Zx9+/Yw8Xv7Uu6Tt5Ss4Rr3Qq2Pp1Oo0Nn9Mm8Ll7Kk6Jj5Ii4Hh3Gg2Ff1Ee0Dd".to_string(),
        ),
        ("PG_META_CRYPTO_KEY", "AbCd+/EfGh12IjKl34MnOp56QrSt78==".to_string()),
        (
            "LOGFLARE_PUBLIC_ACCESS_TOKEN",
            "Pub+/1234567890abcdefghijklmnopq".to_string(),
        ),
        (
            "LOGFLARE_PRIVATE_ACCESS_TOKEN",
            "Prv+/1234567890abcdefghijklmnopq".to_string(),
        ),
        ("VAULT_ENC_KEY", "0123456789abcdef0123456789abcdef".to_string()),
        ("POSTGRES_PASSWORD", "fedcba9876543210fedcba9876543210".to_string()),
        ("DASHBOARD_PASSWORD", "a1b2c3d4e5f60718293a4b5c6d7e8f90".to_string()),
    ];
    let mut text = env_example(Layout::Newest);
    for (name, value) in &made {
        let start = text.find(&format!("\n{name}=")).unwrap() + 1;
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, &format!("{name}={value}"));
    }
    std::fs::write(install.join(".env"), &text).unwrap();
    std::fs::write(install.join(".env.old"), "JWT_SECRET=the-old-one-generate-keys-left\n").unwrap();
    let out = sb
        .xtask(["setup", "--env", "dev", "--upstream", "newest", "--adopt"])
        .args_more([install.to_str().unwrap()])
        .succeeds();
    out.stdout_has("adopted");
    assert_eq!(
        std::fs::read_to_string(install.join(".env")).unwrap(),
        text,
        "the install is only read"
    );
    assert!(
        !sb.path("receptor-dev/.env.old").exists(),
        "old secrets are not carried over"
    );
    assert_eq!(sb.mode("receptor-dev/.env"), 0o600);
    let env = sb.env_values("receptor-dev");
    for (name, value) in &made {
        assert_eq!(&env[*name], value, "{name} was replaced");
        let row = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(*name))
            .unwrap_or("");
        assert!(row.contains("kept"), "{name}: {row}");
    }
    // What was published is replaced, after a backup of what was there.
    assert_ne!(env["S3_PROTOCOL_ACCESS_KEY_ID"], "625729a08b95bf1b7ff351a663f3a23c");
    assert_ne!(env["MINIO_ROOT_PASSWORD"], "secret1234");
    out.stdout_has("backed up the previous .env");
    out.never_shows(&[jwt_secret, &env["MINIO_ROOT_PASSWORD"]]);
    let findings = compose_findings(&sb);
    assert_eq!(findings.len(), 1, "{findings:?}");
    // A project that has a .env is not adopted over.
    let again = sb
        .xtask(["setup", "--env", "dev", "--upstream", "newest", "--adopt"])
        .args_more([install.to_str().unwrap()])
        .fails_with(2);
    assert!(
        again.one_line_error().contains("already has a .env"),
        "{}",
        again.stderr
    );
}

/// A project follows the template it was laid out from: another ref is
/// refused until `--upgrade`, which replaces the files the user left alone,
/// keeps the ones they changed (the new version next to each as `.new`),
/// and adds the new variables with fresh values.
#[test]
fn an_upgrade_from_the_pinned_layout_to_the_newest_keeps_a_modified_kong_yml() {
    let sb = Sandbox::new();
    let url = upstream(&sb);
    point_setup_conf_at(&sb, &url);
    for project in ["receptor-dev", "untouched"] {
        sb.xtask([
            "setup",
            "--env",
            "dev",
            "--project-name",
            project,
            "--upstream",
            "pinned",
        ])
        .succeeds();
    }
    let modified = format!("{KONG_PINNED}# the operator's own route\n");
    sb.write("receptor-dev/volumes/api/kong.yml", &modified);
    let before = sb.env_values("receptor-dev");
    let laid_out = sb.read("receptor-dev/docker-compose.yml");

    let out = sb
        .xtask(["setup", "--env", "dev", "--upstream", "newest"])
        .fails_with(2);
    assert!(
        out.one_line_error().contains("run setup again with --upgrade"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.env_values("receptor-dev"), before, "a refused run changes nothing");
    assert_eq!(sb.read("receptor-dev/docker-compose.yml"), laid_out);

    let out = sb
        .xtask(["setup", "--env", "dev", "--upstream", "newest", "--upgrade"])
        .succeeds();
    out.stdout_has("upgraded the stack template from");
    out.stdout_has("backed up the previous .env");
    out.stderr_has("receptor-dev/volumes/api/kong.yml was modified, so it is kept");
    assert_eq!(
        sb.read("receptor-dev/volumes/api/kong.yml"),
        modified,
        "the user's file is kept"
    );
    assert!(
        sb.read("receptor-dev/volumes/api/kong.yml.new")
            .contains("service_role")
    );
    assert_eq!(sb.read("receptor-dev/docker-compose.yml"), compose_file(Layout::Newest));
    let env = sb.env_values("receptor-dev");
    assert_eq!(env["JWT_SECRET"], before["JWT_SECRET"], "sound secrets are kept");
    assert_eq!(
        env["ANON_KEY"], before["ANON_KEY"],
        "keys that verify are not re-minted"
    );
    for name in ["MINIO_ROOT_PASSWORD", "PG_META_CRYPTO_KEY", "S3_PROTOCOL_ACCESS_KEY_ID"] {
        assert!(
            env[name].len() >= 32,
            "{name} is new in the template and gets a fresh value"
        );
    }
    out.never_shows(&[&env["MINIO_ROOT_PASSWORD"], &env["JWT_SECRET"]]);
    compose_accepts(&sb, "receptor-dev");
    sb.xtask(["setup", "--env", "dev", "--upstream", "newest"])
        .succeeds()
        .stdout_has("no changes");

    let out = sb
        .xtask([
            "setup",
            "--env",
            "dev",
            "--project-name",
            "untouched",
            "--upstream",
            "newest",
            "--upgrade",
        ])
        .succeeds();
    assert!(!out.stderr.contains("was modified"), "{}", out.stderr);
    assert!(
        sb.read("untouched/volumes/api/kong.yml").contains("service_role"),
        "an unmodified file is replaced"
    );
    assert!(!sb.path("untouched/volumes/api/kong.yml.new").exists());
}

/// Staging on the pinned layout asks only for the secrets its compose file
/// reads: the ones it does not read are reported unused, never demanded.
#[test]
fn staging_on_the_pinned_layout_needs_only_the_secrets_its_services_read() {
    let sb = Sandbox::new();
    let url = upstream(&sb);
    point_setup_conf_at(&sb, &url);
    let injected = [
        ("POSTGRES_PASSWORD", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        ("JWT_SECRET", "Stg+/Secret1234567890abcdefghijklmnopqrs"),
        ("DASHBOARD_PASSWORD", "dashboardPassword0123456789abcdef"),
        (
            "SECRET_KEY_BASE",
            "Base+/64charsAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmno",
        ),
        ("VAULT_ENC_KEY", "00112233445566778899aabbccddeeff"),
        ("LOGFLARE_PUBLIC_ACCESS_TOKEN", "Public+/token0123456789abcdefghij"),
        ("LOGFLARE_PRIVATE_ACCESS_TOKEN", "Private+/token0123456789abcdefghi"),
    ];
    let out = sb
        .xtask(["setup", "--env", "staging", "--non-interactive", "--upstream", "pinned"])
        .envs(&injected)
        .succeeds();
    let env = sb.env_values("receptor-stg");
    for (name, value) in injected {
        assert_eq!(env[name], value, "{name}");
    }
    for name in [
        "REALTIME_DB_ENC_KEY",
        "PG_META_CRYPTO_KEY",
        "S3_PROTOCOL_ACCESS_KEY_SECRET",
    ] {
        let row = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or("");
        assert!(row.contains("unused"), "{name}: {}", out.stdout);
    }
    assert_eq!(env["SMTP_PASS"], "", "a published placeholder is not kept in staging");
    let secrets: Vec<&str> = injected.iter().map(|(_, v)| *v).collect();
    out.never_shows(&secrets);
}
