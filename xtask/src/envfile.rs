//! The `.env` document: parsed losslessly, checked, edited in place.
//!
//! Comments, blank lines, order, quoting and every untouched line stay
//! byte for byte. Values are read the way Docker Compose reads them. The
//! file is parsed once; each edit re-reads only the line it changed.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use adotenv::{AssignmentState, DiagnosticCode, Dialect, Quote, Severity};

use crate::secrets::Secret;

/// The largest `.env` read: settings and secrets, never data.
pub const MAX_BYTES: usize = 1 << 20;

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
    #[error(
        "{path}: is over {} KiB, more than a .env of settings and secrets ever holds; move large values into files the services mount",
        MAX_BYTES / 1024
    )]
    TooLarge { path: PathBuf },
    #[error("{path}: {key} cannot be written: {why}")]
    Edit { path: PathBuf, key: String, why: String },
}

/// Where a variable is declared: `path:line` in messages (line 0 when the
/// file does not declare it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub path: PathBuf,
    pub line: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// One declaration, as the file holds it now.
#[derive(Clone)]
struct Declared {
    key: String,
    /// The value as Compose reads it.
    value: String,
    /// 1-based line of the key.
    line: usize,
    /// Where the key's line starts.
    line_start: usize,
    /// The raw value token, or an empty range right after `=` for `KEY=`.
    value_span: Range<usize>,
}

