//! `--format junit`: the report as a JUnit XML test report, the format GitLab
//! reads from `artifacts:reports:junit`. One testsuite a scope, one testcase a
//! check; a failing check holds one `<failure>` listing its problems, one a
//! line, and warnings go to the testcase's `<system-out>`.

use super::finding::{Outcome, Report, Status};

/// Renders `report` as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let failed = report.count(Status::Fail);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"cargo xtask verify\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">\n",
        report.outcomes.len()
    ));
    for scope in &report.scopes {
        let cases: Vec<&Outcome> = report.outcomes.iter().filter(|o| o.check.scope == *scope).collect();
        let failures = cases.iter().filter(|o| o.status() == Status::Fail).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
            escape(scope),
            cases.len()
        ));
        for case in cases {
            testcase(&mut out, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, outcome: &Outcome) {
    let check = outcome.check;
    out.push_str(&format!(
        "    <testcase classname=\"verify.{}\" name=\"{}\"",
        escape(check.scope),
        escape(check.id)
    ));
    if outcome.findings.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    let lines = |status: Status| -> Vec<String> {
        outcome
            .findings
            .iter()
            .filter(|f| f.status == status)
            .map(|f| format!("{}: {} (fix: {})", f.place, f.message, f.fix))
            .collect()
    };
    let failures = lines(Status::Fail);
    if !failures.is_empty() {
        out.push_str(&format!(
            "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
            escape(check.id),
            escape(&format!("{}: {} problem(s)", check.title, failures.len())),
            escape(&failures.join("\n"))
        ));
    }
    let warnings = lines(Status::Warn);
    if !warnings.is_empty() {
        out.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(
                &warnings
                    .iter()
                    .map(|w| format!("warning: {w}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        ));
    }
    out.push_str("    </testcase>\n");
}

/// Text safe inside an XML attribute or element; characters XML 1.0 forbids are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
