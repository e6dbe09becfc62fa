//! nginx's resolver (the `resolver` directive), as nginx documents it: a name is asked
//! of the configured DNS servers over UDP (RFC 1035), an `A` query and, unless
//! `ipv6=off`, an `AAAA` query (none with `ipv4=off` for `A`), and the answer is cached
//! for `valid=` when that is set, else for the smallest TTL of its records (Docker's
//! embedded DNS gives 600 seconds). A query unanswered for 5 seconds is sent again,
//! to the next server, until `resolver_timeout` (30 seconds) runs out.
//!
//! Not modelled: caching of failed lookups, CNAME chains that need another query, TCP
//! fallback for truncated answers, and the `resolver_timeout` directive.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::TryRng;
use rand::rngs::SysRng;

/// nginx's `resolver_timeout` default.
pub const RESOLVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long nginx keeps a failed lookup without `valid=`.
const NEGATIVE_VALID: Duration = Duration::from_secs(10);
/// How long nginx waits for an answer before it sends the query again.
const RESEND: Duration = Duration::from_secs(5);

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// The records of one answer, each with its TTL; `None`: the name has none of that type.
pub type Records = Option<Vec<(IpAddr, u32)>>;

/// What the `resolver` directive sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConf {
    pub servers: Vec<SocketAddr>,
    /// `valid=`: how long an answer is used instead of its TTL.
    pub valid: Option<Duration>,
    pub ipv4: bool,
    pub ipv6: bool,
}

fn not_found(host: &str) -> String {
    format!("{host} could not be resolved (3: Host not found)")
}

/// A lookup's answer, kept until `until`; no address: it failed (NXDOMAIN).
struct Cached {
    addresses: Vec<IpAddr>,
    until: Instant,
}

/// A resolver with its cache, shared by the connections of the servers that use it.
pub struct Resolver {
    conf: ResolverConf,
    cache: Mutex<HashMap<String, Cached>>,
    next_server: AtomicUsize,
    timeout: Duration,
}

impl Resolver {
    pub fn new(conf: ResolverConf) -> Resolver {
        Resolver {
            conf,
            cache: Mutex::new(HashMap::new()),
            next_server: AtomicUsize::new(0),
            timeout: RESOLVER_TIMEOUT,
        }
    }

    /// The addresses of `host`, from the cache while its answer is valid.
    pub fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let key = host.to_ascii_lowercase();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = cache.get(&key)
            && Instant::now() < cached.until
        {
            if cached.addresses.is_empty() {
                return Err(not_found(host));
            }
            return Ok(cached.addresses.clone());
        }
        // nginx holds other lookups of the same name until this one is answered.
        let mut addresses = Vec::new();
        let mut ttl = u32::MAX;
        let wanted = [(self.conf.ipv4, TYPE_A), (self.conf.ipv6, TYPE_AAAA)];
        for (_, qtype) in wanted.iter().filter(|(on, _)| *on) {
            let answer = self.ask(&key, *qtype)?;
            ttl = answer.iter().map(|(_, ttl)| *ttl).fold(ttl, u32::min);
            addresses.extend(answer.into_iter().map(|(address, _)| address));
        }
        if addresses.is_empty() {
            // nginx caches a failed lookup too: for `valid=`, else 10 seconds.
            cache.insert(
                key,
                Cached {
                    addresses: Vec::new(),
                    until: Instant::now() + self.conf.valid.unwrap_or(NEGATIVE_VALID),
                },
            );
            return Err(not_found(host));
        }
        let valid = self.conf.valid.unwrap_or(Duration::from_secs(u64::from(ttl)));
        cache.insert(
            key,
            Cached {
                addresses: addresses.clone(),
                until: Instant::now() + valid,
            },
        );
        Ok(addresses)
    }

    /// One query, sent again to the next server every [`RESEND`] until answered.
    fn ask(&self, host: &str, qtype: u16) -> Result<Vec<(IpAddr, u32)>, String> {
        let started = Instant::now();
        let mut last_error = String::from("no server answered");
        while started.elapsed() < self.timeout {
            let turn = self.next_server.fetch_add(1, Ordering::Relaxed);
            let server = self.conf.servers[turn % self.conf.servers.len()];
            let wait = RESEND.min(self.timeout.saturating_sub(started.elapsed()));
            match query(server, host, qtype, wait) {
                Ok(Some(records)) => return Ok(records),
                Ok(None) => return Ok(Vec::new()),
                Err(error) if error.kind() == io::ErrorKind::TimedOut || error.kind() == io::ErrorKind::WouldBlock => {
                    last_error = format!("{server} timed out");
                }
                Err(error) => {
                    last_error = format!("{server}: {error}");
                    std::thread::sleep(Duration::from_millis(100).min(wait));
                }
            }
        }
        Err(format!(
            "{host} could not be resolved (110: Operation timed out: {last_error})"
        ))
    }
}

