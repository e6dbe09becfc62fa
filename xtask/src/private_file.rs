//! Files that hold secrets: written atomically, private (0600) from their
//! first byte, and guarded by an advisory lock against concurrent runs.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hooks::{self, hook};
use crate::no_follow::{self, PathError};

/// Why a private file could not be written or locked.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path}: another cargo xtask run holds the lock on this project; wait for it to finish, then run again")]
    Locked { path: PathBuf },
    /// A link, a FIFO, a folder not owned by the user…: refused before anything is written.
    #[error(transparent)]
    Path(#[from] PathError),
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// folder, created 0600, is written, fsynced, renamed over `path`, and the
/// folder is fsynced. A crash leaves either the old file or the new one, and
/// at worst a temporary file that [`remove_stale_temps`] recognises.
/// A link or anything but a regular file at `path` is refused, untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    no_follow::file_at(path)?;
    let tmp = temp_path(path);
    let result = (|| {
        let _ = fs::remove_file(&tmp);
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        hook!(pause "created", path);
        hooks::write_all(&mut file, bytes, "mid-write", path)?;
        file.sync_all()?;
        drop(file);
        hook!(pause "before-rename", path);
        fs::rename(&tmp, path)?;
        hook!(pause "after-rename", path);
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(dir)?
            .sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_error(path))
}

/// The temporary name `path` is written under before its rename:
/// `.NAME.tmp.PID` beside it (so `.env` is written as `..env.tmp.PID`).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

/// Whether `name` is a temporary name of [`temp_path`].
pub fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    match rest.rsplit_once(".tmp.") {
        Some((target, pid)) => !target.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Removes the temporary files an interrupted run left in `dir` (not in its
/// subfolders). Call it only while holding the [`ProjectLock`]: then no other
/// run is writing there. Returns how many were removed. A link at `dir`
/// is refused: what it points to is never emptied.
pub fn remove_stale_temps(dir: &Path) -> Result<usize, FileError> {
    if !no_follow::folder_at(dir)? {
        return Ok(0);
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(write_error(dir)(source)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(write_error(dir))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(entry.path()).map_err(write_error(&entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Creates `dir` (and its parents) with mode 0700 when it does not exist.
/// A link, or anything but a folder, at `dir` is refused.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    if no_follow::folder_at(dir)? {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(write_error(dir))
}

/// Whether the file's mode lets anybody but its owner read or write it.
pub fn is_shared(path: &Path) -> io::Result<bool> {
    Ok(fs::symlink_metadata(path)?.permissions().mode() & 0o077 != 0)
}

/// An exclusive advisory lock on a project, released when dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// How long a run waits for another run on the same project.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

impl ProjectLock {
    /// Takes the lock file `path`, waiting up to `wait` for another run, and
    /// saying so on stderr while it waits. A link or a FIFO at `path` is refused.
    pub fn acquire(path: &Path, wait: Duration) -> Result<ProjectLock, FileError> {
        let file = no_follow::open(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
        )?;
        wait_for(file, path, wait, File::try_lock)
    }

    /// For a run that changes nothing (a dry run): the lock file `path`
    /// shared with other such runs, waiting up to `wait` for a run that holds
    /// it to change things (and saying so, like [`ProjectLock::acquire`]).
    /// The file is only opened for reading, never created: `None` when there
    /// is none, as before any run that changed the project.
    pub fn share(path: &Path, wait: Duration) -> Result<Option<ProjectLock>, FileError> {
        match no_follow::open(path, OpenOptions::new().read(true)) {
            Ok(file) => wait_for(file, path, wait, File::try_lock_shared).map(Some),
            Err(PathError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

/// Locks `file` with `try_lock`, retrying until `wait` has passed.
fn wait_for(
    file: File,
    path: &Path,
    wait: Duration,
    try_lock: fn(&File) -> Result<(), fs::TryLockError>,
) -> Result<ProjectLock, FileError> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match try_lock(&file) {
            Ok(()) => return Ok(ProjectLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => {
                if start.elapsed() >= wait {
                    return Err(FileError::Locked {
                        path: path.to_path_buf(),
                    });
                }
                if !told {
                    eprintln!("waiting for another cargo xtask run on this project to finish…");
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(FileError::Write {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-private-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_are_private_and_replace_the_whole_file() {
        let dir = temp_dir("write");
        let path = dir.join(".env");
        fs::write(&path, "OLD=1\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"NEW=2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "NEW=2\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn only_temporary_names_are_taken_for_leftovers() {
        assert!(is_temp_name("..env.tmp.123"));
        assert!(is_temp_name("..env.20261128T194705Z.tmp.9"));
        assert!(is_temp_name(".docker-compose.yml.tmp.4242"));
        let own = temp_path(Path::new("p/.env"));
        assert!(is_temp_name(own.file_name().unwrap().to_str().unwrap()));
        for kept in [
            ".env",
            ".env.20261128T194705Z",
            "..env.tmp.",
            "..env.tmp.12a",
            "..tmp.1",
            "notes.tmp.1",
        ] {
            assert!(!is_temp_name(kept), "{kept}");
        }
    }

    #[test]
    fn a_second_lock_waits_then_fails_with_a_clear_message() {
        let dir = temp_dir("lock");
        let path = dir.join(".xtask.lock");
        let held = ProjectLock::acquire(&path, LOCK_WAIT).unwrap();
        let err = ProjectLock::acquire(&path, Duration::from_millis(300)).unwrap_err();
        assert!(
            err.to_string().contains("another cargo xtask run holds the lock"),
            "{err}"
        );
        drop(held);
        ProjectLock::acquire(&path, Duration::from_millis(300)).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_shared_lock_creates_nothing_waits_for_a_writer_and_holds_off_the_next() {
        let dir = temp_dir("share");
        let path = dir.join(".xtask.lock");
        assert!(ProjectLock::share(&path, LOCK_WAIT).unwrap().is_none());
        assert!(!path.exists(), "a shared lock never creates the lock file");

        let held = ProjectLock::acquire(&path, LOCK_WAIT).unwrap();
        let err = ProjectLock::share(&path, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, FileError::Locked { .. }), "{err}");
        drop(held);

        let readers = [
            ProjectLock::share(&path, Duration::from_millis(300)).unwrap(),
            ProjectLock::share(&path, Duration::from_millis(300)).unwrap(),
        ];
        assert!(readers.iter().all(Option::is_some), "readers share the lock");
        assert!(ProjectLock::acquire(&path, Duration::from_millis(300)).is_err());
        drop(readers);
        ProjectLock::acquire(&path, Duration::from_millis(300)).unwrap();

        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), &path).unwrap();
        assert!(ProjectLock::share(&path, LOCK_WAIT).is_err(), "a link is refused");
        fs::remove_dir_all(dir).unwrap();
    }
}
