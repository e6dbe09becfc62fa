//! `cargo xtask verify` on a repository: each finding planted in a scratch git
//! repository and caught by name and file:line, never by value.

use crate::common;

use std::fs;

use common::{Sandbox, repo, xtask_in};
use xtask::secrets::{Role, Secret, jwt};

/// A 40-character secret no test reuses.
fn random_secret() -> Secret {
    xtask::secrets::generate::random(xtask::secrets::catalog::Charset::Alphanumeric, 40)
}

/// A scratch repository with a fresh dev project laid out, all committed.
fn repo_with_dev_project() -> Sandbox {
    let sb = Sandbox::git_repo();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    sb.commit_all("after setup");
    sb
}

#[test]
fn a_clean_repository_with_a_dev_project_passes() {
    let sb = repo_with_dev_project();
    let out = sb.xtask(["verify", "--strict"]).succeeds();
    out.stdout_has("pass    repo.leak-known-value")
        .stdout_has("0 with warnings, 0 failed");
    sb.xtask(["verify", "--history", "--strict"])
        .succeeds()
        .stdout_has("pass    repo.history-leaks");
}

#[test]
fn the_receptor_repository_itself_is_clean() {
    let out = xtask_in(&repo(), ["verify"]).output();
    assert_eq!(
        out.code, 0,
        "cargo xtask verify fails on this repository:\n{}{}",
        out.stdout, out.stderr
    );
}

#[test]
fn outside_a_git_repository_verify_could_not_run() {
    let sb = Sandbox::new();
    let out = sb.xtask(["verify"]).fails_with(2);
    assert!(out.one_line_error().contains("is not inside a git repository"));
}

