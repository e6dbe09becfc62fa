//! `cargo xtask verify`: prove that the repository and a project's secrets are sound.
//!
//! Each scope is one module (`repo`, `project`; the running stack is for a
//! later `live` scope). Every check reads the one catalog of secrets, and
//! yields findings (`finding`) that the renderers (`table`, `json`, `junit`)
//! print. No value is ever printed: findings name variables and file:line.

pub mod assign;
mod error;
pub mod finding;
pub mod json;
pub mod junit;
mod key_model;
pub mod live;
pub mod project;
pub mod repo;
pub mod scan;
pub mod table;

use std::path::Path;

use crate::cli::ProjectArgs;
use crate::config::SetupConf;
use crate::error::Result;
use finding::Report;

pub use error::{CouldNotRun, VerifyError};

/// What to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// The repository: tracked files, ignore rules, template and history (needs no secret).
    Repo,
    /// A project folder's `.env` against the catalog.
    Project,
    /// Both.
    All,
}

/// How to print the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    #[default]
    Table,
    /// One JSON document (schema in docs/verify.md).
    Json,
    /// A JUnit XML test report, for GitLab's `artifacts:reports:junit`.
    Junit,
}

// What the command line asked for: `cargo xtask verify`'s flags.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    /// What to check (default: project when --env or --project-name is given, else repo).
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Also scan every blob reachable from any git ref for leaked secrets.
    #[arg(long)]
    pub history: bool,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Warnings count as findings (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Also check the running stack: drift, the gateway, an Edge Function, database logins.
    #[arg(long)]
    pub live: bool,
    /// With --live: the gateway's URL (default: http://127.0.0.1:KONG_HTTP_PORT).
    #[arg(long, value_name = "URL", requires = "live")]
    pub gateway_url: Option<String>,
}

impl Options {
    fn scope(&self) -> Scope {
        let project = &self.project;
        self.scope.unwrap_or(
            if project.env.is_some() || project.project_name.is_some() || self.live {
                Scope::Project
            } else {
                Scope::Repo
            },
        )
    }
}

/// Runs the checks of the chosen scopes. An error means verify could not
/// look (exit 2); findings are in the report (exit 0 or 1).
pub fn run(root: &Path, options: &Options) -> Result<Report> {
    let scope = options.scope();
    let mut scopes = Vec::new();
    let mut outcomes = Vec::new();
    if matches!(scope, Scope::Repo | Scope::All) {
        scopes.push("repo");
        outcomes.extend(repo::run(
            root,
            &repo::Options {
                history: options.history,
            },
        )?);
    }
    if matches!(scope, Scope::Project | Scope::All) {
        scopes.push("project");
        let conf = SetupConf::load(&root.join("setup.conf")).map_err(|error| CouldNotRun::SetupConf {
            error,
            text: crate::secrets::Secret::new(std::fs::read_to_string(root.join("setup.conf")).unwrap_or_default()),
        })?;
        let target = project::Target::resolve(&conf, &options.project);
        outcomes.extend(project::run(root, &conf, &target)?);
        if options.live {
            scopes.push("live");
            outcomes.extend(live::run(root, &conf, &target, options.gateway_url.as_deref())?);
        }
    } else if options.live {
        return Err(VerifyError::LiveNeedsProject.into());
    }
    Ok(Report::new(scopes, options.strict, outcomes))
}

/// Every check verify knows, scope by scope (docs/verify.md lists each).
pub fn checks() -> impl Iterator<Item = &'static finding::Check> {
    repo::CHECKS.iter().chain(project::CHECKS).chain(live::CHECKS).copied()
}

/// The report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table::render(report),
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
    }
}

/// `message` with the repository root taken off its paths.
pub(crate) fn relative(root: &Path, message: &str) -> String {
    message.replace(&format!("{}/", root.display()), "")
}

/// Every quoted value of `text`, so no message can echo one back.
pub(crate) fn redact_values(message: &str, text: &str) -> String {
    let mut out = message.to_string();
    for line in text.lines() {
        if let Some((_, value)) = line.split_once('=') {
            let value = value.trim().trim_matches(['"', '\'']);
            if value.len() >= 4 {
                out = out.replace(value, "<redacted>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_echo_a_value_of_the_file() {
        let text = "[secrets]\nOPENAI_API_KEY = \"sk-live-canary-123\"\n";
        let message = "invalid type: string \"sk-live-canary-123\", expected a map";
        assert!(!redact_values(message, text).contains("canary"));
    }
}
