//! Where a new value comes from when the tool does not generate it: the
//! staging and prod Tier 1 values, and every Tier 2 value.

use crate::config::Env;
use crate::secrets::{Secret, SecretSpec};

/// The new value of `spec` from its source, or `None` when the source has none.
///
/// The process environment, under the variable's own name (an empty variable
/// counts as unset); prompts, `setup.conf` references and vaults come with the
/// sources module.
pub fn new_value_from_source(spec: &SecretSpec, env: Env) -> Option<Secret> {
    let _ = env;
    std::env::var(spec.name).ok().filter(|v| !v.is_empty()).map(Secret::new)
}
