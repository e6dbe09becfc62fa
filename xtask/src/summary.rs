//! The table a task prints: one row a variable, what happened to it, never a value.

use std::fmt;

/// What a run did with one variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Generated,
    Kept,
    Minted,
    /// A derived key that did not verify under the current `JWT_SECRET`, signed again.
    Reminted,
    ReplacedDefault,
    LeftEmpty,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Generated => "generated",
            Action::Kept => "kept",
            Action::Minted => "minted",
            Action::Reminted => "re-minted",
            Action::ReplacedDefault => "replaced default",
            Action::LeftEmpty => "left empty",
        })
    }
}

impl Action {
    pub fn changes_file(self) -> bool {
        !matches!(self, Action::Kept | Action::LeftEmpty)
    }
}

/// One row of the summary.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: &'static str,
    pub tier: u8,
    pub action: Action,
    pub note: String,
}

/// Renders rows as an aligned plain-text table.
pub fn render(rows: &[Row]) -> String {
    let name_width = rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(8)
        .max("VARIABLE".len());
    let action_width = rows
        .iter()
        .map(|r| r.action.to_string().len())
        .max()
        .unwrap_or(6)
        .max("ACTION".len());
    let mut out = format!("{:<name_width$}  TIER  {:<action_width$}  NOTE\n", "VARIABLE", "ACTION");
    for row in rows {
        let line = format!(
            "{:<name_width$}  {:<4}  {:<action_width$}  {}",
            row.name,
            row.tier,
            row.action.to_string(),
            row.note
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
