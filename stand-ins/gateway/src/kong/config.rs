//! Kong's declarative configuration (DB-less, `_format_version` 1.1 to 3.0): consumers
//! with their key-auth keys, ACL groups and basic-auth credentials; services with their
//! upstream URL, routes and plugins. Only what the stand-in can apply is accepted: a
//! plugin, path or template it does not implement is refused at start with its name,
//! never silently skipped.

use yaml_rust2::{Yaml, YamlLoader};

use super::plugins::{Plugin, Transform, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub username: String,
    /// key-auth keys; a credential without a key gets a random one in Kong, so it is
    /// left out here (nobody can present it).
    pub keys: Vec<String>,
    pub groups: Vec<String>,
    /// basic-auth `(username, password)` pairs.
    pub basic: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    /// Prefix paths; the longest match wins.
    pub paths: Vec<String>,
    pub strip_path: bool,
    pub plugins: Vec<Plugin>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub path: String,
    pub routes: Vec<Route>,
    pub plugins: Vec<Plugin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub consumers: Vec<Consumer>,
    pub services: Vec<Service>,
    /// Plugins with neither a service nor a route: they apply to every request.
    pub global_plugins: Vec<Plugin>,
}

fn text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list(node: &Yaml) -> &[Yaml] {
    node.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

fn strings(node: &Yaml) -> Vec<String> {
    list(node).iter().filter_map(text).collect()
}

fn flag(node: &Yaml, default: bool) -> bool {
    node.as_bool().unwrap_or(default)
}

impl Config {
    /// Reads a rendered `kong.yml`.
    pub fn parse(rendered: &str) -> Result<Config, String> {
        let docs = YamlLoader::load_from_str(rendered).map_err(|e| format!("kong.yml is not YAML: {e}"))?;
        let doc = docs.first().ok_or("kong.yml is empty")?;
        match text(&doc["_format_version"]).as_deref() {
            Some("1.1" | "2.1" | "3.0") => {}
            other => {
                return Err(format!(
                    "kong.yml: _format_version is {other:?}; Kong takes 1.1, 2.1 or 3.0"
                ));
            }
        }
        let mut config = Config::default();
        for node in list(&doc["consumers"]) {
            let username = text(&node["username"]).ok_or("kong.yml: a consumer has no username")?;
            let mut consumer = Consumer {
                username,
                keys: Vec::new(),
                groups: Vec::new(),
                basic: Vec::new(),
            };
            for cred in list(&node["keyauth_credentials"]) {
                consumer.keys.extend(text(&cred["key"]).filter(|k| !k.is_empty()));
            }
            for acl in list(&node["acls"]) {
                consumer.groups.extend(text(&acl["group"]));
            }
            for cred in list(&node["basicauth_credentials"]) {
                if let (Some(u), Some(p)) = (text(&cred["username"]), text(&cred["password"])) {
                    consumer.basic.push((u, p));
                }
            }
            config.consumers.push(consumer);
        }
        for node in list(&doc["keyauth_credentials"]) {
            let key = text(&node["key"]).filter(|k| !k.is_empty());
            consumer(&mut config.consumers, text(&node["consumer"]), "keyauth_credentials")?
                .keys
                .extend(key);
        }
        for node in list(&doc["acls"]) {
            let group = text(&node["group"]);
            consumer(&mut config.consumers, text(&node["consumer"]), "acls")?
                .groups
                .extend(group);
        }
        for node in list(&doc["basicauth_credentials"]) {
            let pair = text(&node["username"]).zip(text(&node["password"]));
            consumer(&mut config.consumers, text(&node["consumer"]), "basicauth_credentials")?
                .basic
                .extend(pair);
        }
        for node in list(&doc["services"]) {
            config.services.push(service(node)?);
        }
        for node in list(&doc["plugins"]) {
            if !node["service"].is_badvalue() || !node["route"].is_badvalue() {
                return Err("kong.yml: top-level plugins bound to a service or route are not supported by the stand-in; nest them".into());
            }
            config.global_plugins.push(plugin(node)?);
        }
        if !doc["routes"].is_badvalue() {
            return Err(
                "kong.yml: top-level routes are not supported by the stand-in; nest them under their service".into(),
            );
        }
        Ok(config)
    }
}

fn consumer<'a>(consumers: &'a mut [Consumer], name: Option<String>, what: &str) -> Result<&'a mut Consumer, String> {
    let name = name.ok_or_else(|| format!("kong.yml: an entry of {what} names no consumer"))?;
    consumers
        .iter_mut()
        .find(|c| c.username == name)
        .ok_or_else(|| format!("kong.yml: {what} names consumer {name}, which is not defined"))
}

