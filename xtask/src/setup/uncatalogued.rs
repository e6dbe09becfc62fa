//! Variables of the `.env` outside the catalog that hold a published default
//! (the Supabase CLI's fixed `sb_` keys, a published JWT secret, a key set of
//! one): setup cannot make them, so it names them; staging and prod refuse them.

use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::secrets::defaults;

/// Warns about each one in dev; refuses the run (exit 2) in staging and prod.
pub fn check(env: &EnvFile, strict: bool) -> Result<()> {
    let vars = env.keys().into_iter().map(|name| {
        let value = env.get(&name).unwrap_or_default();
        (name, value)
    });
    let lines: Vec<String> = defaults::outside_catalog(vars)
        .iter()
        .map(|name| {
            format!(
                "{}:{}: {name} is a published default value, known to anybody; replace it with a value of your own",
                env.path().display(),
                env.line_of(name).unwrap_or(0)
            )
        })
        .collect();
    if strict && !lines.is_empty() {
        return Err(Error::Refused(lines));
    }
    for line in lines {
        eprintln!("warning: {line}");
    }
    Ok(())
}
