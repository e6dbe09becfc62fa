//! The findings model: checks, what each found, and the report they make.
//!
//! A finding names a check, a status, where (a variable, or file:line) and the
//! exact command that fixes it. It never holds a secret value.

use std::fmt;

use serde::Serialize;

/// How a check came out. Ordered: the worst finding decides a check's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        })
    }
}

/// One check: a stable id (documented in docs/verify.md) and what it proves.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub scope: &'static str,
    pub title: &'static str,
}

/// Where a finding is: a file (and line), a variable, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Where {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub variable: Option<String>,
    /// The git object holding the content, for findings in history.
    pub object: Option<String>,
    /// The running service or endpoint, for findings of the live scope.
    pub service: Option<String>,
}

impl Where {
    pub fn file(path: impl Into<String>) -> Where {
        Where {
            file: Some(path.into()),
            ..Where::default()
        }
    }

    pub fn variable(name: impl Into<String>) -> Where {
        Where {
            variable: Some(name.into()),
            ..Where::default()
        }
    }

    /// A running service (`kong`) or endpoint (`gateway http://127.0.0.1:8000`).
    pub fn service(name: impl Into<String>) -> Where {
        Where {
            service: Some(name.into()),
            ..Where::default()
        }
    }

    pub fn line(self, line: Option<usize>) -> Where {
        Where { line, ..self }
    }

    pub fn with_variable(self, name: impl Into<String>) -> Where {
        Where {
            variable: Some(name.into()),
            ..self
        }
    }

    pub fn object(self, id: impl Into<String>) -> Where {
        Where {
            object: Some(id.into()),
            ..self
        }
    }
}

impl fmt::Display for Where {
    /// `receptor-dev/.env:12 JWT_SECRET`, `docs/notes.md:3`, `ANON_KEY` or `-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(match self.line {
                Some(line) => format!("{file}:{line}"),
                None => file.clone(),
            });
        }
        if let Some(object) = &self.object {
            parts.push(format!("(blob {})", &object[..object.len().min(12)]));
        }
        if let Some(service) = &self.service {
            parts.push(service.clone());
        }
        if let Some(variable) = &self.variable {
            parts.push(variable.clone());
        }
        if parts.is_empty() {
            f.write_str("-")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// One problem found by a check.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub status: Status,
    #[serde(rename = "where")]
    pub place: Where,
    /// What is wrong, in one line, naming variables, never values.
    pub message: String,
    /// The exact command or edit that fixes it.
    pub fix: String,
}

impl Finding {
    pub fn fail(place: Where, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Fail,
            place,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A line a check that passed shows (an overlap under way, and until when).
    pub fn pass(place: Where, message: impl Into<String>) -> Finding {
        Finding {
            status: Status::Pass,
            fix: "-".into(),
            ..Finding::fail(place, message, "")
        }
    }

    pub fn warn(place: Where, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Warn,
            ..Finding::fail(place, message, fix)
        }
    }
}

/// A check that ran, with what it found (nothing found: it passed).
#[derive(Debug)]
pub struct Outcome {
    pub check: &'static Check,
    pub findings: Vec<Finding>,
}

impl Outcome {
    pub fn new(check: &'static Check) -> Outcome {
        Outcome {
            check,
            findings: Vec::new(),
        }
    }

    pub fn status(&self) -> Status {
        self.findings.iter().map(|f| f.status).max().unwrap_or(Status::Pass)
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// Every check that ran, in order, for the renderers and the exit code.
#[derive(Debug)]
pub struct Report {
    pub scopes: Vec<&'static str>,
    pub strict: bool,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// With `strict`, every warning counts as a failure.
    pub fn new(scopes: Vec<&'static str>, strict: bool, mut outcomes: Vec<Outcome>) -> Report {
        if strict {
            for finding in outcomes.iter_mut().flat_map(|o| o.findings.iter_mut()) {
                if finding.status == Status::Warn {
                    finding.status = Status::Fail;
                }
            }
        }
        Report {
            scopes,
            strict,
            outcomes,
        }
    }

    /// How many checks ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|o| o.status() == status).count()
    }

    /// 0 when no check failed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.count(Status::Fail) > 0)
    }

    /// `3 checks: 1 passed, 1 warning, 1 failed`.
    pub fn summary(&self) -> String {
        format!(
            "verify ({}): {} checks, {} passed, {} with warnings, {} failed",
            self.scopes.join(", "),
            self.outcomes.len(),
            self.count(Status::Pass),
            self.count(Status::Warn),
            self.count(Status::Fail)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CHECK: Check = Check {
        id: "repo.example",
        scope: "repo",
        title: "an example",
    };

    #[test]
    fn where_reads_as_file_line_and_variable() {
        assert_eq!(
            Where::file("receptor-dev/.env")
                .line(Some(3))
                .with_variable("JWT_SECRET")
                .to_string(),
            "receptor-dev/.env:3 JWT_SECRET"
        );
        assert_eq!(Where::variable("ANON_KEY").to_string(), "ANON_KEY");
        assert_eq!(Where::default().to_string(), "-");
    }

    #[test]
    fn strict_turns_warnings_into_failures() {
        let outcome = || {
            let mut o = Outcome::new(&CHECK);
            o.push(Finding::warn(Where::default(), "soon", "fix"));
            o
        };
        assert_eq!(Report::new(vec!["repo"], false, vec![outcome()]).exit_code(), 0);
        assert_eq!(Report::new(vec!["repo"], true, vec![outcome()]).exit_code(), 1);
    }
}
