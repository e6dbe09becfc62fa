//! `setup.conf`: the safe-to-commit settings of every environment.
//!
//! It names projects, the stack source and where each third-party secret
//! comes from, as references (`${VAR}`, `bws:…`, `doppler:…`), never values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::secrets;

/// The deployment environment a command works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Env {
    Dev,
    Staging,
    Prod,
}

impl Env {
    /// Dev generates missing infrastructure secrets; staging and prod never do.
    pub fn generates_secrets(self) -> bool {
        self == Env::Dev
    }

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
    /// The Compose service that runs the database; empty: the database is not
    /// a Compose service. Unset: the service whose image is `postgres`.
    #[serde(default)]
    pub database_service: Option<String>,
}

impl Stack {
    /// `database_service`, checked: a plain Compose service name or empty.
    pub fn database_service(&self) -> Result<Option<&str>, String> {
        match self.database_service.as_deref() {
            None => Ok(None),
            Some(name)
                if name.is_empty()
                    || (!name.starts_with('-')
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) =>
            {
                Ok(Some(name))
            }
            Some(name) => Err(format!(
                "setup.conf: [stack] database_service {name:?} is not a Compose service name (letters, digits, '-', '_', '.'; empty for none)"
            )),
        }
    }
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
            database_service: None,
        }
    }
}

/// How long one vault command may run before it is stopped.
pub const DEFAULT_VAULT_TIMEOUT_SECS: u64 = 30;

/// `[vaults]`: the command-line tools that resolve `bws:` and `doppler:` references.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vaults {
    /// Seconds one vault command may take before it is killed.
    #[serde(default = "default_timeout")]
    pub timeout_secs: Spanned<u64>,
    #[serde(default)]
    pub bws: Bitwarden,
    #[serde(default)]
    pub doppler: Doppler,
}

fn default_timeout() -> Spanned<u64> {
    Spanned::new(0..0, DEFAULT_VAULT_TIMEOUT_SECS)
}

impl Default for Vaults {
    fn default() -> Self {
        Vaults {
            timeout_secs: default_timeout(),
            bws: Bitwarden::default(),
            doppler: Doppler::default(),
        }
    }
}

/// One value per environment, for the vault tables' `[….dev]`, `[….staging]`, `[….prod]`.
fn for_env<'a, T>(env: Env, dev: &'a Option<T>, staging: &'a Option<T>, prod: &'a Option<T>) -> Option<&'a T> {
    match env {
        Env::Dev => dev.as_ref(),
        Env::Staging => staging.as_ref(),
        Env::Prod => prod.as_ref(),
    }
}

/// `[vaults.bws]`: Bitwarden Secrets Manager's `bws`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bitwarden {
    /// The program to run (default `bws`).
    pub command: Option<Spanned<String>>,
    /// The project whose secrets `bws:` references name, for every environment.
    pub project_id: Option<Spanned<String>>,
    /// `[vaults.bws.staging]` and the like: a project per environment.
    pub dev: Option<BitwardenEnv>,
    pub staging: Option<BitwardenEnv>,
    pub prod: Option<BitwardenEnv>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitwardenEnv {
    pub project_id: Spanned<String>,
}

impl Bitwarden {
    pub fn for_env(&self, env: Env) -> Option<&BitwardenEnv> {
        for_env(env, &self.dev, &self.staging, &self.prod)
    }

    pub fn command(&self) -> &str {
        self.command.as_ref().map_or("bws", |c| c.get_ref())
    }

    /// The project of `env`: its own table first, then the shared `project_id`.
    pub fn project_id(&self, env: Env) -> Option<&str> {
        self.for_env(env)
            .map(|e| e.project_id.get_ref().as_str())
            .or(self.project_id.as_ref().map(|p| p.get_ref().as_str()))
    }
}

/// `[vaults.doppler]`: the Doppler CLI.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doppler {
    /// The program to run (default `doppler`).
    pub command: Option<Spanned<String>>,
    pub project: Option<Spanned<String>>,
    pub config: Option<Spanned<String>>,
    /// `[vaults.doppler.prod]` and the like: a project or config per environment.
    pub dev: Option<DopplerEnv>,
    pub staging: Option<DopplerEnv>,
    pub prod: Option<DopplerEnv>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DopplerEnv {
    pub project: Option<Spanned<String>>,
    pub config: Option<Spanned<String>>,
}

