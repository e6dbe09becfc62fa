//! Kong's DNS-based load balancing of a service's host name, as Kong documents it.
//!
//! - A host name resolves to all its A records, and requests go round-robin over them
//!   (Kong's load-balancing reference, "A records: unweighted round-robin").
//! - A record is cached for `dns_valid_ttl` seconds when set (`KONG_DNS_VALID_TTL`), else
//!   for the TTL of the answer. The system resolver hides the TTL: here it is that of
//!   Docker's embedded DNS, which answers every container name with 600 seconds. With a
//!   TTL of 0 every request resolves the name with its own query.
//! - An expired record stays in use for up to `dns_stale_ttl` seconds
//!   (`KONG_DNS_STALE_TTL`, default 4) while it is fetched again in the background; past
//!   that it is fetched before the request goes on.
//! - A failed attempt is retried on the next address, up to the service's `retries`
//!   (Kong's default 5: Supabase's `kong.yml` sets none), with nginx's default
//!   `proxy_next_upstream error timeout`: a connection that fails, or one that fails or
//!   times out before the response header, is retried; once the request was sent, a
//!   POST, LOCK or PATCH is not (nginx's non-idempotent methods).
//!
//! Not modelled: caching of failed lookups (`dns_not_found_ttl`, `dns_error_ttl`), SRV
//! records, and per-worker caches.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::{self, AttemptError, Request, Response, UpstreamError};
use crate::keys::Env;

use super::Upstream;

/// The TTL Docker's embedded DNS gives every answer about a container.
pub const DOCKER_DNS_TTL: Duration = Duration::from_secs(600);

/// Kong's `dns_stale_ttl` default.
const DEFAULT_STALE_TTL: Duration = Duration::from_secs(4);

/// A service's `retries` when it sets none.
pub const DEFAULT_RETRIES: u32 = 5;

/// How a host name becomes addresses: the system resolver, or a test's.
pub type Resolve = dyn Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync;

/// How one address is asked: over TCP, or a test's.
pub type Attempt = dyn Fn(SocketAddr, &str, u16, &Request) -> Result<Response, AttemptError> + Send + Sync;

struct Record {
    addresses: Vec<IpAddr>,
    fetched: Instant,
    refreshing: bool,
}

/// Kong's DNS cache and round-robin balancer.
pub struct Balancer {
    valid_ttl: Duration,
    stale_ttl: Duration,
    retries: u32,
    cache: Arc<Mutex<HashMap<String, Record>>>,
    next: Mutex<HashMap<String, usize>>,
    resolve: Arc<Resolve>,
    attempt: Box<Attempt>,
}

fn seconds(env: Env<'_>, name: &str) -> Result<Option<Duration>, String> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(|s| Some(Duration::from_secs(s)))
            .map_err(|_| format!("{name} is not a number of seconds: {value}")),
    }
}