/// Asks `server` for the `qtype` records of `host`: `Some` records (with their TTLs),
/// `None` when the name has none (NXDOMAIN, or no record of that type).
pub fn query(server: SocketAddr, host: &str, qtype: u16, wait: Duration) -> io::Result<Records> {
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind)?;
    socket.connect(server)?;
    // A random query id, as nginx's; an answer with another id is not ours.
    let mut id = [0u8; 2];
    let _ = SysRng.try_fill_bytes(&mut id);
    let id = u16::from_be_bytes(id);
    socket.send(&question(id, host, qtype)?)?;
    let deadline = Instant::now() + wait;
    let mut buffer = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        socket.set_read_timeout(Some(left))?;
        let n = socket.recv(&mut buffer)?;
        if let Some(answer) = answer(&buffer[..n], id, qtype) {
            return answer;
        }
    }
}

/// A standard query for `host` with recursion desired.
fn question(id: u16, host: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut packet = Vec::with_capacity(32 + host.len());
    packet.extend(id.to_be_bytes());
    packet.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in host.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a host name"));
        }
        packet.push(label.len() as u8);
        packet.extend(label.as_bytes());
    }
    packet.push(0);
    packet.extend(qtype.to_be_bytes());
    packet.extend(CLASS_IN.to_be_bytes());
    Ok(packet)
}

