//! Bitwarden Secrets Manager: one `bws secret list <PROJECT_ID> --output json`
//! a run, the access token in the child's `BWS_ACCESS_TOKEN`, never in argv.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::Environment;
use super::vault::{self, Vault, VaultError, json_position, says};
use crate::secrets::Secret;

pub const TOKEN: &str = "BWS_ACCESS_TOKEN";

/// One secret of the listed project.
#[derive(Clone, PartialEq, Eq)]
pub struct BwsSecret {
    pub id: String,
    pub key: String,
    pub value: Secret,
}

impl fmt::Debug for BwsSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BwsSecret")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The fields of `bws secret list --output json` this tool reads; the
/// others (organizationId, note, dates…) are ignored.
#[derive(Deserialize)]
struct Listed {
    id: String,
    key: String,
    value: String,
}

/// Every secret of `project_id` that the token in `BWS_ACCESS_TOKEN` may read.
pub fn list(
    program: &str,
    project_id: &str,
    env: &Environment,
    timeout: Duration,
) -> Result<Vec<BwsSecret>, VaultError> {
    let Some(token) = env.secret(TOKEN) else {
        return Err(VaultError::NotAuthenticated {
            program: program.into(),
            hint: format!("{TOKEN} is not set; export the machine account's access token (never pass it with -t)"),
        });
    };
    let args: Vec<String> = ["secret", "list", project_id, "--output", "json"]
        .map(String::from)
        .into();
    let settings: Vec<(&str, String)> = ["BWS_SERVER_URL"]
        .into_iter()
        .filter_map(|name| env.plain(name).map(|v| (name, v.to_string())))
        .collect();
    let out = vault::run(
        Vault::Bitwarden,
        program,
        &args,
        &settings,
        Some((TOKEN, &token)),
        env,
        timeout,
    )?;
    if !out.status.success() {
        return Err(classify(program, project_id, out.code(), &out.stderr));
    }
    parse(program, &out.stdout)
}

fn parse(program: &str, stdout: &[u8]) -> Result<Vec<BwsSecret>, VaultError> {
    let listed: Vec<Listed> = serde_json::from_slice(stdout).map_err(|err| VaultError::Malformed {
        program: program.into(),
        detail: format!("expected a JSON array of secrets: {}", json_position(&err)),
    })?;
    Ok(listed
        .into_iter()
        .map(|s| BwsSecret {
            id: s.id,
            key: s.key,
            value: Secret::new(s.value),
        })
        .collect())
}

/// Maps a failed run to what the operator must do, from the tool's error output.
fn classify(program: &str, project_id: &str, code: i32, stderr: &[u8]) -> VaultError {
    if says(
        stderr,
        &[
            "access token",
            "unauthorized",
            "401",
            "invalid token",
            "forbidden",
            "403",
        ],
    ) {
        VaultError::NotAuthenticated {
            program: program.into(),
            hint: format!(
                "{TOKEN} was refused; check that the access token is current and the machine account can read the project"
            ),
        }
    } else if says(stderr, &["not found", "404", "resource not found"]) {
        VaultError::NotFound {
            program: program.into(),
            what: format!("project {project_id}"),
            place: "in Bitwarden Secrets Manager".into(),
        }
    } else {
        VaultError::Failed {
            program: program.into(),
            code,
            retry: format!("{program} secret list {project_id} --output json"),
        }
    }
}

/// The value `reference` names: a secret's key, else its id.
pub fn pick<'a>(
    secrets: &'a [BwsSecret],
    reference: &str,
    program: &str,
    project_id: &str,
) -> Result<&'a Secret, VaultError> {
    let by_key: Vec<&BwsSecret> = secrets.iter().filter(|s| s.key == reference).collect();
    let place = format!("in project {project_id}");
    match by_key.as_slice() {
        [one] => Ok(&one.value),
        [] => secrets
            .iter()
            .find(|s| s.id == reference)
            .map(|s| &s.value)
            .ok_or_else(|| VaultError::NotFound {
                program: program.into(),
                what: format!("secret {reference}"),
                place,
            }),
        _ => Err(VaultError::Ambiguous {
            program: program.into(),
            what: format!("key {reference}"),
            place,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_listing_is_read_with_awkward_values_intact() {
        let json = r#"[
          {"id":"be8e0ad8-d545-4017-a55a-b02f014d4158","organizationId":"10e8cbfa-7bd2-4361-bd6f-b02e013f9c41",
           "projectId":"e325ea69-a3ab-4dff-836f-b02e013fe530","key":"smtp-pass",
           "value":"it's \"q\" $HOME a=b\nline two ünï","note":"","creationDate":"2024-01-01T00:00:00Z",
           "revisionDate":"2024-01-01T00:00:00Z"}
        ]"#;
        let secrets = parse("bws", json.as_bytes()).unwrap();
        assert_eq!(secrets[0].key, "smtp-pass");
        assert_eq!(secrets[0].value.expose(), "it's \"q\" $HOME a=b\nline two ünï");
        let by_id = pick(&secrets, "be8e0ad8-d545-4017-a55a-b02f014d4158", "bws", "p").unwrap();
        assert_eq!(by_id, &secrets[0].value);
        assert!(matches!(
            pick(&secrets, "nope", "bws", "p"),
            Err(VaultError::NotFound { .. })
        ));
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("HOME"), "{shown}");
    }

    #[test]
    fn malformed_output_is_described_without_quoting_it() {
        for bad in [
            r#"{"not":"an array"}"#,
            r#"[{"id":"a","key":"k","value":7}]"#,
            "[{",
            "canary-secret",
        ] {
            let err = parse("bws", bad.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with("bws: malformed output"), "{err}");
            assert!(
                !err.contains("canary") && !err.contains("an array") && !err.contains('7'),
                "{err}"
            );
        }
    }

    #[test]
    fn a_duplicate_key_is_ambiguous() {
        let s = |id: &str| BwsSecret {
            id: id.into(),
            key: "k".into(),
            value: Secret::new("v"),
        };
        let secrets = [s("1"), s("2")];
        assert!(matches!(
            pick(&secrets, "k", "bws", "p"),
            Err(VaultError::Ambiguous { .. })
        ));
    }

    #[test]
    fn errors_are_classified_from_the_tools_output_never_quoted() {
        let err = classify("bws", "p", 1, b"Error: [401 Unauthorized] canary");
        assert!(matches!(err, VaultError::NotAuthenticated { .. }));
        assert!(!err.to_string().contains("canary"));
        assert!(matches!(
            classify("bws", "p", 1, b"404 Not Found"),
            VaultError::NotFound { .. }
        ));
        let other = classify("bws", "p", 3, b"panic canary");
        assert_eq!(
            other.to_string(),
            "bws failed with exit code 3; run `bws secret list p --output json` yourself to see why"
        );
    }
}
