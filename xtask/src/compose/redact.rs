//! Removes secret values from anything Compose prints before it is shown.

use crate::config::SetupConf;
use crate::envfile::EnvFile;
use crate::secrets::{CATALOG, Secret};

/// The secret values of one project, replaced by `[REDACTED]` wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    /// Values shorter than 6 characters are not secrets worth hiding, and
    /// hiding them would mangle ordinary text.
    pub fn new(values: impl IntoIterator<Item = Secret>) -> Redactor {
        let mut secrets: Vec<Secret> = values.into_iter().filter(|s| s.expose().len() >= 6).collect();
        // Longest first, so a value containing another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        Redactor { secrets }
    }

    /// Every secret value `envs` hold: the catalog's secrets and the other
    /// `[secrets]` that `setup.conf` names.
    pub fn of<'a>(envs: impl IntoIterator<Item = &'a EnvFile>, conf: &SetupConf) -> Redactor {
        let names: Vec<&str> = CATALOG
            .iter()
            .map(|spec| spec.name)
            .chain(conf.secrets.names())
            .collect();
        let mut values = Vec::new();
        for env in envs {
            values.extend(names.iter().filter_map(|name| env.get(name)).map(Secret::new));
        }
        Redactor::new(values)
    }

    /// This redactor, also hiding `values`.
    pub fn with(&self, values: impl IntoIterator<Item = Secret>) -> Redactor {
        Redactor::new(self.secrets.iter().cloned().chain(values))
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), "[REDACTED]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_hidden_wherever_it_stands() {
        let r = Redactor::new([Secret::new("canary123456"), Secret::new("abc")]);
        assert_eq!(
            r.redact("x=canary123456;y=canary123456 abc"),
            "x=[REDACTED];y=[REDACTED] abc"
        );
    }
}
