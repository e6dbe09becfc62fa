//! Checks on the repository itself: docs in sync with the code, every module
//! documented, nothing secret tracked.

use crate::common;

use std::fs;
use std::path::Path;

use common::{Sandbox, binary_in, repo};

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = Vec::new();
    rust_files(&repo().join("xtask/src"), &mut files);
    rust_files(&repo().join("xtask/tests"), &mut files);
    assert!(files.len() > 10);
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with a //! line",
            file.display()
        );
    }
}

/// A file in the one test binary's folder that `main.rs` does not declare
/// would never be compiled, its tests silently gone.
#[test]
fn every_test_file_is_a_module_of_the_suite() {
    let suite = repo().join("xtask/tests/suite");
    let main = fs::read_to_string(suite.join("main.rs")).unwrap();
    for entry in fs::read_dir(&suite).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
        if module && name != "main" {
            assert!(
                main.lines().any(|l| l.trim() == format!("mod {name};")),
                "xtask/tests/suite/{name} is not declared in xtask/tests/suite/main.rs: add `mod {name};`"
            );
        }
    }
}

/// The catalog is the one place that spells a secret's name: production code
/// elsewhere uses its constants (`secrets::name::JWT_SECRET`), never a literal.
#[test]
fn no_secret_name_is_a_string_literal_outside_the_catalog() {
    let mut files = Vec::new();
    rust_files(&repo().join("xtask/src"), &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("secrets/catalog.rs")) {
        let text = fs::read_to_string(file).unwrap();
        let production = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in production.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for name in xtask::secrets::name::ALL {
                if line.contains(&format!("\"{name}\"")) {
                    found.push(format!("{}:{}: \"{name}\"", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "use secrets::name:: instead:\n{}", found.join("\n"));
}

/// Like rust-analyzer's tidy: when the docs table is stale, the test writes
/// the fresh one into the file and fails, so the fix is to commit the file.
#[test]
fn the_docs_table_of_secrets_is_the_catalog() {
    let path = repo().join("docs/key-management.md");
    let doc = fs::read_to_string(&path).unwrap();
    let (start_marker, end_marker) = ("<!-- catalog:start -->\n", "<!-- catalog:end -->");
    let start = doc.find(start_marker).expect("catalog start marker") + start_marker.len();
    let end = doc.find(end_marker).expect("catalog end marker");
    let table = xtask::secrets::catalog::markdown_table();
    if doc[start..end] != table {
        let fresh = format!("{}{table}{}", &doc[..start], &doc[end..]);
        fs::write(&path, fresh).unwrap();
        panic!("docs/key-management.md was out of date with the catalog; it has been updated: review and commit it");
    }
}

#[test]
fn docs_keep_their_docusaurus_front_matter() {
    for entry in fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("---\nsidebar_position:"),
                "{} lacks sidebar_position front matter",
                path.display()
            );
        }
    }
}

#[test]
fn the_env_example_lists_every_catalog_secret_with_an_empty_value() {
    let example = fs::read_to_string(repo().join("docker/.env.example")).unwrap();
    let values = common::parse_env(&example);
    for spec in xtask::secrets::CATALOG.iter().filter(|s| !s.when_declared) {
        assert_eq!(
            values.get(spec.name).map(String::as_str),
            Some(""),
            "{} in docker/.env.example",
            spec.name
        );
    }
}

#[test]
fn every_verify_check_is_documented() {
    let doc = fs::read_to_string(repo().join("docs/verify.md")).unwrap();
    for check in xtask::verify::checks() {
        assert!(
            doc.contains(&format!("| `{}` |", check.id)),
            "docs/verify.md does not document the check {}",
            check.id
        );
    }
}

/// The GitLab example names every required Tier 1 secret and runs setup
/// without prompts, then verify.
#[test]
fn the_gitlab_example_injects_every_required_tier1_secret() {
    let text = fs::read_to_string(repo().join("docs/gitlab-ci.example.yml")).unwrap();
    for spec in xtask::secrets::CATALOG {
        let required = spec.tier == xtask::secrets::Tier::One && !spec.when_declared && spec.is_primary();
        if required {
            assert!(
                text.contains(spec.name),
                "docs/gitlab-ci.example.yml does not name {}",
                spec.name
            );
        }
    }
    assert!(text.contains("cargo xtask setup --env \"$RECEPTOR_ENV\" --non-interactive"));
    assert!(text.contains("cargo xtask verify"));
}

/// The release build, as operators get it (`cargo build --release`), its path.
fn release_binary() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "xtask",
            "--bin",
            "xtask",
            "--message-format=json",
        ])
        .current_dir(repo())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build --release failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "xtask")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo names the xtask executable")
}

