//! The process environment, read once: injected Tier 1 values, `${VAR}`
//! references, vault tokens and the `CI` flag.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::secrets::Secret;

/// What looking a variable up found. An empty variable counts as unset:
/// a CI system often defines a variable it has no value for.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Unset,
    Value(Secret),
    /// Set, but not valid UTF-8: it cannot be written to a `.env` faithfully.
    NotUnicode,
}

/// A snapshot of environment variables. `Debug` shows names only.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    not_unicode: BTreeSet<String>,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Environment {
    pub fn from_process() -> Environment {
        let mut env = Environment::default();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            match value.into_string() {
                Ok(value) => {
                    env.vars.insert(name.to_string(), value);
                }
                Err(_) => {
                    env.not_unicode.insert(name.to_string());
                }
            }
        }
        env
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environment {
        Environment {
            vars: pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            not_unicode: BTreeSet::new(),
        }
    }

    /// The value of `name`; empty counts as unset.
    pub fn lookup(&self, name: &str) -> Lookup {
        if self.not_unicode.contains(name) {
            return Lookup::NotUnicode;
        }
        match self.vars.get(name) {
            Some(value) if !value.is_empty() => Lookup::Value(Secret::new(value.clone())),
            _ => Lookup::Unset,
        }
    }

    /// The value of `name` when it is set, non-empty and valid UTF-8.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        match self.lookup(name) {
            Lookup::Value(value) => Some(value),
            _ => None,
        }
    }

    /// A setting that is not secret (`PATH`, `HOME`, `CI`, a project name).
    pub fn plain(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.plain(name).is_some()
    }

    /// Every variable, for [`crate::process::Program::parent_env`], which
    /// keeps only those of its allow-list.
    pub fn for_child(&self) -> Vec<(String, std::ffi::OsString)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.into())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_counts_as_unset_and_debug_shows_names_only() {
        let env = Environment::from_pairs([("A", ""), ("B", "canary-value")]);
        assert_eq!(env.lookup("A"), Lookup::Unset);
        assert_eq!(env.lookup("C"), Lookup::Unset);
        assert_eq!(env.secret("B").unwrap().expose(), "canary-value");
        let shown = format!("{env:?}");
        assert!(shown.contains('B') && !shown.contains("canary"), "{shown}");
    }
}
