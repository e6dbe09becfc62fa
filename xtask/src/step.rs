//! The steps of a change to a running stack (rotate, rollback), each named
//! once: the step a failed run reports, the audit log's `step`, and the fail
//! points of the fault tests.

use std::fmt;

use serde::Serialize;

/// One step of applying a change, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// The new `.env` is written.
    Write,
    /// The database's passwords and JWT secret are changed.
    Database,
    /// The services that read a changed variable are recreated.
    Recreate,
    /// The recreated services get healthy.
    Health,
    /// The stack is checked as a client.
    Check,
}

impl Step {
    /// The steps a fail point can make fail (`RECEPTOR_TEST_FAIL_AT`).
    pub const FAILABLE: [Step; 4] = [Step::Database, Step::Recreate, Step::Health, Step::Check];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Write => "write",
            Step::Database => "database",
            Step::Recreate => "recreate",
            Step::Health => "health",
            Step::Check => "check",
        }
    }

    /// The failable step named `word`.
    pub fn failable(word: &str) -> Option<Step> {
        Step::FAILABLE.into_iter().find(|s| s.as_str() == word)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
