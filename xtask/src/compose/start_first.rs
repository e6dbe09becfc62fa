//! Start-first recreates: which services may run a new container next to the
//! old one for a moment, and how long the gateway needs to learn the new one.
//!
//! Compose's own recreate stops the old container before it creates the new
//! one: the gateway answers 502 or 503 for that service until the new one is
//! up. A stateless service behind Kong can instead be scaled to two with
//! `--no-recreate` (the old container keeps its configuration, the new one
//! gets the new), both answer under the service's name in Docker's DNS, and
//! the old one is stopped once Kong has re-resolved the name: a request Kong
//! still sends to the old address fails to connect and is retried on the new.
//!
//! How long "once Kong has re-resolved" is comes from the gateway service's
//! `KONG_DNS_VALID_TTL` (Kong caches a record that long instead of the TTL of
//! Docker's embedded DNS, 600 seconds). Without a short one, waiting it out
//! would take longer than the outage it avoids, so the service is recreated
//! the plain way, and Kong after it ([`super::gateway_cache`]). Kong itself is
//! in the same place behind `kong-front`, the TCP front that publishes its
//! port, with the front's `FRONT_DNS_VALID`.

use std::time::Duration;

use serde_json::Value;

/// The stateless services behind Kong of the Supabase stack: each keeps no
/// state of its own between requests (all of it is in the database or a
/// shared volume), so two containers of one may run side by side.
/// Kong (DB-less: its configuration is rendered at start) is one too.
pub const STATELESS_BEHIND_GATEWAY: &[&str] = &[
    "auth",
    "rest",
    "realtime",
    "storage",
    "functions",
    "studio",
    "meta",
    GATEWAY,
];

/// The gateway service whose DNS cache decides the drain time of the others.
pub const GATEWAY: &str = "kong";

/// The TCP front that publishes the gateway's port and resolves it by name.
pub const FRONT: &str = "kong-front";

/// The longest `KONG_DNS_VALID_TTL` a start-first recreate waits out.
pub const MAX_DNS_TTL_SECS: u64 = 60;

/// What Kong adds to the TTL before a refreshed record is in use (the request
/// that finds a record expired is served from it while the refresh runs), and
/// time for the new container's address to reach Docker's DNS.
const REFRESH_MARGIN: Duration = Duration::from_secs(1);

/// How a set of services is recreated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Recreated start-first, each with the time its old container is kept
    /// after the new one is healthy.
    pub start_first: Vec<(String, Duration)>,
    /// Recreated by Compose, the old container stopped first.
    pub stop_first: Vec<String>,
}

impl Method {
    pub fn start_first_names(&self) -> Vec<String> {
        self.start_first.iter().map(|(name, _)| name.clone()).collect()
    }
}

/// The start-first services among `services`, per `config` (uninterpolated:
/// it holds no `.env` value) and the database service.
pub fn method(config: &Value, services: &[String], database: Option<&str>) -> Method {
    let mut method = Method {
        start_first: Vec::new(),
        stop_first: Vec::new(),
    };
    for service in services {
        match drain(config, service).filter(|_| eligible(config, service, database)) {
            Some(drain) => method.start_first.push((service.clone(), drain)),
            None => method.stop_first.push(service.clone()),
        }
    }
    method
}

/// How long to keep `service`'s old container after the new one is healthy:
/// the DNS cache time of whoever resolves its name (the front for Kong, Kong
/// for the others) plus its refresh; `None` when that one is absent or caches
/// longer than [`MAX_DNS_TTL_SECS`]. The front's `FRONT_DNS_VALID` becomes
/// nginx's `resolver … valid=`, where 0 is no value: nginx then keeps each
/// answer for its TTL, Docker's 600 seconds.
pub fn drain(config: &Value, service: &str) -> Option<Duration> {
    let ttl = if service == GATEWAY {
        cache_secs(config, FRONT, "FRONT_DNS_VALID").filter(|valid| *valid > 0)?
    } else {
        cache_secs(config, GATEWAY, "KONG_DNS_VALID_TTL")?
    };
    (ttl <= MAX_DNS_TTL_SECS).then(|| Duration::from_secs(ttl) + REFRESH_MARGIN)
}