/// The test hooks are compiled out of the shipped binary: no byte of it
/// names them, and with both variables set it neither stops nor changes
/// anything (the same files and output as a run without them).
#[test]
fn the_shipped_binary_has_no_test_hooks() {
    let bin = release_binary();
    let bytes = fs::read(&bin).unwrap();
    assert!(
        !bytes.windows(b"RECEPTOR_TEST_".len()).any(|w| w == b"RECEPTOR_TEST_"),
        "{} holds the name of a test hook",
        bin.display()
    );
    let shape = |sb: &Sandbox| -> Vec<(String, u32)> {
        common::faults::files(&sb.path("receptor-dev"))
            .into_iter()
            .map(|(path, (_, mode))| (path.display().to_string(), mode))
            .collect()
    };
    let plain = Sandbox::new();
    let plain_out = binary_in(&bin, &plain.root, ["setup", "--env", "dev"]).succeeds();
    let hooked = Sandbox::new();
    let hooked_out = binary_in(&bin, &hooked.root, ["setup", "--env", "dev"])
        .env("RECEPTOR_TEST_PAUSE_AT", "locked")
        .env("RECEPTOR_TEST_FAIL_AT", "database")
        .output_within(std::time::Duration::from_secs(60));
    assert_eq!(hooked_out.code, 0, "{}", hooked_out.stderr);
    assert_eq!(hooked_out.stdout, plain_out.stdout);
    assert_eq!(hooked_out.stderr, plain_out.stderr);
    assert_eq!(shape(&hooked), shape(&plain));
}

/// The exit codes are one table in `error.rs`; the docs' table is made from
/// it (regenerated, then the test fails, like the catalog table).
#[test]
fn the_docs_table_of_exit_codes_is_error_rs() {
    let path = repo().join("docs/key-management.md");
    let doc = fs::read_to_string(&path).unwrap();
    let (start_marker, end_marker) = ("<!-- exit-codes:start -->\n", "<!-- exit-codes:end -->");
    let start = doc.find(start_marker).expect("exit-codes start marker") + start_marker.len();
    let end = doc.find(end_marker).expect("exit-codes end marker");
    let table = xtask::error::exit_codes_markdown();
    if doc[start..end] != table {
        let fresh = format!("{}{table}{}", &doc[..start], &doc[end..]);
        fs::write(&path, fresh).unwrap();
        panic!(
            "docs/key-management.md was out of date with error.rs's exit codes; it has been updated: review and commit it"
        );
    }
}

/// Every subcommand's `--help` ends with the exit codes it can return, each
/// worded as in the one table; and the top-level help lists them all.
#[test]
fn help_shows_the_exit_codes_of_the_one_table() {
    use clap::CommandFactory;
    let mut cli = xtask::cli::Cli::command();
    let top = cli.render_long_help().to_string();
    for (code, meaning) in xtask::error::EXIT_CODES {
        let line = format!("  {code}  {}", meaning.replace('`', ""));
        assert!(top.contains(&line), "cargo xtask --help lacks {line:?}");
    }
    for (name, codes) in [
        ("setup", &[0, 2, 3, 4, 5][..]),
        ("rotate", &[0, 1, 2, 3, 4, 5, 6]),
        ("verify", &[0, 1, 2]),
    ] {
        let help = cli.find_subcommand_mut(name).unwrap().render_long_help().to_string();
        assert!(
            help.trim_end().ends_with(&xtask::error::exit_codes_text(codes)),
            "cargo xtask {name} --help does not end with its exit codes:\n{help}"
        );
    }
}

/// Every flag of every subcommand is documented: setup's and rotate's in
/// docs/key-management.md, verify's in docs/verify.md.
#[test]
fn every_flag_is_documented() {
    use clap::CommandFactory;
    let cli = xtask::cli::Cli::command();
    for (name, doc) in [
        ("setup", "key-management.md"),
        ("rotate", "key-management.md"),
        ("verify", "verify.md"),
    ] {
        let text = fs::read_to_string(repo().join("docs").join(doc)).unwrap();
        let sub = cli.find_subcommand(name).unwrap();
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if ["help", "version"].contains(&long) {
                continue;
            }
            assert!(
                text.contains(&format!("`--{long}")),
                "docs/{doc} does not document `cargo xtask {name} --{long}`"
            );
        }
    }
}
