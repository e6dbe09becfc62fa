//! `cargo xtask rotate … --dry-run`, in every form (plain rotations, a
//! rollback, signing-key stages, API-key overlap steps): every file of the
//! repository left byte for byte and mode for mode as it was — no lock file
//! created, no temporary file of an interrupted run removed — and no value
//! shown, with canaries planted in `.env` and in the environment. A dry run
//! still waits for a run that holds the project lock, and plans from what
//! that run finished, never from a change half made.

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::Sandbox;

/// Tier 2 values planted in `.env`, which no dry run may show.
const IN_ENV: [(&str, &str); 3] = [
    ("OPENAI_API_KEY", "sk-CanaryOpenAiInEnv0123456789abcdef"),
    ("SMTP_PASS", "CanarySmtpPassInEnv0123456789abcdef"),
    ("SMS_TWILIO_AUTH_TOKEN", "CanaryTwilioInEnv0123456789abcdef"),
];

/// New values in the environment, for the rotations that take them from there.
const NEW: [(&str, &str); 3] = [
    ("OPENAI_API_KEY", "sk-CanaryOpenAiNew0123456789abcdef"),
    ("SMTP_PASS", "CanarySmtpPassNew0123456789abcdef"),
    ("SMS_TWILIO_AUTH_TOKEN", "CanaryTwilioNew0123456789abcdef"),
];

/// `.env` with each of `values` set.
fn plant(env_path: &Path, values: &[(&str, &str)]) {
    let text: String = fs::read_to_string(env_path)
        .unwrap()
        .lines()
        .map(
            |line| match values.iter().find(|(name, _)| line.starts_with(&format!("{name}="))) {
                Some((name, value)) => format!("{name}={value}\n"),
                None => format!("{line}\n"),
            },
        )
        .collect();
    fs::write(env_path, text).unwrap();
}

