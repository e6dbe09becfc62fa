//! `setup.conf`: the safe-to-commit settings of every environment.
//!
//! It names projects, the stack source and where each third-party secret
//! comes from, as references (`${VAR}`, `bws:…`, `doppler:…`), never values.
//! Every value is read into a type only a valid value can be (`names`,
//! `upstream`, `tables`, `vaults`), so toml places each error at its value;
//! `validate` keeps the rules that span values. No message quotes a value.

mod names;
mod tables;
mod upstream;
mod vaults;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secrets;

pub use names::{Program, VarName, VaultId};
pub use tables::{Entry, Reference, Secrets, Settings, Table};
pub use upstream::{UpstreamRef, UpstreamUrl};
pub use vaults::{Bitwarden, BitwardenEnv, DEFAULT_VAULT_TIMEOUT_SECS, Doppler, DopplerEnv, Vaults};

/// The deployment environment a command works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Env {
    Dev,
    Staging,
    Prod,
}

impl Env {
    pub const ALL: [Env; 3] = [Env::Dev, Env::Staging, Env::Prod];

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
        /// What is wrong, for a caller that suggests a fix.
        problem: Problem,
    },
}

/// `[stack] database_service` names no Compose service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "setup.conf: [stack] database_service {name:?} is not a Compose service name (letters, digits, '-', '_', '.'; empty for none)"
)]
pub struct BadServiceName {
    pub name: String,
}

/// What made `setup.conf` invalid, where a caller can do more than show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `[secrets]` gives `name` a literal value instead of a reference.
    LiteralSecret { name: VarName },
    /// Anything else: the message says what.
    Other,
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

/// One value for each environment: `dev`, `staging` and `prod`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerEnv<T> {
    pub dev: T,
    pub staging: T,
    pub prod: T,
}

