//! `cargo xtask verify` on a repository: each finding planted in a scratch git
//! repository and caught by name and file:line, never by value.

mod common;

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
    assert!(found[0].contains("possibly a live API key"), "{}", found[0]);
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
    let opaque = format!("sb_secret_{}", random_secret().expose());
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
    let opaque = format!("sb_secret_{}", random_secret().expose());
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
