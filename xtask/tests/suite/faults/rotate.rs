//! `rotate` under faults, on the real test stack: SIGKILLed at each step of a
//! rotation of POSTGRES_PASSWORD and JWT_SECRET, then repaired with
//! `rotate --rollback` as the key-management guide says; and its success,
//! failure and refusal paths searched for leaked secrets, with those of
//! `verify --live` and `setup --up` on the same running stack.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use xtask::envfile::EnvFile;
use xtask::private_file::is_temp_name;
use xtask::secrets::{Role, jwt};

use crate::common::faults::{self, files};
use crate::common::repo;
use crate::common::stack::Stack;

/// What a kill left is sound: `.env` is one of the files the project has had
/// or a complete new one, every backup is a complete earlier `.env`, every
/// audit line is whole JSON. Returns whether `.env` is the old file.
fn check_after_kill(stack: &Stack, seen: &BTreeSet<String>, old_text: &str, context: &str) -> bool {
    let text = stack.env_text();
    let is_old = text == old_text;
    if !is_old {
        let env = EnvFile::parse(Path::new(".env"), text.clone()).expect("the new .env parses");
        let get = |k: &str| env.get(k).unwrap_or_default();
        assert!(
            jwt::is_valid_for(&get("ANON_KEY"), &get("JWT_SECRET"), Role::Anon),
            "{context}"
        );
        assert!(
            jwt::is_valid_for(&get("SERVICE_ROLE_KEY"), &get("JWT_SECRET"), Role::ServiceRole),
            "{context}"
        );
        assert_eq!(get("POSTGRES_PASSWORD").len(), 32, "{context}: a whole new password");
    }
    for (path, (bytes, mode)) in files(&stack.project_path("")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_temp_name(&name) {
            assert_eq!(mode, 0o600, "{context}: {name}");
        } else if path.starts_with("backups") {
            let backup = String::from_utf8(bytes).unwrap();
            assert!(
                seen.contains(&backup),
                "{context}: backup {name} is not a complete earlier .env"
            );
            assert_eq!(mode, 0o600, "{context}: {name}");
        } else if name == "audit.log" {
            for line in String::from_utf8(bytes).unwrap().lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|_| panic!("{context}: a broken audit line: {line}"));
            }
        }
    }
    is_old
}

#[test]
fn rotate_killed_at_each_step_is_repaired_by_rollback() {
    let stack = Stack::up();
    let old = stack.env();
    let old_text = stack.env_text();
    let mut seen = BTreeSet::from([old_text.clone()]);
    let mut repaired = 0;
    let mut left_behind = 0;
    for spec in [
        "mid-write:.env.*",
        "mid-write:.env",
        "after-rename:.env",
        "rotate-after-database",
        "rotate-before-check",
    ] {
        let context = format!("rotate killed at {spec}");
        let child = faults::stop_at(stack.rotate(&["POSTGRES_PASSWORD", "JWT_SECRET", "--yes"]), spec);
        faults::kill(child);
        seen.insert(stack.env_text());
        let is_old = check_after_kill(&stack, &seen, &old_text, &context);
        if is_old {
            // Killed before the new .env was in place: nothing else changed.
            stack.assert_works_with(&old);
        } else {
            let out = stack.rotate(&["--rollback", "--yes"]).output();
            assert_eq!(out.code, 0, "{context}: rollback\n{}\n{}", out.stdout, out.stderr);
            assert_eq!(stack.env_text(), old_text, "{context}: the previous .env is back");
            stack.assert_works_with(&old);
            repaired += 1;
        }
        let temps: Vec<_> = files(&stack.project_path(""))
            .into_keys()
            .filter(|p| is_temp_name(&p.file_name().unwrap().to_string_lossy()))
            .collect();
        if is_old {
            left_behind += temps.len();
        } else {
            assert!(temps.is_empty(), "{context}: the rollback left {temps:?}");
        }
    }
    assert!(
        left_behind > 0,
        "the kills mid-write left temporary files for the next run to remove"
    );
    assert_eq!(repaired, 3, "the last three kills left the new .env");
    eprintln!("rotate: 5 kills survived, 3 repaired by rotate --rollback");
}

/// One run on the stack: what, argv, `RECEPTOR_TEST_FAIL_AT`, exit code, and
/// whether a new JWT_SECRET is written into `.env` first.
type StackCase = (&'static str, Vec<String>, Option<&'static str>, i32, bool);

