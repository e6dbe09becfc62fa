//! The TCP front that publishes the gateway's port (the template's `kong-front`: nginx's
//! stream module, `proxy_pass $kong_http` with `resolver 127.0.0.11 valid=…`), as nginx
//! documents it:
//!
//! - each connection resolves `FRONT_UPSTREAM` (`host:port`); an answer is cached for
//!   `FRONT_DNS_VALID` seconds (nginx's `resolver … valid=`; without it, the answer's TTL:
//!   600 seconds from Docker's embedded DNS), and 0 resolves every connection;
//! - connections go round-robin over the addresses, and one that cannot be established
//!   within `FRONT_CONNECT_TIMEOUT` seconds (`proxy_connect_timeout`, default 60) is
//!   passed to the next address (`proxy_next_upstream on`), each address tried once;
//! - once connected, bytes are copied both ways until either side closes: a connection
//!   is never moved to another address after that.
//!
//! It holds no secret and reads no key: it never needs a new container in a rotation.

use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::keys::Env;
use crate::kong::balancer::DOCKER_DNS_TTL;

/// nginx's `proxy_connect_timeout` default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Front {
    host: String,
    port: u16,
    valid: Duration,
    connect_timeout: Duration,
    cache: Mutex<Option<(Vec<IpAddr>, Instant)>>,
    turn: AtomicUsize,
}

fn seconds(env: Env<'_>, name: &str, default: Duration) -> Result<Duration, String> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{name} is not a number of seconds: {value}")),
    }
}

impl Front {
    pub fn from_env(env: Env<'_>) -> Result<Front, String> {
        let upstream = env("FRONT_UPSTREAM").unwrap_or_else(|| "kong:8000".into());
        let (host, port) = upstream
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("FRONT_UPSTREAM is not host:port: {upstream}"))?;
        Ok(Front {
            host,
            port,
            valid: seconds(env, "FRONT_DNS_VALID", DOCKER_DNS_TTL)?,
            connect_timeout: seconds(env, "FRONT_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)?,
            cache: Mutex::new(None),
            turn: AtomicUsize::new(0),
        })
    }

    fn addresses(&self) -> io::Result<Vec<IpAddr>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((addresses, fetched)) = cache.as_ref()
            && fetched.elapsed() < self.valid
        {
            return Ok(addresses.clone());
        }
        let addresses: Vec<IpAddr> = (self.host.as_str(), 0).to_socket_addrs()?.map(|a| a.ip()).collect();
        *cache = Some((addresses.clone(), Instant::now()));
        Ok(addresses)
    }

    /// A connection to the upstream: each address once, starting at the next in turn.
    fn connect(&self) -> Option<TcpStream> {
        let addresses = self.addresses().ok()?;
        let first = self.turn.fetch_add(1, Ordering::Relaxed);
        (0..addresses.len()).find_map(|i| {
            let address = SocketAddr::new(addresses[(first + i) % addresses.len()], self.port);
            TcpStream::connect_timeout(&address, self.connect_timeout).ok()
        })
    }

    fn pass(&self, client: TcpStream) {
        let Some(upstream) = self.connect() else {
            return;
        };
        let (Ok(client_read), Ok(upstream_read)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        let upward = thread::spawn(move || copy(client_read, upstream));
        copy(upstream_read, client);
        let _ = upward.join();
    }
}

/// Copies `from` into `to` until `from` ends, then ends `to`'s writing side.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Accepts on `listener` and passes each connection on, until stopped ([`crate::stop`]).
pub fn serve(listener: TcpListener, front: Front) -> ! {
    let front = Arc::new(front);
    let active = Arc::new(AtomicUsize::new(0));
    crate::stop::drain_on_signal(&listener, Arc::clone(&active), "front");
    loop {
        let Ok((client, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        let (front, active) = (Arc::clone(&front), Arc::clone(&active));
        active.fetch_add(1, Ordering::SeqCst);
        thread::spawn(move || {
            front.pass(client);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_connection_goes_to_the_upstream_and_back() {
        let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = upstream.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut stream, _) = upstream.accept().unwrap();
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).unwrap();
            stream.write_all(b"pong").unwrap();
        });
        let target = format!("127.0.0.1:{port}");
        let env = move |name: &str| (name == "FRONT_UPSTREAM").then(|| target.clone());
        let front = Front::from_env(&env).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || serve(listener, front));
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "pong");
    }

    #[test]
    fn an_upstream_that_is_not_host_and_port_is_refused() {
        let env = |name: &str| (name == "FRONT_UPSTREAM").then(|| "kong".to_string());
        assert!(Front::from_env(&env).is_err());
    }
}