fn service(node: &Yaml) -> Result<Service, String> {
    let name = text(&node["name"]).unwrap_or_default();
    let (host, port, path) = match text(&node["url"]) {
        Some(url) => parse_url(&url)
            .ok_or_else(|| format!("kong.yml: service {name}: url {url:?} is not http://host[:port][/path]"))?,
        None => {
            let host =
                text(&node["host"]).ok_or_else(|| format!("kong.yml: service {name} has neither url nor host"))?;
            let port = node["port"].as_i64().and_then(|p| u16::try_from(p).ok()).unwrap_or(80);
            (host, port, text(&node["path"]).unwrap_or_else(|| "/".into()))
        }
    };
    let mut routes = Vec::new();
    for route in list(&node["routes"]) {
        let route_name = text(&route["name"]).unwrap_or_default();
        let paths = strings(&route["paths"]);
        if let Some(regex) = paths.iter().find(|p| !p.starts_with('/')) {
            return Err(format!(
                "kong.yml: route {route_name}: path {regex:?} is not a plain prefix (regex paths are not supported by the stand-in)"
            ));
        }
        routes.push(Route {
            name: route_name,
            paths,
            strip_path: flag(&route["strip_path"], true),
            plugins: plugins(&route["plugins"])?,
        });
    }
    Ok(Service {
        name,
        host,
        port,
        path,
        routes,
        plugins: plugins(&node["plugins"])?,
    })
}

fn parse_url(url: &str) -> Option<(String, u16, String)> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, 80)
    } else if let Some(rest) = url.strip_prefix("ws://") {
        (rest, 80)
    } else {
        return None;
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, default_port),
    };
    (!host.is_empty()).then(|| (host.to_owned(), port, path.to_owned()))
}

fn plugins(node: &Yaml) -> Result<Vec<Plugin>, String> {
    list(node).iter().map(plugin).collect()
}

fn plugin(node: &Yaml) -> Result<Plugin, String> {
    let name = text(&node["name"]).ok_or("kong.yml: a plugin has no name")?;
    if node["enabled"].as_bool() == Some(false) {
        return Ok(Plugin::Disabled(name));
    }
    let config = &node["config"];
    Ok(match name.as_str() {
        "cors" => Plugin::Cors,
        "key-auth" => Plugin::KeyAuth {
            key_names: Some(strings(&config["key_names"]))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| vec!["apikey".into()]),
            hide_credentials: flag(&config["hide_credentials"], false),
            key_in_header: flag(&config["key_in_header"], true),
            key_in_query: flag(&config["key_in_query"], true),
        },
        "basic-auth" => Plugin::BasicAuth {
            hide_credentials: flag(&config["hide_credentials"], false),
        },
        "acl" => Plugin::Acl {
            allow: strings(&config["allow"]),
            deny: strings(&config["deny"]),
            hide_groups_header: flag(&config["hide_groups_header"], false),
        },
        "request-transformer" => Plugin::RequestTransformer(transform(config)?),
        "request-termination" => Plugin::RequestTermination {
            status: config["status_code"]
                .as_i64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(503),
            message: text(&config["message"]),
            body: text(&config["body"]),
        },
        "post-function" => {
            let code: Vec<String> = strings(&config["access"]);
            let clear = cleared_headers(&code.join("\n"))
                .ok_or("kong.yml: a post-function does something other than clear empty headers, which the stand-in cannot run")?;
            Plugin::PostFunction {
                clear_when_empty: clear,
            }
        }
        other => return Err(format!("kong.yml: plugin {other} is not implemented by the stand-in")),
    })
}