impl Doppler {
    pub fn for_env(&self, env: Env) -> Option<&DopplerEnv> {
        for_env(env, &self.dev, &self.staging, &self.prod)
    }

    pub fn command(&self) -> &str {
        self.command.as_ref().map_or("doppler", |c| c.get_ref())
    }

    /// The project of `env`, if `setup.conf` names one.
    pub fn project(&self, env: Env) -> Option<&str> {
        let own = self.for_env(env).and_then(|e| e.project.as_ref());
        own.or(self.project.as_ref()).map(|p| p.get_ref().as_str())
    }

    /// The config of `env`, if `setup.conf` names one.
    pub fn config(&self, env: Env) -> Option<&str> {
        let own = self.for_env(env).and_then(|e| e.config.as_ref());
        own.or(self.config.as_ref()).map(|c| c.get_ref().as_str())
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
    #[serde(default)]
    pub vaults: Vaults,
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
            if !is_variable_name(name) {
                return Err(at(
                    offset,
                    format!("{name:?} is not a variable name; use letters, digits and `_`"),
                ));
            }
            if secrets::catalog::find(name).is_some_and(|spec| spec.tier == secrets::Tier::One) {
                return Err(at(
                    offset,
                    format!(
                        "{name} is an infrastructure (Tier 1) secret: inject it as an environment variable, never through setup.conf"
                    ),
                ));
            }
            if Reference::parse(reference).is_none() {
                return Err(at(
                    offset,
                    format!(
                        "{name} must be a reference (\"${{VAR}}\", \"bws:<key>\" or \"doppler:<NAME>\"), never a literal secret"
                    ),
                ));
            }
        }
        for (name, value) in &conf.settings {
            if secrets::catalog::find(name).is_some() {
                return Err(at(
                    locate(text, name),
                    format!("{name} is a secret: put a reference under [secrets], never a value under [settings]"),
                ));
            }
            if !is_variable_name(name) {
                return Err(at(
                    locate(text, name),
                    format!("{name:?} is not a variable name; use letters, digits and `_`"),
                ));
            }
            if value.contains(['\n', '\r']) {
                return Err(at(locate(text, name), format!("{name} must fit on one line")));
            }
        }
        if has_credentials(&conf.stack.upstream_url) {
            return Err(at(
                locate(text, "upstream_url"),
                "stack.upstream_url holds a user name or password: put credentials in a git credential helper, never in setup.conf".into(),
            ));
        }
        conf.check_vaults().map_err(|(span, message)| at(span.start, message))?;
        Ok(conf)
    }

    /// Refuses vault settings that could be read as a flag or are out of range.
    fn check_vaults(&self) -> Result<(), (std::ops::Range<usize>, String)> {
        let vaults = &self.vaults;
        let secs = &vaults.timeout_secs;
        if !(1..=600).contains(secs.get_ref()) {
            return Err((secs.span(), "vaults.timeout_secs must be between 1 and 600".into()));
        }
        let bws = &vaults.bws;
        let doppler = &vaults.doppler;
        let commands = [
            ("vaults.bws.command", &bws.command),
            ("vaults.doppler.command", &doppler.command),
        ];
        for (field, command) in commands {
            if let Some(command) = command {
                let ok = !command.get_ref().is_empty()
                    && !command.get_ref().starts_with('-')
                    && !command.get_ref().contains(char::is_whitespace);
                if !ok {
                    return Err((
                        command.span(),
                        format!("{field} must be a program name or path, without spaces"),
                    ));
                }
            }
        }
        let mut ids: Vec<(&str, &Spanned<String>)> = Vec::new();
        ids.extend(bws.project_id.iter().map(|p| ("project_id", p)));
        for env in [Env::Dev, Env::Staging, Env::Prod] {
            ids.extend(bws.for_env(env).map(|e| ("project_id", &e.project_id)));
            if let Some(e) = doppler.for_env(env) {
                ids.extend(e.project.iter().map(|p| ("project", p)));
                ids.extend(e.config.iter().map(|c| ("config", c)));
            }
        }
        ids.extend(doppler.project.iter().map(|p| ("project", p)));
        ids.extend(doppler.config.iter().map(|c| ("config", c)));
        for (field, id) in ids {
            if !is_identifier(id.get_ref()) {
                return Err((
                    id.span(),
                    format!("{field} may hold only letters, digits, `_`, `-` and `.`, and must not start with `-`"),
                ));
            }
        }
        Ok(())
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
    // `unknown field `x`, expected …`: the name is shown only when it is a
    // plain name (a quoted key can hold `=`, backticks and a value).
    let is_name = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = message
            .rfind("`, expected")
            .filter(|end| *end >= "unknown field `".len())
            .map_or(rest, |end| &message["unknown field `".len()..end]);
        let shown = if is_name(name) { name } else { "…" };
        return format!("unknown field `{shown}`{expected}");
    }
    // Anything else between backticks must be a plain name or punctuation
    // TOML itself quotes (`=`, `.`); otherwise only the message's start is shown.
    let quoted_ok = message
        .split('`')
        .enumerate()
        .all(|(i, part)| i % 2 == 0 || is_name(part) || part.chars().all(|c| c.is_ascii_punctuation()));
    if quoted_ok {
        message.to_string()
    } else {
        let head = message.split('`').next().unwrap_or("").trim_end();
        format!("{head} (the name is not shown)")
    }
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A vault project, config or secret id: safe as one argv element.
fn is_identifier(id: &str) -> bool {
    !id.is_empty() && !id.starts_with('-') && id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Whether a URL carries `user[:password]@` before its host: it would reach
/// git's argv and messages.
fn has_credentials(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
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
    fn an_upstream_url_with_credentials_is_refused_without_echoing_them() {
        let err = parse("[stack]\nupstream_url = \"https://bot:tok3n-canary@example.invalid/r.git\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setup.conf:2:1: stack.upstream_url holds a user name"),
            "{err}"
        );
        assert!(!err.contains("canary"));
        assert!(parse("[stack]\nupstream_url = \"https://example.invalid/a@b\"\n").is_ok());
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
            (
                "[\"x = canary\"]\n",
                "setup.conf:1:2: unknown field `…`, expected one of `project`, `stack`, `secrets`, `settings`, `vaults`",
            ),
            (
                "[\"x`y = canary\"]\n",
                "setup.conf:1:2: unknown field `…`, expected one of `project`, `stack`, `secrets`, `settings`, `vaults`",
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

    #[test]
    fn vault_settings_fall_back_from_the_environment_to_the_shared_value() {
        let conf = parse(
            "[vaults]\ntimeout_secs = 5\n[vaults.bws]\nproject_id = \"shared\"\n[vaults.bws.prod]\nproject_id = \"p-1\"\n\
             [vaults.doppler]\nproject = \"receptor\"\n[vaults.doppler.staging]\nconfig = \"stg\"\n",
        )
        .unwrap();
        assert_eq!(*conf.vaults.timeout_secs.get_ref(), 5);
        assert_eq!(conf.vaults.bws.command(), "bws");
        assert_eq!(conf.vaults.bws.project_id(Env::Prod), Some("p-1"));
        assert_eq!(conf.vaults.bws.project_id(Env::Staging), Some("shared"));
        assert_eq!(conf.vaults.doppler.project(Env::Staging), Some("receptor"));
        assert_eq!(conf.vaults.doppler.config(Env::Staging), Some("stg"));
        assert_eq!(conf.vaults.doppler.config(Env::Prod), None);
        assert_eq!(
            parse("").unwrap().vaults.timeout_secs.into_inner(),
            DEFAULT_VAULT_TIMEOUT_SECS
        );
    }

    #[test]
    fn vault_settings_that_could_read_as_flags_or_are_out_of_range_are_refused() {
        let err = parse("[vaults]\ntimeout_secs = 0\n").unwrap_err().to_string();
        assert!(
            err.starts_with("setup.conf:2:16: vaults.timeout_secs must be between 1 and 600"),
            "{err}"
        );
        let err = parse("[vaults.doppler.prod]\nconfig = \"-p x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("setup.conf:2:10: config may hold only"), "{err}");
        let err = parse("[vaults.bws]\ncommand = \"bws --debug\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("setup.conf:2:11: vaults.bws.command must be"), "{err}");
        let err = parse("[secrets]\nPOSTGRES_PASSWORD = \"${PG}\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Tier 1"), "{err}");
        let err = parse("[settings]\n\"BAD NAME\" = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("is not a variable name"), "{err}");
    }
}