/// A parsed `.env`.
#[derive(Clone)]
pub struct EnvFile {
    /// The path shown in messages.
    path: PathBuf,
    text: String,
    declared: Vec<Declared>,
    index: HashMap<String, usize>,
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
        EnvFile::load_as(path, path)
    }

    /// Reads and checks `path`, naming it `shown` in every message of its own
    /// (a template fetched into a scratch folder is named by where it came from).
    pub fn load_as(path: &Path, shown: &Path) -> Result<EnvFile, EnvError> {
        let file = crate::no_follow::open(path, std::fs::OpenOptions::new().read(true))?;
        let too_large = || EnvError::TooLarge { path: shown.into() };
        if file.metadata().map(|m| m.len() > MAX_BYTES as u64).unwrap_or(false) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        file.take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| crate::no_follow::PathError::Io {
                path: shown.into(),
                doing: "read",
                source,
            })?;
        if bytes.len() > MAX_BYTES {
            return Err(too_large());
        }
        let text = String::from_utf8(bytes).map_err(|err| {
            let line = 1 + err.as_bytes()[..err.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            EnvError::Syntax {
                path: shown.into(),
                line,
                problem: "is not valid UTF-8".into(),
            }
        })?;
        EnvFile::parse(shown, text)
    }

    /// Checks `text` as the content of `path` (the path is only for messages).
    pub fn parse(path: &Path, text: String) -> Result<EnvFile, EnvError> {
        if text.len() > MAX_BYTES {
            return Err(EnvError::TooLarge { path: path.into() });
        }
        let mut file = EnvFile {
            path: path.to_path_buf(),
            text,
            declared: Vec::new(),
            index: HashMap::new(),
        };
        file.declared = read_declarations(&file.path, &file.text, 0..file.text.len(), 1)?;
        for (at, declared) in file.declared.iter().enumerate() {
            if let Some(first) = file.index.get(&declared.key) {
                return Err(file.syntax(
                    declared.line,
                    format!(
                        "{} is set again (first set on line {}); keep one",
                        declared.key, file.declared[*first].line
                    ),
                ));
            }
            file.index.insert(declared.key.clone(), at);
        }
        Ok(file)
    }

    /// The same document, named `path` in messages from now on.
    pub fn renamed(mut self, path: &Path) -> EnvFile {
        self.path = path.to_path_buf();
        self
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

    /// The value of `key` as Compose reads it, if the key is declared. For a
    /// secret's value, [`EnvFile::secret`].
    pub fn get(&self, key: &str) -> Option<String> {
        self.index.get(key).map(|at| self.declared[*at].value.clone())
    }

    /// The value of secret `key`, redacted in `Debug`; `None` when the key is
    /// not declared, which the caller decides about (never an empty value unasked).
    pub fn secret(&self, key: &str) -> Option<Secret> {
        self.get(key).map(Secret::new)
    }

    /// The 1-based line that declares `key`.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).map(|at| self.declared[*at].line)
    }

    /// Where `key` is declared, for a message.
    pub fn at(&self, key: &str) -> At {
        At {
            path: self.path.clone(),
            line: self.line_of(key).unwrap_or(0),
        }
    }

    /// Every declared key, in file order.
    pub fn keys(&self) -> Vec<String> {
        self.declared.iter().map(|d| d.key.clone()).collect()
    }

    /// Sets `key` to `value`: its line is edited in place, or a new line is
    /// appended at the end when the key is not declared yet. The edited line
    /// is read back: it must hold exactly `value` and stay acceptable.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        let edit_error = |why: &str| EnvError::Edit {
            path: self.path.clone(),
            key: key.to_string(),
            why: why.to_string(),
        };
        if value.contains(['\n', '\r']) {
            return Err(edit_error("a value must fit on one line"));
        }
        let token = encode(value);
        let (text, fragment, line, at) = match self.index.get(key).copied() {
            Some(at) => {
                let declared = &self.declared[at];
                let span = declared.value_span.clone();
                let mut text = String::with_capacity(self.text.len() + token.len());
                text.push_str(&self.text[..span.start]);
                text.push_str(&token);
                text.push_str(&self.text[span.end..]);
                let token_end = span.start + token.len();
                let end = text[token_end..].find('\n').map_or(text.len(), |i| token_end + i + 1);
                (text, declared.line_start..end, declared.line, Some(at))
            }
            None if !self.text.is_empty() && !self.text.ends_with('\n') => {
                // The last line gets its line ending, which can change how it
                // reads: the whole file is read again (once: it ends with one now).
                let text = format!("{}\n{key}={token}\n", self.text);
                let edited = EnvFile::parse(&self.path, text)?;
                if edited.get(key).as_deref() != Some(value) {
                    return Err(edit_error(
                        "the value does not read back the same; it holds characters a .env cannot carry",
                    ));
                }
                *self = edited;
                return Ok(());
            }
            None => {
                let mut text = self.text.clone();
                let start = text.len();
                text.push_str(key);
                text.push('=');
                text.push_str(&token);
                text.push('\n');
                let line = 1 + text[..start].matches('\n').count();
                let end = text.len();
                (text, start..end, line, None)
            }
        };
        if text.len() > MAX_BYTES {
            return Err(EnvError::TooLarge {
                path: self.path.clone(),
            });
        }
        let mut read = read_declarations(&self.path, &text, fragment, line)?;
        let fresh = match read.pop() {
            Some(d) if read.is_empty() && d.key == key && d.value == value => d,
            _ => {
                return Err(edit_error(
                    "the value does not read back the same; it holds characters a .env cannot carry",
                ));
            }
        };
        match at {
            Some(at) => {
                let old = &self.declared[at];
                let old_len = old.value_span.len();
                let removed_lines = self.text[old.value_span.clone()].matches('\n').count();
                let grew = token.len() as isize - old_len as isize;
                self.declared[at] = fresh;
                for later in &mut self.declared[at + 1..] {
                    later.line_start = later.line_start.saturating_add_signed(grew);
                    later.value_span = later.value_span.start.saturating_add_signed(grew)
                        ..later.value_span.end.saturating_add_signed(grew);
                    later.line -= removed_lines;
                }
            }
            None => {
                self.index.insert(key.to_string(), self.declared.len());
                self.declared.push(fresh);
            }
        }
        self.text = text;
        Ok(())
    }
}

