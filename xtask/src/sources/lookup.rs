//! The one way setup and rotate look a value up. Each place a value can come
//! from is a [`ValueSource`]: the process environment under the variable's own
//! name ([`OwnName`]), `setup.conf`'s `[secrets]` references ([`References`],
//! through Bitwarden and Doppler in `super::refs`: each vault called once a
//! run, on its first reference) and the terminal prompt
//! ([`super::prompt::Prompt`]), which only ever asks for values nobody
//! injected. [`Sources`] walks them in the documented order:
//!
//! - Tier 2: the reference `setup.conf`'s `[secrets]` gives it, else the
//!   environment variable of its own name
//! - Tier 1 in staging and prod: the environment variable of its own name,
//!   else typed at a terminal prompt (never in CI or with `--non-interactive`)

use std::collections::BTreeMap;
use std::rc::Rc;

use super::env::Lookup;
use super::prompt::Prompt;
use super::prompt::Unfit;
use super::refs::{self, Resolved};
use super::{Environment, Source};
use crate::config::{Env, SetupConf};
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretSpec, Tier};

/// What a source had for a variable.
pub enum Found {
    Value(Secret, Source),
    /// Nothing, and where the value was looked for.
    Nothing(Nothing),
}

/// Where a value was looked for and not found, as a plan says it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Nothing {
    #[error("{name} is not set in the environment")]
    Unset { name: String },
    #[error("setup.conf's reference ${{{var}}} is unset")]
    ReferenceUnset { var: String },
    #[error("setup.conf's reference gave nothing")]
    NoReference,
    /// Nobody can be asked, and why (`--non-interactive`, `CI is set`, …).
    #[error("{0}")]
    NobodyToAsk(&'static str),
}

/// A value a source has and cannot give (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Set, but not valid UTF-8: it cannot be written to a `.env` faithfully.
    #[error("environment variable {name} is not valid UTF-8")]
    NotUnicode { name: String },
    /// The same, for the `${VAR}` a reference of `name` names.
    #[error("{name}: environment variable {var} is not valid UTF-8")]
    ReferenceNotUnicode { name: String, var: String },
}

/// What a typed value must pass; `Err` says why not, after the variable's name.
pub type Check<'a> = dyn Fn(&str) -> std::result::Result<(), Unfit> + 'a;

/// What a source is asked for.
pub struct Query<'a> {
    /// The name the value has in the source: the variable's own, or the key
    /// or variable a `setup.conf` reference gives.
    pub key: &'a str,
    /// For a source that asks somebody: the variable asked for (its rule is
    /// shown) and what a typed value must pass. `None`: nobody is asked.
    pub ask: Option<(&'a SecretSpec, &'a Check<'a>)>,
}

impl<'a> Query<'a> {
    /// `key`, looked up without asking anybody.
    pub fn key(key: &'a str) -> Query<'a> {
        Query { key, ask: None }
    }
}

/// A place values come from.
pub trait ValueSource {
    /// The value `query` asks for. A value that cannot be written to a
    /// `.env` faithfully (not UTF-8) is refused, naming the variable.
    fn get(&mut self, query: &Query<'_>) -> Result<Found>;

    /// Whether the source asks somebody (the terminal prompt): it is walked
    /// only once every value the others have is known and checked.
    fn asks(&self) -> bool {
        false
    }
}

/// The process environment, each value under its own variable's name.
pub struct OwnName<'a>(pub &'a Environment);

impl ValueSource for OwnName<'_> {
    fn get(&mut self, query: &Query<'_>) -> Result<Found> {
        let name = query.key;
        match self.0.lookup(name) {
            Lookup::Value(value) => Ok(Found::Value(value, Source::Environment)),
            Lookup::Unset => Ok(Found::Nothing(Nothing::Unset { name: name.into() })),
            Lookup::NotUnicode => Err(Error::refused([Refusal::NotUnicode { name: name.into() }])),
        }
    }
}

/// `setup.conf`'s `[secrets]` references, resolved all at once on first use:
/// one call to each vault they name, none to a vault nobody names.
pub struct References<'a> {
    conf: &'a SetupConf,
    env: Env,
    environment: Rc<Environment>,
    resolved: Option<BTreeMap<String, Resolved>>,
}

