//! Exact output checks: what a command printed, masked where runs differ,
//! compared byte for byte with a file checked in under `xtask/tests/snapshots/`.
//!
//! A change to the output is made on purpose: run the failing tests with
//! `UPDATE_SNAPSHOTS=1` (they then rewrite their files and pass), review the
//! diff with `git diff xtask/tests/snapshots`, and commit it with the change.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Outcome, repo};

/// The variable that makes snapshot tests rewrite their files instead of comparing.
pub const UPDATE: &str = "UPDATE_SNAPSHOTS";

/// Shapes of the values that differ between runs, `9` standing for any digit:
/// the UTC time stamps of backups, audit lines and reports.
const TIME_SHAPES: &[&str] = &["9999-99-99T99:99:99Z", "99999999T999999Z"];

fn file(name: &str) -> PathBuf {
    repo().join("xtask/tests/snapshots").join(name)
}

/// `text` with every occurrence of `root` (the sandbox, as given and as the
/// system resolves it) written `[ROOT]`, and time stamps written `[TIME]`.
pub fn masked(text: &str, root: &Path) -> String {
    let mut text = text.to_string();
    let resolved = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    for path in [resolved, root.to_path_buf()] {
        let path = path.display().to_string();
        if !path.is_empty() {
            text = text.replace(&path, "[ROOT]");
        }
    }
    TIME_SHAPES
        .iter()
        .fold(text, |text, shape| mask_shape(&text, shape, "[TIME]"))
}

fn mask_shape(text: &str, shape: &str, label: &str) -> String {
    let fits = |candidate: &[u8]| {
        candidate
            .iter()
            .zip(shape.bytes())
            .all(|(&c, s)| if s == b'9' { c.is_ascii_digit() } else { c == s })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    let mut i = 0;
    while i + shape.len() <= bytes.len() {
        if fits(&bytes[i..i + shape.len()]) {
            out.push_str(&text[start..i]);
            out.push_str(label);
            i += shape.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[start..]);
    out
}

/// A run as one text: its exit code, then stdout and stderr, masked.
pub fn of_run(out: &Outcome, root: &Path) -> String {
    masked(
        &format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            out.code, out.stdout, out.stderr
        ),
        root,
    )
}

/// Compares `actual` with the snapshot `name`, or rewrites the snapshot under
/// `UPDATE_SNAPSHOTS=1`. Returns the reason it differs, for the caller to report.
pub fn check(name: &str, actual: &str) -> Result<(), String> {
    let path = file(name);
    if std::env::var_os(UPDATE).is_some_and(|v| !v.is_empty() && v != "0") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("updated {}", path.display());
        return Ok(());
    }
    compare(&path, fs::read_to_string(&path).ok().as_deref(), actual)
}

/// The reason `actual` is not the snapshot at `path` (whose text is
/// `expected`, `None` when the file does not exist), if it is not.
pub fn compare(path: &Path, expected: Option<&str>, actual: &str) -> Result<(), String> {
    let Some(expected) = expected else {
        return Err(format!(
            "{} does not exist: run the test with {UPDATE}=1 to write it, then review and commit it",
            path.display()
        ));
    };
    if expected == actual {
        return Ok(());
    }
    let expected_lines: Vec<&str> = expected.split_inclusive('\n').collect();
    let actual_lines: Vec<&str> = actual.split_inclusive('\n').collect();
    let line = expected_lines
        .iter()
        .zip(&actual_lines)
        .take_while(|(e, a)| e == a)
        .count();
    Err(format!(
        "{} differs from the output at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
         if the change is intended, run the test with {UPDATE}=1 and commit the file\n\
         the whole output:\n{actual}",
        path.display(),
        line + 1,
        expected_lines.get(line).copied().unwrap_or("(end of file)"),
        actual_lines.get(line).copied().unwrap_or("(end of output)"),
    ))
}

/// [`check`], failing the test when the snapshot differs.
pub fn assert(name: &str, actual: &str) {
    if let Err(reason) = check(name, actual) {
        panic!("{reason}");
    }
}
