//! The default report: an aligned table, one line a check that passed and one
//! line a problem, then a summary line.

use super::finding::{Report, Status};
use crate::printable::escaped;

/// Renders `report` as plain text for a terminal or a CI log.
pub fn render(report: &Report) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "STATUS".into(),
        "CHECK".into(),
        "WHERE".into(),
        "DETAIL".into(),
        "HOW TO FIX".into(),
    ]];
    for outcome in &report.outcomes {
        if outcome.findings.is_empty() {
            rows.push([
                Status::Pass.to_string(),
                outcome.check.id.into(),
                "-".into(),
                outcome.check.title.into(),
                "-".into(),
            ]);
        }
        for finding in &outcome.findings {
            rows.push([
                finding.status.to_string(),
                outcome.check.id.into(),
                finding.place.to_string(),
                finding.message.clone(),
                finding.fix.clone(),
            ]);
        }
    }
    for cell in rows.iter_mut().flatten() {
        *cell = escaped(cell).into_owned();
    }
    let mut widths = [0; 4];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::finding::{Check, Finding, Outcome, Where};

    static CHECK: Check = Check {
        id: "project.rules",
        scope: "project",
        title: "every secret follows its catalog rule",
    };

    #[test]
    fn one_line_a_problem_and_a_summary() {
        let mut failing = Outcome::new(&CHECK);
        failing.push(Finding::fail(
            Where::file("receptor-dev/.env")
                .line(Some(9))
                .with_variable("VAULT_ENC_KEY"),
            "VAULT_ENC_KEY must be exactly 32 characters (has 31)",
            "cargo xtask rotate VAULT_ENC_KEY",
        ));
        let report = Report::new(vec!["project"], false, vec![Outcome::new(&CHECK), failing]);
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("STATUS  CHECK"), "{text}");
        assert!(lines[1].starts_with("pass    project.rules"), "{text}");
        assert!(
            lines[2].starts_with("fail    project.rules  receptor-dev/.env:9 VAULT_ENC_KEY"),
            "{text}"
        );
        assert!(lines[2].ends_with("  cargo xtask rotate VAULT_ENC_KEY"), "{text}");
        assert_eq!(
            lines[3],
            "verify (project): 2 checks, 1 passed, 0 with warnings, 1 failed"
        );
    }
}
