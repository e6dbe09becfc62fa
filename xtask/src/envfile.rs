//! The `.env` document: parsed losslessly, checked, edited in place.
//!
//! Comments, blank lines, order, quoting and every untouched line stay
//! byte for byte. Values are read the way Docker Compose reads them.

use std::fmt;
use std::path::{Path, PathBuf};

use adotenv::{AssignmentState, Dialect, Quote, Severity};

/// Why a `.env` could not be read or edited. Names the file and line, never a value.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{path}:{line}: {problem}")]
    Syntax {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    /// A link or a FIFO where the file should be, or a read that failed.
    #[error(transparent)]
    Path(#[from] crate::no_follow::PathError),
    #[error("{path}: {key} cannot be written: {why}")]
    Edit { path: PathBuf, key: String, why: String },
}

/// A parsed `.env`.
#[derive(Clone)]
pub struct EnvFile {
    path: PathBuf,
    text: String,
}

impl fmt::Debug for EnvFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const DIALECT: Dialect = Dialect::COMPOSE;

impl EnvFile {
    /// Reads and checks `path`. A symbolic link is refused (the atomic
    /// rename that writes the file would replace the link, not its target),
    /// and so is anything but a regular file (a FIFO would block the read).
    pub fn load(path: &Path) -> Result<EnvFile, EnvError> {
        let bytes = crate::no_follow::read(path)?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let line = 1 + err.as_bytes()[..err.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            EnvError::Syntax {
                path: path.into(),
                line,
                problem: "is not valid UTF-8".into(),
            }
        })?;
        EnvFile::parse(path, text)
    }

    /// Checks `text` as the content of `path` (the path is only for messages).
    pub fn parse(path: &Path, text: String) -> Result<EnvFile, EnvError> {
        let file = EnvFile {
            path: path.to_path_buf(),
            text,
        };
        file.check()?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, exactly as they will be written.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn syntax(&self, line: usize, problem: impl Into<String>) -> EnvError {
        EnvError::Syntax {
            path: self.path.clone(),
            line,
            problem: problem.into(),
        }
    }

    /// Refuses whatever Compose versions read differently, or not at all.
    fn check(&self) -> Result<(), EnvError> {
        if let Some(at) = self.text.find('\r') {
            let line = 1 + self.text[..at].matches('\n').count();
            return Err(self.syntax(
                line,
                "has a CRLF line ending; save the file with LF (Unix) line endings",
            ));
        }
        let (doc, diagnostics) = adotenv::parse_with(&self.text, DIALECT);
        if let Some(d) = diagnostics.iter().find(|d| d.severity() == Severity::Error) {
            let problem = format!("{:?}", d.code()).to_lowercase();
            return Err(self.syntax(d.line(), describe_code(&problem)));
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for entry in doc.entries() {
            let key = entry.key();
            // A name that does not start its line follows the closing quote
            // of a value: it is part of that value, so it is never shown.
            let key_start = entry.key_span().start;
            let line_start = self.text[..key_start].rfind('\n').map_or(0, |at| at + 1);
            let before_key = self.text[line_start..key_start].trim();
            if !before_key.is_empty() && before_key != "export" {
                return Err(self.syntax(
                    entry.line(),
                    "has text after a closing quote; a line holds one NAME=value, and a value with spaces goes inside the quotes",
                ));
            }
            // A line with no `=` is not shown: it can be a pasted secret, or
            // the end of a value after its closing quote.
            if entry.state() == AssignmentState::Bare {
                return Err(self.syntax(
                    entry.line(),
                    "has no `=`; declare a variable as NAME=value (NAME= for an empty value), or remove the line",
                ));
            }
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                return Err(self.syntax(
                    entry.line(),
                    format!("{key} is set again (first set on line {first}); keep one"),
                ));
            }
            seen.push((key, entry.line()));
            let raw = entry.raw_value().unwrap_or("");
            match entry.quote() {
                Quote::None => {
                    if raw.contains('$') {
                        return Err(self.syntax(
                            entry.line(),
                            format!(
                                "{key} holds `$`, which Compose would interpolate; wrap the value in single quotes"
                            ),
                        ));
                    }
                    if raw.contains(char::is_whitespace) || raw.contains('#') {
                        return Err(self.syntax(
                            entry.line(),
                            format!("{key} holds a space or `#` outside quotes, which Compose versions read differently; wrap the value in single quotes"),
                        ));
                    }
                }
                Quote::Double if has_unescaped_dollar(raw) => {
                    return Err(self.syntax(
                        entry.line(),
                        format!(
                            "{key} holds `$` inside double quotes, which Compose would interpolate; use single quotes"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The value of `key` as Compose reads it, if the key is declared.
    pub fn get(&self, key: &str) -> Option<String> {
        let (doc, _) = adotenv::parse_with(&self.text, DIALECT);
        doc.get(key).map(str::to_string)
    }

    /// The 1-based line that declares `key`.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let (doc, _) = adotenv::parse_with(&self.text, DIALECT);
        doc.get_entry(key).map(|e| e.line())
    }

    /// Every declared key, in file order.
    pub fn keys(&self) -> Vec<String> {
        let (doc, _) = adotenv::parse_with(&self.text, DIALECT);
        doc.entries().map(|e| e.key().to_string()).collect()
    }

    /// Sets `key` to `value`: its line is edited in place, or a new line is
    /// appended at the end when the key is not declared yet.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        let edit_error = |why: String| EnvError::Edit {
            path: self.path.clone(),
            key: key.to_string(),
            why,
        };
        if value.contains(['\n', '\r']) {
            return Err(edit_error("a value must fit on one line".into()));
        }
        let token = encode(value);
        let new_text = {
            let (doc, _) = adotenv::parse_with(&self.text, DIALECT);
            let result = match doc.get_entry(key) {
                Some(_) => set_raw(&self.text, &doc, key, &token),
                None => {
                    let mut text = self.text.clone();
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&format!("{key}={token}\n"));
                    Ok(text)
                }
            };
            result.map_err(edit_error)?
        };
        let edited = EnvFile {
            path: self.path.clone(),
            text: new_text,
        };
        // The edit must read back as exactly the value meant, and keep the file acceptable.
        if edited.get(key).as_deref() != Some(value) {
            return Err(EnvError::Edit {
                path: self.path.clone(),
                key: key.to_string(),
                why: "the value does not read back the same; it holds characters a .env cannot carry".into(),
            });
        }
        edited.check()?;
        *self = edited;
        Ok(())
    }
}

/// Replaces the raw value token of `key`, keeping everything around it.
fn set_raw(text: &str, doc: &adotenv::Document<'_>, key: &str, token: &str) -> Result<String, String> {
    let entry = doc.unique(key).map_err(|e| format!("{e:?}"))?;
    let mut out = String::with_capacity(text.len() + token.len());
    match entry.value_span() {
        Some(span) => {
            out.push_str(&text[..span.start]);
            out.push_str(token);
            out.push_str(&text[span.end..]);
        }
        None => {
            // `KEY=` with nothing after it: the value goes right after the key's `=`.
            let after_key = entry.key_span().end;
            let eq = text[after_key..].find('=').ok_or("no `=` after the key")? + after_key + 1;
            out.push_str(&text[..eq]);
            out.push_str(token);
            out.push_str(&text[eq..]);
        }
    }
    Ok(out)
}

/// Writes a value the way every Compose version reads it back literally.
fn encode(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,/:@+=~%^*!?".contains(c);
    if value.chars().all(plain) {
        value.to_string()
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        let mut out = String::from("\"");
        for c in value.chars() {
            match c {
                '"' | '\\' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

fn has_unescaped_dollar(raw: &str) -> bool {
    let mut escaped = false;
    for c in raw.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '$' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

fn describe_code(code: &str) -> String {
    if code.contains("unterminated") || code.contains("unclosed") {
        "has a quote that is never closed".into()
    } else if code.contains("key") {
        "has an invalid variable name; names are letters, digits and `_`".into()
    } else {
        format!("cannot be parsed ({code})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EnvFile, EnvError> {
        EnvFile::parse(Path::new("receptor-dev/.env"), text.to_string())
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn an_edit_changes_one_value_and_nothing_else() {
        let text = "# header\n\nexport A=1 # note\nB='two words'\nC=\n\n# tail\n";
        let mut file = parse(text).unwrap();
        file.set("C", "abc123").unwrap();
        assert_eq!(
            file.text(),
            "# header\n\nexport A=1 # note\nB='two words'\nC=abc123\n\n# tail\n"
        );
        file.set("A", "9").unwrap();
        assert_eq!(
            file.text(),
            "# header\n\nexport A=9 # note\nB='two words'\nC=abc123\n\n# tail\n"
        );
        file.set("NEW", "x y$z").unwrap();
        assert!(file.text().ends_with("# tail\nNEW='x y$z'\n"));
        assert_eq!(file.get("NEW").as_deref(), Some("x y$z"));
    }

    #[test]
    fn awkward_values_round_trip() {
        let mut file = parse("A=\n").unwrap();
        for value in ["it's $HOME \"quoted\" \\ done", "a=b#c", "ünïcødé", "", "'"] {
            file.set("A", value).unwrap();
            assert_eq!(file.get("A").as_deref(), Some(value), "{}", file.text());
        }
        assert!(file.set("A", "two\nlines").is_err());
    }

    #[test]
    fn a_file_with_no_final_newline_gets_one_before_an_append() {
        let mut file = parse("A=1").unwrap();
        file.set("B", "2").unwrap();
        assert_eq!(file.text(), "A=1\nB=2\n");
    }

    #[test]
    fn bad_input_names_file_and_line() {
        assert!(error_of("A=1\nB=2\nA=3\n").starts_with("receptor-dev/.env:3: A is set again (first set on line 1)"));
        assert!(error_of("A=1\nBARE\n").starts_with("receptor-dev/.env:2: has no `=`"));
        assert!(
            error_of("A=1\nB=\"open\n").starts_with("receptor-dev/.env:2:"),
            "{}",
            error_of("A=1\nB=\"open\n")
        );
        assert!(error_of("A=1\r\nB=2\r\n").starts_with("receptor-dev/.env:1: has a CRLF"));
        assert!(error_of("A=1\nB=a$b\n").starts_with("receptor-dev/.env:2: B holds `$`"));
        assert!(error_of("A=a b\n").starts_with("receptor-dev/.env:1: A holds a space"));
        assert!(error_of("A=a#b\n").starts_with("receptor-dev/.env:1: A holds a space or `#`"));
        assert!(error_of("A=\"x$y\"\n").starts_with("receptor-dev/.env:1: A holds `$` inside double quotes"));
        assert!(parse("A='x $y #z'\nB=1 # comment\n").is_ok());
    }

    #[test]
    fn errors_never_carry_the_value() {
        let canary = "canary7f3e9d";
        for text in [
            format!("A={canary} x\n"),
            format!("A=\"{canary}\nB=1\n"),
            format!("A={canary}$\n"),
            format!("A=1\n{canary}\n"),
            format!("A=\"x\"{canary}\n"),
            format!("A='x\\'\nB='{canary}:1\n"),
        ] {
            let shown = error_of(&text);
            assert!(!shown.contains(canary), "{shown}");
        }
    }
}
