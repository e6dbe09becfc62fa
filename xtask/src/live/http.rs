//! The gateway as a client reaches it: plain HTTP/1.1 over TCP, one request
//! a connection. Header values (API keys) go on the wire only, never in output.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Why there is no gateway to check against. Names the URL or file, never a key.
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
            .ok_or_else(|| GatewayError::NotHttp { url: url.to_string() })?;
        let (authority, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| GatewayError::BadPort { url: url.to_string() })?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(GatewayError::NoPlainHost { url: url.to_string() });
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
