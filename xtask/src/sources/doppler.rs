//! Doppler: one `doppler secrets download --no-file --format json` a run,
//! the token in the child's `DOPPLER_TOKEN`, never in argv.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Environment;
use super::vault::{self, Vault, VaultError, json_position, says};
use crate::secrets::Secret;

pub const TOKEN: &str = "DOPPLER_TOKEN";

/// Where the secrets are read: `setup.conf`'s project and config, else the
/// ones `DOPPLER_PROJECT` / `DOPPLER_CONFIG` or the token itself select.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope<'a> {
    pub project: Option<&'a str>,
    pub config: Option<&'a str>,
}

/// Every secret of the scope, by name.
pub fn download(
    program: &str,
    scope: Scope<'_>,
    env: &Environment,
    timeout: Duration,
) -> Result<BTreeMap<String, Secret>, VaultError> {
    let mut args: Vec<String> = ["secrets", "download", "--no-file", "--format", "json"]
        .map(String::from)
        .into();
    if let Some(project) = scope.project {
        args.extend(["--project".into(), project.into()]);
    }
    if let Some(config) = scope.config {
        args.extend(["--config".into(), config.into()]);
    }
    let mut settings: Vec<(&'static str, String)> = vec![("DOPPLER_ENABLE_VERSION_CHECK", "false".into())];
    for name in ["DOPPLER_PROJECT", "DOPPLER_CONFIG", "DOPPLER_API_HOST"] {
        if let Some(value) = env.plain(name) {
            settings.push((name, value.to_string()));
        }
    }
    let token = env.secret(TOKEN);
    let token = token.as_ref().map(|t| (TOKEN, t));
    let out = vault::run(Vault::Doppler, program, &args, &settings, token, env, timeout)?;
    if !out.status.success() {
        return Err(classify(program, scope, out.code(), &out.stderr));
    }
    parse(program, &out.stdout)
}

fn parse(program: &str, stdout: &[u8]) -> Result<BTreeMap<String, Secret>, VaultError> {
    let flat: BTreeMap<String, String> = serde_json::from_slice(stdout).map_err(|err| VaultError::Malformed {
        program: program.into(),
        detail: format!(
            "expected a flat JSON object of names and string values: {}",
            json_position(&err)
        ),
    })?;
    Ok(flat.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
}

fn place(scope: Scope<'_>) -> String {
    match (scope.project, scope.config) {
        (Some(p), Some(c)) => format!("in project {p}, config {c}"),
        (Some(p), None) => format!("in project {p}"),
        (None, Some(c)) => format!("in config {c}"),
        (None, None) => "in the token's project and config".into(),
    }
}

fn classify(program: &str, scope: Scope<'_>, code: i32, stderr: &[u8]) -> VaultError {
    if says(
        stderr,
        &[
            "unauthorized",
            "unable to authenticate",
            "invalid auth token",
            "must provide a token",
            "401",
            "403",
            "forbidden",
        ],
    ) {
        VaultError::NotAuthenticated {
            program: program.into(),
            hint: format!("set {TOKEN} to a service token that can read the config, or run `{program} login`"),
        }
    } else if says(stderr, &["could not find", "not found", "404"]) {
        VaultError::NotFound {
            program: program.into(),
            what: "the project or config".into(),
            place: place(scope),
        }
    } else {
        let mut retry = format!("{program} secrets download --no-file --format json");
        if let Some(p) = scope.project {
            retry.push_str(&format!(" --project {p}"));
        }
        if let Some(c) = scope.config {
            retry.push_str(&format!(" --config {c}"));
        }
        VaultError::Failed {
            program: program.into(),
            code,
            retry,
        }
    }
}

/// The value of `name` in a download.
pub fn pick<'a>(
    secrets: &'a BTreeMap<String, Secret>,
    name: &str,
    program: &str,
    scope: Scope<'_>,
) -> Result<&'a Secret, VaultError> {
    secrets.get(name).ok_or_else(|| VaultError::NotFound {
        program: program.into(),
        what: format!("secret {name}"),
        place: place(scope),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_download_is_read_with_awkward_values_intact() {
        let json = r#"{"DOPPLER_CONFIG":"prd","DOPPLER_ENVIRONMENT":"prd","DOPPLER_PROJECT":"receptor",
            "SMTP_PASS":"it's \"q\" $HOME a=b ünï","PEM":"line one\nline two"}"#;
        let secrets = parse("doppler", json.as_bytes()).unwrap();
        assert_eq!(secrets["SMTP_PASS"].expose(), "it's \"q\" $HOME a=b ünï");
        assert_eq!(secrets["PEM"].expose(), "line one\nline two");
        let scope = Scope::default();
        assert!(pick(&secrets, "SMTP_PASS", "doppler", scope).is_ok());
        let err = pick(&secrets, "MISSING", "doppler", scope).unwrap_err().to_string();
        assert_eq!(
            err,
            "doppler: secret MISSING not found in the token's project and config; check the name in setup.conf [secrets] and the token's access"
        );
    }

    #[test]
    fn non_string_values_and_garbage_are_malformed_and_never_quoted() {
        for bad in [r#"{"A":{"nested":"canary"}}"#, r#"{"A":1234567}"#, "canary", ""] {
            let err = parse("doppler", bad.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with("doppler: malformed output"), "{err}");
            assert!(!err.contains("canary") && !err.contains("1234567"), "{err}");
        }
    }

    #[test]
    fn errors_are_classified_never_quoted() {
        let scope = Scope {
            project: Some("receptor"),
            config: Some("prd"),
        };
        let err = classify("doppler", scope, 1, b"Doppler Error: Invalid Auth token canary");
        assert!(matches!(err, VaultError::NotAuthenticated { .. }));
        assert!(!err.to_string().contains("canary"));
        let err = classify(
            "doppler",
            scope,
            1,
            b"Doppler Error: Could not find requested config 'prd'",
        );
        assert!(err.to_string().contains("in project receptor, config prd"), "{err}");
    }
}
