//! Lays out a project folder from the stack template, keeping what is there.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::pause;
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
fn skipped(relative: &Path) -> bool {
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == ".env" || (name.starts_with(".env.") && name != ".env.example") || name == ".git"
}

/// Copies `template` into `dir` file by file; existing files are never overwritten.
/// The folder is made private (0700) and ignored by git whatever its name.
/// Call it while holding the project's lock: it removes temporary files
/// that an interrupted run left behind.
pub fn lay_out(template: &Path, dir: &Path) -> Result<Laid, FileError> {
    private_file::create_private_dir(dir)?;
    let mut laid = Laid::default();
    copy_tree(template, dir, Path::new(""), &mut laid).map_err(|source| FileError::Write {
        path: dir.into(),
        source,
    })?;
    ignore_everything(dir)?;
    Ok(laid)
}

fn copy_tree(from_root: &Path, to_root: &Path, relative: &Path, laid: &mut Laid) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(from_root.join(relative))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    remove_leftovers(&to_root.join(relative), laid)?;
    for entry in entries {
        let rel: PathBuf = relative.join(entry.file_name());
        if skipped(&rel) {
            continue;
        }
        let target = to_root.join(&rel);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            // 0755 whatever the umask: containers read these folders through
            // bind mounts, and nobody else may write them.
            if !target.is_dir() {
                fs::DirBuilder::new().mode(0o755).create(&target)?;
            }
            copy_tree(from_root, to_root, &rel, laid)?;
        } else if kind.is_file() {
            if let Ok(meta) = fs::symlink_metadata(&target) {
                laid.kept += 1;
                if !same_content(&entry.path(), &target, &meta) {
                    laid.differing.push(rel);
                }
                continue;
            }
            let mode = entry.metadata()?.permissions().mode() & 0o755;
            copy_whole(&entry.path(), &target, mode)?;
            laid.copied += 1;
        }
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
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        out.write_all(first)?;
        pause::writing("copy-mid-write", target);
        out.write_all(rest)?;
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

/// Removes the temporary files an earlier, interrupted run left in `dir`.
fn remove_leftovers(dir: &Path, laid: &mut Laid) -> io::Result<()> {
    laid.leftovers += private_file::remove_stale_temps(dir).map_err(|err| match err {
        FileError::Write { source, .. } => source,
        other => io::Error::other(other.to_string()),
    })?;
    Ok(())
}

/// A `.gitignore` of `*` inside the folder: `git add -A` can never stage it.
/// A `.gitignore` the user already has there is kept and gets the `*` line added.
fn ignore_everything(dir: &Path) -> Result<(), FileError> {
    let path = dir.join(".gitignore");
    let current = fs::read_to_string(&path).unwrap_or_default();
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
