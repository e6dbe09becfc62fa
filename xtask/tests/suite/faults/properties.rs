//! Properties of the `.env` editor and the `setup.conf` reader that hold for
//! any input. The test suite checks them on generated input (inputs.rs), the
//! fuzz targets in fuzz/ on libFuzzer's; a broken property panics.
//!
//! An input is `text`, optionally followed by a 0xFF byte and an edit: one
//! byte choosing the key and mode, then the value's bytes.

#![allow(dead_code)]

use std::path::Path;

use xtask::config::SetupConf;
use xtask::envfile::EnvFile;

/// How many keys of a file are checked one by one.
const SAMPLE: usize = 24;

/// A value no message may ever show.
pub const CANARY: &str = "Qx7canaryVALUE";

fn split(data: &[u8]) -> (String, Option<(u8, String)>) {
    match data.iter().position(|b| *b == 0xFF) {
        None => (String::from_utf8_lossy(data).into_owned(), None),
        Some(at) => {
            let text = String::from_utf8_lossy(&data[..at]).into_owned();
            let edit = &data[at + 1..];
            let choice = edit.first().copied().unwrap_or(0);
            let value = String::from_utf8_lossy(edit.get(1..).unwrap_or(&[])).into_owned();
            (text, Some((choice, value)))
        }
    }
}

/// `text` with the canary put at the start of every value: right after the
/// `=` of each line (and after an opening quote).
pub fn plant_canary(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split_inclusive('\n') {
        match line.find('=') {
            Some(eq) => {
                let (head, tail) = line.split_at(eq + 1);
                let spaces = tail.len() - tail.trim_start_matches([' ', '\t']).len();
                let (pad, rest) = tail.split_at(spaces);
                let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''));
                out.push_str(head);
                out.push_str(pad);
                match quote {
                    Some(q) => {
                        out.push(q);
                        out.push_str(CANARY);
                        out.push_str(&rest[1..]);
                    }
                    None => {
                        out.push_str(CANARY);
                        out.push_str(rest);
                    }
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

fn line_count(text: &str) -> usize {
    text.split_inclusive('\n').count().max(1)
}

/// `path:LINE: …` with LINE inside the file (or just past its end).
fn assert_names_a_line(message: &str, path: &str, text: &str) {
    let rest = message
        .strip_prefix(path)
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or_else(|| panic!("the message does not start with {path}: {message}"));
    let number: usize = rest
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the message names no line: {message}"));
    assert!(
        (1..=line_count(text) + 1).contains(&number),
        "line {number} is outside the file ({} lines): {message}",
        line_count(text)
    );
}

/// Every `.env` property, on one input.
pub fn env_properties(data: &[u8]) {
    let (text, edit) = split(data);
    let path = "p/.env";
    let parsed = EnvFile::parse(Path::new(path), text.clone());

    // The canary: whatever the file, an error never shows a value.
    let planted = plant_canary(&text);
    if let Err(err) = EnvFile::parse(Path::new(path), planted.clone()) {
        let shown = err.to_string();
        assert!(!shown.contains(CANARY), "a parse error shows a value: {shown}");
        assert_names_a_line(&shown, path, &planted);
    }

    let mut file = match parsed {
        Ok(file) => file,
        Err(err) => {
            assert_names_a_line(&err.to_string(), path, &text);
            return;
        }
    };
    // Edit nothing: the same bytes come back.
    assert_eq!(file.text(), text, "an untouched file changed");
    let keys = file.keys();
    // Each get re-reads the document: a sample of the keys keeps a run fast.
    for key in keys.iter().take(SAMPLE) {
        assert!(file.get(key).is_some(), "{key} is listed but has no value");
        let line = file.line_of(key).expect("a listed key has a line");
        assert!(line >= 1 && line <= line_count(&text), "{key} on line {line}");
    }

    let Some((choice, value)) = edit else { return };
    let key = match choice % 4 {
        0 | 1 if !keys.is_empty() => keys[usize::from(choice / 4) % keys.len()].clone(),
        2 => "NEW_SETTING".to_string(),
        _ => format!("K{}", choice),
    };
    let value = if choice & 0x80 != 0 {
        format!("{CANARY}{value}")
    } else {
        value
    };
    let before: Vec<(String, Option<String>)> = keys.iter().take(SAMPLE).map(|k| (k.clone(), file.get(k))).collect();
    let existed = keys.contains(&key);
    match file.set(&key, &value) {
        Err(err) => {
            assert_eq!(file.text(), text, "a refused edit changed the file");
            let shown = err.to_string();
            if value.contains(CANARY) {
                assert!(!shown.contains(CANARY), "an edit error shows the value: {shown}");
            }
        }
        Ok(()) => {
            assert_eq!(file.get(&key).as_deref(), Some(value.as_str()), "set then get differs");
            let again = EnvFile::parse(Path::new(path), file.text().to_string())
                .unwrap_or_else(|e| panic!("an edited file no longer parses: {e}"));
            assert_eq!(again.get(&key).as_deref(), Some(value.as_str()));
            for (k, v) in &before {
                if *k != key {
                    assert_eq!(&file.get(k), v, "setting {key} changed {k}");
                }
            }
            let mut expected_keys = keys.clone();
            if !existed {
                expected_keys.push(key.clone());
            }
            assert_eq!(file.keys(), expected_keys, "the keys or their order changed");
            one_line_changed(&text, file.text(), &key, existed, file.line_of(&key).unwrap());
        }
    }
}

/// Only the edited declaration differs: every line before and after it is
/// unchanged, and it is a single line in the new text.
fn one_line_changed(old: &str, new: &str, key: &str, existed: bool, line: usize) {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    if !existed {
        let base = if old.is_empty() || old.ends_with('\n') {
            old.to_string()
        } else {
            format!("{old}\n")
        };
        assert!(new.starts_with(&base), "appending {key} changed earlier lines");
        assert_eq!(new[base.len()..].matches('\n').count(), 1, "the append is not one line");
        return;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(a.len().min(b.len()) - prefix);
    let changed_new = b.len() - prefix - suffix;
    assert!(changed_new <= 1, "setting {key} changed {changed_new} lines");
    if changed_new == 1 {
        assert_eq!(prefix + 1, line, "setting {key} changed another line than its own");
    }
}

/// Every `setup.conf` property, on one input.
pub fn conf_properties(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    for candidate in [text.clone(), plant_canary(&text)] {
        let Err(err) = SetupConf::parse(Path::new("setup.conf"), &candidate) else {
            continue;
        };
        let shown = err.to_string();
        assert!(!shown.contains(CANARY), "a setup.conf error shows a value: {shown}");
        assert_names_a_position(&shown, &candidate);
    }
}

/// `setup.conf:LINE:COLUMN: …` with the position inside the file.
fn assert_names_a_position(message: &str, text: &str) {
    let mut parts = message
        .strip_prefix("setup.conf:")
        .unwrap_or_else(|| panic!("the message does not start with setup.conf: {message}"))
        .splitn(3, ':');
    let line: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let column: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        (1..=lines.len()).contains(&line),
        "line {line} is outside the file ({} lines): {message}",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    assert!(
        (1..=width + 1).contains(&column),
        "column {column} is outside line {line} ({width} characters): {message}"
    );
}
