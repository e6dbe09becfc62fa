//! Where a new value comes from when the tool does not generate it: the
//! staging and prod Tier 1 values, and every Tier 2 value.
//!
//! - Tier 2: the reference `setup.conf`'s `[secrets]` gives it (`${VAR}`,
//!   `bws:`, `doppler:`; each vault called at most once a run), else the
//!   environment variable of its own name
//! - Tier 1 in staging and prod: the environment variable of its own name,
//!   else typed at a terminal prompt (never in CI or with `--non-interactive`)

use std::collections::BTreeMap;

use crate::config::{Env, SetupConf};
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretSpec, Tier};
use crate::sources::env::Lookup;
use crate::sources::prompt::{self, Terminal};
use crate::sources::refs::{self, Resolved};
use crate::sources::{Environment, Source};

/// The sources of one run.
pub struct Sources<'a> {
    conf: &'a SetupConf,
    env: Env,
    environment: Environment,
    non_interactive: bool,
    /// `setup.conf`'s references, resolved on first use.
    resolved: Option<BTreeMap<String, Resolved>>,
}

/// What a source had for a variable.
pub enum Found {
    Value(Secret, Source),
    /// Nothing; the text says where the value was looked for.
    Nothing(String),
}

impl<'a> Sources<'a> {
    /// The `setup.conf` the values come from.
    /// The environment the values are for.
    pub fn env(&self) -> Env {
        self.env
    }

    pub fn conf(&self) -> &'a SetupConf {
        self.conf
    }

    pub fn new(conf: &'a SetupConf, env: Env, non_interactive: bool) -> Sources<'a> {
        Sources {
            conf,
            env,
            environment: Environment::from_process(),
            non_interactive,
            resolved: None,
        }
    }

    /// The new value of `spec` from its source, without asking anybody.
    pub fn new_value_from_source(&mut self, spec: &SecretSpec) -> Result<Found> {
        if spec.tier == Tier::Two && self.conf.secrets.contains(spec.name) {
            if self.resolved.is_none() {
                let resolved = refs::resolve(self.conf, self.env, &self.environment).map_err(Error::Vault)?;
                self.resolved = Some(resolved);
            }
            let resolved = self.resolved.as_ref().expect("resolved above");
            return Ok(match resolved.get(spec.name) {
                Some(Resolved::Value(value, source)) => Found::Value(value.clone(), *source),
                Some(Resolved::Unset(var)) => Found::Nothing(format!("setup.conf's reference ${{{var}}} is unset")),
                Some(Resolved::NotUnicode(var)) => {
                    return Err(Error::Refused(vec![format!(
                        "{}: environment variable {var} is not valid UTF-8",
                        spec.name
                    )]));
                }
                None => Found::Nothing("setup.conf's reference gave nothing".into()),
            });
        }
        match self.environment.lookup(spec.name) {
            Lookup::Value(value) => Ok(Found::Value(value, Source::Environment)),
            Lookup::Unset => Ok(Found::Nothing(format!("{} is not set in the environment", spec.name))),
            Lookup::NotUnicode => Err(Error::Refused(vec![format!(
                "environment variable {} is not valid UTF-8",
                spec.name
            )])),
        }
    }

    /// Whether a Tier 1 value missing from the environment can be asked for.
    pub fn can_prompt(&self) -> std::result::Result<(), &'static str> {
        prompt::availability(self.non_interactive, &self.environment)
    }

    /// Asks for each of `specs` at the terminal, refusing what `check` objects to.
    pub fn ask(
        &self,
        specs: &[&SecretSpec],
        check: &dyn Fn(&SecretSpec, &str) -> std::result::Result<(), String>,
    ) -> Result<Vec<Secret>> {
        let mut terminal = Terminal::open()
            .map_err(|_| Error::Missing("no controlling terminal to ask for the new values on".into()))?;
        let mut values = Vec::new();
        for spec in specs {
            let one = |value: &str| check(spec, value);
            values.push(terminal.ask_new(spec.name, &spec.rule.describe(), &one)?);
        }
        Ok(values)
    }
}

/// How the plan names a source.
pub fn describe(source: Source) -> &'static str {
    match source {
        Source::Environment => "from the environment",
        Source::Prompt => "typed at the prompt",
        Source::Bitwarden => "from bws",
        Source::Doppler => "from doppler",
        Source::SetupConf => "from setup.conf",
        _ => "from its source",
    }
}