/// A project folder as an interrupted run may leave it: no lock file (or
/// one), a temporary `.env` and a temporary backup half written.
fn leave_as_interrupted(dir: &Path, lock_file: bool) {
    let lock = dir.join(".xtask.lock");
    if lock_file {
        fs::write(&lock, "").unwrap();
        fs::set_permissions(&lock, fs::Permissions::from_mode(0o600)).unwrap();
    } else {
        let _ = fs::remove_file(&lock);
    }
    let backups = dir.join("backups");
    fs::create_dir_all(&backups).unwrap();
    fs::set_permissions(&backups, fs::Permissions::from_mode(0o700)).unwrap();
    for temp in [
        dir.join("..env.tmp.4242424"),
        backups.join("..env.20260101T000000Z.tmp.4242424"),
    ] {
        fs::write(&temp, "POSTGRES_PASSWORD=half").unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Every value that must never be shown: the canaries, and each secret of
/// the project's `.env` and of its backups.
fn never_shown(dir: &Path) -> Vec<String> {
    let mut envs = vec![dir.join(".env")];
    if let Ok(entries) = fs::read_dir(dir.join("backups")) {
        envs.extend(entries.map(|e| e.unwrap().path()));
    }
    envs.iter()
        .flat_map(|path| common::parse_env(&fs::read_to_string(path).unwrap()))
        .filter(|(k, v)| v.len() >= 16 && !k.ends_with("_IMAGE"))
        .map(|(_, v)| v)
        .chain(IN_ENV.iter().chain(&NEW).map(|(_, v)| v.to_string()))
        .collect()
}

/// Runs `rotate ARGS --dry-run` on `project` of `sb`, expecting exit `code`
/// and `shown` on stdout (or stderr, on failure), and checks that no file
/// under the sandbox changed and no value was shown.
fn dry_run(sb: &Sandbox, project: &str, args: &[&str], code: i32, shown: &str) -> common::Outcome {
    let before = common::tree(&sb.root);
    let mut all = vec!["rotate"];
    all.extend_from_slice(args);
    all.extend(["--dry-run", "--env", "dev", "--project-name", project]);
    let out = sb.xtask(all).envs(&NEW).output();
    assert_eq!(
        out.code, code,
        "rotate {args:?} --dry-run\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.contains(shown) || out.stderr.contains(shown),
        "rotate {args:?} --dry-run lacks {shown:?}\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    let secrets = never_shown(&sb.path(project));
    out.never_shows(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    common::assert_unchanged(&before, &sb.root, &format!("rotate {args:?} --dry-run"));
    out
}

#[test]
fn every_dry_run_of_rotate_on_a_project_folder_changes_no_file() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    // A backup to roll back to: the .env before the canaries.
    sb.write("p/backups/.env.20260101T000000Z", &sb.read("p/.env"));
    plant(&sb.path("p/.env"), &IN_ENV);
    let forms: [(&[&str], i32, &str); 10] = [
        (&["JWT_SECRET"], 0, "dry run: nothing changed"),
        (&["POSTGRES_PASSWORD", "SECRET_KEY_BASE"], 0, "dry run: nothing changed"),
        (&["--tier", "1"], 0, "dry run: nothing changed"),
        (&["--all"], 0, "SMTP_PASS"),
        (&["SMTP_PASS"], 0, "dry run: nothing changed"),
        (&["signing-key"], 0, "standby: due now"),
        (&["signing-key", "--stage", "standby"], 0, "dry run: nothing changed"),
        (
            &["SUPABASE_SECRET_KEY", "ANON_KEY", "--overlap", "1h"],
            0,
            "SUPABASE_SECRET_KEY_PREVIOUS: the current SUPABASE_SECRET_KEY",
        ),
        // Refused as the real runs would be: still nothing written.
        (
            &["SUPABASE_SECRET_KEY", "--stage", "revoke"],
            2,
            "has no overlap to revoke",
        ),
        (&["--rollback"], 2, "is not running"),
    ];
    for lock_file in [false, true] {
        leave_as_interrupted(&sb.path("p"), lock_file);
        for (args, code, shown) in forms {
            dry_run(&sb, "p", args, code, shown);
        }
    }
}

/// Starts `run` (stderr to `err_path`) while another run holds the lock,
/// and returns it once it has said it waits and, 300 ms later, still waits.
#[cfg(feature = "test-hooks")]
fn waiting(run: common::Run, err_path: &Path) -> std::process::Child {
    // Written to a file, read as it comes: the run must be seen waiting.
    use std::time::{Duration, Instant};
    let mut cmd = run.cmd;
    cmd.stdout(std::process::Stdio::piped())
        .stderr(fs::File::create(err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while !fs::read_to_string(err_path)
        .unwrap_or_default()
        .contains("waiting for another cargo xtask run on this project to finish")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the dry run never said it waits"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the dry run went on while the other run held the lock"
    );
    child
}

/// What the run `waiting` started printed, once it ends.
#[cfg(feature = "test-hooks")]
fn ended(child: std::process::Child, err_path: &Path) -> common::Outcome {
    let mut out = common::Outcome::from(child.wait_with_output().unwrap());
    out.stderr = fs::read_to_string(err_path).unwrap();
    out
}

/// A dry run started while setup holds the lock (stopped at `locked`) on a
/// project whose `SUPABASE_SECRET_KEY` is empty waits for it, then plans from
/// the `.env` setup wrote: read before, the overlap would be refused, as
/// there would be no old key to keep.
#[cfg(feature = "test-hooks")]
#[test]
fn a_dry_run_waits_for_the_run_that_holds_the_lock_and_reads_what_it_wrote() {
    use common::faults;

    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    let old = sb.env_values("p")["SUPABASE_SECRET_KEY"].clone();
    let text = sb
        .read("p/.env")
        .replace(&format!("SUPABASE_SECRET_KEY={old}"), "SUPABASE_SECRET_KEY=");
    sb.write("p/.env", &text);

    let holder = faults::stop_at(sb.xtask(["setup", "--env", "dev", "--project-name", "p"]), "locked");
    let dry = waiting(
        sb.xtask([
            "rotate",
            "SUPABASE_SECRET_KEY",
            "--overlap",
            "1h",
            "--dry-run",
            "--env",
            "dev",
            "--project-name",
            "p",
        ]),
        &sb.path("dry-run.stderr"),
    );

    let setup = common::Outcome::from(faults::resume(holder));
    assert_eq!(setup.code, 0, "{}", setup.stderr);
    setup.stdout_has("wrote p/.env");
    let out = ended(dry, &sb.path("dry-run.stderr"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.stdout_has("SUPABASE_SECRET_KEY_PREVIOUS: the current SUPABASE_SECRET_KEY")
        .stdout_has("dry run: nothing changed");
    let env = sb.env_values("p");
    assert!(env["SUPABASE_SECRET_KEY"].starts_with("sb_secret_"));
    assert_eq!(env["SUPABASE_SECRET_KEY_PREVIOUS"], "", "the dry run wrote nothing");
    out.never_shows(&[&env["SUPABASE_SECRET_KEY"], &old]);
}

/// On the running stack: a dry run started while an overlap step holds the
/// lock, stopped just after it was recorded as started, waits and plans from
/// the finished step (never a repair of a step half made); then every form
/// of dry run changes no file, with no lock file and with one.
#[cfg(feature = "test-hooks")]
#[test]
fn dry_runs_on_the_stack_wait_for_a_step_under_way_and_change_no_file() {
    use common::faults;
    use common::stack::Stack;

    let stack = Stack::up();
    let key = "SUPABASE_SECRET_KEY";
    let holder = faults::stop_at(stack.rotate(&[key, "--overlap", "1h"]), "stage-started");
    let dry = waiting(
        stack.rotate(&[key, "--stage", "revoke", "--now", "--dry-run"]),
        &stack.sb.path("dry-run.stderr"),
    );
    let step = common::Outcome::from(faults::resume(holder));
    assert_eq!(step.code, 0, "{}\n{}", step.stdout, step.stderr);
    step.stdout_has("overlap started: SUPABASE_SECRET_KEY is new");
    let out = ended(dry, &stack.sb.path("dry-run.stderr"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let env = stack.env();
    out.never_shows(&[&env[key], &env["SUPABASE_SECRET_KEY_PREVIOUS"]])
        .stdout_has("SUPABASE_SECRET_KEY_PREVIOUS: emptied")
        .stdout_has("dry run: nothing changed");
    assert!(!out.stdout.contains("did not finish"), "{}", out.stdout);

    plant(&stack.project_path(".env"), &IN_ENV);
    let forms: [(&[&str], i32, &str); 5] = [
        (&["--rollback"], 0, "variables restored: "),
        (&["JWT_SECRET"], 0, "services to recreate: "),
        (&["signing-key"], 0, "standby: due now"),
        (
            &["ANON_KEY", "--overlap", "1h"],
            0,
            "ANON_KEY_PREVIOUS: the current ANON_KEY",
        ),
        (
            &[key, "--stage", "revoke", "--now"],
            0,
            "SUPABASE_SECRET_KEY_PREVIOUS: emptied",
        ),
    ];
    for lock_file in [false, true] {
        leave_as_interrupted(&stack.project_path(""), lock_file);
        for (args, code, shown) in forms {
            dry_run(&stack.sb, &stack.project, args, code, shown);
        }
    }
}