/// The seconds `variable` of `resolver`'s environment sets, when it is a plain
/// number (uninterpolated `config`: a `${…}` is no number).
pub fn cache_secs(config: &Value, resolver: &str, variable: &str) -> Option<u64> {
    config
        .pointer(&format!("/services/{resolver}/environment/{variable}"))?
        .as_str()?
        .trim()
        .parse::<u64>()
        .ok()
}

/// Whether two containers of `service` can run at once: a known stateless
/// service, not the database, with no fixed container name, no published host
/// port and no network namespace of its own choosing (each would collide or
/// be shared by the two).
pub fn eligible(config: &Value, service: &str, database: Option<&str>) -> bool {
    let Some(definition) = config.pointer(&format!("/services/{service}")) else {
        return false;
    };
    let set = |key: &str| definition.get(key).is_some_and(|v| !v.is_null());
    STATELESS_BEHIND_GATEWAY.contains(&service)
        && database != Some(service)
        && !set("container_name")
        && definition
            .get("ports")
            .and_then(Value::as_array)
            .is_none_or(|ports| ports.is_empty())
        && !set("network_mode")
        && !set("scale")
        && definition.pointer("/deploy/replicas").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_drain_is_kongs_dns_ttl_and_its_refresh() {
        let config = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "5"}}}});
        assert_eq!(drain(&config, "rest"), Some(Duration::from_secs(6)));
        assert_eq!(drain(&config, "kong"), None, "no front resolves kong");
        let every_request = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "0"}}}});
        assert_eq!(drain(&every_request, "rest"), Some(Duration::from_secs(1)));
        let docker_ttl = json!({"services": {"kong": {"environment": {}}}});
        assert_eq!(drain(&docker_ttl, "rest"), None);
        let long = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "600"}}}});
        assert_eq!(drain(&long, "rest"), None);
        let interpolated = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "${TTL}"}}}});
        assert_eq!(drain(&interpolated, "rest"), None);
        let front = json!({"services": {"kong-front": {"environment": {"FRONT_DNS_VALID": "1"}}}});
        assert_eq!(drain(&front, "kong"), Some(Duration::from_secs(2)));
        let answers_ttl = json!({"services": {"kong-front": {"environment": {"FRONT_DNS_VALID": "0"}}}});
        assert_eq!(
            drain(&answers_ttl, "kong"),
            None,
            "valid=0s: nginx keeps the answer's 600 s"
        );
    }

    #[test]
    fn only_stateless_services_without_fixed_names_or_ports_start_first() {
        let config = json!({"services": {
            "kong": {"environment": {"KONG_DNS_VALID_TTL": "1"}, "ports": [{"published": "8000"}]},
            "rest": {},
            "auth": {"container_name": "supabase-auth"},
            "studio": {"ports": [{"published": "3000"}]},
            "storage": {"volumes": [{"source": "storage-data"}]},
            "db": {},
            "supavisor": {},
        }});
        let method = method(
            &config,
            &names(&["auth", "db", "kong", "rest", "storage", "studio", "supavisor"]),
            Some("db"),
        );
        assert_eq!(method.start_first_names(), names(&["rest", "storage"]));
        assert_eq!(method.stop_first, names(&["auth", "db", "kong", "studio", "supavisor"]));
    }

    #[test]
    fn without_a_short_gateway_ttl_everything_is_recreated_stop_first() {
        let config = json!({"services": {"kong": {}, "rest": {}}});
        let method = method(&config, &names(&["rest"]), None);
        assert!(method.start_first.is_empty());
        assert_eq!(method.stop_first, names(&["rest"]));
    }

    #[test]
    fn behind_its_front_kong_is_recreated_start_first() {
        let fronted = json!({"services": {
            "kong": {"environment": {"KONG_DNS_VALID_TTL": "0"}},
            "kong-front": {"environment": {"FRONT_DNS_VALID": "1"}, "ports": [{"published": "8000"}]},
        }});
        let method = method(&fronted, &names(&["kong", "kong-front"]), None);
        assert_eq!(method.start_first, vec![("kong".to_string(), Duration::from_secs(2))]);
        assert_eq!(method.stop_first, names(&["kong-front"]));
    }
}
