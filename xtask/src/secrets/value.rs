//! The redacted type every secret value travels in.

use std::fmt;

/// A secret value. `Debug` never shows it and there is no `Display`:
/// reading the value is the explicit, greppable call [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The empty value, for a caller that checks an unset variable as empty
    /// (a probe that must then be refused): a choice made where it is called.
    pub fn empty() -> Self {
        Secret(String::new())
    }

    /// The value itself. Every use of this is a place a secret could leak.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("canary-3f9a1c");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("canary"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}