fn system_resolve(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

impl Balancer {
    /// Configured as Kong is, from `KONG_DNS_VALID_TTL` and `KONG_DNS_STALE_TTL`.
    pub fn from_env(env: Env<'_>) -> Result<Balancer, String> {
        let valid_ttl = seconds(env, "KONG_DNS_VALID_TTL")?.unwrap_or(DOCKER_DNS_TTL);
        let stale_ttl = seconds(env, "KONG_DNS_STALE_TTL")?.unwrap_or(DEFAULT_STALE_TTL);
        Ok(Balancer::with(
            valid_ttl,
            stale_ttl,
            Arc::new(system_resolve),
            Box::new(http::send_to),
        ))
    }

    pub fn with(valid_ttl: Duration, stale_ttl: Duration, resolve: Arc<Resolve>, attempt: Box<Attempt>) -> Balancer {
        Balancer {
            valid_ttl,
            stale_ttl,
            retries: DEFAULT_RETRIES,
            cache: Arc::new(Mutex::new(HashMap::new())),
            next: Mutex::new(HashMap::new()),
            resolve,
            attempt,
        }
    }

    /// The addresses of `host` as the cache has them, fetching (or refreshing
    /// in the background) as Kong does. `None`: the name does not resolve.
    fn addresses(&self, host: &str) -> Option<Vec<IpAddr>> {
        if self.valid_ttl.is_zero() {
            return (self.resolve)(host).ok().filter(|a| !a.is_empty());
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = cache.get_mut(host) {
            let age = now.duration_since(record.fetched);
            if age < self.valid_ttl {
                return Some(record.addresses.clone());
            }
            if age < self.valid_ttl + self.stale_ttl {
                if !record.refreshing {
                    record.refreshing = true;
                    self.refresh_in_background(host);
                }
                return Some(record.addresses.clone());
            }
        }
        drop(cache);
        let fetched = (self.resolve)(host).ok().filter(|a| !a.is_empty());
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Some(addresses) => {
                cache.insert(
                    host.to_owned(),
                    Record {
                        addresses: addresses.clone(),
                        fetched: Instant::now(),
                        refreshing: false,
                    },
                );
                Some(addresses)
            }
            None => {
                cache.remove(host);
                None
            }
        }
    }

    fn refresh_in_background(&self, host: &str) {
        let (cache, resolve, host) = (Arc::clone(&self.cache), Arc::clone(&self.resolve), host.to_owned());
        std::thread::spawn(move || {
            let fetched = resolve(&host).ok().filter(|a| !a.is_empty());
            let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(record) = cache.get_mut(&host) {
                record.refreshing = false;
                if let Some(addresses) = fetched {
                    record.addresses = addresses;
                    record.fetched = Instant::now();
                }
            }
        });
    }

    /// Where the round-robin of `host` starts this request.
    fn turn(&self, host: &str) -> usize {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let turn = next.entry(host.to_owned()).or_insert(0);
        let first = *turn;
        *turn = turn.wrapping_add(1);
        first
    }
}

/// Whether nginx passes `method` to the next upstream after the request was sent.
fn idempotent(method: &str) -> bool {
    !["POST", "LOCK", "PATCH"].iter().any(|m| method.eq_ignore_ascii_case(m))
}

impl Upstream for Balancer {
    /// One lookup per request (per Kong's cache), then the attempts go round the
    /// addresses from the next in turn, as Kong's balancer moves to its next peer.
    fn send(&self, host: &str, port: u16, request: &Request) -> Result<Response, UpstreamError> {
        let addresses = self.addresses(host).ok_or(UpstreamError::Resolve)?;
        let first = self.turn(host);
        for attempt in 0..=self.retries as usize {
            let address = addresses[(first + attempt) % addresses.len()];
            match (self.attempt)(SocketAddr::new(address, port), host, port, request) {
                Ok(response) => return Ok(response),
                Err(AttemptError::Connect) => continue,
                Err(AttemptError::Sent) if idempotent(&request.method) => continue,
                Err(AttemptError::Sent) => return Err(UpstreamError::Connect),
            }
        }
        Err(UpstreamError::Connect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn request(method: &str) -> Request {
        Request {
            method: method.into(),
            path: "/".into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A balancer over `answers` (what DNS says now), where only `up` addresses answer.
    fn balancer(
        valid: u64,
        answers: Arc<Mutex<Vec<IpAddr>>>,
        up: Arc<Mutex<Vec<IpAddr>>>,
        lookups: Arc<AtomicUsize>,
    ) -> Balancer {
        let resolve = move |_: &str| {
            lookups.fetch_add(1, Ordering::SeqCst);
            Ok(answers.lock().unwrap().clone())
        };
        let attempt = move |addr: SocketAddr, _: &str, _: u16, _: &Request| {
            if up.lock().unwrap().contains(&addr.ip()) {
                Ok(Response::json(200, &serde_json::json!({"from": addr.ip().to_string()})))
            } else {
                Err(AttemptError::Connect)
            }
        };
        Balancer::with(
            Duration::from_secs(valid),
            Duration::from_secs(4),
            Arc::new(resolve),
            Box::new(attempt),
        )
    }

    #[test]
    fn a_record_is_cached_for_the_valid_ttl_and_requests_go_round_robin() {
        let answers = Arc::new(Mutex::new(vec![ip(1), ip(2)]));
        let up = Arc::new(Mutex::new(vec![ip(1), ip(2)]));
        let lookups = Arc::new(AtomicUsize::new(0));
        let kong = balancer(600, answers, up, Arc::clone(&lookups));
        let from: Vec<String> = (0..4)
            .map(|_| kong.send("rest", 3000, &request("GET")).unwrap().body_json()["from"].to_string())
            .collect();
        assert_eq!(from[0], from[2]);
        assert_ne!(from[0], from[1]);
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_address_that_refuses_is_retried_on_the_next() {
        let answers = Arc::new(Mutex::new(vec![ip(1), ip(2)]));
        let up = Arc::new(Mutex::new(vec![ip(2)]));
        let kong = balancer(600, answers, up, Arc::new(AtomicUsize::new(0)));
        for _ in 0..4 {
            assert_eq!(kong.send("rest", 3000, &request("POST")).unwrap().status, 200);
        }
    }

    #[test]
    fn a_stale_address_alone_fails_until_the_record_is_fetched_again() {
        let answers = Arc::new(Mutex::new(vec![ip(1)]));
        let up = Arc::new(Mutex::new(vec![ip(1)]));
        let kong = balancer(
            600,
            Arc::clone(&answers),
            Arc::clone(&up),
            Arc::new(AtomicUsize::new(0)),
        );
        assert!(kong.send("rest", 3000, &request("GET")).is_ok());
        *answers.lock().unwrap() = vec![ip(2)];
        *up.lock().unwrap() = vec![ip(2)];
        assert_eq!(kong.send("rest", 3000, &request("GET")), Err(UpstreamError::Connect));
    }

    #[test]
    fn with_a_zero_ttl_every_request_resolves_again() {
        let answers = Arc::new(Mutex::new(vec![ip(1)]));
        let up = Arc::new(Mutex::new(vec![ip(1), ip(2)]));
        let lookups = Arc::new(AtomicUsize::new(0));
        let kong = balancer(0, Arc::clone(&answers), up, Arc::clone(&lookups));
        assert!(kong.send("rest", 3000, &request("GET")).is_ok());
        *answers.lock().unwrap() = vec![ip(2)];
        let answer = kong.send("rest", 3000, &request("GET")).unwrap();
        assert_eq!(answer.body_json()["from"], "10.0.0.2");
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_request_already_sent_is_retried_only_when_idempotent() {
        let resolve = |_: &str| Ok(vec![ip(1), ip(2)]);
        let tries = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&tries);
        let attempt = move |addr: SocketAddr, _: &str, _: u16, _: &Request| {
            counted.fetch_add(1, Ordering::SeqCst);
            if addr.ip() == ip(2) {
                Ok(Response::json(200, &serde_json::json!({})))
            } else {
                Err(AttemptError::Sent)
            }
        };
        let kong = Balancer::with(
            Duration::from_secs(600),
            Duration::from_secs(4),
            Arc::new(resolve),
            Box::new(attempt),
        );
        // Each request starts at the next address: 10.0.0.1, .2, .1.
        assert_eq!(kong.send("rest", 3000, &request("POST")), Err(UpstreamError::Connect));
        assert!(kong.send("rest", 3000, &request("GET")).is_ok());
        assert!(kong.send("rest", 3000, &request("GET")).is_ok(), "retried on 10.0.0.2");
        assert_eq!(tries.load(Ordering::SeqCst), 4);
        assert!(idempotent("PUT") && !idempotent("patch"));
    }

    #[test]
    fn a_name_that_does_not_resolve_is_a_resolution_failure() {
        let kong = balancer(
            600,
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicUsize::new(0)),
        );
        assert_eq!(kong.send("rest", 3000, &request("GET")), Err(UpstreamError::Resolve));
    }
}