#[test]
fn a_tracked_env_file_and_a_tracked_project_folder_are_caught_by_path() {
    let sb = repo_with_dev_project();
    let canary = "TrackedCanaryValue0123456789";
    sb.write("config/.env", &format!("SMTP_PASS={canary}\n"));
    sb.git(&["add", "-f", "config/.env"]);
    sb.git(&["commit", "-qm", "oops"]);
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.untracked-secrets");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("config/.env"), "{}", found[0]);
    assert!(found[0].contains("git rm --cached config/.env"), "{}", found[0]);
    out.never_shows(&[canary]);

    sb.git(&["rm", "-q", "--cached", "config/.env"]);
    sb.git(&["add", "-f", "receptor-dev/.env"]);
    sb.git(&["commit", "-qm", "oops again"]);
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.untracked-secrets");
    assert!(found[0].contains("git rm -r --cached receptor-dev"), "{}", out.stdout);
    let values: Vec<String> = sb
        .env_values("receptor-dev")
        .into_values()
        .filter(|v| v.len() >= 12)
        .collect();
    out.never_shows(&values.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn a_service_key_pasted_into_a_tracked_doc_is_caught_by_file_and_line() {
    let sb = repo_with_dev_project();
    let key = sb.env_values("receptor-dev")["SERVICE_ROLE_KEY"].clone();
    sb.write("docs/notes.md", &format!("# Notes\n\nCall the API with {key}\n"));
    sb.commit_all("notes");
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.leak-known-value");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("docs/notes.md:3 SERVICE_ROLE_KEY"), "{}", found[0]);
    assert!(found[0].contains("cargo xtask rotate SERVICE_ROLE_KEY"), "{}", found[0]);
    out.never_shows(&[&key]);

    // Without the project folder at hand, the key is still a Supabase-shaped JWT.
    fs::remove_dir_all(sb.path("receptor-dev")).unwrap();
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.leak-jwt");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("docs/notes.md:3"), "{}", found[0]);
    assert!(found[0].contains("possibly a live privileged API key"), "{}", found[0]);
    out.never_shows(&[&key]);
}

#[test]
fn a_literal_secret_in_setup_conf_is_caught_by_line() {
    let sb = Sandbox::git_repo();
    let canary = "smtp-literal-canary-4711";
    let conf = sb.read("setup.conf");
    let line = conf.lines().position(|l| l.starts_with("SMTP_PASS")).unwrap() + 1;
    sb.write(
        "setup.conf",
        &conf.replace("SMTP_PASS = \"${SMTP_PASS}\"", &format!("SMTP_PASS = \"{canary}\"")),
    );
    sb.commit_all("literal");
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.setup-conf");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains(&format!("setup.conf:{line}")), "{}", found[0]);
    assert!(found[0].contains("SMTP_PASS must be a reference"), "{}", found[0]);
    assert!(
        found[0].contains(&format!(
            "replace the value on line {line} with a reference: SMTP_PASS = \"${{SMTP_PASS}}\""
        )),
        "{}",
        found[0]
    );
    out.never_shows(&[canary]);
}

#[test]
fn secret_shapes_are_caught_by_line_unless_allowed() {
    let sb = Sandbox::git_repo();
    let begin = "-----BEGIN ";
    let live = jwt::mint(Role::Anon, &random_secret(), jwt::now());
    let public = jwt::mint(
        Role::ServiceRole,
        &Secret::new(xtask::secrets::defaults::KNOWN_DEFAULT_JWT_SECRETS[0]),
        jwt::now(),
    );
    let opaque = self_hosted_secret_key();
    sb.write(
        "deploy/notes.txt",
        &format!(
            "line one\nKEY={opaque}\n{begin}RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nanon {}\nexample {} # receptor-verify: allow\n",
            live.expose(),
            live.expose()
        ),
    );
    sb.write(
        "docs/demo.md",
        &format!("The published demo key: {}\n", public.expose()),
    );
    sb.commit_all("shapes");
    let out = sb.xtask(["verify"]).fails_with(1);
    let lines = |check: &str| out.findings_of(check).iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let sb_found = lines("repo.leak-sb-secret");
    assert!(
        sb_found.len() == 1 && sb_found[0].contains("deploy/notes.txt:2"),
        "{}",
        out.stdout
    );
    let key_found = lines("repo.leak-private-key");
    assert!(
        key_found.len() == 1 && key_found[0].contains("deploy/notes.txt:3"),
        "{}",
        out.stdout
    );
    let jwt_found = lines("repo.leak-jwt");
    assert_eq!(jwt_found.len(), 2, "{}", out.stdout);
    let jwt_at = |place: &str| {
        jwt_found
            .iter()
            .find(|l| l.contains(place))
            .unwrap_or_else(|| panic!("{place}"))
    };
    assert!(jwt_at("docs/demo.md:1").starts_with("warn"), "{}", out.stdout);
    assert!(jwt_at("docs/demo.md:1").contains("known-insecure"), "{}", out.stdout);
    assert!(jwt_at("deploy/notes.txt:6").starts_with("fail"), "{}", out.stdout);
    out.never_shows(&[live.expose(), public.expose(), &opaque]);

    // The published key alone is a warning: exit 0, or 1 with --strict.
    fs::remove_file(sb.path("deploy/notes.txt")).unwrap();
    sb.commit_all("removed");
    sb.xtask(["verify"]).succeeds().stdout_has("1 with warnings");
    sb.xtask(["verify", "--strict"]).fails_with(1);
}

#[test]
fn history_is_scanned_only_when_asked() {
    let sb = Sandbox::git_repo();
    let opaque = self_hosted_secret_key();
    sb.write(
        "scripts/deploy.sh",
        &format!("#!/bin/sh\nexport SUPABASE_SECRET_KEY={opaque}\n"),
    );
    sb.commit_all("deploy script");
    sb.write(
        "scripts/deploy.sh",
        "#!/bin/sh\nexport SUPABASE_SECRET_KEY=\"$VAULT_VALUE\"\n",
    );
    sb.commit_all("take the key from the vault");
    sb.xtask(["verify"]).succeeds();
    let out = sb.xtask(["verify", "--history"]).fails_with(1);
    let found = out.findings_of("repo.history-leaks");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("scripts/deploy.sh:2 (blob "), "{}", found[0]);
    assert!(found[0].contains("git log --all --find-object="), "{}", found[0]);
    out.never_shows(&[&opaque]);
}

#[test]
fn the_template_the_catalog_and_the_compose_file_must_agree() {
    let sb = Sandbox::git_repo();
    let compose = sb.read("docker/docker-compose.yml");
    let vault_line = compose
        .lines()
        .find(|l| l.contains("${VAULT_ENC_KEY}"))
        .expect("the compose file passes VAULT_ENC_KEY to a service")
        .to_string();
    let compose = compose.replacen(
        &vault_line,
        &vault_line.replace("${VAULT_ENC_KEY}", "${UNDECLARED_SETTING}"),
        1,
    );
    sb.write("docker/docker-compose.yml", &compose);
    let example = sb.read("docker/.env.example");
    let real_value = "0123456789abcdef0123456789abcdef";
    let example = example
        .replace("SMS_TWILIO_AUTH_TOKEN=\n", "")
        .replace("REALTIME_DB_ENC_KEY=\n", "REALTIME_DB_ENC_KEY=0123456789abcdef\n")
        .replace("PG_META_CRYPTO_KEY=\n", &format!("PG_META_CRYPTO_KEY={real_value}\n"));
    sb.write("docker/.env.example", &example);
    sb.commit_all("drift");
    let out = sb.xtask(["verify"]).fails_with(1);
    let has = |check: &str, needles: &[&str]| {
        let found = out.findings_of(check);
        assert!(
            found.iter().any(|l| needles.iter().all(|n| l.contains(n))),
            "{check} lacks {needles:?}:\n{}",
            out.stdout
        );
    };
    has(
        "repo.compose-vars-declared",
        &["UNDECLARED_SETTING", "add UNDECLARED_SETTING= to docker/.env.example"],
    );
    has("repo.compose-vars-declared", &["SMS_TWILIO_AUTH_TOKEN"]);
    has("repo.catalog-declared", &["SMS_TWILIO_AUTH_TOKEN"]);
    has(
        "repo.catalog-read",
        &["VAULT_ENC_KEY", "no service reads VAULT_ENC_KEY"],
    );
    has("repo.env-example", &["docker/.env.example:", "PG_META_CRYPTO_KEY"]);
    has("repo.env-example", &["REALTIME_DB_ENC_KEY"]);
    out.never_shows(&[real_value]);
}

#[test]
fn project_folders_need_their_own_gitignore_and_the_rules_must_cover_env_files() {
    let sb = Sandbox::git_repo();
    sb.xtask(["setup", "--env", "dev", "--project-name", "my-stack"])
        .succeeds();
    fs::remove_file(sb.path("my-stack/.gitignore")).unwrap();
    sb.write(".gitignore", &sb.read(".gitignore").replace(".env.*\n", ""));
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.project-gitignore");
    assert!(
        found.len() == 1 && found[0].contains("echo '*' >> my-stack/.gitignore"),
        "{}",
        out.stdout
    );
    let found = out.findings_of("repo.ignore-rules");
    assert!(
        found.iter().any(|l| l.contains("my-stack/docker-compose.yml")),
        "{}",
        out.stdout
    );
    assert!(
        found
            .iter()
            .any(|l| l.contains(".env.local") && l.contains("add the line .env.* to .gitignore")),
        "{}",
        out.stdout
    );
}

/// A file name is shown escaped: it can neither recolour the terminal, nor
/// clear it, nor start a line of its own in the table.
#[test]
fn control_characters_in_a_file_name_are_escaped_in_the_table() {
    let sb = repo_with_dev_project();
    let key = sb.env_values("receptor-dev")["SERVICE_ROLE_KEY"].clone();
    let name = "docs/a\u{1b}[2J\u{1b}[31mred\nfake pass line\u{202e}.md";
    sb.write(name, &format!("{key}\n"));
    sb.commit_all("notes");
    let out = sb.xtask(["verify"]).fails_with(1);
    assert!(
        !out.stdout.contains('\u{1b}'),
        "an escape sequence reached the terminal"
    );
    assert!(!out.stdout.contains('\u{202e}'));
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("fake pass line")),
        "a file name started a line of its own:\n{}",
        out.stdout
    );
    let found = out.findings_of("repo.leak-known-value");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(
        found[0].contains("docs/a\\u{1b}[2J\\u{1b}[31mred\\nfake pass line\\u{202e}.md:1"),
        "{}",
        found[0]
    );
    out.never_shows(&[&key]);
}

