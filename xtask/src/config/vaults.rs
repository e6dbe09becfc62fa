//! `[vaults]`: the command-line tools that resolve `bws:` and `doppler:`
//! references, the projects and configs they read, and their time limit.
//! A vault's program is always its own name looked up on `PATH`: a
//! committed `setup.conf` never chooses the program that gets the token.

use serde::Deserialize;
use toml::Spanned;

use super::names::{Program, VaultId};
use super::{Env, PerEnv};

/// How long one vault command may run before it is stopped.
pub const DEFAULT_VAULT_TIMEOUT_SECS: u64 = 30;

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

/// `[vaults.bws]`: Bitwarden Secrets Manager's `bws`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "BitwardenTable")]
pub struct Bitwarden {
    /// Only `bws` (accepted so that a file spelling out the default still reads).
    pub command: Option<Spanned<Program>>,
    /// The project whose secrets `bws:` references name, for every environment.
    pub project_id: Option<Spanned<VaultId>>,
    /// `[vaults.bws.staging]` and the like: a project per environment.
    pub per_env: PerEnv<Option<BitwardenEnv>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitwardenEnv {
    pub project_id: Spanned<VaultId>,
}

/// `[vaults.bws]` as it is written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BitwardenTable {
    command: Option<Spanned<Program>>,
    project_id: Option<Spanned<VaultId>>,
    dev: Option<BitwardenEnv>,
    staging: Option<BitwardenEnv>,
    prod: Option<BitwardenEnv>,
}

impl From<BitwardenTable> for Bitwarden {
    fn from(t: BitwardenTable) -> Bitwarden {
        Bitwarden {
            command: t.command,
            project_id: t.project_id,
            per_env: PerEnv {
                dev: t.dev,
                staging: t.staging,
                prod: t.prod,
            },
        }
    }
}

impl Bitwarden {
    pub const PROGRAM: &'static str = "bws";

    pub fn command(&self) -> &str {
        Bitwarden::PROGRAM
    }

    /// The project of `env`: its own table first, then the shared `project_id`.
    pub fn project_id(&self, env: Env) -> Option<&str> {
        self.per_env
            .get(env)
            .as_ref()
            .map(|e| e.project_id.get_ref().as_str())
            .or(self.project_id.as_ref().map(|p| p.get_ref().as_str()))
    }
}

/// `[vaults.doppler]`: the Doppler CLI.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "DopplerTable")]
pub struct Doppler {
    /// Only `doppler` (accepted so that a file spelling out the default still reads).
    pub command: Option<Spanned<Program>>,
    pub shared: DopplerEnv,
    /// `[vaults.doppler.prod]` and the like: a project or config per environment.
    pub per_env: PerEnv<Option<DopplerEnv>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DopplerEnv {
    pub project: Option<Spanned<VaultId>>,
    pub config: Option<Spanned<VaultId>>,
}

/// `[vaults.doppler]` as it is written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DopplerTable {
    command: Option<Spanned<Program>>,
    project: Option<Spanned<VaultId>>,
    config: Option<Spanned<VaultId>>,
    dev: Option<DopplerEnv>,
    staging: Option<DopplerEnv>,
    prod: Option<DopplerEnv>,
}

impl From<DopplerTable> for Doppler {
    fn from(t: DopplerTable) -> Doppler {
        Doppler {
            command: t.command,
            shared: DopplerEnv {
                project: t.project,
                config: t.config,
            },
            per_env: PerEnv {
                dev: t.dev,
                staging: t.staging,
                prod: t.prod,
            },
        }
    }
}

impl Doppler {
    pub const PROGRAM: &'static str = "doppler";

    pub fn command(&self) -> &str {
        Doppler::PROGRAM
    }

    /// The project of `env`, if `setup.conf` names one.
    pub fn project(&self, env: Env) -> Option<&str> {
        self.pick(env, |e| e.project.as_ref())
    }

    /// The config of `env`, if `setup.conf` names one.
    pub fn config(&self, env: Env) -> Option<&str> {
        self.pick(env, |e| e.config.as_ref())
    }

    fn pick<'a>(&'a self, env: Env, field: fn(&'a DopplerEnv) -> Option<&'a Spanned<VaultId>>) -> Option<&'a str> {
        let own = self.per_env.get(env).as_ref().and_then(field);
        own.or(field(&self.shared)).map(|id| id.get_ref().as_str())
    }
}
