//! Test stand-ins for the Supabase stack, for the real-stack tests that rotate keys on
//! running containers: the real images cannot be pulled where those tests run. Each
//! follows the contract of the program it replaces (its configuration, its status codes,
//! its error bodies), never what the tool under test happens to send.
//!
//! - [`kong`]: Kong in DB-less mode, driven by the project's own `kong.yml`
//! - [`front`]: the TCP front (nginx's stream module) that publishes Kong's ports, from
//!   the `nginx.conf` the nginx image renders from the template
//! - [`services`]: GoTrue, PostgREST and the edge runtime, each checking JWTs its way
//! - [`keys`]: every key decision, in one place
//!
//! Like the real programs, each reads its configuration once, at start: a changed value
//! takes effect in a new container only.

pub mod front;
pub mod http;
pub mod keys;
pub mod kong;
pub mod server;
pub mod services;
pub mod stop;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use keys::Env;
use server::Handler;

/// The largest `kong.yml` the gateway reads.
pub const MAX_KONG_YML: u64 = 1024 * 1024;

/// Which program a process stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kong,
    Auth,
    Rest,
    Functions,
    /// The TCP front before Kong ([`front`]).
    Front,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "kong" => Role::Kong,
            "auth" => Role::Auth,
            "rest" => Role::Rest,
            "functions" => Role::Functions,
            "front" => Role::Front,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Kong => "kong",
            Role::Auth => "auth",
            Role::Rest => "rest",
            Role::Functions => "functions",
            Role::Front => "front",
        }
    }

    /// Where it listens: Kong on `LISTEN` (default `0.0.0.0:8000`), the services on the
    /// port their own configuration names; the front where its healthcheck asks, port
    /// 8000 (the template's `nc -z 127.0.0.1 8000`: its `nginx.conf` names its ports).
    pub fn listen(self, env: Env<'_>) -> Result<SocketAddr, String> {
        let any = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        Ok(match self {
            Role::Kong => {
                let value = env("LISTEN")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "0.0.0.0:8000".into());
                value
                    .parse()
                    .map_err(|_| format!("LISTEN is not an address like 0.0.0.0:8000: {value}"))?
            }
            Role::Auth => any(services::gotrue::port(env)),
            Role::Rest => any(services::postgrest::port(env)),
            Role::Functions => any(services::edge::port(env)),
            Role::Front => any(8000),
        })
    }

    /// The stand-in, configured from `env` (and, for Kong, the template file it names).
    pub fn build(self, env: Env<'_>) -> Result<Arc<dyn Handler>, String> {
        Ok(match self {
            Role::Kong => Arc::new(gateway_from_env(
                env,
                Box::new(kong::balancer::Balancer::from_env(env)?),
            )?),
            Role::Auth => Arc::new(services::gotrue::GoTrue::from_env(env)?),
            Role::Rest => Arc::new(services::postgrest::PostgRest::from_env(env)?),
            Role::Functions => Arc::new(services::edge::EdgeRuntime::from_env(env)?),
            Role::Front => return Err("the front passes TCP connections on: see front::boot".into()),
        })
    }
}

/// Kong as its container starts: the declarative configuration at
/// `KONG_DECLARATIVE_CONFIG`, already rendered by the project's own entrypoint script
/// (the template's `volumes/api/kong-entrypoint.sh`, run by the image's `/bin/sh`, which
/// then execs `/entrypoint.sh kong docker-start`, this binary), worded as
/// `STAND_IN_KONG_VERSION` (default 3.x).
pub fn gateway_from_env(env: Env<'_>, upstream: Box<dyn kong::Upstream>) -> Result<kong::Gateway, String> {
    use std::io::Read;
    let path = env("KONG_DECLARATIVE_CONFIG").filter(|p| !p.is_empty()).ok_or(
        "KONG_DECLARATIVE_CONFIG is not set; it names the rendered kong.yml, as in the template's kong service",
    )?;
    let mut rendered = String::new();
    std::fs::File::open(&path)
        .and_then(|file| file.take(MAX_KONG_YML).read_to_string(&mut rendered))
        .map_err(|e| format!("cannot read the declarative config {path} (KONG_DECLARATIVE_CONFIG): {e}"))?;
    gateway_from_config(&rendered, env, upstream)
}

/// Kong for a rendered declarative configuration.
pub fn gateway_from_config(
    rendered: &str,
    env: Env<'_>,
    upstream: Box<dyn kong::Upstream>,
) -> Result<kong::Gateway, String> {
    let dialect = kong::Dialect::parse(&env("STAND_IN_KONG_VERSION").unwrap_or_default())?;
    let config = kong::config::Config::parse(rendered)?;
    Ok(kong::Gateway::new(config, dialect, upstream))
}
