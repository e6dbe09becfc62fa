//! A rotation's state in the project folder, as JSON: 0600, written
//! atomically, a link refused either way. Names, key ids and times only,
//! never a value: the audit log says what each change did.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::no_follow;
use crate::private_file;

/// The state at `path`, `None` when there is none; `what` names it in the
/// one-line error a damaged file gets.
pub fn load<T: DeserializeOwned>(path: &Path, what: &str) -> Result<Option<T>> {
    let Some(bytes) = no_follow::read_if_exists(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|err| {
        Error::Usage(format!(
            "{}: line {}: not {what} ({}); move it away to start over",
            path.display(),
            err.line(),
            classify(&err)
        ))
    })
}

pub fn save<T: Serialize>(path: &Path, state: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(state).expect("a state serialises");
    text.push('\n');
    private_file::write_atomic(path, text.as_bytes())?;
    Ok(())
}

fn classify(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "bad JSON",
        serde_json::error::Category::Data => "unexpected fields",
        serde_json::error::Category::Eof => "cut short",
    }
}
