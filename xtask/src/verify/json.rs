//! `--format json`: the report as one JSON document, schema documented in
//! docs/verify.md. Fields are only ever added; a removal or change of meaning
//! bumps `schema_version`.

use serde::Serialize;

use super::finding::{Finding, Report, Status};

/// The version of the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: &'static str,
    scopes: &'a [&'static str],
    strict: bool,
    exit_code: i32,
    summary: Summary,
    checks: Vec<CheckEntry<'a>>,
}

#[derive(Serialize)]
struct Summary {
    checks: usize,
    passed: usize,
    warnings: usize,
    failed: usize,
}

#[derive(Serialize)]
struct CheckEntry<'a> {
    id: &'static str,
    scope: &'static str,
    title: &'static str,
    status: Status,
    findings: &'a [Finding],
}

/// Renders `report` as pretty-printed JSON, ending with a newline.
pub fn render(report: &Report) -> String {
    let document = Document {
        schema_version: SCHEMA_VERSION,
        tool: "cargo xtask verify",
        scopes: &report.scopes,
        strict: report.strict,
        exit_code: report.exit_code(),
        summary: Summary {
            checks: report.outcomes.len(),
            passed: report.count(Status::Pass),
            warnings: report.count(Status::Warn),
            failed: report.count(Status::Fail),
        },
        checks: report
            .outcomes
            .iter()
            .map(|o| CheckEntry {
                id: o.check.id,
                scope: o.check.scope,
                title: o.check.title,
                status: o.status(),
                findings: &o.findings,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("plain data always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::finding::{Check, Outcome, Where};

    static CHECK: Check = Check {
        id: "repo.leak-jwt",
        scope: "repo",
        title: "no tracked file holds a Supabase-shaped JWT",
    };

    #[test]
    fn every_documented_field_is_there() {
        let mut outcome = Outcome::new(&CHECK);
        outcome.push(Finding::fail(
            Where::file("docs/a.md").line(Some(3)),
            "a JWT",
            "remove it",
        ));
        let report = Report::new(vec!["repo"], false, vec![outcome]);
        let value: serde_json::Value = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["exit_code"], 1);
        assert_eq!(value["summary"]["failed"], 1);
        let finding = &value["checks"][0]["findings"][0];
        assert_eq!(value["checks"][0]["status"], "fail");
        assert_eq!(finding["where"]["file"], "docs/a.md");
        assert_eq!(finding["where"]["line"], 3);
        assert!(finding["where"]["variable"].is_null());
        assert_eq!(finding["fix"], "remove it");
    }
}
