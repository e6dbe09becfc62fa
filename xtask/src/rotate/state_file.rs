//! A rotation's state in the project folder, as JSON: 0600, written
//! atomically, a link refused either way. Names, key ids and times only,
//! never a value: the audit log says what each change did.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::no_follow;
use crate::private_file;

/// The state at `path`, `None` when there is none; `what` names it in the
/// one-line error a damaged file gets.
pub fn load<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<Option<T>> {
    let Some(bytes) = no_follow::read_if_exists(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|err| {
        super::RotateError::BadState {
            path: path.to_path_buf(),
            line: err.line(),
            what,
            category: classify(&err),
        }
        .into()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    type Sample = BTreeMap<String, u64>;

    #[test]
    fn a_state_is_private_and_a_link_is_neither_read_nor_written_through() {
        let root = std::env::temp_dir().join(format!("xtask-state-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let path = root.join("state.json");
        assert_eq!(load::<Sample>(&path, "a sample state").unwrap(), None);
        let state = Sample::from([("started_at".to_string(), 10)]);
        save(&path, &state).unwrap();
        assert_eq!(load::<Sample>(&path, "a sample state").unwrap(), Some(state.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), &path).unwrap();
        assert!(load::<Sample>(&path, "a sample state").is_err());
        assert!(save(&path, &state).is_err(), "a link is never written through");
        assert!(!root.join("elsewhere").exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
