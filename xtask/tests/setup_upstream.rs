//! `setup --upstream`: the stack taken from a git repository (a local bare
//! repository standing in for Supabase's, built here with the real git).

mod common;

use common::{Sandbox, git};

/// A bare repository shaped like Supabase's: `docker/` with upstream's
/// placeholder values, plus other folders the sparse checkout must skip.
fn upstream(sb: &Sandbox) -> (String, String) {
    let work = sb.path("upstream-work");
    std::fs::create_dir_all(work.join("docker")).unwrap();
    std::fs::create_dir_all(work.join("apps/www")).unwrap();
    std::fs::write(
        work.join("docker/.env.example"),
        "############\n# Secrets\n############\nPOSTGRES_PASSWORD=your-super-secret-and-long-postgres-password\nJWT_SECRET=your-super-secret-jwt-token-with-at-least-32-characters-long\nANON_KEY=\nSERVICE_ROLE_KEY=\nPOSTGRES_HOST=db\n",
    )
    .unwrap();
    std::fs::write(
        work.join("docker/docker-compose.yml"),
        "services:\n  db:\n    image: upstream/postgres:1\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      JWT_SECRET: ${JWT_SECRET}\n  rest:\n    image: upstream/postgrest:1\n    environment:\n      ANON: ${ANON_KEY}\n      SERVICE: ${SERVICE_ROLE_KEY}\n",
    )
    .unwrap();
    std::fs::write(work.join("apps/www/big.txt"), "not wanted").unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "upstream"]);
    git(&work, &["tag", "v1.0.0"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    let bare = sb.path("upstream.git");
    git(
        &sb.root,
        &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()],
    );
    (format!("file://{}", bare.display()), sha)
}

fn point_setup_conf_at(sb: &Sandbox, url: &str, reference: &str, source: &str) {
    let conf = sb
        .read("setup.conf")
        .replace("source = \"embedded\"", &format!("source = \"{source}\""))
        .replace("https://github.com/supabase/supabase", url)
        .replace("f813858db24e424146f62442faeafeed544dc508", reference);
    sb.write("setup.conf", &conf);
}

#[test]
fn upstream_at_a_tag_lays_out_only_its_docker_folder_and_replaces_its_defaults() {
    let sb = Sandbox::new();
    let (url, _) = upstream(&sb);
    point_setup_conf_at(&sb, &url, "0000000000000000000000000000000000000000", "embedded");
    let out = sb.xtask(["setup", "--env", "dev", "--upstream", "v1.0.0"]).succeeds();
    out.stdout_has("replaced default");
    assert!(
        sb.read("receptor-dev/docker-compose.yml")
            .contains("upstream/postgres:1")
    );
    assert!(!sb.path("receptor-dev/apps").exists());
    let env = sb.env_values("receptor-dev");
    assert_eq!(env["POSTGRES_PASSWORD"].len(), 32);
    assert_eq!(env["POSTGRES_HOST"], "db");
    assert!(!env["ANON_KEY"].is_empty());
    out.never_shows(&[&env["POSTGRES_PASSWORD"], &env["JWT_SECRET"]]);
}

#[test]
fn upstream_from_setup_conf_at_a_pinned_commit() {
    let sb = Sandbox::new();
    let (url, sha) = upstream(&sb);
    point_setup_conf_at(&sb, &url, &sha, "upstream");
    // git never sees the caller's GIT_* variables: these would break the fetch.
    sb.xtask(["setup", "--env", "dev"])
        .env("GIT_DIR", "/nonexistent/receptor.git")
        .env("GIT_CONFIG_PARAMETERS", "'core.sparseCheckout'='false'")
        .succeeds();
    assert!(
        sb.read("receptor-dev/docker-compose.yml")
            .contains("upstream/postgres:1")
    );
}

#[test]
fn a_missing_ref_or_repository_is_a_typed_one_line_error_with_exit_4() {
    let sb = Sandbox::new();
    let (url, _) = upstream(&sb);
    point_setup_conf_at(&sb, &url, "v9.9.9", "upstream");
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(4);
    assert!(out.one_line_error().contains("has no ref v9.9.9"), "{}", out.stderr);
    assert!(
        !sb.path("receptor-dev").exists(),
        "nothing is laid out when the fetch fails"
    );

    let sb2 = Sandbox::new();
    point_setup_conf_at(
        &sb2,
        &format!("file://{}", sb2.path("nowhere.git").display()),
        "v1.0.0",
        "upstream",
    );
    let out = sb2.xtask(["setup", "--env", "dev"]).fails_with(4);
    assert!(out.one_line_error().contains("cannot reach"), "{}", out.stderr);
}

/// A command that creates `marker` if git ever runs it as its upload-pack.
fn payload(marker: &std::path::Path) -> String {
    format!("--upload-pack=touch {};git-upload-pack", marker.display())
}

/// Asserts a run that was handed a payload failed with one line, laid out
/// nothing, and never ran it.
fn refused_without_running(sb: &Sandbox, out: &common::Outcome, marker: &std::path::Path, what: &str) {
    assert_ne!(out.code, 0, "{what}: accepted\n{}", out.stdout);
    assert!(!out.stderr.trim().is_empty(), "{what}: no message");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{what}:\n{}", out.stderr);
    assert!(!marker.exists(), "{what}: git ran the payload");
    assert!(!sb.path("receptor-dev").exists(), "{what}: something was laid out");
}

#[test]
fn an_option_looking_ref_or_url_never_runs_as_a_git_option() {
    let sb = Sandbox::new();
    let (url, _) = upstream(&sb);
    let marker = sb.path("payload-ran");
    let attack = payload(&marker);

    point_setup_conf_at(&sb, &url, &attack, "upstream");
    let out = sb.xtask(["setup", "--env", "dev"]).output();
    refused_without_running(&sb, &out, &marker, "stack.upstream_ref");

    let conf = sb.read("setup.conf").replace(&attack, "v1.0.0").replace(&url, ".");
    sb.write("setup.conf", &conf);
    let out = sb
        .xtask(["setup", "--env", "dev", &format!("--upstream={attack}")])
        .output();
    refused_without_running(&sb, &out, &marker, "--upstream=<payload>");
    // Without `=`, the payload is an unknown option to the command line itself.
    let out = sb.xtask(["setup", "--env", "dev", "--upstream", &attack]).fails_with(2);
    assert!(out.stderr.contains("unexpected argument"), "{}", out.stderr);
    assert!(!marker.exists(), "--upstream <payload>: git ran the payload");

    for bad_url in [attack.clone(), format!("ext::sh -c touch% {}", marker.display())] {
        let sb = Sandbox::new();
        upstream(&sb);
        point_setup_conf_at(&sb, &bad_url, "v1.0.0", "upstream");
        let out = sb.xtask(["setup", "--env", "dev"]).output();
        refused_without_running(&sb, &out, &marker, &format!("stack.upstream_url = {bad_url}"));
    }
}
