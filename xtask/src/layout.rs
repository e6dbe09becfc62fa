//! Lays out a project folder from the stack template, keeping what is there.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::hooks;
use crate::no_follow;
use crate::private_file::{self, FileError};

/// What laying out the folder did.
#[derive(Debug, Default)]
pub struct Laid {
    /// Template files copied because the project did not have them.
    pub copied: usize,
    /// Template files the project already had (kept as they are).
    pub kept: usize,
    /// Of those, the ones whose content differs from the template's (an older
    /// template, or a local change), relative to the project folder.
    pub differing: Vec<PathBuf>,
    /// Temporary files of an interrupted run, removed.
    pub leftovers: usize,
}

/// Files of the template that are never copied: secrets and local state.
pub(crate) fn skipped(relative: &Path) -> bool {
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == ".env" || (name.starts_with(".env.") && name != ".env.example") || name == ".git"
}

/// Copies `template` into `dir` file by file; existing files are never overwritten.
/// The folder is made private (0700) and ignored by git whatever its name.
/// Call it while holding the project's lock: it removes temporary files
/// that an interrupted run left behind. A link, a FIFO or a device where
/// the template has a file or a folder is refused, before anything is
/// written through it.
pub fn lay_out(template: &Path, dir: &Path) -> Result<Laid, FileError> {
    private_file::create_private_dir(dir)?;
    check_tree(template, dir, Path::new(""))?;
    let mut laid = Laid::default();
    copy_tree(template, dir, Path::new(""), &mut laid)?;
    ignore_everything(dir)?;
    Ok(laid)
}

/// What [`lay_out`] would do to `dir`, found without writing anything: the
/// template files it would copy (relative to `dir`, in order) and how many
/// it would keep. The same links, FIFOs and devices are refused.
pub fn preview(template: &Path, dir: &Path) -> Result<(Vec<PathBuf>, Laid), FileError> {
    check_tree(template, dir, Path::new(""))?;
    let mut new = Vec::new();
    let mut laid = Laid::default();
    preview_tree(template, dir, Path::new(""), &mut new, &mut laid)?;
    laid.copied = new.len();
    Ok((new, laid))
}

fn preview_tree(
    from_root: &Path,
    to_root: &Path,
    relative: &Path,
    new: &mut Vec<PathBuf>,
    laid: &mut Laid,
) -> Result<(), FileError> {
    let from = from_root.join(relative);
    let mut entries: Vec<_> = fs::read_dir(&from)
        .and_then(|e| e.collect::<Result<_, _>>())
        .map_err(|source| FileError::Write { path: from, source })?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel: PathBuf = relative.join(entry.file_name());
        let Ok(kind) = entry.file_type() else { continue };
        if skipped(&rel) {
            continue;
        }
        let target = to_root.join(&rel);
        if kind.is_dir() {
            preview_tree(from_root, to_root, &rel, new, laid)?;
        } else if kind.is_file() {
            match no_follow::file_at(&target)? {
                Some(meta) => {
                    laid.kept += 1;
                    if !same_content(&entry.path(), &target, &meta) {
                        laid.differing.push(rel);
                    }
                }
                None => new.push(rel),
            }
        }
    }
    Ok(())
}

/// Whether [`lay_out`] would write the folder's `.gitignore` (missing, or without its `*` line).
pub fn would_ignore(dir: &Path) -> Result<bool, FileError> {
    let current = no_follow::read_if_exists(&dir.join(".gitignore"))?.unwrap_or_default();
    Ok(!String::from_utf8_lossy(&current).lines().any(|line| line.trim() == "*"))
}

/// Refuses a link, a FIFO or a device in `to_root` where the template has
/// a file or a folder, before anything is copied.
fn check_tree(from_root: &Path, to_root: &Path, relative: &Path) -> Result<(), FileError> {
    let from = from_root.join(relative);
    let entries = fs::read_dir(&from).map_err(|source| FileError::Write { path: from, source })?;
    for entry in entries.flatten() {
        let rel: PathBuf = relative.join(entry.file_name());
        let target = to_root.join(&rel);
        let Ok(kind) = entry.file_type() else { continue };
        if skipped(&rel) {
            continue;
        }
        if kind.is_dir() && no_follow::folder_at(&target)? {
            check_tree(from_root, to_root, &rel)?;
        } else if kind.is_file() {
            no_follow::file_at(&target)?;
        }
    }
    Ok(())
}

