//! `stand-in-gateway`: a test stand-in for Kong with the Supabase services and edge
//! functions behind it, for the real-stack tests that rotate keys on running containers.
//! The real images cannot be pulled on the machines these tests run on, so this one binary
//! plays the gateway (`kong`) and the edge runtime (`functions`) in `tests/stack/compose.yaml`.
//!
//! Like Kong, it reads its configuration from the environment once, at start: a changed
//! value only takes effect in a new container.
//!
//! - `JWT_SECRET`: the HS256 key, as raw bytes
//! - `ANON_KEY`, `SERVICE_ROLE_KEY`: the only two API keys accepted (Kong's consumers)
//! - `LISTEN`: the address to listen on, default `0.0.0.0:8000`
//!
//! Routes: `GET /auth/v1/health`, `GET /rest/v1/…`, `GET|POST /functions/v1/<name>`
//! (see `auth` for the decisions). `stand-in-gateway --health` is the image's exec-form
//! healthcheck: it asks the running server for `/auth/v1/health`, exit 0 on 200, else 1.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error. No key or secret value is
//! ever printed; errors name the variable.

mod auth;
mod http;
mod server;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_LISTEN: &str = "0.0.0.0:8000";
const USAGE: &str = "usage: stand-in-gateway [--health]
  (no flag)  serve; configured by JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY, LISTEN
  --health   GET /auth/v1/health from the server on LISTEN; exit 0 on 200, else 1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => serve(),
        ["--health"] => health(),
        ["--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("error: unexpected arguments\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    let (listen, keys) = match config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {listen} (LISTEN): {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("stand-in-gateway: listening on {listen}; JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY read once");
    server::serve(listener, keys)
}

fn config() -> Result<(SocketAddr, auth::Keys), String> {
    let listen = listen_addr()?;
    let jwt_secret = required("JWT_SECRET")?;
    let anon_key = required("ANON_KEY")?;
    let service_role_key = required("SERVICE_ROLE_KEY")?;
    let keys = auth::Keys::new(jwt_secret.as_bytes(), anon_key, service_role_key)
        .map_err(|_| "JWT_SECRET is not usable as an HS256 key".to_owned())?;
    Ok((listen, keys))
}

fn required(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => Err(format!("{name} is empty; set it in the container's environment")),
        Err(std::env::VarError::NotPresent) => Err(format!("{name} is not set; set it in the container's environment")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

fn listen_addr() -> Result<SocketAddr, String> {
    let value = std::env::var("LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.to_owned());
    let value = if value.is_empty() {
        DEFAULT_LISTEN.to_owned()
    } else {
        value
    };
    value
        .parse()
        .map_err(|_| format!("LISTEN is not an address like {DEFAULT_LISTEN}: {value}"))
}

/// The exec-form healthcheck: the server is healthy when its own health route answers 200.
fn health() -> ExitCode {
    let mut addr = match listen_addr() {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    match health_status(addr) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: /auth/v1/health on {addr} answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: /auth/v1/health on {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn health_status(addr: SocketAddr) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /auth/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.take(4096).read_to_end(&mut response)?;
    let status_line = response.split(|&b| b == b'\r').next().unwrap_or_default();
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    status.ok_or_else(|| std::io::Error::other("not an HTTP/1.1 response"))
}