/// Values that must never be shown: every value the project's `.env` has had.
fn secrets_of(text: &str) -> Vec<String> {
    crate::common::parse_env(text)
        .into_iter()
        .filter(|(k, v)| xtask::secrets::catalog::find(k).is_some() && v.len() >= 8)
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn a_running_stack_never_shows_a_secret_through_rotate_verify_or_setup() {
    let stack = Stack::up();
    let bin = stack.sb.path("recorders");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["git", "docker", "docker-compose"] {
        fs::copy(repo().join("stand-ins/recorders/recorder.sh"), bin.join(tool)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let smtp = "EnvCanarySmtpPassForRotate0123456789";
    let project = stack.project.clone();
    let rotate = |args: &[&str]| -> Vec<String> {
        ["rotate"]
            .iter()
            .chain(args)
            .chain(&["--env", "dev", "--project-name", &project])
            .map(|s| s.to_string())
            .collect()
    };
    let other = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(&["--project-name", &project])
            .map(|s| s.to_string())
            .collect()
    };
    let cases: Vec<StackCase> = vec![
        ("rotate --dry-run", rotate(&["JWT_SECRET", "--dry-run"]), None, 0, false),
        ("rotate JWT_SECRET", rotate(&["JWT_SECRET", "--yes"]), None, 0, false),
        (
            "rotate POSTGRES_PASSWORD failing at the database, rolled back",
            rotate(&["POSTGRES_PASSWORD", "--yes"]),
            Some("database"),
            1,
            false,
        ),
        (
            "rotate POSTGRES_PASSWORD",
            rotate(&["POSTGRES_PASSWORD", "--yes"]),
            None,
            0,
            false,
        ),
        (
            "rotate a Tier 2 value from the environment",
            rotate(&["SMTP_PASS"]),
            None,
            0,
            false,
        ),
        ("rotate --rollback", rotate(&["--rollback", "--yes"]), None, 0, false),
        (
            "rotate a key that encrypts stored data",
            rotate(&["VAULT_ENC_KEY", "--yes"]),
            None,
            2,
            false,
        ),
        (
            "rotate JWT_SECRET with no terminal to confirm",
            rotate(&["JWT_SECRET"]),
            None,
            3,
            false,
        ),
        (
            "rotate a name that is no secret",
            rotate(&["NOT_A_SECRET", "--yes"]),
            None,
            2,
            false,
        ),
        ("verify --live", other(&["verify", "--live"]), None, 0, false),
        (
            "verify --live --format json",
            other(&["verify", "--live", "--format", "json"]),
            None,
            0,
            false,
        ),
        (
            "verify --live, .env ahead of the containers",
            other(&["verify", "--live"]),
            None,
            1,
            true,
        ),
        (
            "setup, the running stack behind .env",
            other(&["setup", "--env", "dev"]),
            None,
            0,
            false,
        ),
        ("setup --up", other(&["setup", "--env", "dev", "--up"]), None, 0, false),
    ];
    let mut secrets: BTreeSet<String> = secrets_of(&stack.env_text()).into_iter().collect();
    secrets.insert(smtp.to_string());
    let mut leaks = Vec::new();
    for (name, args, fail_at, code, edit) in &cases {
        if *edit {
            let text = stack.env_text();
            let current = crate::common::parse_env(&text)["JWT_SECRET"].clone();
            let fresh = "DriftJwtSecretForTheLeakHunt0123456789ab";
            stack
                .sb
                .write(&format!("{project}/.env"), &text.replace(&current, fresh));
            secrets.insert(fresh.to_string());
        }
        let before = files(&stack.sb.root);
        let mut run = stack.sb.xtask(args).env("PATH", &path).env("SMTP_PASS", smtp);
        if let Some(step) = fail_at {
            run = run.env("RECEPTOR_TEST_FAIL_AT", step);
        }
        let out = run.output();
        assert_eq!(
            out.code, *code,
            "{name}\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        secrets.extend(secrets_of(&stack.env_text()));
        for backup in files(&stack.project_path("backups")).into_values() {
            secrets.extend(secrets_of(&String::from_utf8_lossy(&backup.0)));
        }
        let argv = fs::read(bin.join("argv.log")).unwrap_or_default();
        let mut places: Vec<(String, Vec<u8>)> = vec![
            ("stdout".into(), out.stdout.clone().into_bytes()),
            ("stderr".into(), out.stderr.clone().into_bytes()),
            ("children's argv".into(), argv),
        ];
        for (path, (bytes, _)) in files(&stack.sb.root) {
            let holds_secrets = path.ends_with(".env")
                || path.components().any(|c| c.as_os_str() == "backups")
                || path.starts_with("recorders");
            if !holds_secrets && before.get(&path).is_none_or(|(old, _)| *old != bytes) {
                places.push((format!("file {}", path.display()), bytes));
            }
        }
        for (place, bytes) in &places {
            for (i, secret) in secrets.iter().enumerate() {
                if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                    leaks.push(format!("{name}: secret #{i} in {place}"));
                }
            }
        }
    }
    let log = String::from_utf8_lossy(&fs::read(bin.join("argv.log")).unwrap()).into_owned();
    assert!(
        log.contains("docker\0compose\0") && log.contains("\0exec\0"),
        "the docker recorder saw the database statements go through compose exec"
    );
    eprintln!(
        "running stack (rotate, verify --live, setup --up): {} runs, {} secrets searched, {} leaks",
        cases.len(),
        secrets.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
