//! The one way setup and rotate look a value up. Each place a value can come
//! from is a [`ValueSource`]: the process environment under the variable's own
//! name ([`OwnName`]), Bitwarden and Doppler (`super::refs`: each vault
//! called once a run, on its first reference). [`References`] resolves
//! `setup.conf`'s `[secrets]` through them; [`Sources`] puts them in the
//! documented order and adds the terminal prompt, which only ever asks for
//! values nobody injected:
//!
//! - Tier 2: the reference `setup.conf`'s `[secrets]` gives it, else the
//!   environment variable of its own name
//! - Tier 1 in staging and prod: the environment variable of its own name,
//!   else typed at a terminal prompt (never in CI or with `--non-interactive`)

use std::collections::BTreeMap;

use super::env::Lookup;
use super::prompt::{self, Terminal};
use super::refs::{self, Resolved};
use super::{Environment, Source};
use crate::config::{Env, SetupConf};
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretSpec, Tier};

/// What a source had for a variable.
pub enum Found {
    Value(Secret, Source),
    /// Nothing; the text says where the value was looked for.
    Nothing(String),
}

/// A place values are looked up, without asking anybody.
pub trait ValueSource {
    /// The value of `name`. A value that cannot be written to a `.env`
    /// faithfully (not UTF-8) is refused, naming the variable.
    fn get(&mut self, name: &str) -> Result<Found>;
}

/// The process environment, each value under its own variable's name.
pub struct OwnName<'a>(pub &'a Environment);

impl ValueSource for OwnName<'_> {
    fn get(&mut self, name: &str) -> Result<Found> {
        match self.0.lookup(name) {
            Lookup::Value(value) => Ok(Found::Value(value, Source::Environment)),
            Lookup::Unset => Ok(Found::Nothing(format!("{name} is not set in the environment"))),
            Lookup::NotUnicode => Err(Error::Refused(vec![format!(
                "environment variable {name} is not valid UTF-8"
            )])),
        }
    }
}

/// `setup.conf`'s `[secrets]` references, resolved all at once on first use:
/// one call to each vault they name, none to a vault nobody names.
pub struct References<'a> {
    conf: &'a SetupConf,
    env: Env,
    resolved: Option<BTreeMap<String, Resolved>>,
}

impl<'a> References<'a> {
    pub fn new(conf: &'a SetupConf, env: Env) -> References<'a> {
        References {
            conf,
            env,
            resolved: None,
        }
    }

    /// Whether `setup.conf` references `name`.
    pub fn names(&self, name: &str) -> bool {
        self.conf.secrets.contains(name)
    }

    /// Every reference, resolved: fails with every secret a vault lacks, or
    /// with the one vault call that failed.
    pub fn all(&mut self, environment: &Environment) -> Result<&BTreeMap<String, Resolved>> {
        if self.resolved.is_none() {
            let resolved = refs::resolve(self.conf, self.env, environment).map_err(Error::Vault)?;
            self.resolved = Some(resolved);
        }
        Ok(self.resolved.as_ref().expect("resolved above"))
    }
}

/// The sources of one run, in the documented order.
pub struct Sources<'a> {
    conf: &'a SetupConf,
    env: Env,
    environment: Environment,
    non_interactive: bool,
    /// Why nobody may be asked whatever the terminal (`--dry-run`).
    never_ask: Option<&'static str>,
    references: References<'a>,
}

impl<'a> Sources<'a> {
    /// The sources of a run in `env`, reading the process environment once.
    pub fn new(conf: &'a SetupConf, env: Env, non_interactive: bool) -> Sources<'a> {
        Sources::with_environment(conf, env, Environment::from_process(), non_interactive)
    }

    pub fn with_environment(
        conf: &'a SetupConf,
        env: Env,
        environment: Environment,
        non_interactive: bool,
    ) -> Sources<'a> {
        Sources {
            conf,
            env,
            environment,
            non_interactive,
            never_ask: None,
            references: References::new(conf, env),
        }
    }

    /// Sources that never prompt, for the reason given (a flag).
    pub fn never_asking(self, why: &'static str) -> Sources<'a> {
        Sources {
            never_ask: Some(why),
            ..self
        }
    }

    /// The environment the values are for.
    pub fn env(&self) -> Env {
        self.env
    }

    /// The `setup.conf` the values come from.
    pub fn conf(&self) -> &'a SetupConf {
        self.conf
    }

    /// The process environment, as read when the run began.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The value of `name` under its own name in the environment.
    pub fn own_name(&self, name: &str) -> Result<Found> {
        OwnName(&self.environment).get(name)
    }

    /// Every `[secrets]` reference, resolved (one call per vault a run).
    pub fn references(&mut self) -> Result<&BTreeMap<String, Resolved>> {
        self.references.all(&self.environment)
    }

    /// The new value of `spec` from its source, without asking anybody.
    pub fn new_value_from_source(&mut self, spec: &SecretSpec) -> Result<Found> {
        if spec.tier == Tier::Two && self.references.names(spec.name) {
            return Ok(match self.references()?.get(spec.name) {
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
        self.own_name(spec.name)
    }

    /// Whether a Tier 1 value missing from the environment can be asked for;
    /// else why not (`--dry-run`, `--non-interactive`, `CI`, no terminal).
    pub fn can_prompt(&self) -> std::result::Result<(), &'static str> {
        if let Some(why) = self.never_ask {
            return Err(why);
        }
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

/// How a plan names a source.
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
