//! `cargo xtask setup --dry-run`: the plan shown (the summary table, the
//! files that would be created or changed), every file left byte for byte
//! as it was, no value shown, nobody prompted, the documented exit codes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::common;

use common::Sandbox;
use common::inject::{canaries, pairs, tier1, tier1_without};

fn assert_unchanged(before: &BTreeMap<PathBuf, (u32, Vec<u8>)>, sb: &Sandbox) {
    common::assert_unchanged(before, &sb.root, "a dry run");
}

#[test]
fn a_dry_run_on_a_fresh_folder_shows_the_plan_and_creates_nothing() {
    let sb = Sandbox::new();
    let before = common::tree(&sb.root);
    let smtp = "canary-smtp-dry-run-9f3a";
    let out = sb
        .xtask(["setup", "--env", "dev", "--dry-run"])
        .env("SMTP_PASS", smtp)
        .succeeds();
    assert_unchanged(&before, &sb);
    assert!(!sb.path("receptor-dev").exists());
    out.stdout_has("dry run: nothing is written")
        .stdout_has("JWT_SECRET                     1     generated")
        .stdout_has("SMTP_PASS                      2     set")
        .stdout_has("would create receptor-dev/ (mode 0700)")
        .stdout_has("would copy 16 template file(s) into receptor-dev/, 0 already present")
        .stdout_has("  receptor-dev/docker-compose.yml")
        .stdout_has("would write receptor-dev/.gitignore")
        .stdout_has("would write receptor-dev/.env (mode 0600)")
        .never_shows(&[smtp]);
}

#[test]
fn a_dry_run_on_an_existing_project_shows_the_change_and_touches_no_file() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let values = sb.env_values("receptor-dev");
    let published = "this_password_is_insecure_and_should_be_updated";
    let edited = sb.read("receptor-dev/.env").replace(
        &format!("DASHBOARD_PASSWORD={}", values["DASHBOARD_PASSWORD"]),
        &format!("DASHBOARD_PASSWORD={published}"),
    );
    sb.write("receptor-dev/.env", &edited);
    let before = common::tree(&sb.root);
    let smtp = "canary-smtp-dry-run-4b7c";

    let out = sb
        .xtask(["setup", "--env", "dev", "--dry-run"])
        .env("SMTP_PASS", smtp)
        .succeeds();
    assert_unchanged(&before, &sb);
    let secrets: Vec<&str> = values
        .iter()
        .filter(|(_, v)| v.len() >= 16)
        .map(|(_, v)| v.as_str())
        .chain([smtp, published])
        .collect();
    out.stdout_has("DASHBOARD_PASSWORD             1     replaced default")
        .stdout_has("changed: DASHBOARD_PASSWORD, SMTP_PASS")
        .stdout_has("would copy 0 template file(s) into receptor-dev/, 16 already present")
        .stdout_has("would back up the previous .env to receptor-dev/backups/ and write receptor-dev/.env (mode 0600)")
        .never_shows(&secrets);

    // A project that is up to date: the dry run says so.
    sb.xtask(["setup", "--env", "dev"]).env("SMTP_PASS", smtp).succeeds();
    let before = common::tree(&sb.root);
    sb.xtask(["setup", "--env", "dev", "--dry-run"])
        .env("SMTP_PASS", smtp)
        .succeeds()
        .stdout_has("no changes: receptor-dev/.env is up to date");
    assert_unchanged(&before, &sb);
}

#[test]
fn a_dry_run_fails_as_the_run_would_and_never_prompts_or_writes() {
    let sb = Sandbox::new();
    let before = common::tree(&sb.root);

    // Missing Tier 1 values: exit 3 at once, naming them, even at a terminal.
    let values = tier1_without(&["JWT_SECRET"]);
    sb.xtask(["setup", "--env", "staging", "--dry-run"])
        .envs(&pairs(&values))
        .fails_with(3)
        .stderr_has("(--dry-run): JWT_SECRET")
        .never_shows(&canaries(&values));
    let pty = sb
        .xtask(["setup", "--env", "staging", "--dry-run"])
        .envs(&pairs(&values))
        .in_pty();
    let (code, screen) = pty.finish();
    assert_eq!(code, 3, "asked at a terminal, or did not fail: {screen}");
    assert!(screen.contains("(--dry-run): JWT_SECRET;"), "{screen}");
    assert_unchanged(&before, &sb);

    // A weak injected value: refused, exit 2.
    let mut weak = tier1();
    weak.retain(|(name, _)| *name != "POSTGRES_PASSWORD");
    weak.push(("POSTGRES_PASSWORD", "short".to_string()));
    sb.xtask(["setup", "--env", "staging", "--dry-run"])
        .envs(&pairs(&weak))
        .fails_with(2)
        .stderr_has("POSTGRES_PASSWORD");
    assert_unchanged(&before, &sb);

    // Every value injected: the plan, exit 0, nothing written, nothing shown.
    let values = tier1();
    sb.xtask(["setup", "--env", "staging", "--dry-run"])
        .envs(&pairs(&values))
        .succeeds()
        .stdout_has("POSTGRES_PASSWORD              1     set         environment")
        .stdout_has("would write receptor-stg/.env (mode 0600)")
        .never_shows(&canaries(&values));
    assert_unchanged(&before, &sb);

    // --dry-run cannot start the stack or adopt an install: a usage error.
    sb.xtask(["setup", "--env", "dev", "--dry-run", "--up"]).fails_with(2);
    sb.xtask(["setup", "--env", "dev", "--dry-run", "--adopt", "docker"])
        .fails_with(2);
    assert_unchanged(&before, &sb);
}

#[test]
fn a_dry_run_of_an_upgrade_names_it_and_leaves_the_project_as_it_was() {
    let sb = Sandbox::new();
    let (url, sha) = crate::setup_upstream::upstream(&sb);
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let before = common::tree(&sb.root);
    let upgrade = [
        "setup",
        "--env",
        "dev",
        "--upstream",
        "v1.0.0",
        "--upgrade",
        "--dry-run",
    ];
    let conf = sb
        .read("setup.conf")
        .replace("https://github.com/supabase/supabase", &url);
    sb.write("setup.conf", &conf);
    let before_conf = common::tree(&sb.root);
    sb.xtask(upgrade)
        .succeeds()
        .stdout_has(&format!(
            "would upgrade the stack template from the embedded docker/ to {url} at {sha}"
        ))
        .stdout_has("no changes: receptor-dev/.env is up to date");
    assert_unchanged(&before_conf, &sb);
    assert_ne!(before, before_conf, "setup.conf was pointed at the stand-in upstream");
}
