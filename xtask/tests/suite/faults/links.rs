//! Links, FIFOs, hard links and folders of other users inside a project
//! folder: setup, rotate and verify never follow a link and never block on a
//! FIFO; each is refused with one line naming the path (exit 5), and nothing
//! is written, neither in the project nor where the link points.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{Outcome, Sandbox};

/// Longer than any of these runs takes; a run that blocks on a FIFO exceeds it.
const DEADLINE: Duration = Duration::from_secs(20);

/// Every file, folder and link under `dir`, links not followed: bytes,
/// link target, mode and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let kind = meta.file_type();
            let what = if kind.is_symlink() {
                format!("link to {}", fs::read_link(&path).unwrap().display())
            } else if kind.is_file() {
                format!("{:?}", fs::read(&path).unwrap())
            } else {
                String::from("other")
            };
            let state = format!(
                "{what} mode {:o} mtime {}",
                meta.mode(),
                meta.mtime_nsec() + meta.mtime() * 1_000_000_000
            );
            out.insert(path.strip_prefix(root).unwrap().to_path_buf(), state);
            if kind.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A laid-out dev project, and an `outside/` folder (a file, and a folder
/// holding one) that links will point to.
fn laid_out() -> Sandbox {
    with_project(Sandbox::new())
}

fn with_project(sb: Sandbox) -> Sandbox {
    sb.xtask(["setup", "--env", "dev"])
        .env("PATH", "/nonexistent")
        .succeeds();
    sb.write("outside/file", "outside, not the project's\n");
    sb.write("outside/dir/keep", "outside, not the project's\n");
    sb
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid, NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

/// Replaces `relative` (a file or a folder of the project) with a link to
/// the matching thing in `outside/`.
fn plant_link(sb: &Sandbox, relative: &str) {
    let path = sb.path(relative);
    let target = match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            fs::remove_dir_all(&path).unwrap();
            sb.path("outside/dir")
        }
        Ok(_) => {
            fs::remove_file(&path).unwrap();
            sb.path("outside/file")
        }
        Err(_) => sb.path("outside/file"),
    };
    symlink(target, path).unwrap();
}

const SETUP: &[&str] = &["setup", "--env", "dev"];
const ROTATE: &[&str] = &["rotate", "JWT_SECRET", "--env", "dev", "--yes", "--non-interactive"];
const VERIFY: &[&str] = &["verify", "--env", "dev"];

