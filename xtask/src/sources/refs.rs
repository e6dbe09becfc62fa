//! Resolves `setup.conf`'s `[secrets]` references: `${VAR}` from the process
//! environment, `bws:` and `doppler:` with one call to each vault that is
//! named at all — a vault nobody references is never called.

use std::collections::BTreeMap;
use std::time::Duration;

use super::env::Lookup;
use super::vault::VaultError;
use super::{Environment, Source, bws, doppler};
use crate::config::{Env, Reference, SetupConf};
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

/// Every `[secrets]` entry of `conf`, resolved for `env`, by variable name.
/// Fails with every secret a vault lacks, or with the one vault call that failed.
pub fn resolve(
    conf: &SetupConf,
    env: Env,
    environment: &Environment,
) -> Result<BTreeMap<String, Resolved>, Vec<VaultError>> {
    let references: Vec<(&str, &Reference)> = conf.secrets.iter().collect();
    let timeout = Duration::from_secs(*conf.vaults.timeout_secs.get_ref());
    let wants = |f: fn(&Reference) -> bool| references.iter().any(|(_, r)| f(r));

    let bws_listing = if wants(|r| matches!(r, Reference::Bitwarden(_))) {
        let program = conf.vaults.bws.command();
        let project_id = conf.vaults.bws.project_id(env).ok_or_else(|| {
            vec![VaultError::NotConfigured(format!(
                "bws: references need a project: set project_id under [vaults.bws] or [vaults.bws.{}]",
                env.name()
            ))]
        })?;
        let listing = bws::list(program, project_id, environment, timeout).map_err(|e| vec![e])?;
        Some((program, project_id, listing))
    } else {
        None
    };
    let scope = doppler::Scope {
        project: conf.vaults.doppler.project(env),
        config: conf.vaults.doppler.config(env),
    };
    let doppler_download = if wants(|r| matches!(r, Reference::Doppler(_))) {
        let program = conf.vaults.doppler.command();
        let download = doppler::download(program, scope, environment, timeout).map_err(|e| vec![e])?;
        Some((program, download))
    } else {
        None
    };

    let mut out = BTreeMap::new();
    let mut not_found: Vec<VaultError> = Vec::new();
    for (name, reference) in references {
        let resolved = match reference {
            Reference::Env(var) => match environment.lookup(var) {
                Lookup::Value(value) => Resolved::Value(value, Source::Environment),
                Lookup::Unset => Resolved::Unset(var.clone()),
                Lookup::NotUnicode => Resolved::NotUnicode(var.clone()),
            },
            Reference::Bitwarden(key) => {
                let (program, project_id, listing) = bws_listing.as_ref().expect("listed above");
                match bws::pick(listing, key, program, project_id) {
                    Ok(value) => Resolved::Value(value.clone(), Source::Bitwarden),
                    Err(err) => {
                        not_found.push(err);
                        continue;
                    }
                }
            }
            Reference::Doppler(secret) => {
                let (program, download) = doppler_download.as_ref().expect("downloaded above");
                match doppler::pick(download, secret, program, scope) {
                    Ok(value) => Resolved::Value(value.clone(), Source::Doppler),
                    Err(err) => {
                        not_found.push(err);
                        continue;
                    }
                }
            }
        };
        out.insert(name.to_string(), resolved);
    }
    if not_found.is_empty() { Ok(out) } else { Err(not_found) }
}
