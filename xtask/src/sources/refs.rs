//! Resolves `setup.conf`'s `[secrets]` references: `${VAR}` from the process
//! environment, `bws:` and `doppler:` from their vault, each vault a
//! [`ValueSource`] that is called once, on its first reference — a vault
//! nobody references is never called.

use std::collections::BTreeMap;
use std::time::Duration;

use super::lookup::{Found, OwnName, Query, ValueSource};
use super::vault::VaultError;
use super::{Environment, Source, bws, doppler};
use crate::config::{Env, Reference, SetupConf};
use crate::error::{Error, Result};
use crate::secrets::Secret;

/// What one reference gave.
#[derive(Clone, Debug)]
pub enum Resolved {
    Value(Secret, Source),
    /// `${VAR}` with `VAR` unset or empty.
    Unset(String),
    /// `${VAR}` with `VAR` set to bytes that are not UTF-8.
    NotUnicode(String),
}

/// Bitwarden Secrets Manager: the project's secrets, listed on first use.
pub struct Bitwarden<'a> {
    program: &'a str,
    project_id: Option<&'a str>,
    env: Env,
    environment: &'a Environment,
    timeout: Duration,
    listing: Option<Vec<bws::BwsSecret>>,
}

impl<'a> Bitwarden<'a> {
    /// The project's secrets: listed with the one call of the run.
    fn listing(&mut self) -> std::result::Result<&[bws::BwsSecret], VaultError> {
        let project_id = self.project_id()?;
        if self.listing.is_none() {
            self.listing = Some(bws::list(self.program, project_id, self.environment, self.timeout)?);
        }
        Ok(self.listing.as_deref().expect("listed above"))
    }

    fn project_id(&self) -> std::result::Result<&'a str, VaultError> {
        self.project_id.ok_or(VaultError::NoProject { stage: self.env })
    }
}

impl ValueSource for Bitwarden<'_> {
    /// The secret `query.key` names: its key, else its id.
    fn get(&mut self, query: &Query<'_>) -> Result<Found> {
        let key = query.key;
        let (program, project_id) = (self.program, self.project_id().map_err(|e| Error::Vault(vec![e]))?);
        let listing = self.listing().map_err(|e| Error::Vault(vec![e]))?;
        match bws::pick(listing, key, program, project_id) {
            Ok(value) => Ok(Found::Value(value.clone(), Source::Bitwarden)),
            Err(err) => Err(Error::Vault(vec![err])),
        }
    }
}

/// Doppler: the scope's secrets, downloaded on first use.
pub struct Doppler<'a> {
    program: &'a str,
    scope: doppler::Scope<'a>,
    environment: &'a Environment,
    timeout: Duration,
    download: Option<BTreeMap<String, Secret>>,
}

impl Doppler<'_> {
    /// The scope's secrets: downloaded with the one call of the run.
    fn download(&mut self) -> std::result::Result<&BTreeMap<String, Secret>, VaultError> {
        if self.download.is_none() {
            self.download = Some(doppler::download(
                self.program,
                self.scope,
                self.environment,
                self.timeout,
            )?);
        }
        Ok(self.download.as_ref().expect("downloaded above"))
    }
}

impl ValueSource for Doppler<'_> {
    fn get(&mut self, query: &Query<'_>) -> Result<Found> {
        let name = query.key;
        let (program, scope) = (self.program, self.scope);
        let download = self.download().map_err(|e| Error::Vault(vec![e]))?;
        match doppler::pick(download, name, program, scope) {
            Ok(value) => Ok(Found::Value(value.clone(), Source::Doppler)),
            Err(err) => Err(Error::Vault(vec![err])),
        }
    }
}

/// Every `[secrets]` entry of `conf`, resolved for `env`, by variable name.
/// Fails with every secret a vault lacks, or with the one vault call that failed.
pub fn resolve(
    conf: &SetupConf,
    env: Env,
    environment: &Environment,
) -> std::result::Result<BTreeMap<String, Resolved>, Vec<VaultError>> {
    let references: Vec<(&str, &Reference)> = conf.secrets.iter().collect();
    let timeout = Duration::from_secs(*conf.vaults.timeout_secs.get_ref());
    let wants = |f: fn(&Reference) -> bool| references.iter().any(|(_, r)| f(r));
    let mut bitwarden = Bitwarden {
        program: conf.vaults.bws.command(),
        project_id: conf.vaults.bws.project_id(env),
        env,
        environment,
        timeout,
        listing: None,
    };
    let mut doppler = Doppler {
        program: conf.vaults.doppler.command(),
        scope: doppler::Scope {
            project: conf.vaults.doppler.project(env),
            config: conf.vaults.doppler.config(env),
        },
        environment,
        timeout,
        download: None,
    };
    // Each vault's call first, in this order, so that one that fails is the
    // one error, whatever the order of the references.
    if wants(|r| matches!(r, Reference::Bitwarden(_))) {
        bitwarden.listing().map_err(|e| vec![e])?;
    }
    if wants(|r| matches!(r, Reference::Doppler(_))) {
        doppler.download().map_err(|e| vec![e])?;
    }

    let mut out = BTreeMap::new();
    let mut not_found: Vec<VaultError> = Vec::new();
    for (name, reference) in references {
        let found = match reference {
            Reference::Env(var) => match OwnName(environment).get(&Query::key(var)) {
                Ok(Found::Value(value, source)) => Ok(Resolved::Value(value, source)),
                Ok(Found::Nothing(_)) => Ok(Resolved::Unset(var.clone())),
                Err(_) => Ok(Resolved::NotUnicode(var.clone())),
            },
            Reference::Bitwarden(key) => bitwarden.get(&Query::key(key)).map(resolved),
            Reference::Doppler(secret) => doppler.get(&Query::key(secret)).map(resolved),
        };
        match found {
            Ok(value) => {
                out.insert(name.to_string(), value);
            }
            // A secret the vault lacks: every one is named at once.
            Err(Error::Vault(errors)) => not_found.extend(errors),
            Err(other) => unreachable!("a vault source fails with a vault error: {other}"),
        }
    }
    if not_found.is_empty() { Ok(out) } else { Err(not_found) }
}

fn resolved(found: Found) -> Resolved {
    match found {
        Found::Value(value, source) => Resolved::Value(value, source),
        Found::Nothing(_) => unreachable!("a vault source has a value or an error"),
    }
}
