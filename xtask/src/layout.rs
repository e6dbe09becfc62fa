//! Lays out a project folder from the stack template, keeping what is there.

use std::fs;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::private_file::{self, FileError};

/// What laying out the folder did.
#[derive(Debug, Default)]
pub struct Laid {
    /// Template files copied because the project did not have them.
    pub copied: usize,
    /// Template files the project already had (kept as they are).
    pub kept: usize,
}

/// Files of the template that are never copied: secrets and local state.
fn skipped(relative: &Path) -> bool {
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == ".env" || (name.starts_with(".env.") && name != ".env.example") || name == ".git"
}

/// Copies `template` into `dir` file by file; existing files are never overwritten.
/// The folder is made private (0700) and ignored by git whatever its name.
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
    for entry in entries {
        let rel: PathBuf = relative.join(entry.file_name());
        if skipped(&rel) {
            continue;
        }
        let target = to_root.join(&rel);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir_all(&target)?;
            copy_tree(from_root, to_root, &rel, laid)?;
        } else if kind.is_file() {
            if fs::symlink_metadata(&target).is_ok() {
                laid.kept += 1;
                continue;
            }
            let mode = entry.metadata()?.permissions().mode() & 0o755;
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&target)?;
            io::copy(&mut fs::File::open(entry.path())?, &mut out)?;
            laid.copied += 1;
        }
    }
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
