//! The project's append-only audit log, `audit.log` (0600): one JSON line an
//! event, saying when, who, on which environment, which variables and
//! services, and how it ended. Never a value, and never a hash of one.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use serde::Serialize;

use crate::clock;
use crate::no_follow;
use crate::private_file::FileError;
use crate::project::Project;
use crate::step::Step;

/// What changed the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Rotate,
    Rollback,
    /// A stage of the staged signing-key rotation.
    #[serde(rename = "rotate signing-key")]
    RotateSigningKey,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Rotate => "rotate",
            Action::Rollback => "rollback",
            Action::RotateSigningKey => "rotate signing-key",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a change got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    #[serde(rename = "started")]
    Started,
    #[serde(rename = "succeeded")]
    Succeeded,
    #[serde(rename = "rolled back")]
    RolledBack,
    #[serde(rename = "rollback failed")]
    RollbackFailed,
    /// A stage a killed run left unfinished, undone by the next run.
    #[serde(rename = "rolled back the interrupted stage")]
    InterruptedRolledBack,
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    pub time: String,
    pub user: String,
    pub project: &'a str,
    pub environment: &'a str,
    /// `rotate`, `rollback` or `rotate signing-key`.
    pub action: Action,
    /// `started`, `succeeded`, `rolled back`, `rollback failed` or `rolled back the interrupted stage`.
    pub outcome: Outcome,
    /// Variable names, never values.
    pub names: &'a [String],
    pub services: &'a [String],
    /// The stage of a staged rotation (`standby`, `switch`, `revoke`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'a str>,
    /// Key ids (`kid`, never secret) the change involves.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub key_ids: &'a [String],
    /// The step that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The backup of the `.env` that was replaced, relative to the project folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<&'a str>,
}

impl<'a> Event<'a> {
    pub fn new(project: &'a str, environment: &'a str, action: Action, outcome: Outcome) -> Event<'a> {
        Event {
            time: clock::now_iso8601(),
            user: user(),
            project,
            environment,
            action,
            outcome,
            names: &[],
            services: &[],
            stage: None,
            key_ids: &[],
            step: None,
            backup: None,
        }
    }
}

/// Appends `event` to the project's `audit.log`, creating it 0600. One
/// `write` call a line, with `O_APPEND`: concurrent lines never interleave.
pub fn append(project: &Project, event: &Event<'_>) -> Result<(), FileError> {
    let path = project.dir.join("audit.log");
    let mut line = serde_json::to_string(event).expect("an event serialises");
    line.push('\n');
    let write_error = |source| FileError::Write {
        path: path.clone(),
        source,
    };
    let mut file = no_follow::open(&path, OpenOptions::new().append(true).create(true).mode(0o600))?;
    file.write_all(line.as_bytes()).map_err(write_error)?;
    file.sync_data().map_err(write_error)
}

/// Who ran the command: `SUDO_USER`, `USER` or `LOGNAME`, else the numeric uid.
fn user() -> String {
    for name in ["SUDO_USER", "USER", "LOGNAME"] {
        if let Ok(value) = std::env::var(name)
            && !value.is_empty()
        {
            return value;
        }
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            })
        })
        .unwrap_or_default();
    format!("uid {uid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_as_json_with_names_only() {
        let root = std::env::temp_dir().join(format!("xtask-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("p")).unwrap();
        let project = Project::new(&root, "p").unwrap();
        let names = vec!["JWT_SECRET".to_string()];
        let mut event = Event::new("p", "dev", Action::Rotate, Outcome::Started);
        event.names = &names;
        append(&project, &event).unwrap();
        event.step = Some(Step::Check);
        event.outcome = Outcome::Succeeded;
        append(&project, &event).unwrap();
        let text = std::fs::read_to_string(root.join("p/audit.log")).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["outcome"], "succeeded");
        assert_eq!(lines[0]["action"], "rotate");
        assert_eq!(lines[0]["outcome"], "started");
        assert_eq!(lines[1]["step"], "check");
        assert_eq!(lines[0]["names"][0], "JWT_SECRET");
        assert!(!crate::private_file::is_shared(&root.join("p/audit.log")).unwrap());
        std::fs::remove_dir_all(root).unwrap();
    }
}
