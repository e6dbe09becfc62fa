//! `[secrets]` and `[settings]`: tables of variable names, each entry parsed
//! once into its typed value, with the positions of its name and value so
//! that a later rule can point at either. `[secrets]` values are references
//! (`${VAR}`, `bws:…`, `doppler:…`), never values.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::names::VarName;

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
        if let Some(var) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
            // An environment variable name as Compose and the shells read one.
            let ok = var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return ok.then(|| Reference::Env(var.into()));
        }
        if let Some(key) = text.strip_prefix("bws:") {
            let ok = !key.is_empty()
                && !key.starts_with('-')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            return ok.then(|| Reference::Bitwarden(key.into()));
        }
        if let Some(name) = text.strip_prefix("doppler:") {
            let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return ok.then(|| Reference::Doppler(name.into()));
        }
        None
    }
}

/// A table entry whose text is not what its table holds: names the
/// variable, never quotes the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadEntry {
    #[error("{0} must be a reference (\"${{VAR}}\", \"bws:<key>\" or \"doppler:<NAME>\"), never a literal secret")]
    NotAReference(VarName),
    #[error("{0} must fit on one line")]
    NotOneLine(VarName),
}

/// What one table entry's text must be.
pub trait EntryValue: Sized {
    fn from_entry(name: &VarName, text: String) -> Result<Self, BadEntry>;
}

impl EntryValue for Reference {
    fn from_entry(name: &VarName, text: String) -> Result<Reference, BadEntry> {
        Reference::parse(&text).ok_or_else(|| BadEntry::NotAReference(name.clone()))
    }
}

/// The `[secrets]` name whose value, at `offset` of `text`, is not a
/// reference: read again leniently, from the file's text (not from an
/// error's), when the strict reading failed there.
pub fn literal_secret_at(text: &str, offset: usize) -> Option<VarName> {
    #[derive(Deserialize)]
    struct Lenient {
        #[serde(default)]
        secrets: BTreeMap<VarName, Spanned<String>>,
    }
    let lenient: Lenient = toml::from_str(text).ok()?;
    lenient.secrets.into_iter().find_map(|(name, value)| {
        let span = value.span();
        (span.contains(&offset) && Reference::parse(value.get_ref()).is_none()).then_some(name)
    })
}

/// A `[settings]` value: one line of text.
impl EntryValue for String {
    fn from_entry(name: &VarName, text: String) -> Result<String, BadEntry> {
        if text.contains(['\n', '\r']) {
            Err(BadEntry::NotOneLine(name.clone()))
        } else {
            Ok(text)
        }
    }
}

/// One entry: its value, and where its name and value are in the file.
#[derive(Clone, Debug)]
pub struct Entry<V> {
    pub name_span: Range<usize>,
    pub value: Spanned<V>,
}

/// A table of variable names, in name order.
#[derive(Clone, Debug)]
pub struct Table<V>(BTreeMap<VarName, Entry<V>>);

pub type Secrets = Table<Reference>;
pub type Settings = Table<String>;

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table(BTreeMap::new())
    }
}

impl<V> Table<V> {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.get(name).map(|e| e.value.get_ref())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(VarName::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(name, e)| (name.as_str(), e.value.get_ref()))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&VarName, &Entry<V>)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: EntryValue> Deserialize<'de> for Table<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(PhantomData<V>);
        impl<'de, V: EntryValue> Visitor<'de> for Entries<V> {
            type Value = Table<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of variable names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Table<V>, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<Spanned<VarName>>()? {
                    let value = map.next_value_seed(ValueOf::<V>(name.get_ref(), PhantomData))?;
                    let name_span = name.span();
                    out.insert(name.into_inner(), Entry { name_span, value });
                }
                Ok(Table(out))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

/// Parses one entry's value knowing its name, so that toml places the
/// error at the value and the message can name the variable.
struct ValueOf<'a, V>(&'a VarName, PhantomData<V>);

impl<'de, V: EntryValue> DeserializeSeed<'de> for ValueOf<'_, V> {
    type Value = Spanned<V>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Spanned<V>, D::Error> {
        let text = Spanned::<String>::deserialize(deserializer)?;
        let span = text.span();
        V::from_entry(self.0, text.into_inner())
            .map(|value| Spanned::new(span, value))
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_source() {
        assert_eq!(Reference::parse("${A_VAR}"), Some(Reference::Env("A_VAR".into())));
        assert_eq!(Reference::parse("${lower}"), Some(Reference::Env("lower".into())));
        assert_eq!(
            Reference::parse("bws:smtp-pass"),
            Some(Reference::Bitwarden("smtp-pass".into()))
        );
        assert_eq!(Reference::parse("doppler:C"), Some(Reference::Doppler("C".into())));
        for bad in [
            "sk-live",
            "${}",
            "${1A}",
            "${A B}",
            "bws:",
            "bws:-p",
            "doppler:a-b",
            "$A",
            "{A}",
        ] {
            assert_eq!(Reference::parse(bad), None, "{bad}");
        }
    }
}
