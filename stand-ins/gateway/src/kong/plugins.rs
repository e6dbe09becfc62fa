//! The plugins of the Supabase `kong.yml`, applied the way Kong applies them: in order of
//! Kong's plugin priorities (cors 2000, key-auth 1250, basic-auth 1100, acl 950,
//! request-transformer 801, request-termination 2, post-function -1000), a route's
//! plugin replacing the service's plugin of the same name.

use base64::Engine;

use super::Dialect;
use super::config::Consumer;
use super::lua::{self, Piece, RuntimeError};
use crate::http::{Request, Response};
use crate::keys::same_bytes;

/// A header or query value of request-transformer: text and `$(…)` expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value(Vec<Piece>);

impl Value {
    pub fn parse(raw: &str) -> Result<Value, String> {
        let raw = raw.trim();
        lua::template(raw)
            .map(Value)
            .map_err(|e| format!("cannot be evaluated by the stand-in: {e}"))
    }

    fn render(&self, request: &Request) -> Result<String, RuntimeError> {
        lua::render(&self.0, request)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transform {
    pub remove_headers: Vec<String>,
    pub rename_headers: Vec<(String, String)>,
    pub replace_headers: Vec<(String, Value)>,
    pub add_headers: Vec<(String, Value)>,
    pub append_headers: Vec<(String, Value)>,
    pub remove_query: Vec<String>,
    pub replace_query: Vec<(String, Value)>,
    pub add_query: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plugin {
    Cors,
    KeyAuth {
        key_names: Vec<String>,
        hide_credentials: bool,
        key_in_header: bool,
        key_in_query: bool,
    },
    BasicAuth {
        hide_credentials: bool,
    },
    Acl {
        allow: Vec<String>,
        deny: Vec<String>,
        hide_groups_header: bool,
    },
    RequestTransformer(Transform),
    RequestTermination {
        status: u16,
        message: Option<String>,
        body: Option<String>,
    },
    PostFunction {
        clear_when_empty: Vec<String>,
    },
    /// `enabled: false`: configured, never run.
    Disabled(String),
}

impl Plugin {
    pub fn name(&self) -> &str {
        match self {
            Plugin::Cors => "cors",
            Plugin::KeyAuth { .. } => "key-auth",
            Plugin::BasicAuth { .. } => "basic-auth",
            Plugin::Acl { .. } => "acl",
            Plugin::RequestTransformer(_) => "request-transformer",
            Plugin::RequestTermination { .. } => "request-termination",
            Plugin::PostFunction { .. } => "post-function",
            Plugin::Disabled(name) => name,
        }
    }

    pub fn priority(&self) -> i32 {
        match self {
            Plugin::Cors => 2000,
            Plugin::KeyAuth { .. } => 1250,
            Plugin::BasicAuth { .. } => 1100,
            Plugin::Acl { .. } => 950,
            Plugin::RequestTransformer(_) => 801,
            Plugin::RequestTermination { .. } => 2,
            Plugin::PostFunction { .. } => -1000,
            Plugin::Disabled(_) => i32::MIN,
        }
    }
}

/// One request on its way through the plugins.
pub struct Exchange<'a> {
    /// As the client sent it: what key-auth and the templates read.
    pub original: &'a Request,
    /// What goes to the service.
    pub upstream: Request,
    pub consumer: Option<&'a Consumer>,
}

/// Runs `plugin`; `Some` is the answer that ends the request there.
pub fn run<'a>(
    plugin: &Plugin,
    exchange: &mut Exchange<'a>,
    consumers: &'a [Consumer],
    dialect: Dialect,
) -> Option<Response> {
    match plugin {
        Plugin::Cors => {
            let preflight = exchange.original.method == "OPTIONS"
                && exchange.original.header("origin").is_some()
                && exchange.original.header("access-control-request-method").is_some();
            preflight.then(|| {
                let mut answer = Response::text(200, "");
                answer.headers.clear();
                answer
                    .with_header("Access-Control-Allow-Origin", "*")
                    .with_header("Access-Control-Allow-Credentials", "false")
            })
        }
        Plugin::KeyAuth {
            key_names,
            hide_credentials,
            key_in_header,
            key_in_query,
        } => key_auth(
            exchange,
            consumers,
            dialect,
            key_names,
            *hide_credentials,
            *key_in_header,
            *key_in_query,
        ),
        Plugin::BasicAuth { hide_credentials } => basic_auth(exchange, consumers, dialect, *hide_credentials),
        Plugin::Acl {
            allow,
            deny,
            hide_groups_header,
        } => {
            let Some(consumer) = exchange.consumer else {
                return Some(dialect.acl_without_consumer());
            };
            let member = |groups: &[String]| groups.iter().any(|g| consumer.groups.contains(g));
            if (!allow.is_empty() && !member(allow)) || member(deny) {
                return Some(dialect.error(403, "You cannot consume this service"));
            }
            if !hide_groups_header {
                exchange
                    .upstream
                    .set_header("X-Consumer-Groups", &consumer.groups.join(", "));
            }
            None
        }
        Plugin::RequestTransformer(t) => match transform(t, exchange) {
            Ok(()) => None,
            Err(RuntimeError) => Some(dialect.error(500, "An unexpected error occurred")),
        },
        Plugin::RequestTermination { status, message, body } => Some(match body {
            Some(body) => Response::text(*status, body),
            None => dialect.error(*status, message.as_deref().unwrap_or("Service unavailable")),
        }),
        Plugin::PostFunction { clear_when_empty } => {
            for name in clear_when_empty {
                if exchange.upstream.header(name).is_some_and(|v| v.trim().is_empty()) {
                    exchange.upstream.remove_header(name);
                }
            }
            None
        }
        Plugin::Disabled(_) => None,
    }
}

fn key_auth<'a>(
    exchange: &mut Exchange<'a>,
    consumers: &'a [Consumer],
    dialect: Dialect,
    key_names: &[String],
    hide_credentials: bool,
    in_header: bool,
    in_query: bool,
) -> Option<Response> {
    let request = exchange.original;
    let mut found = None;
    for name in key_names {
        if in_header && request.header_count(name) > 1 {
            return Some(dialect.error(401, "Duplicate API key found"));
        }
        let value = in_header
            .then(|| request.header(name))
            .flatten()
            .or_else(|| in_query.then(|| request.query_param(name)).flatten());
        if let Some(value) = value {
            found = Some((name, value));
            break;
        }
    }
    let key = match found {
        Some((_, key)) if !key.is_empty() => key,
        _ => {
            return Some(
                dialect
                    .error(401, "No API key found in request")
                    .with_header("WWW-Authenticate", "Key realm=\"kong\""),
            );
        }
    };
    let owner = consumers.iter().find(|c| c.keys.iter().any(|k| same_bytes(k, key)));
    let Some(owner) = owner else {
        return Some(dialect.error(401, dialect.invalid_credentials()));
    };
    if hide_credentials && let Some((name, _)) = found {
        exchange.upstream.remove_header(name);
        exchange.upstream.remove_query_param(name);
    }
    authenticated(exchange, owner);
    None
}