/// Reads and checks the declarations of `text[range]`, a run of whole lines
/// whose first line is line `first_line` of the file. Refuses whatever
/// Compose v2 and later versions read differently, or not at all.
fn read_declarations(
    path: &Path,
    text: &str,
    range: Range<usize>,
    first_line: usize,
) -> Result<Vec<Declared>, EnvError> {
    let base = range.start;
    let part = &text[range];
    let syntax = |line: usize, problem: String| EnvError::Syntax {
        path: path.into(),
        line: line + first_line - 1,
        problem,
    };
    if let Some(at) = part.find('\r') {
        let line = 1 + part[..at].matches('\n').count();
        return Err(syntax(
            line,
            "has a CRLF line ending; save the file with LF (Unix) line endings".into(),
        ));
    }
    let (doc, diagnostics) = adotenv::parse_with(part, DIALECT);
    if let Some(d) = diagnostics.iter().find(|d| d.severity() == Severity::Error) {
        return Err(syntax(d.line(), describe_code(d.code())));
    }
    let mut declared = Vec::new();
    for entry in doc.entries() {
        let key = entry.key();
        let line = entry.line();
        // A name that does not start its line follows the closing quote
        // of a value: it is part of that value, so it is never shown.
        let key_start = entry.key_span().start;
        let line_start = part[..key_start].rfind('\n').map_or(0, |at| at + 1);
        let before_key = part[line_start..key_start].trim();
        if !before_key.is_empty() && before_key != "export" {
            return Err(syntax(
                line,
                "has text after a closing quote; a line holds one NAME=value, and a value with spaces goes inside the quotes".into(),
            ));
        }
        // A line with no `=` is not shown: it can be a pasted secret, or
        // the end of a value after its closing quote.
        if entry.state() == AssignmentState::Bare {
            return Err(syntax(
                line,
                "has no `=`; declare a variable as NAME=value (NAME= for an empty value), or remove the line".into(),
            ));
        }
        let raw = entry.raw_value().unwrap_or("");
        match entry.quote() {
            Quote::None => {
                if raw.contains('$') {
                    return Err(syntax(
                        line,
                        format!("{key} holds `$`, which Compose would interpolate; wrap the value in single quotes"),
                    ));
                }
                // Every Compose version since v2 cuts a comment at ` #`, but
                // some (2.5, for one) also cut at a `#` with no space before
                // it, and a value that starts with `#` reads as the comment's
                // text in later ones.
                if raw.contains('#') {
                    return Err(syntax(
                        line,
                        format!(
                            "{key} holds `#` in an unquoted value, which Compose versions read differently; wrap the value in single quotes, or put a space before a comment"
                        ),
                    ));
                }
                if raw.chars().any(|c| c.is_whitespace() && c != ' ') {
                    return Err(syntax(
                        line,
                        format!(
                            "{key} holds a tab or other blank in an unquoted value, which Compose versions read differently; wrap the value in single quotes"
                        ),
                    ));
                }
            }
            Quote::Double if has_unescaped_dollar(raw) => {
                return Err(syntax(
                    line,
                    format!("{key} holds `$` inside double quotes, which Compose would interpolate; use single quotes"),
                ));
            }
            _ => {}
        }
        let value_span = match entry.value_span() {
            Some(span) => span,
            None => {
                // `KEY=` with nothing after it: the value goes right after the key's `=`.
                let after_key = entry.key_span().end;
                let eq = part[after_key..]
                    .find('=')
                    .map(|at| at + after_key + 1)
                    .ok_or_else(|| syntax(line, "has no `=` after the variable name".into()))?;
                eq..eq
            }
        };
        declared.push(Declared {
            key: key.to_string(),
            value: entry.value().unwrap_or("").to_string(),
            line: line + first_line - 1,
            line_start: base + line_start,
            value_span: base + value_span.start..base + value_span.end,
        });
    }
    Ok(declared)
}

