//! Paths opened without following a symbolic link and without blocking: a
//! link, a FIFO or a device where a regular file or a folder is expected is
//! refused with one line naming the path.
//!
//! A project folder is checked once per run ([`owned_folder`]): a real
//! folder, owned by the user running the tool, that nobody else can write
//! in. Below it, every file and folder the tool opens is looked at with
//! `lstat` or opened with `O_NOFOLLOW | O_NONBLOCK` and `fstat`ed. As only
//! the owner can change the folder, nobody else can swap a checked path for
//! a link between the check and its use.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A path that is not what the tool may open, or that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(
        "{path}: is a symbolic link, and links inside a project folder are never followed; replace the link with the file or folder itself"
    )]
    Symlink { path: PathBuf },
    #[error("{path}: is {kind}, not a regular file; remove it, then run again")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: is {kind}, not a folder; remove it, then run again")]
    NotAFolder { path: PathBuf, kind: &'static str },
    #[error(
        "{path}: has {links} hard links, and rewriting it would leave the old secrets under the other names; remove the other links (find / -xdev -samefile {path}), then run again"
    )]
    HardLinked { path: PathBuf, links: u64 },
    #[error(
        "{path}: is owned by uid {owner}, not by the user running cargo xtask (uid {me}); run as its owner, or chown it"
    )]
    NotOwned { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "{path}: other users can write in this folder (mode {mode:04o}) and could plant links in it; fix it with: chmod go-w {path}"
    )]
    WritableByOthers { path: PathBuf, mode: u32 },
    #[error("{path}: cannot {doing}: {source}")]
    Io {
        path: PathBuf,
        doing: &'static str,
        source: io::Error,
    },
}

fn io_error<'a>(path: &'a Path, doing: &'static str) -> impl FnOnce(io::Error) -> PathError + 'a {
    move |source| match source.raw_os_error() {
        Some(libc::ELOOP) => PathError::Symlink { path: path.into() },
        _ => PathError::Io {
            path: path.into(),
            doing,
            source,
        },
    }
}

/// What `meta` is, as a phrase: "a FIFO", "a folder"…
pub fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a regular file"
    }
}

/// `lstat` of `path`: `None` when nothing is there.
pub fn lstat(path: &Path) -> Result<Option<Metadata>, PathError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error(path, "look at")(err)),
    }
}

/// The regular file at `path`, if there is one; a link or anything else is refused.
pub fn file_at(path: &Path) -> Result<Option<Metadata>, PathError> {
    match lstat(path)? {
        None => Ok(None),
        Some(meta) if meta.file_type().is_symlink() => Err(PathError::Symlink { path: path.into() }),
        Some(meta) if !meta.is_file() => Err(PathError::NotAFile {
            path: path.into(),
            kind: kind(&meta),
        }),
        Some(meta) => Ok(Some(meta)),
    }
}

/// Whether a folder is at `path`; a link or anything else is refused.
pub fn folder_at(path: &Path) -> Result<bool, PathError> {
    match lstat(path)? {
        None => Ok(false),
        Some(meta) if meta.file_type().is_symlink() => Err(PathError::Symlink { path: path.into() }),
        Some(meta) if !meta.is_dir() => Err(PathError::NotAFolder {
            path: path.into(),
            kind: kind(&meta),
        }),
        Some(_) => Ok(true),
    }
}

/// Refuses a file at `path` with more than one name: an atomic rewrite
/// replaces this name only, and the others keep the old bytes.
pub fn single_link(path: &Path) -> Result<(), PathError> {
    match file_at(path)? {
        Some(meta) if meta.nlink() > 1 => Err(PathError::HardLinked {
            path: path.into(),
            links: meta.nlink(),
        }),
        _ => Ok(()),
    }
}

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks a project folder, as ssh checks `~/.ssh`: when it exists it is a
/// real folder (not a link), owned by the user running the tool, and not
/// writable by anybody else. Returns whether it exists.
pub fn owned_folder(path: &Path) -> Result<bool, PathError> {
    if !folder_at(path)? {
        return Ok(false);
    }
    let meta = std::fs::symlink_metadata(path).map_err(io_error(path, "look at"))?;
    let me = euid();
    if meta.uid() != me {
        return Err(PathError::NotOwned {
            path: path.into(),
            owner: meta.uid(),
            me,
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(PathError::WritableByOthers {
            path: path.into(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(true)
}

/// Opens `path` with `options`, never following a link at its name and
/// never blocking (a FIFO opens at once), then refuses it unless it is a
/// regular file.
pub fn open(path: &Path, options: &mut OpenOptions) -> Result<File, PathError> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io_error(path, "open"))?;
    let meta = file.metadata().map_err(io_error(path, "look at"))?;
    if !meta.is_file() {
        return Err(PathError::NotAFile {
            path: path.into(),
            kind: kind(&meta),
        });
    }
    Ok(file)
}

/// The bytes of the regular file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, PathError> {
    let mut file = open(path, OpenOptions::new().read(true))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_error(path, "read"))?;
    Ok(bytes)
}

/// The bytes of the regular file at `path`, or `None` when nothing is there.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, PathError> {
    match read(path) {
        Err(PathError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        other => other.map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-no-follow-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn links_fifos_and_folders_are_refused_by_name() {
        let dir = temp_dir("kinds");
        std::fs::write(dir.join("real"), "x").unwrap();
        symlink(dir.join("real"), dir.join("link")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(read(&dir.join("real")).unwrap(), b"x");
        assert!(matches!(read(&dir.join("link")), Err(PathError::Symlink { .. })));
        assert!(matches!(file_at(&dir.join("link")), Err(PathError::Symlink { .. })));
        let fifo_err = read(&dir.join("fifo")).unwrap_err().to_string();
        assert!(fifo_err.contains("fifo: is a FIFO, not a regular file"), "{fifo_err}");
        assert!(matches!(read(&dir), Err(PathError::NotAFile { kind: "a folder", .. })));
        assert!(matches!(
            folder_at(&dir.join("real")),
            Err(PathError::NotAFolder { .. })
        ));
        assert_eq!(read_if_exists(&dir.join("missing")).unwrap(), None);
        std::fs::hard_link(dir.join("real"), dir.join("second")).unwrap();
        assert!(matches!(
            single_link(&dir.join("real")),
            Err(PathError::HardLinked { links: 2, .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
