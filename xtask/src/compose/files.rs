//! A project folder's own compose files, read as text (no Docker needed):
//! which variables they interpolate, and which `environment:` entries hold a
//! literal published default instead of a variable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::secrets::defaults;

/// The compose files of `dir`: the main file and every overlay next to it
/// (`docker-compose.s3.yml` and the like), which a project may add with `-f`.
pub fn compose_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
            yaml && (name.starts_with("docker-compose") || name.starts_with("compose"))
        })
        .collect();
    files.sort();
    files
}

/// The text of `line` that YAML reads: without a whole-line or trailing comment.
fn without_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Every variable the compose files of `dir` interpolate, comments left out.
/// `None` when the folder has no compose file to read.
pub fn variables_read(dir: &Path) -> Option<BTreeSet<String>> {
    let files = compose_files(dir);
    if files.is_empty() {
        return None;
    }
    let mut read = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            read.extend(super::interpolation::variables_in(without_comment(line)));
        }
    }
    Some(read)
}

/// An `environment:` entry whose value is written in the compose file itself
/// and is a published default, such as Realtime's `DB_ENC_KEY: supabaserealtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralDefault {
    /// The file's name inside the project folder.
    pub file: String,
    pub line: usize,
    /// The container variable the entry sets.
    pub variable: String,
}

/// Every literal published default in the `environment:` entries of the
/// compose files of `dir`.
pub fn literal_defaults(dir: &Path) -> Vec<LiteralDefault> {
    let mut found = Vec::new();
    for file in compose_files(dir) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        found.extend(literal_defaults_in(&name, &text));
    }
    found
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn literal_defaults_in(file: &str, text: &str) -> Vec<LiteralDefault> {
    let mut found = Vec::new();
    // The indentation of the `environment:` key whose entries we are in.
    let mut inside: Option<usize> = None;
    for (at, raw) in text.lines().enumerate() {
        let line = without_comment(raw);
        if line.trim().is_empty() {
            continue;
        }
        let depth = indent(line);
        if inside.is_some_and(|key| depth <= key) {
            inside = None;
        }
        let content = line.trim();
        if inside.is_none() {
            if content == "environment:" {
                inside = Some(depth);
            }
            continue;
        }
        // `KEY: value` (a mapping) or `- KEY=value` (a list).
        let (variable, value) = match content.strip_prefix("- ") {
            Some(item) => match unquote(item.trim()).split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.to_string()),
                None => continue,
            },
            None => match content.split_once(':') {
                Some((k, v)) => (unquote(k.trim()).to_string(), unquote(v.trim()).to_string()),
                None => continue,
            },
        };
        if !value.contains('$') && !value.is_empty() && defaults::is_known_default(&value) {
            found.push(LiteralDefault {
                file: file.to_string(),
                line: at + 1,
                variable,
            });
        }
    }
    found
}

fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSE: &str = "services:\n  realtime:\n    environment:\n      PORT: 4000\n      # DB_ENC_KEY: ${REALTIME_DB_ENC_KEY}\n      DB_ENC_KEY: supabaserealtime\n      API_JWT_SECRET: ${JWT_SECRET}\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  minio:\n    environment:\n      - MINIO_ROOT_PASSWORD=secret1234\n      - \"OTHER=${MINIO_ROOT_USER}\"\n  other:\n    image: x\n    command: supabaserealtime\n";

    #[test]
    fn a_literal_published_default_is_found_with_its_line() {
        let found = literal_defaults_in("docker-compose.yml", COMPOSE);
        let places: Vec<(usize, &str)> = found.iter().map(|f| (f.line, f.variable.as_str())).collect();
        assert_eq!(places, [(6, "DB_ENC_KEY"), (12, "MINIO_ROOT_PASSWORD")]);
    }

    #[test]
    fn commented_references_are_not_reads() {
        let dir = std::env::temp_dir().join(format!("compose-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("docker-compose.yml"), COMPOSE).unwrap();
        std::fs::write(
            dir.join("docker-compose.s3.yml"),
            "services:\n  s:\n    environment:\n      K: ${S3_PROTOCOL_ACCESS_KEY_ID}\n",
        )
        .unwrap();
        std::fs::write(dir.join("kong.yml"), "${DASHBOARD_PASSWORD}\n").unwrap();
        let read = variables_read(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read.contains("JWT_SECRET") && read.contains("MINIO_ROOT_USER"));
        assert!(read.contains("S3_PROTOCOL_ACCESS_KEY_ID"), "an overlay is read");
        assert!(!read.contains("REALTIME_DB_ENC_KEY"), "a comment is not a read");
        assert!(!read.contains("DASHBOARD_PASSWORD"), "only compose files count");
    }
}
