//! Output that is a contract, compared exactly with the files in
//! `xtask/tests/snapshots/`: setup's summary table, each command's `--help`,
//! and verify's table and JSON report. Update on purpose with
//! `UPDATE_SNAPSHOTS=1` (see `common/snapshot.rs`).

use std::path::Path;

use crate::common;

use common::Sandbox;
use common::snapshot::{self, masked};

#[test]
fn masking_replaces_the_sandbox_and_time_stamps_only() {
    let root = Path::new("/tmp/xtask-test-1-2");
    let text = "backed up /tmp/xtask-test-1-2/receptor-dev/.env to backups/.env.20261201T230419Z \
                at 2026-12-01T23:04:19Z; kept 12345678 and 2026-12-01";
    assert_eq!(
        masked(text, root),
        "backed up [ROOT]/receptor-dev/.env to backups/.env.[TIME] at [TIME]; kept 12345678 and 2026-12-01"
    );
}

#[test]
fn a_snapshot_that_differs_or_is_missing_fails_saying_how_to_update_it() {
    let path = Path::new("snapshots/help.txt");
    assert_eq!(snapshot::compare(path, Some("a\nb\n"), "a\nb\n"), Ok(()));
    let reason = snapshot::compare(path, Some("a\nb\nc\n"), "a\nB\nc\n").unwrap_err();
    assert!(
        reason.starts_with("snapshots/help.txt differs from the output at line 2:"),
        "{reason}"
    );
    assert!(reason.contains("expected: \"b\\n\"\n  actual:   \"B\\n\""), "{reason}");
    let reason = snapshot::compare(path, Some("a\n"), "a\nmore\n").unwrap_err();
    assert!(reason.contains("expected: \"(end of file)\""), "{reason}");
    let reason = snapshot::compare(path, None, "a\n").unwrap_err();
    assert!(
        reason.contains("does not exist: run the test with UPDATE_SNAPSHOTS=1"),
        "{reason}"
    );
}

#[test]
fn the_setup_summary_of_a_fresh_dev_project_is_exact() {
    let sb = Sandbox::new();
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    snapshot::assert("setup-dev-fresh.txt", &snapshot::of_run(&out, &sb.root));
}

#[test]
fn the_setup_summary_of_a_second_run_is_exact() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    snapshot::assert("setup-dev-again.txt", &snapshot::of_run(&out, &sb.root));
}

#[test]
fn the_setup_summary_of_a_replaced_default_is_exact() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let env = sb.read("receptor-dev/.env");
    let published = "DASHBOARD_PASSWORD=this_password_is_insecure_and_should_be_updated";
    let edited: String = env
        .lines()
        .map(|l| {
            if l.starts_with("DASHBOARD_PASSWORD=") {
                published
            } else {
                l
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited, env, "the .env sets DASHBOARD_PASSWORD");
    sb.write("receptor-dev/.env", &edited);
    let out = sb.xtask(["setup", "--env", "dev"]).succeeds();
    snapshot::assert("setup-dev-replaced-default.txt", &snapshot::of_run(&out, &sb.root));
}

#[test]
fn the_help_of_every_command_is_exact() {
    let sb = Sandbox::new();
    let mut differ = Vec::new();
    for (args, name) in [
        (vec!["--help"], "help.txt"),
        (vec!["setup", "--help"], "help-setup.txt"),
        (vec!["rotate", "--help"], "help-rotate.txt"),
        (vec!["verify", "--help"], "help-verify.txt"),
    ] {
        let out = sb.xtask(args).succeeds();
        assert_eq!(out.stderr, "");
        // Nothing in help varies between runs: compared unmasked.
        if let Err(reason) = snapshot::check(name, &out.stdout) {
            differ.push(reason);
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}

#[test]
fn the_verify_reports_are_exact() {
    let sb = crate::verify_output::repo_with_findings();
    let json = sb.xtask(["verify", "--scope", "all", "--format", "json"]).fails_with(1);
    let table = sb.xtask(["verify", "--scope", "all"]).fails_with(1);
    let mut differ = Vec::new();
    for (name, out) in [("verify-leak.json", &json), ("verify-leak.txt", &table)] {
        assert_eq!(out.stderr, "");
        if let Err(reason) = snapshot::check(name, &masked(&out.stdout, &sb.root)) {
            differ.push(reason);
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}