/// A JWT with exactly this header and payload text, signed HS256 with `secret`.
fn raw_jwt(header: &str, payload: &str, secret: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!("{}.{}", b64.encode(header), b64.encode(payload));
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
    format!("{input}.{signature}")
}

/// An `sb_secret_` key of a self-hosted stack: 22 random characters and the checksum upstream defines.
fn self_hosted_secret_key() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let random = random_secret();
    let inter = format!("sb_secret_{}", &random.expose()[..22]);
    let digest = sha2::Sha256::digest(format!("supabase-self-hosted|{inter}"));
    let checksum = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("{inter}_{}", &checksum[..8])
}

#[test]
fn a_staged_secret_is_caught_although_the_work_tree_is_clean() {
    let sb = Sandbox::git_repo();
    let opaque = self_hosted_secret_key();
    sb.write("scripts/deploy.sh", "#!/bin/sh\necho deploy\n");
    sb.commit_all("deploy script");
    sb.write(
        "scripts/deploy.sh",
        &format!("#!/bin/sh\nexport SUPABASE_SECRET_KEY={opaque}\n"),
    );
    sb.git(&["add", "scripts/deploy.sh"]);
    sb.write("scripts/deploy.sh", "#!/bin/sh\necho deploy\n");
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.leak-sb-secret");
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert!(found[0].contains("scripts/deploy.sh:2 (blob "), "{}", found[0]);
    assert!(found[0].contains("git add scripts/deploy.sh"), "{}", found[0]);
    out.never_shows(&[&opaque]);
}

