//! Fail points: `RECEPTOR_TEST_FAIL_AT=database|recreate|health|check`
//! makes one step of a change fail for real, so the tests prove that every
//! failure ends in a consistent stack on the previous `.env`. Each point
//! fires once a run: the rollback that follows is never affected.
//!
//! - `database`: the last database transaction runs a statement the
//!   database refuses, after the earlier ones committed
//! - `recreate`: Compose talks to a Docker engine that does not exist
//! - `health`: the recreated services get a healthcheck that never passes
//! - `check`: the client checks run, then the step fails anyway

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::OnceLock;

use crate::compose::Compose;
use crate::private_file::FileError;
use crate::step::Step;

/// The variable that names the step to fail.
pub const VAR: &str = "RECEPTOR_TEST_FAIL_AT";

/// A statement the database refuses, for the `database` step.
pub const REFUSED_SQL: &str = "SELECT receptor_test_hook_the_database_refuses();\n";

/// The step still to fail in this run, if any.
fn pending() -> &'static Mutex<Option<Step>> {
    static PENDING: OnceLock<Mutex<Option<Step>>> = OnceLock::new();
    PENDING.get_or_init(|| {
        let wanted = std::env::var(VAR).ok().filter(|v| !v.is_empty());
        let step = wanted.as_deref().and_then(Step::failable);
        if let (Some(value), None) = (&wanted, step) {
            let steps: Vec<&str> = Step::FAILABLE.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "warning: {VAR}={value} names no step ({}); nothing fails",
                steps.join(", ")
            );
        }
        Mutex::new(step)
    })
}

/// Whether `step` fails now: the first time it is reached, when the variable names it.
pub fn fires(step: Step) -> bool {
    debug_assert!(Step::FAILABLE.contains(&step), "{step} cannot fail");
    let mut pending = pending().lock().unwrap_or_else(|e| e.into_inner());
    if *pending == Some(step) {
        *pending = None;
        true
    } else {
        false
    }
}

/// Compose for the recreate step: for `recreate`, a Docker engine that does
/// not exist; for `health`, a compose file layered on top that gives
/// `services` a healthcheck that never passes. The guard removes that file.
pub fn recreate_compose(compose: &Compose, services: &[String]) -> Result<(Compose, Cleanup), FileError> {
    if fires(Step::Recreate) {
        return Ok((
            compose.with_child_env("DOCKER_HOST", "unix:///nonexistent/receptor-test-hook.sock"),
            Cleanup(None),
        ));
    }
    if !fires(Step::Health) {
        return Ok((compose.clone(), Cleanup(None)));
    }
    let path = compose.dir.join(".receptor-test-hook-never-healthy.yml");
    let mut text = format!("# Written by the {VAR}=health test hook.\nservices:\n");
    for service in services {
        text.push_str(&format!(
            "  {service}:\n    healthcheck:\n      test: [\"CMD\", \"/receptor-test-hook-never-healthy\"]\n      interval: 1s\n      timeout: 1s\n      retries: 1\n"
        ));
    }
    crate::private_file::write_atomic(&path, text.as_bytes())?;
    Ok((compose.with_override_file(&path), Cleanup(Some(path))))
}

/// Removes the hook's compose file when dropped.
pub struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}
