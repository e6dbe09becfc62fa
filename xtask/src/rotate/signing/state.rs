//! The state of a staged signing-key rotation, kept in the project folder as
//! `signing-key-rotation.json` (0600, written atomically, links refused): the
//! key ids, when each stage finished, and the stage under way, if any. Key
//! ids and times only, never a key.
//!
//! A stage is recorded as started (with the backup of `.env` taken for it)
//! before anything changes, and as done once the stack runs on it and passed
//! its checks. A run that finds a stage started and not done knows it was
//! interrupted, and rolls it back to that backup first.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::project::Project;

use super::super::{stage, state_file};

use super::timing::Stage;

pub const FILE: &str = "signing-key-rotation.json";

/// A stage that started and has not finished.
pub type Running = stage::Running<Stage>;

/// One rotation, from standby to revoke.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The key that signed before: its kid, `None` for the legacy HS256 key.
    pub old_kid: Option<String>,
    /// The new key's kid, once standby started.
    pub new_kid: Option<String>,
    /// Unix seconds each stage finished.
    pub standby_at: Option<u64>,
    pub switch_at: Option<u64>,
    pub revoke_at: Option<u64>,
    pub running: Option<Running>,
}

impl State {
    pub fn path(project: &Project) -> PathBuf {
        project.dir.join(FILE)
    }

    /// The state of `project`, `None` when no rotation was ever recorded.
    pub fn load(project: &Project) -> Result<Option<State>> {
        state_file::load(&State::path(project), "a signing-key rotation state")
    }

    pub fn save(&self, project: &Project) -> Result<()> {
        state_file::save(&State::path(project), self)
    }

    /// Whether the old key is the legacy HS256 one.
    pub fn legacy(&self) -> bool {
        self.old_kid.is_none()
    }

    /// The last stage that finished, if any.
    pub fn done(&self) -> Option<Stage> {
        if self.revoke_at.is_some() {
            Some(Stage::Revoke)
        } else if self.switch_at.is_some() {
            Some(Stage::Switch)
        } else if self.standby_at.is_some() {
            Some(Stage::Standby)
        } else {
            None
        }
    }

    /// Whether this rotation has nothing left to do (a legacy one ends at its switch).
    pub fn complete(&self) -> bool {
        match self.done() {
            Some(Stage::Revoke) => true,
            Some(Stage::Switch) => self.legacy(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (PathBuf, Project) {
        let root = std::env::temp_dir().join(format!(
            "xtask-signing-state-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("p")).unwrap();
        let project = Project::new(&root, "p").unwrap();
        (root, project)
    }

    #[test]
    fn the_state_round_trips_private() {
        use std::os::unix::fs::PermissionsExt;
        let (root, project) = project();
        assert_eq!(State::load(&project).unwrap(), None);
        let state = State {
            old_kid: Some("a".into()),
            new_kid: Some("b".into()),
            standby_at: Some(100),
            running: Some(Running {
                stage: Stage::Switch,
                started_at: 800,
                backup: ".env.20261201T000000Z".into(),
            }),
            ..State::default()
        };
        state.save(&project).unwrap();
        assert_eq!(State::load(&project).unwrap(), Some(state.clone()));
        let mode = std::fs::metadata(State::path(&project)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(state.done(), Some(Stage::Standby));
        assert!(!state.complete());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_damaged_state_is_a_one_line_error() {
        let (root, project) = project();
        std::fs::write(State::path(&project), "{\"old_kid\": 3}").unwrap();
        let err = State::load(&project).unwrap_err().to_string();
        assert!(
            err.contains(FILE) && err.contains("line 1") && !err.contains('\n'),
            "{err}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_legacy_rotation_is_complete_at_its_switch() {
        let state = State {
            old_kid: None,
            new_kid: Some("b".into()),
            standby_at: Some(1),
            switch_at: Some(2),
            ..State::default()
        };
        assert!(state.legacy() && state.complete());
        let ec = State {
            old_kid: Some("a".into()),
            ..state
        };
        assert!(!ec.complete());
    }
}