impl<'a> References<'a> {
    pub fn new(conf: &'a SetupConf, env: Env, environment: Rc<Environment>) -> References<'a> {
        References {
            conf,
            env,
            environment,
            resolved: None,
        }
    }

    /// Whether `setup.conf` references `name`.
    pub fn names(&self, name: &str) -> bool {
        self.conf.secrets.contains(name)
    }

    /// Every reference, resolved: fails with every secret a vault lacks, or
    /// with the one vault call that failed.
    pub fn all(&mut self) -> Result<&BTreeMap<String, Resolved>> {
        if self.resolved.is_none() {
            let resolved = refs::resolve(self.conf, self.env, &self.environment).map_err(Error::Vault)?;
            self.resolved = Some(resolved);
        }
        Ok(self.resolved.as_ref().expect("resolved above"))
    }
}

impl ValueSource for References<'_> {
    /// What the reference of variable `query.key` gave.
    fn get(&mut self, query: &Query<'_>) -> Result<Found> {
        let name = query.key;
        Ok(match self.all()?.get(name) {
            Some(Resolved::Value(value, source)) => Found::Value(value.clone(), *source),
            Some(Resolved::Unset(var)) => Found::Nothing(Nothing::ReferenceUnset { var: var.clone() }),
            Some(Resolved::NotUnicode(var)) => {
                return Err(Error::refused([Refusal::ReferenceNotUnicode {
                    name: name.into(),
                    var: var.clone(),
                }]));
            }
            None => Found::Nothing(Nothing::NoReference),
        })
    }
}

/// The sources of one run, in the documented order.
pub struct Sources<'a> {
    conf: &'a SetupConf,
    env: Env,
    environment: Rc<Environment>,
    references: References<'a>,
    prompt: Prompt,
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
        let environment = Rc::new(environment);
        Sources {
            conf,
            env,
            references: References::new(conf, env, Rc::clone(&environment)),
            prompt: Prompt::new(Rc::clone(&environment), non_interactive),
            environment,
        }
    }

    /// Sources that never prompt, for the reason given (a flag).
    pub fn never_asking(self, why: &'static str) -> Sources<'a> {
        Sources {
            prompt: self.prompt.never(why),
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

    /// Every `[secrets]` reference, resolved (one call per vault a run).
    pub fn references(&mut self) -> Result<&BTreeMap<String, Resolved>> {
        self.references.all()
    }

    /// The value of `spec` from the first of its sources that has one,
    /// without asking anybody.
    pub fn look_up(&mut self, spec: &SecretSpec) -> Result<Found> {
        self.walk(spec, None)
    }

    /// The value of `spec` from the sources that ask (the terminal prompt),
    /// refusing what `check` objects to; `Found::Nothing` says why nobody can
    /// be asked (`--dry-run`, `--non-interactive`, `CI`, no terminal).
    pub fn ask(&mut self, spec: &SecretSpec, check: &Check<'_>) -> Result<Found> {
        self.walk(spec, Some(check))
    }

    /// Whether a value missing from the environment can be asked for; else
    /// why not. Asks nobody.
    pub fn can_prompt(&self) -> std::result::Result<(), &'static str> {
        self.prompt.availability()
    }

    /// `spec`'s sources in order, those that ask (with `check`) or those that
    /// do not: the first value wins; with none, the last one says why.
    fn walk(&mut self, spec: &SecretSpec, check: Option<&Check<'_>>) -> Result<Found> {
        let Sources {
            environment,
            references,
            prompt,
            ..
        } = self;
        let mut own_name = OwnName(environment);
        let order: Vec<&mut dyn ValueSource> = match spec.tier {
            Tier::Two if references.names(spec.name) => vec![references],
            Tier::Two => vec![&mut own_name],
            Tier::One => vec![&mut own_name, prompt],
        };
        let query = Query {
            key: spec.name,
            ask: check.map(|check| (spec, check)),
        };
        let mut nothing = Nothing::NobodyToAsk("no source asks for it");
        for source in order.into_iter().filter(|s| s.asks() == check.is_some()) {
            match source.get(&query)? {
                Found::Nothing(why) => nothing = why,
                found => return Ok(found),
            }
        }
        Ok(Found::Nothing(nothing))
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
