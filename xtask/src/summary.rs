//! The table a task prints: one row a variable, what happened to it and
//! where its value came from, never the value.

use std::fmt;

use crate::printable::escaped;
use crate::secrets::Tier;

pub use crate::sources::Source;

/// What a run did with one variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Generated,
    Kept,
    Minted,
    /// A derived key that did not verify under the current `JWT_SECRET`, signed again.
    Reminted,
    ReplacedDefault,
    /// Made from other secrets where there was nothing (`JWT_JWKS` from `JWT_KEYS`).
    Derived,
    /// A key set made to match the values it follows again (its `oct` key, its public keys).
    Rebuilt,
    LeftEmpty,
    /// A secret no service of the project's compose files reads: not made.
    Unused,
    /// A value from a source where the `.env` had none.
    Set,
    /// A value from a source over a different one.
    Replaced,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Generated => "generated",
            Action::Kept => "kept",
            Action::Minted => "minted",
            Action::Reminted => "re-minted",
            Action::ReplacedDefault => "replaced default",
            Action::Derived => "derived",
            Action::Rebuilt => "rebuilt",
            Action::LeftEmpty => "left empty",
            Action::Unused => "unused",
            Action::Set => "set",
            Action::Replaced => "replaced",
        })
    }
}

impl Action {
    pub fn changes_file(self) -> bool {
        !matches!(self, Action::Kept | Action::LeftEmpty | Action::Unused)
    }

    /// `Set` where there was nothing, `Replaced` over another value, else `Kept`.
    pub fn for_value(current: &str, new: &str) -> Action {
        if current == new {
            Action::Kept
        } else if current.is_empty() {
            Action::Set
        } else {
            Action::Replaced
        }
    }
}

/// One row of the summary.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    /// `None` for a setting that is not a secret.
    pub tier: Option<Tier>,
    pub action: Action,
    pub source: Source,
    pub note: String,
}

/// Renders rows as an aligned plain-text table, then the names that changed.
pub fn render(rows: &[Row]) -> String {
    let width = |header: &str, cell: &dyn Fn(&Row) -> usize| rows.iter().map(cell).max().unwrap_or(0).max(header.len());
    let name_width = width("VARIABLE", &|r| escaped(&r.name).chars().count());
    let action_width = width("ACTION", &|r| r.action.to_string().len());
    let source_width = width("SOURCE", &|r| r.source.to_string().len());
    let mut out = format!(
        "{:<name_width$}  TIER  {:<action_width$}  {:<source_width$}  NOTE\n",
        "VARIABLE", "ACTION", "SOURCE"
    );
    for row in rows {
        let tier = row.tier.map_or("-".to_string(), |t| t.number().to_string());
        let line = format!(
            "{:<name_width$}  {tier:<4}  {:<action_width$}  {:<source_width$}  {}",
            escaped(&row.name),
            row.action.to_string(),
            row.source.to_string(),
            escaped(&row.note)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let changed: Vec<&str> = rows
        .iter()
        .filter(|r| r.action.changes_file())
        .map(|r| r.name.as_str())
        .collect();
    if !changed.is_empty() {
        out.push_str(&format!("changed: {}\n", escaped(&changed.join(", "))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_action_and_source_and_the_changed_names() {
        let rows = [
            Row {
                name: "JWT_SECRET".into(),
                tier: Some(Tier::One),
                action: Action::Set,
                source: Source::Environment,
                note: String::new(),
            },
            Row {
                name: "SITE_URL".into(),
                tier: None,
                action: Action::Kept,
                source: Source::SetupConf,
                note: String::new(),
            },
        ];
        assert_eq!(
            render(&rows),
            "VARIABLE    TIER  ACTION  SOURCE       NOTE\n\
             JWT_SECRET  1     set     environment\n\
             SITE_URL    -     kept    setup.conf\n\
             changed: JWT_SECRET\n"
        );
    }
}
