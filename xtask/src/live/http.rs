//! The gateway as a client reaches it: plain HTTP/1.1 over TCP, one request
//! a connection. Header values (API keys) go on the wire only, never in output.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Why there is no gateway to check against. Names the URL (its user
/// information masked: it may hold a password) or file, never a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "gateway URL {url:?} must start with http:// (https is not supported: use the plain HTTP port on this machine)"
    )]
    NotHttp { url: String },
    #[error("gateway URL {url:?} has a bad port")]
    BadPort { url: String },
    #[error("gateway URL {url:?} has no plain host")]
    NoPlainHost { url: String },
    #[error("KONG_HTTP_PORT in {} is not a port number; pass --gateway-url", .env.display())]
    BadKongPort { env: std::path::PathBuf },
}

/// The gateway's base URL: `http://HOST:PORT[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    host: String,
    port: u16,
    prefix: String,
}

/// `url` as it may be shown: everything between the scheme and the last `@`
/// (user information, which may hold a password, and may itself hold `/`,
/// `?` or `#`) is replaced by `***`.
fn shown(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_string(),
    }
}

impl Gateway {
    /// Kong on this machine, published on `port` (`KONG_HTTP_PORT`).
    pub fn local(port: u16) -> Gateway {
        Gateway {
            host: "127.0.0.1".into(),
            port,
            prefix: String::new(),
        }
    }

    /// Reads `http://host[:port][/prefix]`; https is not supported.
    pub fn parse(url: &str) -> Result<Gateway, GatewayError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| GatewayError::NotHttp { url: shown(url) })?;
        let (authority, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| GatewayError::BadPort { url: shown(url) })?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(GatewayError::NoPlainHost { url: shown(url) });
        }
        Ok(Gateway {
            host: host.to_string(),
            port,
            prefix: prefix.to_string(),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}{}", self.host, self.port, self.prefix)
    }

    /// The status of `GET path` with `headers`; an error when nothing answers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> std::io::Result<u16> {
        self.request("GET", path, headers)
    }

    /// The status of `METHOD path` (with an empty body) and `headers`; an error when
    /// nothing answers.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<u16> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("the gateway host does not resolve"))?;
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut request = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n",
            self.prefix, self.host
        );
        for (name, value) in headers {
            // A value with a line break would end its header and start another.
            if value.contains(['\r', '\n']) || name.contains(['\r', '\n', ':']) {
                return Err(std::io::Error::other(format!(
                    "the {name:?} header holds a line break: not sent"
                )));
            }
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        let mut head = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut head)?;
        let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other("the gateway did not answer HTTP"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_with_their_port_and_prefix() {
        assert_eq!(Gateway::parse("http://127.0.0.1:8000").unwrap(), Gateway::local(8000));
        let g = Gateway::parse("http://kong.internal/api/").unwrap();
        assert_eq!(g.url(), "http://kong.internal:80/api");
        assert!(Gateway::parse("https://x").is_err());
        assert!(Gateway::parse("http://x:port").is_err());
        assert!(Gateway::parse("http://user:pw@x:1").is_err());
    }

    #[test]
    fn a_refused_url_is_shown_without_its_password() {
        for (url, want) in [
            (
                "http://user:canary-pw@x:1",
                r#"gateway URL "http://***@x:1" has no plain host"#,
            ),
            (
                "https://user:canary-pw@x/api",
                r#"gateway URL "https://***@x/api" must start with http:// (https is not supported: use the plain HTTP port on this machine)"#,
            ),
            (
                "http://canary-pw@x:port",
                r#"gateway URL "http://***@x:port" has a bad port"#,
            ),
        ] {
            let shown = Gateway::parse(url).unwrap_err().to_string();
            assert_eq!(shown, want);
            assert!(!shown.contains("canary-pw"), "{shown}");
        }
        for url in [
            "http://u:canary#pw@x:1",
            "http://u:canary/pw@h:1",
            "http://u:canary?pw@h:p",
        ] {
            let text = Gateway::parse(url).map(|g| g.url()).unwrap_or_else(|e| e.to_string());
            assert!(!text.contains("canary"), "{text}");
        }
        assert_eq!(shown("http://kong.internal:8000/api"), "http://kong.internal:8000/api");
    }

    #[test]
    fn a_bad_gateway_is_named_in_one_line() {
        let message = |url: &str| Gateway::parse(url).unwrap_err().to_string();
        assert_eq!(
            message("https://x"),
            "gateway URL \"https://x\" must start with http:// (https is not supported: use the plain HTTP port on this machine)"
        );
        assert_eq!(message("http://x:port"), "gateway URL \"http://x:port\" has a bad port");
        assert_eq!(message("http://a b"), "gateway URL \"http://a b\" has no plain host");
        let kong = GatewayError::BadKongPort {
            env: "receptor-dev/.env".into(),
        };
        assert_eq!(
            kong.to_string(),
            "KONG_HTTP_PORT in receptor-dev/.env is not a port number; pass --gateway-url"
        );
    }
}
