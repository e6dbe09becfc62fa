//! Kong's DNS cache after a plain recreate: whether Kong must be recreated after the
//! services it routes to.
//!
//! Kong resolves each service's name and caches the answer for `KONG_DNS_VALID_TTL`
//! seconds, else for the answer's TTL (600 seconds from Docker's embedded DNS). A
//! container Compose recreates gets whatever address Docker gives it then: another one,
//! or the old address of another service recreated with it (Docker hands out the lowest
//! free one). Kong would keep sending that service's requests to its old address until
//! the cache runs out. When a recreate touches services Kong routes to but not Kong, and
//! Kong caches longer than a start-first recreate waits ([`MAX_DNS_TTL_SECS`]), Kong is
//! recreated after them: a new Kong resolves every name afresh.

use serde_json::Value;

use super::start_first::{GATEWAY, MAX_DNS_TTL_SECS, cache_secs};

/// The services Supabase's `kong.yml` routes to (`realtime` under its container name).
pub const ROUTED: &[&str] = &[
    "auth",
    "rest",
    "realtime",
    "storage",
    "functions",
    "analytics",
    "meta",
    "studio",
];

/// The variable that sets how long Kong caches a resolved name.
const TTL_VARIABLE: &str = "KONG_DNS_VALID_TTL";

/// Kong must be recreated after the services in `behind`, because of how it caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    pub gateway: String,
    pub behind: Vec<String>,
    /// How long Kong caches, and why: "600 s (no KONG_DNS_VALID_TTL: …)".
    pub cache: String,
}

impl Refresh {
    /// Why, as one clause: "it caches the addresses of auth, rest for 600 s (…) and …".
    pub fn why(&self) -> String {
        format!(
            "it caches the addresses of {} for {} and would keep sending to their old containers",
            self.behind.join(", "),
            self.cache
        )
    }
}

/// Whether `gateway` must follow a recreate of `recreated`, per `config`
/// (uninterpolated): it is a service of the stack, not among them, at least one of them
/// is one it routes to, and it caches their addresses too long.
pub fn refresh(config: &Value, recreated: &[String]) -> Option<Refresh> {
    config.pointer(&format!("/services/{GATEWAY}"))?;
    if recreated.iter().any(|s| s == GATEWAY) {
        return None;
    }
    let behind: Vec<String> = recreated
        .iter()
        .filter(|s| ROUTED.contains(&s.as_str()))
        .cloned()
        .collect();
    if behind.is_empty() {
        return None;
    }
    let written = config.pointer(&format!("/services/{GATEWAY}/environment/{TTL_VARIABLE}"));
    let cache = match (cache_secs(config, GATEWAY, TTL_VARIABLE), written) {
        (Some(secs), _) if secs <= MAX_DNS_TTL_SECS => return None,
        (Some(secs), _) => format!("{secs} s ({TTL_VARIABLE})"),
        (None, None | Some(Value::Null)) => {
            format!("600 s (no {TTL_VARIABLE}: the TTL Docker's DNS gives every answer)")
        }
        (None, Some(_)) => format!("up to 600 s ({TTL_VARIABLE} is not a plain number of seconds)"),
    };
    Some(Refresh {
        gateway: GATEWAY.to_string(),
        behind,
        cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn without_a_short_ttl_kong_follows_the_services_it_routes_to() {
        let upstream = json!({"services": {"kong": {"environment": {"KONG_DATABASE": "off"}}, "rest": {}, "db": {}}});
        let refresh = refresh(&upstream, &names(&["auth", "db", "rest", "supavisor"])).unwrap();
        assert_eq!(refresh.gateway, "kong");
        assert_eq!(refresh.behind, names(&["auth", "rest"]));
        assert!(
            refresh.why().contains("for 600 s (no KONG_DNS_VALID_TTL"),
            "{}",
            refresh.why()
        );

        let long = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "300"}}}});
        assert!(
            super::refresh(&long, &names(&["rest"]))
                .unwrap()
                .cache
                .starts_with("300 s")
        );
        let unreadable = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "${TTL}"}}}});
        assert!(
            super::refresh(&unreadable, &names(&["rest"]))
                .unwrap()
                .cache
                .starts_with("up to 600 s")
        );
    }

    #[test]
    fn kong_is_left_alone_when_it_resolves_again_soon_is_recreated_itself_or_routes_to_none_of_them() {
        let short = json!({"services": {"kong": {"environment": {"KONG_DNS_VALID_TTL": "0"}}}});
        assert_eq!(refresh(&short, &names(&["rest"])), None);
        let upstream = json!({"services": {"kong": {}}});
        assert_eq!(refresh(&upstream, &names(&["kong", "rest"])), None);
        assert_eq!(refresh(&upstream, &names(&["db", "supavisor", "vector"])), None);
        assert_eq!(
            refresh(&json!({"services": {"rest": {}}}), &names(&["rest"])),
            None,
            "no kong"
        );
    }
}