/// Runs `args` and asserts: exit 5, one line naming `relative` and saying
/// `why`, and neither `outside/` nor the project changed.
fn refused(sb: &Sandbox, args: &[&str], relative: &str, why: &str) -> Outcome {
    let outside = snapshot(&sb.path("outside"));
    let project = snapshot(&sb.path("receptor-dev"));
    let out = sb.xtask(args).env("PATH", "/nonexistent").output_within(DEADLINE);
    assert_eq!(
        out.code, 5,
        "{args:?} with {relative}: {why}\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let line = out.one_line_error();
    assert!(
        line.contains(&format!("{}: {why}", sb.path(relative).display())),
        "{args:?}: {line}"
    );
    assert_eq!(
        snapshot(&sb.path("outside")),
        outside,
        "{args:?} with {relative}: outside/ changed"
    );
    assert_eq!(
        snapshot(&sb.path("receptor-dev")),
        project,
        "{args:?} with {relative}: the project changed"
    );
    out
}

#[test]
fn a_link_at_any_path_the_tool_keeps_is_refused_by_setup_rotate_and_verify() {
    for relative in [
        "receptor-dev/.env",
        "receptor-dev/backups",
        "receptor-dev/.xtask.lock",
        "receptor-dev/.gitignore",
        "receptor-dev/audit.log",
    ] {
        let sb = laid_out();
        fs::create_dir_all(sb.path("receptor-dev/backups")).unwrap();
        sb.write("receptor-dev/audit.log", "{}\n");
        plant_link(&sb, relative);
        for args in [SETUP, ROTATE, VERIFY] {
            refused(&sb, args, relative, "is a symbolic link");
        }
    }
}

#[test]
fn a_link_where_the_template_has_a_file_or_folder_is_refused_before_any_copy() {
    for relative in [
        "receptor-dev/volumes",
        "receptor-dev/volumes/db",
        "receptor-dev/volumes/api/kong.yml",
        "receptor-dev/docker-compose.yml",
    ] {
        let sb = laid_out();
        // A file of the template that setup would copy again, gone.
        fs::remove_file(sb.path("receptor-dev/volumes/functions/main/index.ts")).unwrap();
        plant_link(&sb, relative);
        refused(&sb, SETUP, relative, "is a symbolic link");
    }
}

#[test]
fn a_linked_project_folder_is_refused() {
    let sb = laid_out();
    fs::rename(sb.path("receptor-dev"), sb.path("outside/project")).unwrap();
    symlink(sb.path("outside/project"), sb.path("receptor-dev")).unwrap();
    for args in [SETUP, ROTATE, VERIFY] {
        let before = snapshot(&sb.path("outside"));
        let out = sb.xtask(args).env("PATH", "/nonexistent").output_within(DEADLINE);
        assert_eq!(out.code, 5, "{args:?}\n{}", out.stderr);
        assert!(
            out.one_line_error().contains("receptor-dev: is a symbolic link"),
            "{}",
            out.stderr
        );
        assert_eq!(snapshot(&sb.path("outside")), before, "{args:?}");
    }
}

#[test]
fn a_fifo_at_env_gitignore_or_a_template_path_is_refused_without_blocking() {
    for (relative, commands) in [
        ("receptor-dev/.env", &[SETUP, ROTATE, VERIFY][..]),
        ("receptor-dev/.gitignore", &[SETUP, ROTATE, VERIFY][..]),
        ("receptor-dev/.xtask.lock", &[SETUP, ROTATE][..]),
        ("receptor-dev/volumes/api/kong.yml", &[SETUP][..]),
    ] {
        let sb = laid_out();
        fs::remove_file(sb.path(relative)).unwrap();
        mkfifo(&sb.path(relative));
        for args in commands {
            refused(&sb, args, relative, "is a FIFO, not a regular file");
        }
    }
}

/// The repository scope reads the template and each project's `.gitignore`:
/// a FIFO there is reported, never waited on.
#[test]
fn verify_of_the_repository_does_not_block_on_a_fifo() {
    let sb = with_project(Sandbox::git_repo());
    fs::remove_file(sb.path("receptor-dev/.gitignore")).unwrap();
    mkfifo(&sb.path("receptor-dev/.gitignore"));
    fs::remove_file(sb.path("docker/docker-compose.yml")).unwrap();
    mkfifo(&sb.path("docker/docker-compose.yml"));
    let out = sb.xtask(["verify"]).output_within(DEADLINE);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("docker-compose.yml: is a FIFO"), "{}", out.stdout);
}

#[test]
fn a_hard_linked_env_is_refused_and_both_names_keep_their_bytes() {
    let sb = laid_out();
    fs::hard_link(sb.path("receptor-dev/.env"), sb.path("outside/copy.env")).unwrap();
    for args in [SETUP, ROTATE, VERIFY] {
        let out = refused(&sb, args, "receptor-dev/.env", "has 2 hard links");
        assert!(out.stderr.contains("remove the other links"), "{}", out.stderr);
    }
}

#[test]
fn a_project_folder_of_another_user_or_writable_by_others_is_refused() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test needs root, to give the folder to another user"
    );
    let sb = laid_out();
    std::os::unix::fs::chown(sb.path("receptor-dev"), Some(12345), None).unwrap();
    for args in [SETUP, ROTATE, VERIFY] {
        let out = refused(
            &sb,
            args,
            "receptor-dev",
            "is owned by uid 12345, not by the user running cargo xtask (uid 0)",
        );
        assert!(out.stderr.contains("chown"), "{}", out.stderr);
    }
    std::os::unix::fs::chown(sb.path("receptor-dev"), Some(0), None).unwrap();
    fs::set_permissions(sb.path("receptor-dev"), fs::Permissions::from_mode(0o770)).unwrap();
    for args in [SETUP, ROTATE, VERIFY] {
        let out = refused(
            &sb,
            args,
            "receptor-dev",
            "other users can write in this folder (mode 0770)",
        );
        assert!(out.stderr.contains("chmod go-w"), "{}", out.stderr);
    }
}

/// A backup that is a link (or a FIFO) is never read back into `.env`.
#[test]
fn rollback_refuses_a_backup_that_is_a_link_or_a_fifo() {
    for fifo in [false, true] {
        let sb = laid_out();
        let relative = "receptor-dev/backups/.env.20260101T000000Z";
        fs::create_dir_all(sb.path("receptor-dev/backups")).unwrap();
        if fifo {
            mkfifo(&sb.path(relative));
        } else {
            symlink(sb.path("outside/file"), sb.path(relative)).unwrap();
        }
        let why = if fifo {
            "is a FIFO, not a regular file"
        } else {
            "is a symbolic link"
        };
        refused(
            &sb,
            &["rotate", "--rollback", "--env", "dev", "--yes", "--non-interactive"],
            relative,
            why,
        );
    }
}
