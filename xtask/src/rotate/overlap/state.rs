//! When each API-key overlap started and ends, kept in the project folder as
//! `api-key-overlap.json` (0600, written atomically, links refused): names
//! and times only, never a key. Whether a key is in an overlap is what
//! `.env` says (its `…_PREVIOUS` is set); this file says until when.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::project::Project;

use super::super::state_file;

pub const FILE: &str = "api-key-overlap.json";

/// One overlap: Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub started_at: u64,
    /// The old key may be revoked from then on.
    pub ends_at: u64,
}

/// The overlaps under way, by the name of the key rotated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub overlaps: BTreeMap<String, Window>,
}

impl State {
    pub fn path(project: &Project) -> PathBuf {
        project.dir.join(FILE)
    }

    /// The state of `project`; empty when none was recorded.
    pub fn load(project: &Project) -> Result<State> {
        Ok(state_file::load(&State::path(project), "an API-key overlap state")?.unwrap_or_default())
    }

    pub fn save(&self, project: &Project) -> Result<()> {
        state_file::save(&State::path(project), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_private_and_a_damaged_one_is_a_one_line_error() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("xtask-overlap-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("p")).unwrap();
        let project = Project::new(&root, "p").unwrap();
        assert_eq!(State::load(&project).unwrap(), State::default());
        let mut state = State::default();
        state.overlaps.insert(
            "SUPABASE_SECRET_KEY".into(),
            Window {
                started_at: 10,
                ends_at: 3610,
            },
        );
        state.save(&project).unwrap();
        assert_eq!(State::load(&project).unwrap(), state);
        let mode = std::fs::metadata(State::path(&project)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(State::path(&project), "{\"overlaps\": 3}").unwrap();
        let err = State::load(&project).unwrap_err().to_string();
        assert!(
            err.contains(FILE) && err.contains("line 1") && !err.contains('\n'),
            "{err}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
