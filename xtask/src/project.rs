//! Where things are: the repository root and a project folder's files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::envfile::{EnvError, EnvFile};
use crate::no_follow::{self, PathError};
use crate::private_file::{self, FileError, ProjectLock};

/// A project folder name is one plain path component.
#[derive(Debug, thiserror::Error)]
#[error(
    "project name {shown:?} is not a plain folder name: use letters, digits, `-`, `_` and `.`, not starting with `.` or `-`"
)]
pub struct BadProjectName {
    shown: String,
}

/// The repository this xtask belongs to: the nearest folder at or above the
/// working directory holding `setup.conf` and `docker/`, else the one the
/// xtask was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("setup.conf").is_file() && dir.join("docker").is_dir() {
                return dir.to_path_buf();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A project folder at the repository root, such as `receptor-dev/`.
#[derive(Clone, Debug)]
pub struct Project {
    pub name: String,
    pub dir: PathBuf,
}

impl Project {
    pub fn new(root: &Path, name: &str) -> Result<Project, BadProjectName> {
        let plain = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with(['.', '-'])
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !plain {
            return Err(BadProjectName {
                shown: name.chars().take(80).collect(),
            });
        }
        Ok(Project {
            name: name.to_string(),
            dir: root.join(name),
        })
    }

    pub fn env_file(&self) -> PathBuf {
        self.dir.join(".env")
    }

    pub fn env_example(&self) -> PathBuf {
        self.dir.join(".env.example")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(".xtask.lock")
    }

    /// Checks the folder, when it exists, as ssh checks `~/.ssh`: a real
    /// folder (not a link), owned by the user running the tool, that nobody
    /// else can write in; and each file and folder the tool keeps in it
    /// (`.env`, `.gitignore`, `.xtask.lock`, `audit.log`, `backups/`) is
    /// absent or what it should be, never a link or a FIFO. Returns whether
    /// the folder exists.
    pub fn check_folder(&self) -> Result<bool, PathError> {
        if !no_follow::owned_folder(&self.dir)? {
            return Ok(false);
        }
        for file in [".env", ".gitignore", ".xtask.lock", "audit.log"] {
            no_follow::file_at(&self.dir.join(file))?;
        }
        no_follow::folder_at(&self.backup_dir())?;
        Ok(true)
    }

    /// The project's `.env`, if it has one. A link, a FIFO, or a file with
    /// a second hard link (which an atomic rewrite would leave holding the
    /// old secrets) is refused.
    pub fn load_env(&self) -> Result<Option<EnvFile>, EnvError> {
        let path = self.env_file();
        if no_follow::file_at(&path)?.is_none() {
            return Ok(None);
        }
        no_follow::single_link(&path)?;
        EnvFile::load(&path).map(Some)
    }

    /// Takes the project's lock, waiting up to `wait` for another run, then
    /// removes the temporary files an interrupted run left in the folder and
    /// in `backups/` (while the lock is held, no other run writes there).
    /// Returns the lock and how many files were removed.
    pub fn lock(&self, wait: Duration) -> Result<(ProjectLock, usize), FileError> {
        self.check_folder()?;
        let lock = ProjectLock::acquire(&self.lock_file(), wait)?;
        let removed =
            private_file::remove_stale_temps(&self.dir)? + private_file::remove_stale_temps(&self.backup_dir())?;
        Ok((lock, removed))
    }

    /// For a run that changes nothing (a dry run): `read` under the lock
    /// shared with other such runs, so that what it reads is never a change
    /// half made by a run holding the lock. Nothing is created or removed:
    /// not the lock file, not the temporary files an interrupted run left.
    /// Without a lock file no run has started changing the project (every
    /// such run creates it first); if one appears while `read` runs, `read`
    /// runs again under it. Returns the lock (`None` without a lock file),
    /// to keep while the run goes on, and what `read` returned.
    pub fn read_locked<T, E: From<FileError>>(
        &self,
        wait: Duration,
        mut read: impl FnMut() -> Result<T, E>,
    ) -> Result<(Option<ProjectLock>, T), E> {
        self.check_folder().map_err(FileError::from)?;
        loop {
            let lock = ProjectLock::share(&self.lock_file(), wait)?;
            let value = read()?;
            let appeared = || no_follow::file_at(&self.lock_file()).map(|f| f.is_some());
            if lock.is_some() || !appeared().map_err(FileError::from)? {
                return Ok((lock, value));
            }
        }
    }

    /// Copies of `.env` taken before each change.
    pub fn backup_dir(&self) -> PathBuf {
        self.dir.join("backups")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_folder_names_are_accepted() {
        for good in ["receptor-dev", "receptor_stg", "r2.local"] {
            assert!(Project::new(Path::new("/repo"), good).is_ok(), "{good}");
        }
        for bad in [
            "", "..", ".", "../x", "a/b", "/etc", "-rf", ".hidden", "sp ace", "a\\b", "x\0y",
        ] {
            assert!(Project::new(Path::new("/repo"), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_read_that_a_run_may_have_overlapped_is_made_again_under_the_lock() {
        let root = std::env::temp_dir().join(format!("xtask-read-locked-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("p")).unwrap();
        let project = Project::new(&root, "p").unwrap();
        let reads = |project: &Project, appear: bool| {
            let mut n = 0;
            let (lock, ()) = project
                .read_locked(Duration::from_secs(1), || {
                    n += 1;
                    // A run starts while this one reads: it creates the lock file.
                    if appear && n == 1 {
                        ProjectLock::acquire(&project.lock_file(), Duration::from_secs(1)).map(drop)?;
                    }
                    Ok::<(), FileError>(())
                })
                .unwrap();
            (n, lock.is_some())
        };
        assert_eq!(
            reads(&project, false),
            (1, false),
            "no lock file: one read, none created"
        );
        assert!(!project.lock_file().exists());
        assert_eq!(
            reads(&project, true),
            (2, true),
            "read again under the lock that appeared"
        );
        assert_eq!(reads(&project, false), (1, true));
        std::fs::remove_dir_all(root).unwrap();
    }
}
