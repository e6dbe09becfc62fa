//! `stand-in-gateway ROLE`: one of the stand-ins of the real-stack tests
//! (`tests/stack/compose.yaml`), all in one static binary for a FROM scratch image.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error. No key or secret value is
//! ever printed; errors name the variable or the file and line.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use stand_in_gateway::{Role, server};

const USAGE: &str = "usage: stand-in-gateway ROLE [--health]
  kong       Kong (also as `kong docker-start`, how the entrypoint script execs it): the
             rendered kong.yml at KONG_DECLARATIVE_CONFIG, worded like STAND_IN_KONG_VERSION
             (2.x or 3.x); listens on LISTEN (default 0.0.0.0:8000)
  auth       GoTrue: GOTRUE_JWT_KEYS, GOTRUE_JWT_SECRET, GOTRUE_JWT_EXP, GOTRUE_JWT_ISSUER,
             GOTRUE_JWT_ADMIN_ROLES, GOTRUE_MAILER_AUTOCONFIRM; users kept in STAND_IN_AUTH_STATE
             (/var/lib/stand-in-auth/state.json); port GOTRUE_API_PORT (9999)
  rest       PostgREST: PGRST_JWT_SECRET (secret, JWK or JWKS), PGRST_DB_ANON_ROLE, PGRST_OPENAPI_MODE;
             port PGRST_SERVER_PORT (3000)
  functions  the edge runtime: JWT_SECRET and SUPABASE_JWKS when VERIFY_JWT=true,
             STAND_IN_FUNCTIONS (hello); port 9000
  front      nginx's stream module, as the nginx image starts it: the templates of
             /etc/nginx/templates rendered (NGINX_ENVSUBST_*), then /etc/nginx/nginx.conf
  --health   ask the running ROLE for its health path; exit 0 when it answers below 500, else 1";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (role, health) = match args.as_slice() {
        ["--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [role] | [role @ "kong", "docker-start"] => (Role::parse(role), false),
        [role, "--health"] => (Role::parse(role), true),
        _ => (None, false),
    };
    let Some(role) = role else {
        eprintln!("error: name one role\n{USAGE}");
        return ExitCode::from(2);
    };
    if role == Role::Front && !health {
        return serve_front();
    }
    let addr = match role.listen(&env) {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if health {
        return check_health(role, addr);
    }
    let handler = match role.build(&env) {
        Ok(handler) => handler,
        Err(message) => {
            eprintln!("error: stand-in {}: {message}", role.name());
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: stand-in {}: cannot listen on {addr}: {error}", role.name());
            return ExitCode::FAILURE;
        }
    };
    eprintln!("stand-in {}: listening on {addr}; configuration read once", role.name());
    server::serve(listener, handler, role.name())
}

/// The front as the nginx image starts: templates, then `nginx.conf`; it serves until stopped.
fn serve_front() -> ExitCode {
    let environ: Vec<(String, String)> = std::env::vars().collect();
    match stand_in_gateway::front::boot(std::path::Path::new("/"), &environ) {
        Ok(_) => loop {
            std::thread::park();
        },
        Err(message) => {
            eprintln!("stand-in front: {message}");
            // nginx exits 1 on an [emerg] error, and the image passes it on.
            ExitCode::FAILURE
        }
    }
}

/// The exec-form healthcheck: the server answers its health path below 500.
fn check_health(role: Role, mut addr: SocketAddr) -> ExitCode {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    // The template's kong-front check is `nc -z 127.0.0.1 8000`: the port is open.
    if role == Role::Front {
        return match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)) {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("unhealthy: nothing listens on {addr}: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let path = match role {
        Role::Kong => "/",
        Role::Auth => "/health",
        Role::Rest => "/",
        Role::Functions => "/_internal/health",
        Role::Front => unreachable!("the front's check is a TCP connect"),
    };
    match status(addr, path) {
        Ok(code) if code < 500 => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("unhealthy: {path} on {addr} answered {code}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {path} on {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn status(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    stream.take(4096).read_to_end(&mut response)?;
    let status_line = response.split(|&b| b == b'\r').next().unwrap_or_default();
    std::str::from_utf8(status_line)
        .ok()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP/1.1 response"))
}
