//! `setup.conf`: the safe-to-commit settings of every environment.
//!
//! It names projects, the stack source and where each third-party secret
//! comes from, as references (`${VAR}`, `bws:…`, `doppler:…`), never values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secrets;

/// The deployment environment a command works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Env {
    Dev,
    Staging,
    Prod,
}

impl Env {
    pub fn name(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Staging => "staging",
            Env::Prod => "prod",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Where the stack template comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StackSource {
    /// `docker/` in this repository: no network needed.
    #[default]
    Embedded,
    /// Supabase's git repository, its `docker/` folder at a pinned ref.
    Upstream,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Projects {
    pub dev: String,
    pub staging: String,
    pub prod: String,
}

impl Default for Projects {
    fn default() -> Self {
        Projects {
            dev: "receptor-dev".into(),
            staging: "receptor-stg".into(),
            prod: "receptor-prod".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    #[serde(default)]
    pub source: StackSource,
    #[serde(default = "default_upstream_url")]
    pub upstream_url: String,
    #[serde(default = "default_upstream_ref")]
    pub upstream_ref: String,
}

fn default_upstream_url() -> String {
    "https://github.com/supabase/supabase".into()
}

fn default_upstream_ref() -> String {
    "f813858db24e424146f62442faeafeed544dc508".into()
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            source: StackSource::Embedded,
            upstream_url: default_upstream_url(),
            upstream_ref: default_upstream_ref(),
        }
    }
}

/// The whole `setup.conf`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupConf {
    #[serde(default)]
    pub project: Projects,
    #[serde(default)]
    pub stack: Stack,
    /// Tier 2 secrets: variable name → reference.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Non-secret settings written into `.env` as they are.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl SetupConf {
    /// Reads `path`; a missing file means every default.
    pub fn load(path: &Path) -> Result<SetupConf, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(SetupConf::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        SetupConf::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<SetupConf, ConfigError> {
        let at = |offset: usize, message: String| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            ConfigError::Invalid {
                path: path.into(),
                line,
                column,
                message,
            }
        };
        let conf: SetupConf = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |s| s.start);
            at(offset, without_values(err.message().trim()).replace('\n', "; "))
        })?;
        for (name, reference) in &conf.secrets {
            let offset = locate(text, name);
            if Reference::parse(reference).is_none() {
                return Err(at(
                    offset,
                    format!(
                        "{name} must be a reference (\"${{VAR}}\", \"bws:<key>\" or \"doppler:<NAME>\"), never a literal secret"
                    ),
                ));
            }
        }
        for name in conf.settings.keys() {
            if secrets::catalog::find(name).is_some() {
                return Err(at(
                    locate(text, name),
                    format!("{name} is a secret: put a reference under [secrets], never a value under [settings]"),
                ));
            }
        }
        Ok(conf)
    }

    pub fn project_name(&self, env: Env) -> &str {
        match env {
            Env::Dev => &self.project.dev,
            Env::Staging => &self.project.staging,
            Env::Prod => &self.project.prod,
        }
    }
}

/// A TOML error message with the offending value taken out: the position
/// already points at it, and a literal secret typed by mistake must not be
/// echoed. `unknown variant `x`, expected …` becomes `unknown value, expected …`;
/// `invalid type: string "x", expected …` becomes `invalid type: string, expected …`.
fn without_values(message: &str) -> String {
    let expected = message.rfind(", expected").map(|at| &message[at..]).unwrap_or("");
    if message.starts_with("unknown variant") {
        return format!("unknown value{expected}");
    }
    for head in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(head) {
            let kind: String = rest.split(['`', '"', ',']).next().unwrap_or("").trim().to_string();
            return format!("{head}{kind}{expected}");
        }
    }
    message.to_string()
}

/// Byte offset of the line that assigns `name`, for error positions.
fn locate(text: &str, name: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(name) && trimmed[name.len()..].trim_start().starts_with('=') {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    0
}

/// Where a Tier 2 secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `${VAR}`: the process environment.
    Env(String),
    /// `bws:<secret key or id>`: Bitwarden Secrets Manager.
    Bitwarden(String),
    /// `doppler:<NAME>`: Doppler.
    Doppler(String),
}

impl Reference {
    pub fn parse(text: &str) -> Option<Reference> {
        let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if let Some(var) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
            return is_name(var).then(|| Reference::Env(var.into()));
        }
        if let Some(key) = text.strip_prefix("bws:") {
            let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            return ok.then(|| Reference::Bitwarden(key.into()));
        }
        if let Some(name) = text.strip_prefix("doppler:") {
            return is_name(name).then(|| Reference::Doppler(name.into()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SetupConf, ConfigError> {
        SetupConf::parse(Path::new("setup.conf"), text)
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        let conf = parse("").unwrap();
        assert_eq!(conf.project_name(Env::Dev), "receptor-dev");
        assert_eq!(conf.project_name(Env::Staging), "receptor-stg");
        assert_eq!(conf.stack.source, StackSource::Embedded);
    }

    #[test]
    fn references_are_read_and_literals_refused_with_a_position() {
        let conf = parse("[secrets]\nA = \"${A_VAR}\"\nB = \"bws:smtp-pass\"\nC = \"doppler:C\"\n").unwrap();
        assert_eq!(conf.secrets.len(), 3);
        assert_eq!(Reference::parse("${A_VAR}"), Some(Reference::Env("A_VAR".into())));
        let err = parse("[secrets]\n\nOPENAI_API_KEY = \"sk-live-canary\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setup.conf:3:1: OPENAI_API_KEY must be a reference"),
            "{err}"
        );
        assert!(!err.contains("canary"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_line_and_column() {
        let err = parse("[project]\ndev = \"a\"\nstaging = \"b\"\nprod = \"c\"\ncolour = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("setup.conf:5:1: unknown field `colour`"), "{err}");
        let err = parse("[stack]\nsource = 3\n").unwrap_err().to_string();
        assert!(err.starts_with("setup.conf:2:10:"), "{err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_or_variant_is_not_echoed() {
        for (text, shown) in [
            (
                "[stack]\nsource = \"sk-live-canary\"\n",
                "setup.conf:2:10: unknown value, expected `embedded` or `upstream`",
            ),
            (
                "[secrets]\nSMTP_PASS = 12345678\n",
                "setup.conf:2:13: invalid type: integer, expected a string",
            ),
            (
                "[project]\ndev = [\"canary\"]\n",
                "setup.conf:2:7: invalid type: sequence, expected a string",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert_eq!(err, shown);
        }
    }

    #[test]
    fn a_secret_under_settings_is_refused() {
        let err = parse("[settings]\nJWT_SECRET = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("JWT_SECRET is a secret"), "{err}");
    }
}