fn copy_tree(from_root: &Path, to_root: &Path, relative: &Path, laid: &mut Laid) -> Result<(), FileError> {
    let from = from_root.join(relative);
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FileError::Write { path, source }
    };
    let mut entries: Vec<_> = fs::read_dir(&from)
        .and_then(|e| e.collect::<Result<_, _>>())
        .map_err(failed(&from))?;
    entries.sort_by_key(|e| e.file_name());
    laid.leftovers += private_file::remove_stale_temps(&to_root.join(relative))?;
    for entry in entries {
        let rel: PathBuf = relative.join(entry.file_name());
        if skipped(&rel) {
            continue;
        }
        let target = to_root.join(&rel);
        let kind = entry.file_type().map_err(failed(&entry.path()))?;
        if kind.is_dir() {
            if !no_follow::folder_at(&target)? {
                create_shared_dir(&target).map_err(failed(&target))?;
            }
            copy_tree(from_root, to_root, &rel, laid)?;
        } else if kind.is_file() {
            if let Some(meta) = no_follow::file_at(&target)? {
                laid.kept += 1;
                if !same_content(&entry.path(), &target, &meta) {
                    laid.differing.push(rel);
                }
                continue;
            }
            let mode = entry.metadata().map_err(failed(&entry.path()))?.permissions().mode() & 0o755;
            copy_whole(&entry.path(), &target, mode).map_err(failed(&target))?;
            laid.copied += 1;
        }
    }
    Ok(())
}

/// A template folder, 0755 whatever the umask: containers read these
/// folders through bind mounts, and nobody else may write them.
fn create_shared_dir(target: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o755).create(target)?;
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(target)?;
    set_mode(&dir, 0o755)
}

/// Gives `file` exactly `mode` when the umask took bits away from it.
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    if file.metadata()?.permissions().mode() & 0o777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Whether the project's regular file `target` holds what the template's
/// `from` holds. Anything but a regular file of the same size (a link, a
/// FIFO, a folder) differs, and is never opened.
fn same_content(from: &Path, target: &Path, meta: &fs::Metadata) -> bool {
    let Ok(template_meta) = fs::metadata(from) else {
        return false;
    };
    meta.file_type().is_file()
        && meta.len() == template_meta.len()
        && matches!((fs::read(from), fs::read(target)), (Ok(a), Ok(b)) if a == b)
}

/// Copies `from` to `target` under a temporary name, then links it into
/// place: an interrupted copy never leaves a partial file at `target` (which
/// later runs would keep as "already present"), and an existing file is
/// never overwritten.
fn copy_whole(from: &Path, target: &Path, mode: u32) -> io::Result<()> {
    let bytes = fs::read(from)?;
    let tmp = private_file::temp_path(target);
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        set_mode(&out, mode)?;
        hooks::write_all(&mut out, &bytes, "copy-mid-write", target)?;
        drop(out);
        match fs::hard_link(&tmp, target) {
            Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
                // A file system without hard links: the lock and the check
                // above already ensure nothing is at `target`.
                fs::rename(&tmp, target)
            }
            linked => linked,
        }
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// A `.gitignore` of `*` inside the folder: `git add -A` can never stage it.
/// A `.gitignore` the user already has there is kept and gets the `*` line added.
fn ignore_everything(dir: &Path) -> Result<(), FileError> {
    let path = dir.join(".gitignore");
    let current = match no_follow::read_if_exists(&path)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| FileError::Write {
            path: path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, "is not UTF-8 text; fix or remove it"),
        })?,
        None => String::new(),
    };
    if current.lines().any(|line| line.trim() == "*") {
        return Ok(());
    }
    let mut wanted = current;
    if !wanted.is_empty() && !wanted.ends_with('\n') {
        wanted.push('\n');
    }
    wanted.push_str("# Written by cargo xtask setup: this folder holds live secrets.\n*\n");
    private_file::write_atomic(&path, wanted.as_bytes())
}