impl<T> PerEnv<T> {
    pub fn get(&self, env: Env) -> &T {
        match env {
            Env::Dev => &self.dev,
            Env::Staging => &self.staging,
            Env::Prod => &self.prod,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (Env, &T)> {
        Env::ALL.into_iter().map(move |env| (env, self.get(env)))
    }
}

/// `[project]`: the project folder of each environment.
pub type Projects = PerEnv<String>;

fn default_projects() -> Projects {
    PerEnv {
        dev: "receptor-dev".into(),
        staging: "receptor-stg".into(),
        prod: "receptor-prod".into(),
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    #[serde(default)]
    pub source: StackSource,
    #[serde(default = "default_upstream_url")]
    pub upstream_url: UpstreamUrl,
    #[serde(default = "default_upstream_ref")]
    pub upstream_ref: UpstreamRef,
    /// The Compose service that runs the database; empty: the database is not
    /// a Compose service. Unset: the service whose image is `postgres`.
    #[serde(default)]
    pub database_service: Option<String>,
}

impl Stack {
    /// `database_service`, checked: a plain Compose service name or empty.
    pub fn database_service(&self) -> Result<Option<&str>, BadServiceName> {
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
            Some(name) => Err(BadServiceName { name: name.to_string() }),
        }
    }
}

fn default_upstream_url() -> UpstreamUrl {
    UpstreamUrl::parse("https://github.com/supabase/supabase").expect("a valid URL")
}

fn default_upstream_ref() -> UpstreamRef {
    UpstreamRef::parse("f813858db24e424146f62442faeafeed544dc508").expect("a valid ref")
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

/// The whole `setup.conf`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupConf {
    #[serde(default = "default_projects")]
    pub project: Projects,
    #[serde(default)]
    pub stack: Stack,
    /// Tier 2 secrets: variable name → reference, parsed once here.
    #[serde(default)]
    pub secrets: Secrets,
    /// Non-secret settings written into `.env` as they are.
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub vaults: Vaults,
}

impl Default for SetupConf {
    fn default() -> Self {
        SetupConf {
            project: default_projects(),
            stack: Stack::default(),
            secrets: Secrets::default(),
            settings: Settings::default(),
            vaults: Vaults::default(),
        }
    }
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
        let at = |offset: usize, message: String, problem: Problem| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            ConfigError::Invalid {
                path: path.into(),
                line,
                column,
                message,
                problem,
            }
        };
        let conf: SetupConf = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |s| s.start);
            let problem = match tables::literal_secret_at(text, offset) {
                Some(name) => Problem::LiteralSecret { name },
                None => Problem::Other,
            };
            at(
                offset,
                without_values(err.message().trim()).replace('\n', "; "),
                problem,
            )
        })?;
        conf.validate()
            .map_err(|(span, message)| at(span.start, message, Problem::Other))?;
        Ok(conf)
    }

    /// The rules that span more than one value: each value alone is already
    /// valid by its type.
    fn validate(&self) -> Result<(), (Range<usize>, String)> {
        for (name, entry) in self.secrets.entries() {
            if secrets::catalog::find(name.as_str()).is_some_and(|spec| spec.tier == secrets::Tier::One) {
                return Err((
                    entry.name_span.clone(),
                    format!(
                        "{name} is an infrastructure (Tier 1) secret: inject it as an environment variable, never through setup.conf"
                    ),
                ));
            }
        }
        for (name, entry) in self.settings.entries() {
            if secrets::catalog::find(name.as_str()).is_some() {
                return Err((
                    entry.name_span.clone(),
                    format!("{name} is a secret: put a reference under [secrets], never a value under [settings]"),
                ));
            }
            if self.secrets.contains(name.as_str()) {
                return Err((
                    entry.name_span.clone(),
                    format!(
                        "{name} is under [secrets] and [settings]: a secret takes a reference under [secrets] only; remove it from [settings]"
                    ),
                ));
            }
        }
        let secs = &self.vaults.timeout_secs;
        if !(1..=600).contains(secs.get_ref()) {
            return Err((secs.span(), "vaults.timeout_secs must be between 1 and 600".into()));
        }
        let commands = [
            (
                "vaults.bws.command",
                &self.vaults.bws.command,
                Bitwarden::PROGRAM,
                "BWS_ACCESS_TOKEN",
            ),
            (
                "vaults.doppler.command",
                &self.vaults.doppler.command,
                Doppler::PROGRAM,
                "DOPPLER_TOKEN",
            ),
        ];
        for (field, command, program, token) in commands {
            if let Some(command) = command
                && command.get_ref().as_str() != program
            {
                return Err((
                    command.span(),
                    format!(
                        "{field} may only be {program}, found on PATH: setup.conf never chooses the program that receives {token}; put the {program} you want first on PATH instead"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn project_name(&self, env: Env) -> &str {
        self.project.get(env)
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
            err.starts_with("setup.conf:2:16: stack.upstream_url holds a user name"),
            "{err}"
        );
        assert!(!err.contains("canary"));
        assert!(parse("[stack]\nupstream_url = \"https://example.invalid/a@b\"\n").is_ok());
        let err = parse("[stack]\nupstream_url = \"https://example.invalid/r.git?private_token=tok3n-canary\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setup.conf:2:16: stack.upstream_url has a query string"),
            "{err}"
        );
        assert!(!err.contains("canary"));
    }

    #[test]
    fn a_literal_secret_is_a_problem_naming_its_variable() {
        let problem = |text: &str| match parse(text).unwrap_err() {
            ConfigError::Invalid { problem, .. } => problem,
            other => panic!("{other}"),
        };
        assert_eq!(
            problem("[secrets]\nA = \"${A}\"\nSMTP_PASS = \"hunter2\"\n"),
            Problem::LiteralSecret {
                name: VarName::try_from("SMTP_PASS".to_string()).unwrap()
            }
        );
        assert_eq!(problem("[secrets]\nSMTP_PASS = \"${A}\"\n[nope]\n"), Problem::Other);
        assert_eq!(problem("[secrets]\nJWT_SECRET = \"${A}\"\n"), Problem::Other);
    }

    #[test]
    fn references_are_read_and_literals_refused_with_a_position() {
        let conf = parse("[secrets]\nA = \"${A_VAR}\"\nB = \"bws:smtp-pass\"\nC = \"doppler:C\"\n").unwrap();
        assert_eq!(conf.secrets.len(), 3);
        assert_eq!(conf.secrets.get("A"), Some(&Reference::Env("A_VAR".into())));
        assert_eq!(conf.secrets.get("B"), Some(&Reference::Bitwarden("smtp-pass".into())));
        let err = parse("[secrets]\n\nOPENAI_API_KEY = \"sk-live-canary\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setup.conf:3:18: OPENAI_API_KEY must be a reference"),
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
        assert!(
            err.starts_with("setup.conf:2:10: a vault project, config or id may hold only"),
            "{err}"
        );
        let err = parse("[vaults.bws]\ncommand = \"bws --debug\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("setup.conf:2:11: a vault command must be"), "{err}");
        let err = parse("[secrets]\nPOSTGRES_PASSWORD = \"${PG}\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Tier 1"), "{err}");
        let err = parse("[settings]\n\"BAD NAME\" = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("is not a variable name"), "{err}");
    }

    #[test]
    fn a_vault_program_is_only_its_own_name_found_on_path() {
        assert!(parse("[vaults.bws]\ncommand = \"bws\"\n[vaults.doppler]\ncommand = \"doppler\"\n").is_ok());
        for (text, shown) in [
            (
                "[vaults.bws]\ncommand = \"evil-bws\"\n",
                "setup.conf:2:11: vaults.bws.command may only be bws, found on PATH",
            ),
            (
                "[vaults]\ntimeout_secs = 5\n[vaults.doppler]\ncommand = \"sh\"\n",
                "setup.conf:4:11: vaults.doppler.command may only be doppler, found on PATH",
            ),
            (
                "[vaults.bws]\ncommand = \"/tmp/x/bws\"\n",
                "setup.conf:2:11: a vault command must be a program name found on PATH",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(shown), "{err}");
        }
    }

    #[test]
    fn bad_refs_and_urls_are_refused_at_their_value() {
        for (text, shown) in [
            (
                "[stack]\nupstream_ref = \"--upload-pack=touch /tmp/pwned; git-upload-pack\"\n",
                "setup.conf:2:16: stack.upstream_ref starts with `-`",
            ),
            (
                "[stack]\nsource = \"upstream\"\nupstream_ref = \"a..b\"\n",
                "setup.conf:3:16: stack.upstream_ref holds `..`",
            ),
            (
                "[stack]\nupstream_url = \".\"\n",
                "setup.conf:2:16: stack.upstream_url is not a git URL",
            ),
            (
                "[stack]\nupstream_url = \"ext::sh -c touch% /tmp/pwned\"\n",
                "setup.conf:2:16: stack.upstream_url names a git transport helper",
            ),
            (
                "[stack]\nupstream_url = \"--upload-pack=x\"\n",
                "setup.conf:2:16: stack.upstream_url starts with `-`",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(shown), "{err}");
            assert!(!err.contains("pwned") && !err.contains("upload-pack="), "{err}");
        }
    }

    #[test]
    fn names_are_upper_case_identifiers_placed_exactly_and_shown_only_when_plain() {
        for (text, shown) in [
            (
                "[secrets]\nOK = \"${OK}\"\n  \"BAD NAME\" = \"${X}\"\n",
                "setup.conf:3:3: this name (not shown) is not a variable name",
            ),
            (
                "[secrets]\n\"X = sk-live-canary\" = \"${X}\"\n",
                "setup.conf:2:1: this name (not shown) is not a variable name",
            ),
            (
                "[secrets]\n\"A\\tB\" = \"${X}\"\n",
                "setup.conf:2:1: this name (not shown)",
            ),
            (
                "[secrets]\n\"A\\u001bB\" = \"${X}\"\n",
                "setup.conf:2:1: this name (not shown)",
            ),
            (
                "[secrets]\n\"A\\u0000B\" = \"${X}\"\n",
                "setup.conf:2:1: this name (not shown)",
            ),
            (
                "[settings]\nsite_url = \"x\"\n",
                "setup.conf:2:1: site_url is not a variable name: use upper-case letters",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(shown), "{err}");
            assert!(!err.contains("canary"), "{err}");
        }
    }

    #[test]
    fn a_setting_never_overrides_a_secret_of_the_same_name() {
        let err = parse("[secrets]\nMY_TOKEN = \"${MY_TOKEN}\"\n[settings]\nMY_TOKEN = \"plain-canary\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setup.conf:4:1: MY_TOKEN is under [secrets] and [settings]"),
            "{err}"
        );
        assert!(!err.contains("canary"));
    }

    #[test]
    fn a_project_table_is_one_name_per_environment() {
        let conf = parse("[project]\ndev = \"a\"\nstaging = \"b\"\nprod = \"c\"\n").unwrap();
        let names: Vec<_> = conf
            .project
            .iter()
            .map(|(env, name)| (env.name(), name.as_str()))
            .collect();
        assert_eq!(names, [("dev", "a"), ("staging", "b"), ("prod", "c")]);
    }
}