/// The records of a response to query `id`; `None` when it is not one (another id, not
/// a response), to be ignored.
fn answer(packet: &[u8], id: u16, qtype: u16) -> Option<io::Result<Records>> {
    let word = |at: usize| packet.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    if word(0)? != id || packet[2] & 0x80 == 0 {
        return None;
    }
    let rcode = packet[3] & 0x0f;
    match rcode {
        0 => {}
        3 => return Some(Ok(None)),
        other => return Some(Err(io::Error::other(format!("DNS error code {other}")))),
    }
    let (questions, answers) = (word(4)?, word(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(packet, at)? + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        at = skip_name(packet, at)?;
        let (rtype, class) = (word(at)?, word(at + 2)?);
        let ttl = u32::from_be_bytes(packet.get(at + 4..at + 8)?.try_into().ok()?);
        let length = usize::from(word(at + 8)?);
        let data = packet.get(at + 10..at + 10 + length)?;
        at += 10 + length;
        if class != CLASS_IN || rtype != qtype {
            continue;
        }
        let address = match (rtype, data.len()) {
            (TYPE_A, 4) => IpAddr::from(<[u8; 4]>::try_from(data).ok()?),
            (TYPE_AAAA, 16) => IpAddr::from(<[u8; 16]>::try_from(data).ok()?),
            _ => continue,
        };
        records.push((address, ttl));
    }
    Some(Ok((!records.is_empty()).then_some(records)))
}

/// Where the name at `at` ends (labels, or a compression pointer).
fn skip_name(packet: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = *packet.get(at)?;
        match length {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

/// A DNS server for tests: answers `A` queries for any name with `answers` (read at
/// each query) and `ttl`, and counts the queries.
#[cfg(test)]
pub mod fake {
    use super::*;
    use std::sync::{Arc, Mutex};

    pub struct FakeDns {
        pub addr: SocketAddr,
        pub answers: Arc<Mutex<Vec<Ipv4Addr>>>,
        pub queries: Arc<AtomicUsize>,
    }

    impl FakeDns {
        pub fn start(answers: Vec<Ipv4Addr>, ttl: u32) -> FakeDns {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = socket.local_addr().unwrap();
            let answers = Arc::new(Mutex::new(answers));
            let queries = Arc::new(AtomicUsize::new(0));
            let (shared, counted) = (Arc::clone(&answers), Arc::clone(&queries));
            std::thread::spawn(move || {
                let mut buffer = [0u8; 512];
                while let Ok((n, from)) = socket.recv_from(&mut buffer) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let question = &buffer[..n];
                    let end = skip_name(question, 12).unwrap();
                    let qtype = u16::from_be_bytes([question[end], question[end + 1]]);
                    let records: Vec<Ipv4Addr> = if qtype == TYPE_A {
                        shared.lock().unwrap().clone()
                    } else {
                        Vec::new()
                    };
                    let mut reply = question[..end + 4].to_vec();
                    reply[2] = 0x81;
                    reply[3] = 0x80;
                    reply[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
                    for address in records {
                        reply.extend([0xc0, 12]);
                        reply.extend(TYPE_A.to_be_bytes());
                        reply.extend(CLASS_IN.to_be_bytes());
                        reply.extend(ttl.to_be_bytes());
                        reply.extend(4u16.to_be_bytes());
                        reply.extend(address.octets());
                    }
                    let _ = socket.send_to(&reply, from);
                }
            });
            FakeDns { addr, answers, queries }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeDns;
    use super::*;

    fn resolver(dns: &FakeDns, valid: Option<Duration>, ipv6: bool) -> Resolver {
        Resolver::new(ResolverConf {
            servers: vec![dns.addr],
            valid,
            ipv4: true,
            ipv6,
        })
    }

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, last)
    }

    #[test]
    fn an_answer_is_kept_for_its_ttl_without_valid() {
        let dns = FakeDns::start(vec![ip(1), ip(2)], 600);
        let resolver = resolver(&dns, None, false);
        assert_eq!(
            resolver.resolve("kong").unwrap(),
            vec![IpAddr::from(ip(1)), IpAddr::from(ip(2))]
        );
        *dns.answers.lock().unwrap() = vec![ip(3)];
        assert_eq!(resolver.resolve("KONG").unwrap().len(), 2, "600 s have not passed");
        assert_eq!(dns.queries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn valid_replaces_the_ttl_and_valid_0_means_the_ttl() {
        let dns = FakeDns::start(vec![ip(1)], 600);
        let short = resolver(&dns, Some(Duration::from_secs(1)), false);
        assert_eq!(short.resolve("kong").unwrap(), vec![IpAddr::from(ip(1))]);
        *dns.answers.lock().unwrap() = vec![ip(2)];
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(short.resolve("kong").unwrap(), vec![IpAddr::from(ip(2))]);

        let zero = FakeDns::start(vec![ip(1)], 0);
        let every_time = resolver(&zero, None, false);
        every_time.resolve("kong").unwrap();
        every_time.resolve("kong").unwrap();
        assert_eq!(zero.queries.load(Ordering::SeqCst), 2, "a TTL of 0 is not cached");
    }

    #[test]
    fn ipv6_on_also_asks_for_aaaa_and_a_name_without_records_fails() {
        let dns = FakeDns::start(vec![ip(1)], 600);
        resolver(&dns, None, true).resolve("kong").unwrap();
        assert_eq!(dns.queries.load(Ordering::SeqCst), 2, "A and AAAA");
        let none = FakeDns::start(Vec::new(), 600);
        let error = resolver(&none, None, false).resolve("kong").unwrap_err();
        assert!(error.contains("Host not found"), "{error}");
    }
}