/// Writes a value the way every Compose version reads it back literally:
/// plain when it can be, else single quotes, else double quotes with
/// `"`, `\` and `$` escaped (a single-quoted `\'` would close nothing).
fn encode(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,/:@+=~%^*!?".contains(c);
    if value.chars().all(plain) {
        value.to_string()
    } else if !value.contains(['\'', '\\']) {
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

/// What an error of the parser means for the user, by its code (the parser's
/// own words may change between releases; its codes do not).
fn describe_code(code: DiagnosticCode) -> String {
    match code {
        DiagnosticCode::UnterminatedQuote => "has a quote that is never closed".into(),
        DiagnosticCode::InvalidKey
        | DiagnosticCode::BareKey
        | DiagnosticCode::NonPosixKey
        | DiagnosticCode::ForbiddenBareKey
        | DiagnosticCode::DuplicateKey => "has an invalid variable name; names are letters, digits and `_`".into(),
        other => format!("cannot be parsed ({})", other.as_str()),
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
        for value in [
            "it's $HOME \"quoted\" \\ done",
            "a=b#c",
            "ünïcødé",
            "",
            "'",
            "ends in a backslash\\",
            "tok\\",
            "\\'",
        ] {
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
        // A last line that reads differently once it ends: the edit is refused.
        let mut file = parse("_").unwrap();
        assert!(file.set("K", "v").is_err());
        assert_eq!(file.text(), "_");
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
        assert!(error_of("A=a#b\n").starts_with("receptor-dev/.env:1: A holds `#` in an unquoted value"));
        assert!(error_of("A= # note\n").starts_with("receptor-dev/.env:1: A holds `#`"));
        assert!(error_of("A=a\t#b\n").starts_with("receptor-dev/.env:1: A holds `#`"));
        assert!(error_of("A=a\tb\n").starts_with("receptor-dev/.env:1: A holds a tab"));
        assert!(error_of("A=\"x$y\"\n").starts_with("receptor-dev/.env:1: A holds `$` inside double quotes"));
        assert!(parse("A='x $y #z'\nB=1 # comment\n").is_ok());
    }

    #[test]
    fn errors_never_carry_the_value() {
        let canary = "canary7f3e9d";
        for text in [
            format!("A={canary}#x\n"),
            format!("A={canary}\tx\n"),
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

    #[test]
    fn lines_every_compose_version_reads_alike_are_accepted() {
        let file = parse(
            "STUDIO_DEFAULT_ORGANIZATION=Default Organization\nB=1 # a comment\nC=  padded value  \nD=x  # two spaces\nMAILER=\"/auth/v1/verify\"\n",
        )
        .unwrap();
        assert_eq!(
            file.get("STUDIO_DEFAULT_ORGANIZATION").as_deref(),
            Some("Default Organization")
        );
        assert_eq!(file.get("B").as_deref(), Some("1"));
        assert_eq!(file.get("C").as_deref(), Some("padded value"));
        assert_eq!(file.get("D").as_deref(), Some("x"));
        assert_eq!(file.get("MAILER").as_deref(), Some("/auth/v1/verify"));
    }

    #[test]
    fn an_edit_after_a_multi_line_value_keeps_every_line_number_and_value() {
        let text = "A=\"one\ntwo\nthree\"\nB=b # note\nC=c\n";
        let mut file = parse(text).unwrap();
        assert_eq!(file.line_of("B"), Some(4));
        file.set("A", "single").unwrap();
        assert_eq!(file.text(), "A=single\nB=b # note\nC=c\n");
        assert_eq!((file.line_of("B"), file.line_of("C")), (Some(2), Some(3)));
        file.set("B", "a longer value").unwrap();
        assert_eq!(file.text(), "A=single\nB='a longer value' # note\nC=c\n");
        file.set("C", "").unwrap();
        file.set("C", "back").unwrap();
        assert_eq!(file.text(), "A=single\nB='a longer value' # note\nC=back\n");
        // The document as edited reads the same as the same text parsed afresh.
        let again = parse(file.text()).unwrap();
        for key in ["A", "B", "C"] {
            assert_eq!(again.get(key), file.get(key), "{key}");
            assert_eq!(again.line_of(key), file.line_of(key), "{key}");
        }
    }

    #[test]
    fn a_file_over_the_cap_is_refused_and_an_edit_may_not_grow_past_it() {
        let big = format!("A={}\n", "x".repeat(MAX_BYTES));
        assert!(matches!(parse(&big), Err(EnvError::TooLarge { .. })));
        let mut file = parse(&format!("A={}\n", "x".repeat(MAX_BYTES - 10))).unwrap();
        assert!(matches!(file.set("B", &"y".repeat(20)), Err(EnvError::TooLarge { .. })));
        assert_eq!(file.get("B"), None, "a refused edit changes nothing");
    }
}
