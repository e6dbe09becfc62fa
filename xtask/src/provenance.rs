//! Where a project's stack template came from, remembered in the project
//! folder, and the upgrade that follows it to a new version.
//!
//! `.xtask-stack` names the source (the embedded `docker/`, or an upstream
//! URL and commit); `.xtask-template/` holds the template files exactly as
//! they were laid out, so an upgrade can tell a file the user modified from
//! one they did not, the way dpkg handles conffiles.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::private_file::{self, FileError};

/// Where a template came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Embedded,
    Upstream { url: String, commit: String },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Embedded => f.write_str("the embedded docker/"),
            Origin::Upstream { url, commit } => write!(f, "{url} at {commit}"),
        }
    }
}

const RECORD: &str = ".xtask-stack";
const PRISTINE: &str = ".xtask-template";

/// The origin recorded in `dir`, if the folder has one.
pub fn recorded(dir: &Path) -> Option<Origin> {
    let text = fs::read_to_string(dir.join(RECORD)).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    match field("source")?.as_str() {
        "embedded" => Some(Origin::Embedded),
        "upstream" => Some(Origin::Upstream {
            url: field("url")?,
            commit: field("commit")?,
        }),
        _ => None,
    }
}

/// Records `origin` and keeps a copy of `template` as laid out.
pub fn record(dir: &Path, origin: &Origin, template: &Path) -> Result<(), FileError> {
    let text = match origin {
        Origin::Embedded => "source = \"embedded\"\n".to_string(),
        Origin::Upstream { url, commit } => {
            format!("source = \"upstream\"\nurl = \"{url}\"\ncommit = \"{commit}\"\n")
        }
    };
    let pristine = dir.join(PRISTINE);
    let failed = |source| FileError::Write {
        path: pristine.clone(),
        source,
    };
    let _ = fs::remove_dir_all(&pristine);
    copy_template(template, &pristine, Path::new("")).map_err(failed)?;
    private_file::write_atomic(
        &dir.join(RECORD),
        format!("# Written by cargo xtask setup: where this project's stack template came from.\n{text}").as_bytes(),
    )
}

/// Copies the template, private to the owner: a record, never mounted.
fn copy_template(from_root: &Path, to_root: &Path, relative: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(to_root.join(relative))?;
    for entry in fs::read_dir(from_root.join(relative))? {
        let entry = entry?;
        let rel = relative.join(entry.file_name());
        if crate::layout::skipped(&rel) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_template(from_root, to_root, &rel)?;
        } else if kind.is_file() {
            let bytes = fs::read(entry.path())?;
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(to_root.join(&rel))?
                .write_all(&bytes)?;
        }
    }
    Ok(())
}

/// What an upgrade did to the template files.
#[derive(Debug, Default)]
pub struct Upgraded {
    /// Files the user had not modified, now the new version.
    pub replaced: Vec<PathBuf>,
    /// Files the user modified, kept; the new version is next to each as `file.new`.
    pub kept_modified: Vec<PathBuf>,
}

/// Updates the template files of `dir` to `template`: a file still as it was
/// laid out is replaced by the new version; a file the user changed is kept,
/// with the new version written next to it as `file.new`. Files new in the
/// template are left to the layout, which copies what is missing.
pub fn upgrade(dir: &Path, template: &Path) -> Result<Upgraded, FileError> {
    let mut upgraded = Upgraded::default();
    walk(dir, template, Path::new(""), &mut upgraded).map_err(|source| FileError::Write {
        path: dir.into(),
        source,
    })?;
    Ok(upgraded)
}

fn walk(dir: &Path, template: &Path, relative: &Path, upgraded: &mut Upgraded) -> io::Result<()> {
    let pristine = dir.join(PRISTINE);
    let mut entries: Vec<_> = fs::read_dir(template.join(relative))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel = relative.join(entry.file_name());
        if crate::layout::skipped(&rel) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(dir, template, &rel, upgraded)?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let target = dir.join(&rel);
        let Ok(current) = fs::read(&target) else {
            continue; // missing: the layout copies it
        };
        let new = fs::read(entry.path())?;
        if current == new {
            continue;
        }
        let unmodified = fs::read(pristine.join(&rel)).is_ok_and(|laid| laid == current);
        let mode = entry.metadata()?.permissions();
        if unmodified {
            private_file::write_atomic(&target, &new).map_err(io::Error::other)?;
            fs::set_permissions(&target, mode)?;
            upgraded.replaced.push(rel);
        } else {
            let mut name = target.clone().into_os_string();
            name.push(".new");
            let side = PathBuf::from(name);
            private_file::write_atomic(&side, &new).map_err(io::Error::other)?;
            fs::set_permissions(&side, mode)?;
            upgraded.kept_modified.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_reads_back_as_recorded() {
        let dir = std::env::temp_dir().join(format!("provenance-{}", std::process::id()));
        let template = dir.join("template");
        fs::create_dir_all(&template).unwrap();
        fs::write(template.join("docker-compose.yml"), "services: {}\n").unwrap();
        let project = dir.join("project");
        fs::create_dir_all(&project).unwrap();
        let origin = Origin::Upstream {
            url: "file:///srv/supabase.git".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
        };
        record(&project, &origin, &template).unwrap();
        assert_eq!(recorded(&project), Some(origin));
        record(&project, &Origin::Embedded, &template).unwrap();
        assert_eq!(recorded(&project), Some(Origin::Embedded));
        fs::remove_dir_all(&dir).unwrap();
    }
}
