//! Copies of a project's `.env` taken before each change, in its `backups/`
//! folder (0700), each file 0600 and named by UTC time so names sort by age:
//! `.env.20261128T194705Z`, `.env.20261128T194705Z.1` for a second one in the
//! same second, and `….before-rollback` for the file a rollback replaced.

use std::path::{Path, PathBuf};

use crate::clock;
use crate::error::Error;
use crate::no_follow::{self, PathError};
use crate::private_file::{self, FileError};
use crate::project::Project;

/// Why there is no backup to roll back to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("backup {name:?} is not a file name: name a file in {}", .dir.display())]
    NotAFileName { name: String, dir: PathBuf },
    #[error("{}: no backup named {name}", .dir.display())]
    NoSuchBackup { name: String, dir: PathBuf },
    #[error("{}: no backup differs from the current .env: nothing to roll back to", .dir.display())]
    NothingDiffers { dir: PathBuf },
}

/// The label of a copy taken before a rollback; never the default to roll back to.
pub const BEFORE_ROLLBACK: &str = "before-rollback";

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub name: String,
    stamp: String,
    seq: u32,
    label: Option<String>,
}

impl Backup {
    fn parse(path: &Path) -> Option<Backup> {
        let name = path.file_name()?.to_str()?.to_string();
        let rest = name.strip_prefix(".env.")?;
        let mut parts = rest.split('.');
        let stamp = parts.next()?.to_string();
        let looks_like_time = stamp.len() == 16 && stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T';
        if !looks_like_time {
            return None;
        }
        let mut seq = 0;
        let mut label = None;
        for part in parts {
            match part.parse::<u32>() {
                Ok(n) if label.is_none() => seq = n,
                _ => label = Some(part.to_string()),
            }
        }
        Some(Backup {
            path: path.to_path_buf(),
            name,
            stamp,
            seq,
            label,
        })
    }

    /// Whether this copy was taken just before a rollback.
    pub fn is_before_rollback(&self) -> bool {
        self.label.as_deref() == Some(BEFORE_ROLLBACK)
    }
}

/// Saves `text` as a new backup of `project`'s `.env`, with an optional label.
pub fn save(project: &Project, text: &str, label: Option<&str>) -> Result<Backup, FileError> {
    let dir = project.backup_dir();
    private_file::create_private_dir(&dir)?;
    let stamp = clock::now_compact();
    let suffix = label.map(|l| format!(".{l}")).unwrap_or_default();
    let mut n = 0;
    let path = loop {
        let seq = if n == 0 { String::new() } else { format!(".{n}") };
        let path = dir.join(format!(".env.{stamp}{seq}{suffix}"));
        if std::fs::symlink_metadata(&path).is_err() {
            break path;
        }
        n += 1;
    };
    private_file::write_atomic(&path, text.as_bytes())?;
    Ok(Backup::parse(&path).expect("a name this module made parses"))
}

/// Every backup of `project`, oldest first. A link at `backups/` is refused.
pub fn list(project: &Project) -> Result<Vec<Backup>, PathError> {
    let dir = project.backup_dir();
    if !no_follow::folder_at(&dir)? {
        return Ok(Vec::new());
    }
    let mut found: Vec<Backup> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| Backup::parse(&e.path()))
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| (&a.stamp, a.seq, &a.label).cmp(&(&b.stamp, b.seq, &b.label)));
    Ok(found)
}

/// The backup to roll back to: the named one, or the newest whose content
/// differs from `current` (copies taken just before a rollback are skipped).
/// A link or a FIFO among the backups is refused, never read.
pub fn pick(project: &Project, name: Option<&str>, current: &str) -> Result<Backup, Error> {
    let all = list(project)?;
    let dir = project.backup_dir();
    match name {
        Some(name) => {
            let plain = Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name);
            if !plain {
                return Err(BackupError::NotAFileName {
                    name: name.to_string(),
                    dir,
                }
                .into());
            }
            let missing = || BackupError::NoSuchBackup {
                name: name.to_string(),
                dir: dir.clone(),
            };
            all.into_iter().find(|b| b.name == name).ok_or_else(|| missing().into())
        }
        None => {
            for backup in all.into_iter().rev().filter(|b| !b.is_before_rollback()) {
                if no_follow::read(&backup.path)? != current.as_bytes() {
                    return Ok(backup);
                }
            }
            Err(BackupError::NothingDiffers { dir }.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_then_sequence_and_labels_are_read() {
        let a = Backup::parse(Path::new("b/.env.20261128T194705Z")).unwrap();
        let b = Backup::parse(Path::new("b/.env.20261128T194705Z.2")).unwrap();
        let c = Backup::parse(Path::new("b/.env.20261128T194705Z.10")).unwrap();
        let d = Backup::parse(Path::new("b/.env.20261128T194706Z.before-rollback")).unwrap();
        assert!((a.stamp.clone(), a.seq) < (b.stamp.clone(), b.seq));
        assert!(b.seq < c.seq);
        assert!(d.is_before_rollback() && !c.is_before_rollback());
        assert!(Backup::parse(Path::new("b/.env.example")).is_none());
        assert!(Backup::parse(Path::new("b/notes.txt")).is_none());
    }

    #[test]
    fn saves_are_private_never_overwrite_and_pick_skips_rollback_copies() {
        let root = std::env::temp_dir().join(format!("xtask-backups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let project = Project::new(&root, "p").unwrap();
        let first = save(&project, "A=1\n", None).unwrap();
        let second = save(&project, "A=2\n", None).unwrap();
        let third = save(&project, "A=3\n", Some(BEFORE_ROLLBACK)).unwrap();
        assert_ne!(first.path, second.path);
        assert_eq!(std::fs::read_to_string(&first.path).unwrap(), "A=1\n");
        assert!(!crate::private_file::is_shared(&second.path).unwrap());
        assert_eq!(list(&project).unwrap().len(), 3);
        assert_eq!(pick(&project, None, "A=9\n").unwrap(), second);
        assert_eq!(
            pick(&project, None, "A=2\n").unwrap(),
            first,
            "a copy equal to .env is skipped"
        );
        assert_eq!(pick(&project, Some(&third.name), "").unwrap(), third);
        let message = |name: Option<&str>, current: &str| pick(&project, name, current).unwrap_err().to_string();
        let dir = project.backup_dir().display().to_string();
        assert_eq!(
            message(Some("../x"), ""),
            format!("backup \"../x\" is not a file name: name a file in {dir}")
        );
        assert_eq!(
            message(Some(".env.20000101T000000Z"), ""),
            format!("{dir}: no backup named .env.20000101T000000Z")
        );
        assert_eq!(pick(&project, Some("../x"), "").unwrap_err().exit_code(), 2);
        assert_eq!(
            BackupError::NothingDiffers {
                dir: "p/backups".into()
            }
            .to_string(),
            "p/backups: no backup differs from the current .env: nothing to roll back to"
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
