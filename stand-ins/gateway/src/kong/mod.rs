//! The gateway stand-in: Kong in DB-less mode, driven by the project's own `kong.yml`.
//!
//! At start it reads the file the project's entrypoint rendered (see [`config`]; the
//! `$(…)` templates in it are evaluated by [`lua`]), and then for each request: picks the route with the longest
//! matching path prefix (404 `no Route matched with those values` when none does), runs
//! that route's plugins (see [`plugins`]), strips the matched prefix when `strip_path` is
//! set, and forwards what is left to the service's URL. An upstream that does not resolve
//! answers 503, one that does not answer 502, as Kong words them.
//!
//! The wording of Kong's own refusals follows `STAND_IN_KONG_VERSION` ([`Dialect`]).

pub mod balancer;
pub mod config;
pub mod lua;
pub mod plugins;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use crate::http::{self, Request, Response, UpstreamError};
use crate::server::Handler;
use config::{Config, Route, Service};
use plugins::{Exchange, Plugin};

/// How Kong words its refusals: 2.x (`kong:2.8.1`) or 3.x (`kong:3.9.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Kong2,
    Kong3,
}

impl Dialect {
    /// From a version like `2.8.1`; empty means 3.x.
    pub fn parse(version: &str) -> Result<Dialect, String> {
        match version.split('.').next() {
            Some("2") => Ok(Dialect::Kong2),
            Some("3") | Some("") => Ok(Dialect::Kong3),
            _ => Err(format!(
                "STAND_IN_KONG_VERSION is {version:?}; use a Kong version like 2.8.1 or 3.9.1"
            )),
        }
    }

    /// `kong.response.error`: `{"message": …}`, with a `request_id` from Kong 3.
    pub fn error(self, status: u16, message: &str) -> Response {
        let body = match self {
            Dialect::Kong2 => serde_json::json!({ "message": message }),
            Dialect::Kong3 => serde_json::json!({ "message": message, "request_id": request_id() }),
        };
        Response::json(status, &body)
    }

    /// key-auth and basic-auth, for a credential no consumer holds.
    pub fn invalid_credentials(self) -> &'static str {
        match self {
            Dialect::Kong2 => "Invalid authentication credentials",
            Dialect::Kong3 => "Unauthorized",
        }
    }

    /// acl on a request no authentication plugin identified.
    pub fn acl_without_consumer(self) -> Response {
        match self {
            Dialect::Kong2 => self.error(
                403,
                "Cannot identify the consumer, add an authentication plugin to use the ACL plugin",
            ),
            Dialect::Kong3 => self.error(401, "Unauthorized"),
        }
    }
}

fn request_id() -> String {
    let state = RandomState::new();
    format!("{:016x}{:016x}", state.hash_one(1u8), state.hash_one(2u8))
}

/// Where the services behind the routes are reached.
pub trait Upstream: Send + Sync {
    fn send(&self, host: &str, port: u16, request: &Request) -> Result<Response, UpstreamError>;
}

/// Over TCP, the host names resolved by the system (Docker's DNS in a Compose network).
pub struct Network;

impl Upstream for Network {
    fn send(&self, host: &str, port: u16, request: &Request) -> Result<Response, UpstreamError> {
        http::send(host, port, request)
    }
}

pub struct Gateway {
    config: Config,
    dialect: Dialect,
    upstream: Box<dyn Upstream>,
}

/// Kong's path handling `v0`: the service path, then what the route left of the request path.
fn join(service: &str, rest: &str) -> String {
    if rest.is_empty() {
        return service.to_owned();
    }
    match (service.ends_with('/'), rest.starts_with('/')) {
        (true, true) => format!("{service}{}", &rest[1..]),
        _ => format!("{service}{rest}"),
    }
}

impl Gateway {
    pub fn new(config: Config, dialect: Dialect, upstream: Box<dyn Upstream>) -> Gateway {
        Gateway {
            config,
            dialect,
            upstream,
        }
    }

    /// The route for `path`: the longest matching prefix, the first on a tie.
    fn route(&self, path: &str) -> Option<(&Service, &Route, usize)> {
        let mut best: Option<(&Service, &Route, usize)> = None;
        for service in &self.config.services {
            for route in &service.routes {
                for prefix in &route.paths {
                    if path.starts_with(prefix.as_str()) && best.is_none_or(|(_, _, len)| prefix.len() > len) {
                        best = Some((service, route, prefix.len()));
                    }
                }
            }
        }
        best
    }

    /// The plugins of a route in the order Kong runs them.
    fn plugins<'a>(&'a self, service: &'a Service, route: &'a Route) -> Vec<&'a Plugin> {
        let mut out: Vec<&Plugin> = Vec::new();
        for plugin in self
            .config
            .global_plugins
            .iter()
            .chain(&service.plugins)
            .chain(&route.plugins)
        {
            out.retain(|p| p.name() != plugin.name());
            out.push(plugin);
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.priority()));
        out
    }
}

impl Handler for Gateway {
    fn handle(&self, request: &Request) -> Response {
        let Some((service, route, matched)) = self.route(&request.path) else {
            return self.dialect.error(404, "no Route matched with those values");
        };
        let mut exchange = Exchange {
            original: request,
            upstream: request.clone(),
            consumer: None,
        };
        for plugin in self.plugins(service, route) {
            if let Some(answer) = plugins::run(plugin, &mut exchange, &self.config.consumers, self.dialect) {
                return answer;
            }
        }
        let rest = if route.strip_path {
            &request.path[matched..]
        } else {
            request.path.as_str()
        };
        exchange.upstream.path = join(&service.path, rest);
        match self.upstream.send(&service.host, service.port, &exchange.upstream) {
            Ok(answer) => answer,
            Err(UpstreamError::Resolve) => self.dialect.error(503, "name resolution failed"),
            Err(UpstreamError::Connect) => self
                .dialect
                .error(502, "An invalid response was received from the upstream server"),
        }
    }

    fn health_path(&self) -> &str {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_kong() {
        assert_eq!(join("/", "health"), "/health");
        assert_eq!(join("/verify", ""), "/verify");
        assert_eq!(join("/verify", "/x"), "/verify/x");
        assert_eq!(join("/", "/x"), "/x");
        assert_eq!(join("/rpc/graphql", ""), "/rpc/graphql");
    }

    #[test]
    fn kong_versions_word_refusals_differently() {
        assert_eq!(
            Dialect::parse("2.8.1").unwrap().invalid_credentials(),
            "Invalid authentication credentials"
        );
        assert_eq!(Dialect::parse("3.9.1").unwrap().invalid_credentials(), "Unauthorized");
        let body = Dialect::Kong3.error(401, "Unauthorized").body_json();
        assert_eq!(body["request_id"].as_str().map(str::len), Some(32));
        assert!(Dialect::parse("1.0").is_err());
    }
}
