//! Permissions: every file that holds a secret is 0600 from its first byte,
//! whatever the umask; the project folder is 0700; a `.env` or folder that
//! others can read is reported with the exact command that fixes it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::faults::{self, Scenario, files};
use crate::common::{Run, Sandbox};

/// The xtask run by `sh` after `umask 000`: any mode it gets, it asked for.
fn with_umask_000(sb: &Sandbox, args: &[&str]) -> Run {
    with_umask(sb, "000", args)
}

/// The xtask run by `sh` after `umask UMASK`.
fn with_umask(sb: &Sandbox, umask: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(&sb.root)
        .env_clear()
        .env("PATH", "/nonexistent")
        .stdin(std::process::Stdio::null());
    Run { cmd }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The one temporary file of the run in `dir`.
fn temp_in(dir: &Path) -> std::path::PathBuf {
    let temps: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| xtask::private_file::is_temp_name(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    assert_eq!(temps.len(), 1, "{temps:?}");
    temps[0].clone()
}

/// strace, found on the test's PATH (the runs themselves get none).
fn strace() -> std::path::PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join("strace"))
        .find(|p| p.is_file())
        .expect("strace is installed (utils/test.sh installs it)")
}

#[test]
fn with_umask_000_every_secret_file_is_private_and_the_folders_closed() {
    let sb = Sandbox::new();
    with_umask_000(&sb, &["setup", "--env", "dev"]).succeeds();
    assert_eq!(sb.mode("receptor-dev"), 0o700);
    assert_eq!(sb.mode("receptor-dev/.env"), 0o600);
    assert_eq!(sb.mode("receptor-dev/.xtask.lock"), 0o600);
    for (path, (_, mode)) in files(&sb.path("receptor-dev")) {
        assert_eq!(mode & 0o022, 0, "{} is writable by others", path.display());
    }
    for dir in ["volumes", "volumes/db"] {
        assert_eq!(sb.mode(&format!("receptor-dev/{dir}")), 0o755, "{dir}");
    }
    let text = sb.read("receptor-dev/.env").replace("JWT_SECRET=", "JWT_SECRET=x");
    sb.write("receptor-dev/.env", &text);
    fs::set_permissions(sb.path("receptor-dev/.env"), fs::Permissions::from_mode(0o600)).unwrap();
    let out = with_umask_000(&sb, &["setup", "--env", "dev"]).succeeds();
    out.stdout_has("backed up");
    assert_eq!(sb.mode("receptor-dev/backups"), 0o700);
    for (path, (_, mode)) in files(&sb.path("receptor-dev/backups")) {
        assert_eq!(mode, 0o600, "backup {}", path.display());
    }
}

/// Under umask 077 the template's folders and files still come out as the
/// template has them (0755, 0644): containers read them through bind
/// mounts; the secrets stay 0600 and the project folder 0700.
#[test]
fn with_umask_077_template_folders_are_0755_and_files_keep_their_mode() {
    let sb = Sandbox::new();
    with_umask(&sb, "077", &["setup", "--env", "dev"]).succeeds();
    for dir in ["volumes", "volumes/db", "volumes/functions/main"] {
        assert_eq!(sb.mode(&format!("receptor-dev/{dir}")), 0o755, "{dir}");
    }
    for file in ["docker-compose.yml", "volumes/api/kong.yml", "volumes/db/roles.sql"] {
        let template = sb.mode(&format!("docker/{file}")) & 0o755;
        assert_eq!(sb.mode(&format!("receptor-dev/{file}")), template, "{file}");
    }
    assert_eq!(sb.mode("receptor-dev"), 0o700);
    assert_eq!(sb.mode("receptor-dev/.env"), 0o600);
}

/// Stopped right after the temporary file is created, and again half
/// written: it is 0600 already, under umask 000.
#[test]
fn a_secret_file_is_private_from_its_first_byte() {
    let scenario = Scenario::stale();
    for (spec, dir) in [
        ("created:.env", "receptor-dev"),
        ("mid-write:.env", "receptor-dev"),
        ("created:.env.*", "receptor-dev/backups"),
        ("mid-write:.env.*", "receptor-dev/backups"),
    ] {
        let sb = scenario.trial();
        let child = faults::stop_at(with_umask_000(&sb, &["setup", "--env", "dev"]), spec);
        let temp = temp_in(&sb.path(dir));
        let size = fs::metadata(&temp).unwrap().len();
        assert_eq!(mode(&temp), 0o600, "{spec}: {}", temp.display());
        assert_eq!(mode(&sb.path(dir)), 0o700, "{spec}: the folder");
        if spec.starts_with("created") {
            assert_eq!(size, 0, "{spec}: the file was checked before its first byte");
        } else {
            assert!(size > 0, "{spec}: half the bytes are written");
        }
        let partial = fs::read(&temp).unwrap();
        let out = crate::common::Outcome::from(faults::resume(child));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let target = if dir.ends_with("backups") {
            files(&sb.path(dir)).into_values().next().unwrap().0
        } else {
            fs::read(sb.path("receptor-dev/.env")).unwrap()
        };
        assert!(
            target.starts_with(&partial),
            "{spec}: what was written is the start of the file"
        );
    }
}

