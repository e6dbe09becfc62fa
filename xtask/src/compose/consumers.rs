//! Which services read which `.env` variable, derived from the compose file
//! itself, so rotation recreates exactly those services, and which of them
//! read a variable only when their volume is first initialised (recreating
//! those would change nothing but cost downtime).

use std::collections::{BTreeMap, BTreeSet};

use crate::secrets::name;

/// What the database image does with its environment, a catalog note: the
/// PostgreSQL entrypoint applies `POSTGRES_PASSWORD` only when it initialises
/// an empty data directory, and Supabase's init scripts copy `JWT_SECRET` into
/// the database then; afterwards both live inside the database, where rotate
/// changes them with SQL.
pub const DATABASE_READS_AT_INIT: &[&str] = &[name::POSTGRES_PASSWORD, name::JWT_SECRET];

/// Variable name → the services whose configuration references it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumers {
    /// Services that read the variable at run time: a change needs a new container.
    pub by_variable: BTreeMap<String, BTreeSet<String>>,
    /// Services that read the variable only at first initialisation.
    pub init_only: BTreeMap<String, BTreeSet<String>>,
    /// The service that runs the database, when the compose file has one.
    pub database: Option<String>,
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

    /// The services of `variables` that read them only at first initialisation
    /// (and not at run time), sorted.
    pub fn init_only_reading<'a>(&self, variables: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out = BTreeSet::new();
        for var in variables {
            out.extend(self.init_only.get(var).into_iter().flatten().cloned());
        }
        out.into_iter().collect()
    }

    /// The variables `service` reads only at first initialisation.
    pub fn init_only_of(&self, service: &str) -> BTreeSet<String> {
        self.init_only
            .iter()
            .filter(|(_, services)| services.contains(service))
            .map(|(var, _)| var.clone())
            .collect()
    }
}

/// Whether `image` is a PostgreSQL server image: its repository's last path
/// component is `postgres` (`postgres:15`, `supabase/postgres:15.8`,
/// `registry/x/postgres@sha256:…`), not `postgres-meta` or `postgrest`.
pub fn is_database_image(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name = without_digest.rsplit('/').next().unwrap_or(without_digest);
    name.split(':').next() == Some("postgres")
}

/// The database service of a resolved config document (images interpolated):
/// the one service whose image is a PostgreSQL server. `None` when there is
/// none, or several.
pub fn database_service(config: &serde_json::Value) -> Option<String> {
    let services = config.get("services")?.as_object()?;
    let mut found = services.iter().filter(|(_, definition)| {
        definition
            .get("image")
            .and_then(|i| i.as_str())
            .is_some_and(is_database_image)
    });
    let first = found.next()?.0.clone();
    found.next().is_none().then_some(first)
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

/// The consumer map of an uninterpolated `config --format json` document,
/// `database` being the database service (see [`database_service`]), if any.
pub fn consumers_from_config(config: &serde_json::Value, database: Option<&str>) -> Consumers {
    let mut consumers = Consumers {
        database: database.map(str::to_string),
        ..Consumers::default()
    };
    if let Some(services) = config.get("services").and_then(|s| s.as_object()) {
        for (service, definition) in services {
            let mut vars = BTreeSet::new();
            collect_strings(definition, &mut vars);
            // The database reads these at init only when nothing but its
            // environment names them (a healthcheck or command reads at run time).
            let mut outside_environment = BTreeSet::new();
            if let Some(map) = definition.as_object() {
                for (key, value) in map.iter().filter(|(key, _)| key.as_str() != "environment") {
                    outside_environment.extend(referenced_variables(key));
                    collect_strings(value, &mut outside_environment);
                }
            }
            let is_database = consumers.database.as_deref() == Some(service.as_str());
            for var in vars {
                let init_only = is_database
                    && DATABASE_READS_AT_INIT.contains(&var.as_str())
                    && !outside_environment.contains(&var);
                let map = if init_only {
                    &mut consumers.init_only
                } else {
                    &mut consumers.by_variable
                };
                map.entry(var).or_default().insert(service.clone());
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
        let c = consumers_from_config(&config, None);
        assert_eq!(
            c.services_reading(["ANON_KEY"]),
            vec!["kong".to_string(), "rest".to_string()]
        );
        assert_eq!(c.services_reading(["JWT_SECRET"]), vec!["rest".to_string()]);
        assert_eq!(c.database, None);
    }

    #[test]
    fn the_database_reads_its_password_and_jwt_secret_at_init_only() {
        let config = serde_json::json!({"services": {
            "db": {"image": "supabase/postgres:15.8.1.085", "environment": {
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}", "JWT_SECRET": "${JWT_SECRET}", "PGPORT": "${POSTGRES_PORT}"}},
            "meta": {"image": "supabase/postgres-meta:v0.91", "environment": {"PG_META_DB_PASSWORD": "${POSTGRES_PASSWORD}"}},
            "rest": {"image": "postgrest/postgrest:v12", "environment": {"PGRST_JWT_SECRET": "${JWT_SECRET}"}},
        }});
        assert_eq!(database_service(&config).as_deref(), Some("db"));
        let c = consumers_from_config(&config, Some("db"));
        assert_eq!(c.database.as_deref(), Some("db"));
        assert_eq!(
            c.services_reading(["JWT_SECRET", "POSTGRES_PASSWORD"]),
            ["meta", "rest"]
        );
        assert_eq!(c.init_only_reading(["JWT_SECRET"]), ["db"]);
        assert_eq!(c.services_reading(["POSTGRES_PORT"]), ["db"], "read at run time");
        assert_eq!(
            c.init_only_of("db").into_iter().collect::<Vec<_>>(),
            ["JWT_SECRET", "POSTGRES_PASSWORD"]
        );

        // A healthcheck that logs in with the password reads it at run time.
        let mut checked = config.clone();
        checked["services"]["db"]["healthcheck"] =
            serde_json::json!({"test": ["CMD", "psql", "postgres://x:${POSTGRES_PASSWORD}@localhost"]});
        let c = consumers_from_config(&checked, Some("db"));
        assert_eq!(c.services_reading(["POSTGRES_PASSWORD"]), ["db", "meta"]);

        // Without a database image there is no database service.
        let mut none = config;
        none["services"].as_object_mut().unwrap().remove("db");
        assert_eq!(database_service(&none), None);
        assert_eq!(
            consumers_from_config(&none, None).services_reading(["JWT_SECRET"]),
            ["rest"]
        );
        assert!(is_database_image("postgres:15") && is_database_image("ghcr.io/x/postgres@sha256:ab"));
        assert!(!is_database_image("supabase/postgres-meta:v1") && !is_database_image("postgrest/postgrest"));
    }
}
