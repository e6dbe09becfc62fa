//! `setup --upstream`: the stack taken from a git repository (a local bare
//! repository standing in for Supabase's, built here with the real git).

use crate::common;

use common::{Sandbox, git};

/// A bare repository shaped like Supabase's: `docker/` with upstream's
/// placeholder values, plus other folders the sparse checkout must skip.
pub(crate) fn upstream(sb: &Sandbox) -> (String, String) {
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

/// The command a hostile ref or URL carries: it creates `pwned` in the
/// sandbox if git ever runs it.
fn hostile_command(sb: &Sandbox) -> (String, std::path::PathBuf) {
    let marker = sb.path("pwned");
    (format!("touch {}", marker.display()), marker)
}

/// A committed setup.conf can no longer make git run a command: an
/// option-shaped ref, a transport-helper URL, "." or a relative path are
/// setup.conf errors (exit 2, line and column), and git is never called.
#[test]
fn a_ref_or_url_git_could_read_as_a_command_is_a_setup_conf_error_and_git_never_runs() {
    let sb = Sandbox::new();
    let (url, _) = upstream(&sb);
    let (touch, marker) = hostile_command(&sb);
    let hostile_ref = format!("--upload-pack={touch}; git-upload-pack");
    let cases = [
        (url.clone(), hostile_ref.clone(), "stack.upstream_ref starts with `-`"),
        (
            url.clone(),
            "v1.0.0 --upload-pack=x".to_string(),
            "stack.upstream_ref holds a space",
        ),
        (url.clone(), "a..b".to_string(), "stack.upstream_ref holds `..`"),
        (
            ".".to_string(),
            hostile_ref.clone(),
            "stack.upstream_ref starts with `-`",
        ),
        (
            ".".to_string(),
            "v1.0.0".to_string(),
            "stack.upstream_url is not a git URL",
        ),
        (
            format!("ext::sh -c {}", touch.replace(' ', "% ")),
            "v1.0.0".to_string(),
            "stack.upstream_url names a git transport helper",
        ),
        (
            format!("--upload-pack={touch}"),
            "v1.0.0".to_string(),
            "stack.upstream_url starts with `-`",
        ),
    ];
    point_setup_conf_at(&sb, &url, "f813858db24e424146f62442faeafeed544dc508", "upstream");
    let original = sb.read("setup.conf");
    for (bad_url, reference, shown) in cases {
        let conf = original
            .replace(&url, &bad_url)
            .replace("f813858db24e424146f62442faeafeed544dc508", &reference);
        sb.write("setup.conf", &conf);
        let line = conf
            .lines()
            .position(|l| l.contains(shown.split_whitespace().next().unwrap().trim_start_matches("stack.")))
            .unwrap()
            + 1;
        let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
        let error = out.one_line_error();
        assert!(
            error.contains(&format!("setup.conf:{line}:16: {shown}")),
            "{bad_url} {reference}: {error}"
        );
        assert!(!error.contains("upload-pack=") && !error.contains("touch"), "{error}");
        assert!(!marker.exists(), "git ran the payload of {bad_url} {reference}");
        assert!(!sb.path("receptor-dev").exists(), "nothing laid out");
        assert!(!out.stdout.contains("fetching"), "{}", out.stdout);
    }
}

/// `--upstream REF` gets the same rules as setup.conf, and every error about
/// it names the flag, not setup.conf.
#[test]
fn a_bad_ref_on_the_command_line_names_the_flag() {
    let sb = Sandbox::new();
    let (url, _) = upstream(&sb);
    point_setup_conf_at(&sb, &url, "f813858db24e424146f62442faeafeed544dc508", "embedded");
    let (touch, marker) = hostile_command(&sb);
    let hostile = format!("--upstream=--upload-pack={touch}; git-upload-pack");
    for args in [
        vec![hostile.as_str()],
        vec!["--upstream", "a..b"],
        vec!["--upstream", "v1 x"],
    ] {
        let out = sb
            .xtask(["setup", "--env", "dev"].into_iter().chain(args.iter().copied()))
            .fails_with(2);
        assert!(
            out.stderr.contains("for '--upstream [<REF>]': the ref "),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("setup.conf"), "{}", out.stderr);
        assert!(!marker.exists(), "git ran the payload");
        assert!(!sb.path("receptor-dev").exists());
    }

    // A well-formed ref the repository lacks: git's answer, about the flag.
    let out = sb
        .xtask(["setup", "--env", "dev", "--upstream", "v9.9.9"])
        .fails_with(4);
    let error = out.one_line_error();
    assert!(error.contains("has no ref v9.9.9 (given with --upstream)"), "{error}");
    assert!(!error.contains("check stack.upstream_ref"), "{error}");
}

/// Credentials in the query string never reach git, nor the output.
#[test]
fn a_url_with_a_token_in_its_query_string_is_refused_and_never_printed() {
    let sb = Sandbox::new();
    let canary = "glpat-QueryCanary0123456789";
    point_setup_conf_at(
        &sb,
        &format!("https://gitlab.example.invalid/supabase.git?private_token={canary}"),
        "v1.0.0",
        "upstream",
    );
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    assert!(
        out.one_line_error()
            .contains("stack.upstream_url has a query string or fragment, which can carry a token"),
        "{}",
        out.stderr
    );
    out.never_shows(&[canary]);
}

/// The ref rules are git's own: every candidate this tool accepts,
/// `git check-ref-format --allow-onelevel` accepts too; every one git refuses
/// is refused here (and `-` first is refused although git's refname rules
/// allow it, as git would read it as an option).
#[test]
fn ref_rules_agree_with_git_check_ref_format() {
    let candidates = [
        "v1.0.0",
        "master",
        "main",
        "release/2026-01",
        "refs/tags/v1.0.0",
        "HEAD",
        "f813858",
        "a-b_c.d",
        "ünïcødé",
        "a/b/c",
        "-x",
        "--upload-pack=x",
        "a b",
        "a..b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a\tb",
        "@",
        "a@{1}",
        "a@b",
        "/a",
        "a/",
        "a//b",
        "a.",
        ".a",
        "a/.b",
        "a.lock",
        "a/b.lock",
        "a.lock/b",
        "x\u{7f}",
        "",
    ];
    let sb = Sandbox::new();
    let sh = xshell::Shell::new().unwrap();
    sh.change_dir(&sb.root);
    for candidate in candidates {
        let ours = xtask::config::UpstreamRef::parse(candidate).is_ok();
        let gits = xshell::cmd!(sh, "git check-ref-format --allow-onelevel {candidate}")
            .quiet()
            .ignore_stderr()
            .run()
            .is_ok();
        if candidate.starts_with('-') {
            assert!(!ours, "{candidate:?} starts with -");
        } else {
            assert_eq!(ours, gits, "{candidate:?}: ours {ours}, git {gits}");
        }
    }
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
    // A usage error of the command line: clap's message names the flag.
    let out = sb
        .xtask(["setup", "--env", "dev", &format!("--upstream={attack}")])
        .fails_with(2);
    assert!(out.stderr.starts_with("error: invalid value"), "{}", out.stderr);
    assert!(out.stderr.contains("for '--upstream [<REF>]'"), "{}", out.stderr);
    assert!(!marker.exists(), "--upstream=<payload>: git ran the payload");
    assert!(
        !sb.path("receptor-dev").exists(),
        "--upstream=<payload>: something was laid out"
    );
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