fn basic_auth<'a>(
    exchange: &mut Exchange<'a>,
    consumers: &'a [Consumer],
    dialect: Dialect,
    hide_credentials: bool,
) -> Option<Response> {
    let header = exchange
        .original
        .header("authorization")
        .filter(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
        .or_else(|| exchange.original.header("proxy-authorization"));
    let Some(header) = header else {
        return Some(
            dialect
                .error(401, "Unauthorized")
                .with_header("WWW-Authenticate", "Basic realm=\"kong\""),
        );
    };
    let decoded = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let owner = decoded
        .as_deref()
        .and_then(|pair| pair.split_once(':'))
        .and_then(|(user, pass)| {
            consumers
                .iter()
                .find(|c| c.basic.iter().any(|(u, p)| same_bytes(u, user) & same_bytes(p, pass)))
        });
    let Some(owner) = owner else {
        return Some(dialect.error(401, dialect.invalid_credentials()));
    };
    if hide_credentials {
        exchange.upstream.remove_header("authorization");
        exchange.upstream.remove_header("proxy-authorization");
    }
    authenticated(exchange, owner);
    None
}

fn authenticated<'a>(exchange: &mut Exchange<'a>, consumer: &'a Consumer) {
    exchange.consumer = Some(consumer);
    exchange.upstream.set_header("X-Consumer-Username", &consumer.username);
    exchange.upstream.remove_header("X-Anonymous-Consumer");
}

/// Kong's order: remove, rename, replace, add, append; headers, then the query string.
fn transform(t: &Transform, exchange: &mut Exchange<'_>) -> Result<(), RuntimeError> {
    let original = exchange.original;
    let request = &mut exchange.upstream;
    for name in &t.remove_headers {
        request.remove_header(name);
    }
    for (from, to) in &t.rename_headers {
        if let Some(value) = request.header(from).map(str::to_owned) {
            request.remove_header(from);
            request.set_header(to, &value);
        }
    }
    for (name, value) in &t.replace_headers {
        if request.header(name).is_some() {
            request.set_header(name, &value.render(original)?);
        }
    }
    for (name, value) in &t.add_headers {
        if request.header(name).is_none() {
            request.set_header(name, &value.render(original)?);
        }
    }
    for (name, value) in &t.append_headers {
        request.headers.push((name.clone(), value.render(original)?));
    }
    for name in &t.remove_query {
        request.remove_query_param(name);
    }
    for (name, value) in &t.replace_query {
        if request.query_param(name).is_some() {
            request.set_query_param(name, &value.render(original)?);
        }
    }
    for (name, value) in &t.add_query {
        if request.query_param(name).is_none() {
            request.set_query_param(name, &value.render(original)?);
        }
    }
    Ok(())
}
