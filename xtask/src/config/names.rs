//! The names `setup.conf` holds, each a type that only a valid name can be:
//! variable names, vault ids and program names. A name that reaches a
//! child's argv is one plain element that can never read as a flag.

use std::borrow::Borrow;
use std::fmt;

use serde::Deserialize;

/// A `.env` variable name: `[A-Z_][A-Z0-9_]*`.
///
/// Docker Compose interpolates `${NAME}` for `[A-Za-z_][A-Za-z0-9_]*`; the
/// stack's own names are upper case, so `setup.conf` takes only those: every
/// name it writes can be read as `${NAME}` by the compose file, and none
/// holds a space, a control character or anything a shell would expand.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct VarName(String);

impl VarName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_valid(name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }
}

/// A name of `setup.conf` that is not one. Shows a name only as [`shown`] does.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error(
        "{} is not a variable name: use upper-case letters, digits and `_`, not starting with a digit",
        shown(.0)
    )]
    VarName(String),
    #[error(
        "a vault project, config or id may hold only letters, digits, `_`, `-` and `.`, and must not start with `-`"
    )]
    VaultId,
    #[error("a vault command must be a program name found on PATH: no path, no spaces, not starting with `-`")]
    Program,
}

/// As the message shows it: a name typed by mistake may be a value.
impl fmt::Debug for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadName::VarName(name) => f.debug_tuple("VarName").field(&shown(name)).finish(),
            BadName::VaultId => f.write_str("VaultId"),
            BadName::Program => f.write_str("Program"),
        }
    }
}

impl TryFrom<String> for VarName {
    type Error = BadName;

    fn try_from(name: String) -> Result<VarName, BadName> {
        if VarName::is_valid(&name) {
            Ok(VarName(name))
        } else {
            Err(BadName::VarName(name))
        }
    }
}

impl Borrow<str> for VarName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `name` as a message may show it: itself when it is a plain identifier
/// (letters, digits, `_`, `-`, `.`, at most 64 of them), else a phrase. A
/// quoted key can hold `=`, control characters and a value typed by mistake.
pub fn shown(name: &str) -> String {
    let plain =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if plain {
        name.to_string()
    } else {
        "this name (not shown)".to_string()
    }
}

/// A vault project, config or secret id: one safe argv element.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct VaultId(String);

impl VaultId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_valid(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= 128
            && !id.starts_with('-')
            && id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    }
}

impl TryFrom<String> for VaultId {
    type Error = BadName;

    fn try_from(id: String) -> Result<VaultId, BadName> {
        if VaultId::is_valid(&id) {
            Ok(VaultId(id))
        } else {
            Err(BadName::VaultId)
        }
    }
}

/// A program looked up on `PATH`: a bare name, never a path, never a flag.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Program(String);

impl Program {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Program {
    type Error = BadName;

    fn try_from(name: String) -> Result<Program, BadName> {
        let ok = !name.is_empty()
            && !name.starts_with('-')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if ok { Ok(Program(name)) } else { Err(BadName::Program) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_are_upper_case_identifiers_and_never_echo_what_is_not() {
        for good in ["SMTP_PASS", "_X", "A1", "OPENAI_API_KEY"] {
            assert!(VarName::try_from(good.to_string()).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1A",
            "smtp_pass",
            "A B",
            "A\tB",
            "A\u{1b}B",
            "A\0B",
            "A-B",
            "A=B",
            "ÄB",
        ] {
            assert!(VarName::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
        let err = VarName::try_from("X = sk-canary".to_string()).unwrap_err();
        assert!(!format!("{err:?}").contains("canary"), "{err:?}");
        let err = err.to_string();
        assert!(!err.contains("canary"), "{err}");
        assert!(
            VarName::try_from("lower".to_string())
                .unwrap_err()
                .to_string()
                .starts_with("lower is not")
        );
    }

    #[test]
    fn vault_ids_and_programs_are_one_plain_argv_element() {
        assert!(VaultId::try_from("e325ea69-a3ab".to_string()).is_ok());
        for bad in ["", "-p", "a b", "a/b", "a\nb"] {
            assert!(VaultId::try_from(bad.to_string()).is_err(), "{bad:?}");
            assert!(Program::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
        assert!(Program::try_from("/tmp/bws".to_string()).is_err());
    }
}
