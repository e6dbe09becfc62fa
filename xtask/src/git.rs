//! Git, for taking the stack template from Supabase's repository: a shallow,
//! sparse checkout of its `docker/` folder at a pinned ref.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "git is not installed or not on PATH; install git, or use the embedded stack (stack.source = \"embedded\")"
    )]
    NotInstalled,
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url} has no ref {reference}; check stack.upstream_ref in setup.conf")]
    RefNotFound { url: String, reference: String },
    #[error("{url} at {reference} has no docker/ folder")]
    NoDockerFolder { url: String, reference: String },
    #[error("git {step} failed: {detail}")]
    Failed { step: &'static str, detail: String },
}

/// Runs one git command in `dir` with prompts disabled; returns stdout.
fn git(dir: &Path, step: &'static str, args: &[&str]) -> Result<String, (String, &'static str)> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GCM_INTERACTIVE", "never")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| (err.to_string(), "spawn"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err((last_line(&output.stderr), step))
    }
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// Fetches `docker/` of `url` at `reference` (a tag, branch or commit) into
/// `dest`, which must not exist yet. Returns the path of the fetched `docker/`.
pub fn fetch_docker_folder(url: &str, reference: &str, dest: &Path) -> Result<PathBuf, GitError> {
    if Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(GitError::NotInstalled);
    }
    std::fs::create_dir_all(dest).map_err(|e| GitError::Failed {
        step: "init",
        detail: e.to_string(),
    })?;
    let failed = |(detail, step): (String, &'static str)| GitError::Failed { step, detail };
    git(dest, "init", &["init", "--quiet"]).map_err(failed)?;
    git(dest, "remote add", &["remote", "add", "origin", url]).map_err(failed)?;
    git(
        dest,
        "sparse-checkout",
        &["sparse-checkout", "set", "--no-cone", "/docker/"],
    )
    .map_err(failed)?;
    if let Err((detail, _)) = git(
        dest,
        "fetch",
        &["fetch", "--quiet", "--depth", "1", "--no-tags", "origin", reference],
    ) {
        let lower = detail.to_lowercase();
        return Err(
            if lower.contains("couldn't find remote ref")
                || lower.contains("not our ref")
                || lower.contains("no such remote ref")
            {
                GitError::RefNotFound {
                    url: url.into(),
                    reference: reference.into(),
                }
            } else {
                GitError::Unreachable {
                    url: url.into(),
                    detail,
                }
            },
        );
    }
    git(dest, "checkout", &["checkout", "--quiet", "FETCH_HEAD"]).map_err(failed)?;
    let docker = dest.join("docker");
    if !docker.is_dir() {
        return Err(GitError::NoDockerFolder {
            url: url.into(),
            reference: reference.into(),
        });
    }
    Ok(docker)
}