#[test]
fn a_committed_secret_is_caught_when_the_work_tree_copy_differs() {
    let sb = Sandbox::git_repo();
    let opaque = self_hosted_secret_key();
    sb.write(
        "scripts/deploy.sh",
        &format!("#!/bin/sh\nexport SUPABASE_SECRET_KEY={opaque}\n"),
    );
    sb.commit_all("deploy script");
    // Fixed in the work tree, not yet staged: the commit and the index still hold it.
    sb.write(
        "scripts/deploy.sh",
        "#!/bin/sh\nexport SUPABASE_SECRET_KEY=\"$VAULT_VALUE\"\n",
    );
    for args in [&["verify"][..], &["verify", "--history"][..]] {
        let out = sb.xtask(args).fails_with(1);
        let found = out.findings_of("repo.leak-sb-secret");
        assert_eq!(found.len(), 1, "{args:?}: {}", out.stdout);
        assert!(found[0].contains("scripts/deploy.sh:2 (blob "), "{}", found[0]);
        // Each content is scanned once: not again as a blob of history.
        assert!(out.findings_of("repo.history-leaks").is_empty(), "{}", out.stdout);
        out.never_shows(&[&opaque]);
    }
    // Once staged and committed, only history holds it.
    sb.commit_all("take the key from the vault");
    sb.xtask(["verify"]).succeeds();
    let out = sb.xtask(["verify", "--history"]).fails_with(1);
    assert_eq!(out.findings_of("repo.history-leaks").len(), 1, "{}", out.stdout);
}

