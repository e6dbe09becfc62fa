//! The test hook: `RECEPTOR_TEST_FAIL_AT=database|recreate|health|check`
//! makes one step of a change fail for real, so the tests can prove that
//! every failure ends in a consistent stack on the previous `.env`. Never
//! set it outside the tests. The rollback that follows is never affected.
//!
//! - `database`: the last database transaction runs a statement the
//!   database refuses, after the earlier ones committed
//! - `recreate`: Compose talks to a Docker engine that does not exist
//! - `health`: the recreated services get a healthcheck that never passes
//! - `check`: the client checks run, then the step fails anyway

use std::path::{Path, PathBuf};

use crate::compose::Compose;
use crate::error::{Error, Result};

/// The variable that names the step to fail.
pub const VAR: &str = "RECEPTOR_TEST_FAIL_AT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Database,
    Recreate,
    Health,
    Check,
}

/// The step the hook fails, if set.
pub fn injected() -> Result<Option<Step>> {
    let Ok(value) = std::env::var(VAR) else {
        return Ok(None);
    };
    let step = match value.as_str() {
        "" => None,
        "database" => Some(Step::Database),
        "recreate" => Some(Step::Recreate),
        "health" => Some(Step::Health),
        "check" => Some(Step::Check),
        _ => {
            return Err(Error::Usage(format!(
                "{VAR}={value} is not one of database, recreate, health, check (a test hook)"
            )));
        }
    };
    Ok(step)
}

/// A statement the database refuses, for the `database` step.
pub const REFUSED_SQL: &str = "SELECT receptor_test_hook_the_database_refuses();\n";

/// Compose for the recreate step under the hook: for `recreate`, a Docker
/// engine that does not exist; for `health`, a compose file layered on top
/// that gives `services` a healthcheck that never passes. The returned guard
/// removes that file.
pub fn recreate_compose(compose: &Compose, step: Option<Step>, services: &[String]) -> Result<(Compose, Cleanup)> {
    match step {
        Some(Step::Recreate) => Ok((
            compose.with_child_env("DOCKER_HOST", "unix:///nonexistent/receptor-test-hook.sock"),
            Cleanup(None),
        )),
        Some(Step::Health) => {
            let path = compose.dir.join(".receptor-test-hook-never-healthy.yml");
            let mut text = String::from("# Written by the RECEPTOR_TEST_FAIL_AT=health test hook.\nservices:\n");
            for service in services {
                text.push_str(&format!(
                    "  {service}:\n    healthcheck:\n      test: [\"CMD\", \"/receptor-test-hook-never-healthy\"]\n      interval: 1s\n      timeout: 1s\n      retries: 1\n"
                ));
            }
            std::fs::write(&path, text).map_err(|source| {
                Error::File(crate::private_file::FileError::Write {
                    path: path.clone(),
                    source,
                })
            })?;
            Ok((compose.with_override_file(&path), Cleanup(Some(path))))
        }
        _ => Ok((compose.clone(), Cleanup(None))),
    }
}

/// Removes the hook's compose file when dropped.
pub struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path as &Path);
        }
    }
}
