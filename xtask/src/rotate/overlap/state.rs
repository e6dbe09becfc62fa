//! When each API-key overlap started and ends, kept in the project folder as
//! `api-key-overlap.json` (0600, written atomically, links refused): names
//! and times only, never a key. Whether a key is in an overlap is what
//! `.env` says (its `…_PREVIOUS` is set); this file says until when, and
//! which step is under way: a step is recorded as started, with the backup
//! of `.env` taken for it, before anything changes, and as done once its
//! checks passed (see `rotate/stage.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::project::Project;

use super::super::{stage, state_file};

pub const FILE: &str = "api-key-overlap.json";

/// One overlap: Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub started_at: u64,
    /// The old key may be revoked from then on.
    pub ends_at: u64,
}

/// The two steps of an overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// `--overlap DURATION`: the new key in `NAME`, the old one in `NAME_PREVIOUS`.
    Overlap,
    /// `--stage revoke`: `NAME_PREVIOUS` emptied.
    Revoke,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Overlap => "overlap",
            Step::Revoke => "revoke",
        }
    }
}

/// A step that started and has not finished, and the keys it changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    #[serde(flatten)]
    pub step: stage::Running<Step>,
    pub keys: Vec<String>,
}

impl Unfinished {
    /// How the run that rolls it back names it: "the overlap step of ANON_KEY".
    pub fn what(&self) -> String {
        format!("the {} step of {}", self.step.stage.name(), self.keys.join(", "))
    }
}

/// The overlaps under way, by the name of the key rotated, and the step
/// under way, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub overlaps: BTreeMap<String, Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Unfinished>,
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

    /// The step under way that changes `name`, if any.
    pub fn unfinished_of(&self, name: &str) -> Option<&Unfinished> {
        self.running.as_ref().filter(|u| u.keys.iter().any(|k| k == name))
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
        assert!(
            !std::fs::read_to_string(State::path(&project))
                .unwrap()
                .contains("running"),
            "no step under way, none written: the file reads as before"
        );
        state.running = Some(Unfinished {
            step: stage::Running {
                stage: Step::Revoke,
                started_at: 20,
                backup: ".env.20261201T000000Z".into(),
            },
            keys: vec!["SUPABASE_SECRET_KEY".into()],
        });
        state.save(&project).unwrap();
        assert_eq!(State::load(&project).unwrap(), state);
        assert!(state.unfinished_of("SUPABASE_SECRET_KEY").is_some());
        assert!(state.unfinished_of("ANON_KEY").is_none());
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