/// The headers a post-function clears when they are empty: the one shape the
/// Supabase file uses (`get_header`, test for nil or blank, `clear_header`).
fn cleared_headers(code: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("clear_header(\"") {
        rest = &rest[at + "clear_header(\"".len()..];
        let end = rest.find('"')?;
        names.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    let tests_blank = code.contains("== \"\"") || code.contains("\"^%s*$\"");
    let only_clears = code.contains("get_header(") && tests_blank;
    (!names.is_empty() && only_clears).then_some(names)
}

fn pairs(node: &Yaml, what: &str) -> Result<Vec<(String, Value)>, String> {
    strings(node)
        .iter()
        .map(|entry| {
            let (name, value) = entry
                .split_once(':')
                .ok_or_else(|| format!("kong.yml: a request-transformer {what} entry is not name:value"))?;
            let name = name.trim();
            // The value is not quoted: it may hold keys.
            let value = Value::parse(value)
                .map_err(|e| format!("kong.yml: request-transformer {what} template of {name}: {e}"))?;
            Ok((name.to_owned(), value))
        })
        .collect()
}

fn transform(config: &Yaml) -> Result<Transform, String> {
    let names = |node: &Yaml| {
        strings(node)
            .into_iter()
            .map(|n| n.trim().to_owned())
            .collect::<Vec<_>>()
    };
    let renames = strings(&config["rename"]["headers"])
        .iter()
        .map(|e| {
            e.split_once(':')
                .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
                .ok_or_else(|| format!("kong.yml: request-transformer rename entry {e:?} is not from:to"))
        })
        .collect::<Result<_, _>>()?;
    if !config["http_method"].is_badvalue()
        || !config["replace"]["uri"].is_badvalue()
        || !config["add"]["body"].is_badvalue()
    {
        return Err(
            "kong.yml: request-transformer changes the method, URI or body, which the stand-in does not implement"
                .into(),
        );
    }
    Ok(Transform {
        remove_headers: names(&config["remove"]["headers"]),
        rename_headers: renames,
        replace_headers: pairs(&config["replace"]["headers"], "replace.headers")?,
        add_headers: pairs(&config["add"]["headers"], "add.headers")?,
        append_headers: pairs(&config["append"]["headers"], "append.headers")?,
        remove_query: names(&config["remove"]["querystring"]),
        replace_query: pairs(&config["replace"]["querystring"], "replace.querystring")?,
        add_query: pairs(&config["add"]["querystring"], "add.querystring")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_services_routes_and_plugins_are_read() {
        let config = Config::parse(
            "_format_version: '2.1'\nconsumers:\n  - username: anon\n    keyauth_credentials:\n      - key: k1\n      - key:\nacls:\n  - consumer: anon\n    group: anon\nservices:\n  - name: rest\n    url: http://rest:3000/\n    routes:\n      - name: r\n        paths: [/rest/v1/]\n    plugins:\n      - name: key-auth\n        config:\n          hide_credentials: true\n      - name: acl\n        config:\n          allow: [admin, anon]\n",
        )
        .unwrap();
        assert_eq!(config.consumers[0].keys, vec!["k1".to_string()]);
        assert_eq!(config.consumers[0].groups, vec!["anon".to_string()]);
        let service = &config.services[0];
        assert_eq!(
            (service.host.as_str(), service.port, service.path.as_str()),
            ("rest", 3000, "/")
        );
        assert!(service.routes[0].strip_path);
        assert_eq!(service.plugins.len(), 2);
    }

    #[test]
    fn what_the_stand_in_cannot_apply_is_refused_by_name() {
        let with = |plugin: &str| {
            Config::parse(&format!(
                "_format_version: '3.0'\nservices:\n  - name: s\n    url: http://s:1/\n    plugins:\n      - name: {plugin}\n"
            ))
        };
        assert!(with("rate-limiting").unwrap_err().contains("rate-limiting"));
        assert!(with("cors").is_ok());
        assert!(Config::parse("_format_version: '9'\n").is_err());
        let lua = "_format_version: '3.0'\nservices:\n  - name: s\n    url: http://s:1/\n    plugins:\n      - name: request-transformer\n        config:\n          add:\n            headers: ['Authorization: $(os.getenv(\"Canary0Secret\"))']\n";
        let refused = Config::parse(lua).unwrap_err();
        assert!(
            refused.contains("cannot be evaluated") && refused.contains("Authorization"),
            "{refused}"
        );
        assert!(
            !refused.contains("Canary0Secret"),
            "a template's literals are never echoed: {refused}"
        );
    }
}
