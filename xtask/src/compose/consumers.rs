//! Which services read which `.env` variable, derived from the compose file
//! itself, so rotation recreates exactly those services.

use std::collections::{BTreeMap, BTreeSet};

/// Variable name → the services whose configuration references it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumers {
    pub by_variable: BTreeMap<String, BTreeSet<String>>,
}

impl Consumers {
    /// The services that read any of `variables`, sorted.
    pub fn services_reading<'a>(&self, variables: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out = BTreeSet::new();
        for var in variables {
            if let Some(services) = self.by_variable.get(var) {
                out.extend(services.iter().cloned());
            }
        }
        out.into_iter().collect()
    }

    pub fn of(&self, variable: &str) -> BTreeSet<String> {
        self.by_variable.get(variable).cloned().unwrap_or_default()
    }
}

/// Every variable `text` interpolates: `$NAME`, `${NAME}`, `${NAME:-default}`
/// and the names nested in defaults. `$$` is a literal dollar.
pub fn referenced_variables(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let start = i + 2;
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                if end > start {
                    out.insert(text[start..end].to_string());
                }
                i = end;
            }
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let start = i + 1;
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                out.insert(text[start..end].to_string());
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

fn collect_strings(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::String(s) => out.extend(referenced_variables(s)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                out.extend(referenced_variables(key));
                collect_strings(v, out);
            }
        }
        _ => {}
    }
}

/// The consumer map of an uninterpolated `config --format json` document.
pub fn consumers_from_config(config: &serde_json::Value) -> Consumers {
    let mut consumers = Consumers::default();
    if let Some(services) = config.get("services").and_then(|s| s.as_object()) {
        for (service, definition) in services {
            let mut vars = BTreeSet::new();
            collect_strings(definition, &mut vars);
            for var in vars {
                consumers.by_variable.entry(var).or_default().insert(service.clone());
            }
        }
    }
    consumers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_of_every_form_are_found_and_dollar_dollar_is_not_one() {
        let found =
            referenced_variables("postgres://u:${POSTGRES_PASSWORD}@${HOST:-db}/$DB ${JWT_JWKS:-${JWT_SECRET}} $$NOT");
        let expected: BTreeSet<String> = ["POSTGRES_PASSWORD", "HOST", "DB", "JWT_JWKS", "JWT_SECRET"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn services_are_mapped_per_variable() {
        let config = serde_json::json!({"services": {
            "kong": {"environment": {"KEY": "${ANON_KEY}"}},
            "rest": {"environment": {"PGRST_JWT_SECRET": "${JWT_SECRET}"}, "command": ["x", "$ANON_KEY"]},
        }});
        let c = consumers_from_config(&config);
        assert_eq!(
            c.services_reading(["ANON_KEY"]),
            vec!["kong".to_string(), "rest".to_string()]
        );
        assert_eq!(c.services_reading(["JWT_SECRET"]), vec!["rest".to_string()]);
    }
}
