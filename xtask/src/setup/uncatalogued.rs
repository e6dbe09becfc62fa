//! Variables of the `.env` outside the catalog that hold a published default
//! (the Supabase CLI's fixed `sb_` keys, a published JWT secret, a key set of
//! one): setup cannot make them, so it names them; staging and prod refuse them.

use super::Refusal;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::secrets::defaults;

/// Warns about each one in dev; refuses the run (exit 2) in staging and prod.
pub fn check(env: &EnvFile, strict: bool) -> Result<()> {
    let vars = env.keys().into_iter().map(|name| {
        let value = env.get(&name).unwrap_or_default();
        (name, value)
    });
    let lines: Vec<Refusal> = defaults::outside_catalog(vars)
        .into_iter()
        .map(|name| Refusal::Uncatalogued {
            at: env.at(&name),
            name,
        })
        .collect();
    if strict && !lines.is_empty() {
        return Err(Error::refused(lines));
    }
    for line in lines {
        eprintln!("warning: {line}");
    }
    Ok(())
}