/// strace shows every secret file opened with O_CREAT and mode 0600, the
/// project folder made 0700, and no chmod of any kind afterwards.
#[test]
fn strace_shows_no_chmod_and_private_creation() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    let text = sb.read("receptor-dev/.env").replace("JWT_SECRET=", "JWT_SECRET=x");
    sb.write("receptor-dev/.env", &text);
    fs::set_permissions(sb.path("receptor-dev/.env"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(sb.path("receptor-dev/.gitignore")).unwrap();
    let log = sb.path("strace.log");
    let out = Command::new(strace())
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,open,creat,mkdir,mkdirat,chmod,fchmod,fchmodat",
            "/bin/sh",
            "-c",
            "umask 000 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_xtask"),
            "setup",
            "--env",
            "dev",
        ])
        .current_dir(&sb.root)
        .env_clear()
        .env("PATH", "/nonexistent")
        .output()
        .expect("strace is installed (utils/test.sh installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = fs::read_to_string(&log).unwrap();
    let chmods: Vec<&str> = trace.lines().filter(|l| l.contains("chmod(")).collect();
    assert!(chmods.is_empty(), "chmod after creation: {chmods:?}");
    let created = |name: &str| -> Vec<&str> {
        trace
            .lines()
            .filter(|l| l.contains("O_CREAT") && l.contains(name) && !l.contains("ENOENT"))
            .collect()
    };
    for name in ["/..env.tmp.", "/backups/..env.", "/.xtask.lock", "/..gitignore.tmp."] {
        let opens = created(name);
        assert!(!opens.is_empty(), "no creation of {name} seen:\n{trace}");
        for open in opens {
            assert!(open.contains(", 0600)"), "{name} created with another mode: {open}");
        }
    }
    let backups = trace.lines().find(|l| l.contains("mkdir") && l.contains("/backups"));
    assert!(
        backups.is_some_and(|l| l.contains(", 0700)")),
        "backups/ made 0700: {backups:?}"
    );
}

#[test]
fn a_fresh_project_folder_is_made_0700_at_creation() {
    let sb = Sandbox::new();
    let log = sb.path("strace.log");
    let ok = Command::new(strace())
        .args(["-f", "-qq", "-e", "trace=mkdir,mkdirat,chmod,fchmod,fchmodat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(["setup", "--env", "dev"])
        .current_dir(&sb.root)
        .env_clear()
        .env("PATH", "/nonexistent")
        .status()
        .expect("strace is installed")
        .success();
    assert!(ok);
    let trace = fs::read_to_string(&log).unwrap();
    let project = trace
        .lines()
        .find(|l| l.contains("mkdir") && l.contains("/receptor-dev\""));
    assert!(project.is_some_and(|l| l.contains(", 0700)")), "{project:?}");
    assert!(!trace.contains("chmod("), "{trace}");
}

/// Prints the `chmod` command of the warning, runs it as a user would, and
/// checks the next run is quiet.
#[test]
fn a_readable_env_or_folder_is_reported_with_the_command_that_fixes_it() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    fs::set_permissions(sb.path("receptor-dev/.env"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(sb.path("receptor-dev"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = sb
        .xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    out.stdout_has("no changes");
    let env_fix = format!("chmod 600 {}", sb.path("receptor-dev/.env").display());
    let dir_fix = format!("chmod 700 {}", sb.path("receptor-dev").display());
    out.stderr_has("warning: receptor-dev/.env is readable by other users (mode 0644)")
        .stderr_has(&format!("fix it with: {env_fix}"))
        .stderr_has("warning: receptor-dev is open to other users (mode 0755)")
        .stderr_has(&format!("fix it with: {dir_fix}"));
    for fix in [&env_fix, &dir_fix] {
        let status = Command::new("sh").arg("-c").arg(fix).current_dir("/").status().unwrap();
        assert!(status.success(), "{fix}");
    }
    let out = sb
        .xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    assert_eq!((sb.mode("receptor-dev/.env"), sb.mode("receptor-dev")), (0o600, 0o700));
}

#[test]
fn a_readable_env_that_setup_rewrites_is_private_and_the_exposure_mentioned() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    let text = sb.read("receptor-dev/.env").replace("JWT_SECRET=", "JWT_SECRET=x");
    sb.write("receptor-dev/.env", &text);
    fs::set_permissions(sb.path("receptor-dev/.env"), fs::Permissions::from_mode(0o640)).unwrap();
    let out = sb
        .xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    out.stderr_has("warning: receptor-dev/.env was readable by other users; it is 0600 now");
    assert_eq!(sb.mode("receptor-dev/.env"), 0o600);
}