#[test]
fn jwts_of_pretty_printed_json_are_caught() {
    let sb = Sandbox::git_repo();
    let published = xtask::secrets::defaults::KNOWN_DEFAULT_JWT_SECRETS[0];
    // Shaped like Supabase's published demo keys: the payload is pretty-printed JSON.
    let demo = raw_jwt(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        "{\n  \"role\": \"service_role\",\n  \"iss\": \"supabase-demo\",\n  \"iat\": 1641769200,\n  \"exp\": 1799535600\n}",
        published,
    );
    let secret = random_secret();
    let live = raw_jwt(
        "{ \"alg\": \"HS256\", \"typ\": \"JWT\" }",
        &format!(
            "{{\n  \"role\": \"service_role\",\n  \"iss\": \"supabase\",\n  \"exp\": {}\n}}",
            jwt::now() + 3600 * 24 * 365
        ),
        secret.expose(),
    );
    assert!(live.starts_with("eyAi") && demo.contains(".ewo"), "{live} {demo}");
    sb.write("docs/keys.md", &format!("# Keys\n\ndemo: {demo}\n\nours: {live}\n"));
    sb.commit_all("keys");
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.leak-jwt");
    assert_eq!(found.len(), 2, "{}", out.stdout);
    assert!(
        found[0].starts_with("warn") && found[0].contains("docs/keys.md:3"),
        "{}",
        out.stdout
    );
    assert!(
        found[1].starts_with("fail") && found[1].contains("docs/keys.md:5"),
        "{}",
        out.stdout
    );
    assert!(found[1].contains("role service_role"), "{}", out.stdout);
    out.never_shows(&[&demo, &live, secret.expose()]);
}

