//! Named pause points for Receptor's crash tests (only in builds with the
//! `test-hooks` feature; see the parent module).
//!
//! When the environment variable `RECEPTOR_TEST_PAUSE_AT` names a step, the
//! process stops itself with SIGSTOP on reaching it, so a test can look at
//! the files at that exact moment and then SIGKILL the process (or SIGCONT
//! it). Without the variable, or when it names no step, nothing happens.
//!
//! The value is `STEP` (any file) or `STEP:FILE`, where `FILE` is the file
//! name being written (`.env`, `docker-compose.yml`) or a prefix ending in
//! `*` (`.env.*` for the backups). The steps are [`STEPS`].

use std::path::Path;
use std::sync::OnceLock;

/// The environment variable that names the step to stop at.
pub const VAR: &str = "RECEPTOR_TEST_PAUSE_AT";

/// Every pause point, in the order a run reaches them.
pub const STEPS: &[(&str, &str)] = &[
    ("locked", "setup holds the project lock, nothing written yet"),
    (
        "copy-mid-write",
        "a template file is half copied into the project, under its temporary name",
    ),
    ("created", "a private file's temporary file exists, still empty"),
    (
        "mid-write",
        "a private file's temporary file holds half of the new bytes",
    ),
    (
        "before-rename",
        "the temporary file is complete and fsynced, not yet renamed",
    ),
    ("after-rename", "the new file is in place, the folder not yet fsynced"),
    (
        "before-backup",
        "the new .env is decided, the old one not yet backed up",
    ),
    ("after-backup", "the backup is written, .env not yet replaced"),
    (
        "before-up",
        ".env is written, the containers not yet recreated (setup --up)",
    ),
    (
        "rotate-after-database",
        "rotate: .env and the database hold the new values, the containers the old",
    ),
    (
        "stage-started",
        "rotate signing-key, or an API-key overlap step: the state file says it started, .env not yet changed",
    ),
    (
        "rotate-before-check",
        "rotate: the consumers are recreated and healthy, the client checks not yet run",
    ),
    (
        "stage-checked",
        "rotate signing-key, or an API-key overlap step: applied and checked, the state file not yet saying it is done",
    ),
];

fn wanted() -> Option<&'static str> {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    WANTED.get_or_init(|| std::env::var(VAR).ok()).as_deref()
}

/// Stops here when the variable names `step`.
pub fn at(step: &str) {
    debug_assert!(STEPS.iter().any(|(s, _)| *s == step), "{step} is not in STEPS");
    if wanted() == Some(step) {
        stop(step);
    }
}

/// Stops here when the variable names `step`, or `step:FILE` for the file at `path`.
pub fn writing(step: &str, path: &Path) {
    debug_assert!(STEPS.iter().any(|(s, _)| *s == step), "{step} is not in STEPS");
    let Some(spec) = wanted() else { return };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let matches = match spec.split_once(':') {
        None => spec == step,
        Some((s, file)) => {
            s == step
                && match file.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == file,
                }
        }
    };
    if matches {
        stop(&format!("{step}:{name}"));
    }
}

fn stop(what: &str) {
    eprintln!("{VAR}: stopped at {what} (SIGSTOP); SIGCONT resumes, SIGKILL simulates a crash");
    // SAFETY: raise has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_in_the_fault_campaign_page() {
        let page = include_str!("../../../docs/fault-campaign.md");
        for (step, _) in STEPS {
            assert!(
                page.contains(&format!("`{step}`")),
                "docs/fault-campaign.md lacks `{step}`"
            );
        }
    }
}
