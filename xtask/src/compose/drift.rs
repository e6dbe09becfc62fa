//! Drift: whether each running container still runs with the values now in
//! `.env`. Reports variable and service names only, never values.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::ComposeError;
use super::consumers::referenced_variables;

/// The drift of the whole project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    pub services: Vec<ServiceDrift>,
}

impl Drift {
    pub fn is_clean(&self) -> bool {
        self.services.is_empty()
    }

    /// Services to recreate to apply `.env`, sorted.
    pub fn services(&self) -> Vec<String> {
        self.services.iter().map(|s| s.service.clone()).collect()
    }
}

/// One service running with values other than those in `.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDrift {
    pub service: String,
    /// `.env` variables whose current value the container does not have.
    pub variables: Vec<String>,
}

/// The environment of a container, `NAME → value`, from `docker inspect`.
/// Holds secrets: used only for comparison.
pub fn container_env(id: &str) -> Result<BTreeMap<String, String>, ComposeError> {
    let out = super::docker("docker", Duration::from_secs(60))
        .args(["inspect", "--format", "{{json .Config.Env}}", "--", id])
        .any_status()
        .run()?;
    if !out.success() {
        return Err(super::errors::classify(
            &String::from_utf8_lossy(&out.stderr),
            Some(out.code()),
        ));
    }
    let list: Vec<String> = serde_json::from_slice(&out.stdout).map_err(|_| ComposeError::Unexpected {
        detail: "docker inspect printed something else".into(),
    })?;
    Ok(list
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect())
}

fn environment(config: &serde_json::Value, service: &str) -> BTreeMap<String, String> {
    config
        .pointer(&format!("/services/{service}/environment"))
        .and_then(|e| e.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares one service's resolved environment with its container's.
pub fn compare(
    service: &str,
    resolved: &serde_json::Value,
    uninterpolated: &serde_json::Value,
    running: &BTreeMap<String, String>,
) -> Option<ServiceDrift> {
    // `config` writes a literal `$` as `$$`, so its output reads back the same.
    let wanted: BTreeMap<String, String> = environment(resolved, service)
        .into_iter()
        .map(|(k, v)| (k, v.replace("$$", "$")))
        .collect();
    let templates = environment(uninterpolated, service);
    let mut variables = BTreeSet::new();
    for (key, value) in &wanted {
        if running.get(key) != Some(value) {
            let referenced = templates.get(key).map(|t| referenced_variables(t)).unwrap_or_default();
            if referenced.is_empty() {
                variables.insert(format!("{key} (set in the compose file)"));
            } else {
                variables.extend(referenced);
            }
        }
    }
    (!variables.is_empty()).then(|| ServiceDrift {
        service: service.to_string(),
        variables: variables.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_value_names_the_env_variable_behind_it() {
        let resolved = serde_json::json!({"services": {"rest": {"environment": {"PGRST_JWT_SECRET": "new", "PGRST_DB_SCHEMAS": "public"}}}});
        let raw = serde_json::json!({"services": {"rest": {"environment": {"PGRST_JWT_SECRET": "${JWT_SECRET}", "PGRST_DB_SCHEMAS": "public"}}}});
        let running: BTreeMap<String, String> = [("PGRST_JWT_SECRET", "old"), ("PGRST_DB_SCHEMAS", "public")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let drift = compare("rest", &resolved, &raw, &running).unwrap();
        assert_eq!(drift.variables, vec!["JWT_SECRET".to_string()]);
        let same: BTreeMap<String, String> = [("PGRST_JWT_SECRET", "new"), ("PGRST_DB_SCHEMAS", "public")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(compare("rest", &resolved, &raw, &same).is_none());
    }

    #[test]
    fn a_dollar_that_config_escaped_is_no_drift() {
        let resolved = serde_json::json!({"services": {"auth": {"environment": {"SMTP": "pa$$$$ss"}}}});
        let raw = serde_json::json!({"services": {"auth": {"environment": {"SMTP": "${SMTP_PASS}"}}}});
        let running: BTreeMap<String, String> = [("SMTP".to_string(), "pa$$ss".to_string())].into();
        assert!(compare("auth", &resolved, &raw, &running).is_none());
    }
}