#[test]
fn the_new_key_kinds_are_caught_and_publishable_keys_are_not() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sb = Sandbox::git_repo();
    let opaque = self_hosted_secret_key();
    let d = b64.encode(&random_secret().expose().as_bytes()[..32]);
    let x = b64.encode([3u8; 32]);
    let k = b64.encode(random_secret().expose());
    let jwks = format!(
        r#"JWT_KEYS=[{{"kty":"EC","kid":"k1","use":"sig","key_ops":["sign","verify"],"alg":"ES256","crv":"P-256","x":"{x}","y":"{x}","d":"{d}"}},{{"kty":"oct","k":"{k}","alg":"HS256"}}]"#
    );
    let public = format!(r#"{{"keys":[{{"kty":"EC","kid":"k1","alg":"ES256","crv":"P-256","x":"{x}","y":"{x}"}}]}}"#);
    let es256 = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#),
        b64.encode(r#"{"role":"service_role","iss":"supabase","iat":1,"exp":9999999999}"#),
        b64.encode([9u8; 64])
    );
    let publishable = format!("sb_publishable_{}_{}", &random_secret().expose()[..22], "AbCd1234");
    sb.write(
        "deploy/keys.txt",
        &format!("secret {opaque}\n{jwks}\npublic {public}\nasym {es256}\npub {publishable}\n"),
    );
    sb.commit_all("keys");
    let out = sb.xtask(["verify"]).fails_with(1);
    let sb_found = out.findings_of("repo.leak-sb-secret");
    assert!(
        sb_found.len() == 1 && sb_found[0].contains("deploy/keys.txt:1"),
        "{}",
        out.stdout
    );
    assert!(sb_found[0].contains("checksum verifies"), "{}", out.stdout);
    let keys = out.findings_of("repo.leak-private-key");
    assert!(
        keys.len() == 1 && keys[0].contains("deploy/keys.txt:2"),
        "{}",
        out.stdout
    );
    let jwts = out.findings_of("repo.leak-jwt");
    assert!(
        jwts.len() == 1 && jwts[0].contains("deploy/keys.txt:4"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("deploy/keys.txt:3") && !out.stdout.contains("deploy/keys.txt:5"),
        "{}",
        out.stdout
    );
    out.never_shows(&[&opaque, &d, &k, &es256, &publishable]);
}

#[test]
fn other_names_of_env_files_are_ignored_and_caught_when_tracked() {
    let sb = Sandbox::git_repo();
    for name in ["production.env", "deploy/.env_prod", ".envrc", "config/secrets.env"] {
        let ignored = sb.git(&["check-ignore", "--no-index", "-v", name]);
        assert!(!ignored.is_empty(), "{name} is not ignored");
    }
    let canary = "EnvNameCanary0123456789";
    sb.write("deploy/production.env", &format!("SMTP_PASS={canary}\n"));
    sb.write(".envrc", "export PATH=$PWD/bin:$PATH\n");
    sb.git(&["add", "-f", "deploy/production.env", ".envrc"]);
    sb.git(&["commit", "-qm", "oops"]);
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.untracked-secrets");
    assert_eq!(found.len(), 2, "{}", out.stdout);
    assert!(
        found
            .iter()
            .any(|l| l.contains("git rm --cached deploy/production.env")),
        "{}",
        out.stdout
    );
    assert!(
        found.iter().any(|l| l.contains("git rm --cached .envrc")),
        "{}",
        out.stdout
    );
    out.never_shows(&[canary]);

    // A .gitignore without the rules is named, rule by rule.
    let gitignore = sb.read(".gitignore").replace("*.env\n", "").replace(".envrc\n", "");
    sb.write(".gitignore", &gitignore);
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.ignore-rules");
    assert!(
        found.iter().any(|l| l.contains("add the line *.env to .gitignore")),
        "{}",
        out.stdout
    );
    assert!(
        found.iter().any(|l| l.contains("add the line .envrc to .gitignore")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_catalog_secret_assigned_a_real_value_is_caught_by_line_and_variable() {
    let sb = Sandbox::git_repo();
    let password = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    let secret = random_secret();
    sb.write(
        "deploy/values.yaml",
        &format!(
            "db:\n  env:\n    POSTGRES_PASSWORD: {password}\n    JWT_SECRET: ${{JWT_SECRET}}\n    DASHBOARD_PASSWORD: this_password_is_insecure_and_should_be_updated\n"
        ),
    );
    sb.write(
        "docs/deploy.md",
        &format!("Set it:\n\n```\nJWT_SECRET={}\n```\n", secret.expose()),
    );
    sb.commit_all("deploy values");
    let out = sb.xtask(["verify"]).fails_with(1);
    let found = out.findings_of("repo.leak-assigned");
    assert_eq!(found.len(), 2, "{}", out.stdout);
    assert!(
        found
            .iter()
            .any(|l| l.contains("deploy/values.yaml:3 POSTGRES_PASSWORD")),
        "{}",
        out.stdout
    );
    assert!(
        found.iter().any(|l| l.contains("docs/deploy.md:4 JWT_SECRET")),
        "{}",
        out.stdout
    );
    out.never_shows(&[password, secret.expose()]);
}

/// A committed setup.conf that setup would refuse is a finding by line, so a
/// pull request carrying an option-shaped ref, a transport-helper URL or
/// another vault program fails CI before anybody runs setup with it.
#[test]
fn a_setup_conf_setup_would_refuse_is_caught_by_line() {
    let payload = "--upload-pack=touch pwned-canary; git-upload-pack";
    for (find, replace, shown) in [
        (
            "upstream_ref = \"f813858db24e424146f62442faeafeed544dc508\"",
            format!("upstream_ref = \"{payload}\""),
            "stack.upstream_ref starts with `-`",
        ),
        (
            "upstream_url = \"https://github.com/supabase/supabase\"",
            "upstream_url = \"ext::sh -c touch% pwned-canary\"".to_string(),
            "stack.upstream_url names a git transport helper",
        ),
        (
            "upstream_url = \"https://github.com/supabase/supabase\"",
            "upstream_url = \"https://example.invalid/r.git?private_token=pwned-canary\"".to_string(),
            "stack.upstream_url has a query string",
        ),
        (
            "[secrets]",
            "[vaults.bws]\ncommand = \"sh\"\n\n[secrets]".to_string(),
            "vaults.bws.command may only be bws, found on PATH",
        ),
    ] {
        let sb = Sandbox::git_repo();
        let conf = sb.read("setup.conf");
        assert!(conf.contains(find), "{find}");
        let conf = conf.replacen(find, &replace, 1);
        let assignment = replace.lines().find(|l| l.contains(" = ")).unwrap();
        let line = conf.lines().position(|l| l == assignment).unwrap() + 1;
        sb.write("setup.conf", &conf);
        sb.commit_all("hostile setup.conf");
        let out = sb.xtask(["verify"]).fails_with(1);
        let found = out.findings_of("repo.setup-conf");
        assert_eq!(found.len(), 1, "{}", out.stdout);
        assert!(found[0].contains(&format!("setup.conf:{line}")), "{}", found[0]);
        assert!(found[0].contains(shown), "{}", found[0]);
        out.never_shows(&["pwned-canary"]);
    }
}
