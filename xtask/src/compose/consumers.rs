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
    super::interpolation::variables_in(text)
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

/// The direct dependencies (`depends_on`) of each service of a config document.
fn dependencies(config: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    if let Some(services) = config.get("services").and_then(|s| s.as_object()) {
        for (service, definition) in services {
            let deps: BTreeSet<String> = match definition.get("depends_on") {
                Some(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
                Some(serde_json::Value::Array(list)) => {
                    list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
                }
                _ => BTreeSet::new(),
            };
            out.insert(service.clone(), deps);
        }
    }
    out
}

/// `services` in layers, dependents first: no service comes before one that
/// depends on it, directly or through other services. Recreating a layer at
/// a time keeps each dependency running (on its old container) while the
/// services above it come back, instead of stopping them all at once.
pub fn layers(config: &serde_json::Value, services: &[String]) -> Vec<Vec<String>> {
    let deps = dependencies(config);
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(s) = stack.pop() {
            for d in deps.get(&s).into_iter().flatten() {
                if d == to {
                    return true;
                }
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        false
    };
    let mut left: Vec<String> = services.to_vec();
    left.sort();
    left.dedup();
    let mut out = Vec::new();
    while !left.is_empty() {
        // Services that no other remaining service depends on.
        let (layer, rest): (Vec<String>, Vec<String>) = left
            .iter()
            .cloned()
            .partition(|s| !left.iter().any(|other| other != s && reaches(other, s)));
        if layer.is_empty() {
            out.push(rest);
            break;
        }
        out.push(layer);
        left = rest;
    }
    out
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
    fn layers_put_dependents_before_what_they_depend_on() {
        let config = serde_json::json!({"services": {
            "db": {},
            "analytics": {"depends_on": {"db": {"condition": "service_healthy"}}},
            "kong": {"depends_on": ["analytics"]},
            "rest": {"depends_on": {"db": {}}},
            "functions": {"depends_on": {"db": {}}},
        }});
        let all: Vec<String> = ["db", "functions", "kong", "rest"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let layers = layers(&config, &all);
        assert_eq!(
            layers,
            vec![
                vec!["functions".to_string(), "kong".to_string(), "rest".to_string()],
                vec!["db".to_string()]
            ],
            "kong reaches db through analytics, which is not recreated"
        );
        assert_eq!(layers_of_one(&config), vec![vec!["kong".to_string()]]);
    }

    fn layers_of_one(config: &serde_json::Value) -> Vec<Vec<String>> {
        layers(config, &["kong".to_string()])
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
