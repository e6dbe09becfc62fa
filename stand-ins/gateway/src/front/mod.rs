//! The TCP front that publishes the gateway's ports: the template's `kong-front`, the
//! `nginx` image with `volumes/api/kong-front.conf.template` mounted in
//! `/etc/nginx/templates`. It starts as that container does:
//!
//! 1. the image's entrypoint renders the templates ([`envsubst`]);
//! 2. nginx reads `/etc/nginx/nginx.conf` ([`conf`]: the directives the template uses,
//!    anything else stops it, as an unknown directive stops nginx), writes its `pid` file and listens on
//!    every `server`'s `listen`;
//! 3. each connection goes to its server's `proxy_pass`: a name with a variable is
//!    resolved per connection by the `resolver` ([`dns`]: cached for `valid=`, else the
//!    answer's TTL), a name without one once at start; the addresses are tried from a
//!    start that moves on by one each connection (nginx's resolver rotates a cached
//!    answer), each within `proxy_connect_timeout`, the next one only with
//!    `proxy_next_upstream on`;
//! 4. once connected, bytes are copied both ways until either side closes, and then the
//!    session ends (nginx's `proxy_half_close off`): a connection is never moved to
//!    another address after that.
//!
//! At most `worker_processes` × `worker_connections` connections are open at once, the
//! listening sockets of each worker and two per session (client and upstream) among
//! them; a connection beyond that is closed. Not modelled: `proxy_timeout` (10 minutes
//! idle), the failure accounting of an upstream resolved at start (`max_fails`).
//!
//! It holds no secret and reads no key: it never needs a new container in a rotation.

pub mod conf;
pub mod dns;
pub mod envsubst;
mod ere;
pub mod time;

use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use conf::{CONF_PATH, Config, Upstream};
use dns::Resolver;

/// Where one server's connections go.
enum Target {
    /// Addresses resolved at start.
    Addresses(Vec<SocketAddr>),
    /// A name resolved per connection by the server's resolver (if it has one).
    Name {
        host: String,
        port: u16,
        resolver: Option<Arc<Resolver>>,
    },
    /// An evaluated `proxy_pass` that is no address: why.
    Invalid(String),
}

struct Route {
    target: Target,
    connect_timeout: Duration,
    next_upstream: bool,
    turn: AtomicUsize,
}

/// The connections open now, and how many may be.
struct Budget {
    used: AtomicUsize,
    capacity: usize,
}

/// `13: Permission denied`, as nginx shows an error number.
fn os_error(error: &io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or_default().to_owned();
    match error.raw_os_error() {
        Some(code) => format!("{code}: {text}"),
        None => text,
    }
}

/// Starts the front as its container does, the container's filesystem at `root` and
/// `environ` its environment. Returns the addresses it listens on; its threads serve
/// until the process stops. `Err`: the line to print before exiting with status 2.
pub fn boot(root: &Path, environ: &[(String, String)]) -> Result<Vec<SocketAddr>, String> {
    envsubst::render(root, environ, &mut |line| eprintln!("stand-in front: {line}"))?;
    let config = load(root).map_err(|e| format!("[emerg] {e}"))?;
    start(root, &config).map_err(|e| format!("[emerg] {e}"))
}

/// Reads and parses `/etc/nginx/nginx.conf` under `root`.
pub fn load(root: &Path) -> Result<Config, String> {
    let text = std::fs::read(envsubst::inside(root, CONF_PATH))
        .map_err(|e| format!("open() \"{CONF_PATH}\" failed ({})", os_error(&e)))?;
    conf::parse(&String::from_utf8_lossy(&text))
}

/// Resolves what is resolved at start, listens, writes the pid file and serves.
pub fn start(root: &Path, config: &Config) -> Result<Vec<SocketAddr>, String> {
    let listening: usize = config.servers.iter().map(|s| s.listen.len()).sum();
    if listening > config.worker_connections {
        return Err(format!(
            "{} worker_connections are not enough for {listening} listening sockets",
            config.worker_connections
        ));
    }
    let mut resolvers: Vec<(dns::ResolverConf, Arc<Resolver>)> = Vec::new();
    let mut routes = Vec::new();
    for server in &config.servers {
        let target = match &server.upstream {
            Upstream::Fixed { host, port, line } => Target::Addresses(
                (host.as_str(), *port)
                    .to_socket_addrs()
                    .map(Iterator::collect)
                    .map_err(|_| format!("host not found in upstream \"{host}\" in {CONF_PATH}:{line}"))?,
            ),
            Upstream::Evaluated { host, port } => Target::Name {
                host: host.clone(),
                port: *port,
                // Servers that take the stream block's resolver share its cache.
                resolver: server.resolver.as_ref().map(|wanted| {
                    if let Some((_, shared)) = resolvers.iter().find(|(conf, _)| conf == wanted) {
                        return Arc::clone(shared);
                    }
                    let resolver = Arc::new(Resolver::new(wanted.clone()));
                    resolvers.push((wanted.clone(), Arc::clone(&resolver)));
                    resolver
                }),
            },
            Upstream::Invalid(why) => Target::Invalid(why.clone()),
        };
        let route = Arc::new(Route {
            target,
            connect_timeout: server.connect_timeout.max(Duration::from_millis(1)),
            next_upstream: server.next_upstream,
            turn: AtomicUsize::new(0),
        });
        for address in &server.listen {
            let listener =
                TcpListener::bind(address).map_err(|e| format!("bind() to {address} failed ({})", os_error(&e)))?;
            routes.push((listener, Arc::clone(&route)));
        }
    }
    std::fs::write(envsubst::inside(root, &config.pid), format!("{}\n", std::process::id()))
        .map_err(|e| format!("open() \"{}\" failed ({})", config.pid, os_error(&e)))?;

    let budget = Arc::new(Budget {
        used: AtomicUsize::new(0),
        capacity: config.worker_processes * (config.worker_connections - listening),
    });
    let active = Arc::new(AtomicUsize::new(0));
    let fds = routes.iter().map(|(listener, _)| listener.as_raw_fd()).collect();
    crate::stop::drain_on_signal(fds, Arc::clone(&active), "front");
    let mut addresses = Vec::new();
    for (listener, route) in routes {
        let local = listener.local_addr().map_err(|e| os_error(&e))?;
        eprintln!("stand-in front: listening on {local}, to {}", route.describe());
        addresses.push(local);
        let (budget, active) = (Arc::clone(&budget), Arc::clone(&active));
        thread::spawn(move || accept(listener, route, budget, active));
    }
    Ok(addresses)
}

/// Accepts on `listener` and passes each connection on, until stopped ([`crate::stop`]).
fn accept(listener: TcpListener, route: Arc<Route>, budget: Arc<Budget>, active: Arc<AtomicUsize>) {
    loop {
        let Ok((client, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        if budget.used.fetch_add(2, Ordering::SeqCst) + 2 > budget.capacity {
            budget.used.fetch_sub(2, Ordering::SeqCst);
            eprintln!("stand-in front: worker_connections are not enough");
            continue;
        }
        let (route, budget, active) = (Arc::clone(&route), Arc::clone(&budget), Arc::clone(&active));
        active.fetch_add(1, Ordering::SeqCst);
        thread::spawn(move || {
            route.pass(client);
            budget.used.fetch_sub(2, Ordering::SeqCst);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

impl Route {
    fn describe(&self) -> String {
        match &self.target {
            Target::Addresses(addresses) => format!("{addresses:?} (resolved at start)"),
            Target::Name { host, port, resolver } => format!(
                "{host}:{port} ({})",
                if resolver.is_some() {
                    "resolved per connection"
                } else {
                    "no resolver"
                }
            ),
            Target::Invalid(why) => why.clone(),
        }
    }

    /// The addresses to try for one connection.
    fn addresses(&self) -> Result<Vec<SocketAddr>, String> {
        match &self.target {
            Target::Addresses(addresses) => Ok(addresses.clone()),
            Target::Name { host, port, resolver } => {
                if let Ok(ip) = host.parse::<IpAddr>() {
                    return Ok(vec![SocketAddr::new(ip, *port)]);
                }
                let resolver = resolver
                    .as_ref()
                    .ok_or_else(|| format!("no resolver defined to resolve {host}"))?;
                Ok(resolver
                    .resolve(host)?
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, *port))
                    .collect())
            }
            Target::Invalid(why) => Err(why.clone()),
        }
    }

    /// One session: connect as `proxy_connect_timeout` and `proxy_next_upstream` say,
    /// then copy until either side closes.
    fn pass(&self, client: TcpStream) {
        let addresses = match self.addresses() {
            Ok(addresses) if !addresses.is_empty() => addresses,
            Ok(_) => return,
            Err(why) => {
                eprintln!("stand-in front: {why} while connecting to upstream");
                return;
            }
        };
        let first = self.turn.fetch_add(1, Ordering::Relaxed);
        for i in 0..addresses.len() {
            let address = addresses[(first + i) % addresses.len()];
            match TcpStream::connect_timeout(&address, self.connect_timeout) {
                Ok(upstream) => return proxy(client, upstream),
                Err(error) => {
                    eprintln!(
                        "stand-in front: connect() to {address} failed ({}) while connecting to upstream",
                        os_error(&error)
                    );
                    if !self.next_upstream {
                        return;
                    }
                }
            }
        }
    }
}

/// Copies both ways; when one side has closed and what it sent is passed on, the
/// session ends for both.
fn proxy(client: TcpStream, upstream: TcpStream) {
    let (Ok(client_read), Ok(upstream_read)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let upward = thread::spawn(move || pipe(client_read, upstream));
    pipe(upstream_read, client);
    let _ = upward.join();
}

/// Copies `from` into `to` until `from` ends, then closes both sockets both ways, which
/// ends the copy the other way too.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::dns::fake::FakeDns;
    use super::*;
    use std::io::{Read, Write};
    use std::net::Ipv4Addr;
    use std::path::PathBuf;

    fn sandbox(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("stand-in-front-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc/nginx/templates")).unwrap();
        dir
    }

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The environment the template's `kong-front` service gives its container.
    fn template_service_env() -> Vec<(String, String)> {
        let text = std::fs::read_to_string(repo().join("docker/docker-compose.yml")).unwrap();
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        let env = docs[0]["services"]["kong-front"]["environment"].as_hash().unwrap();
        env.iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn the_template_rendered_as_the_image_does_gives_its_two_servers_and_their_settings() {
        let root = sandbox("template");
        std::fs::copy(
            repo().join("docker/volumes/api/kong-front.conf.template"),
            root.join("etc/nginx/templates/nginx.conf.template"),
        )
        .unwrap();
        let mut environ = template_service_env();
        assert!(
            environ
                .iter()
                .any(|(k, v)| k == "NGINX_ENVSUBST_OUTPUT_DIR" && v == "/etc/nginx")
        );
        environ.push(("HOME".into(), "/root".into()));
        envsubst::render(&root, &environ, &mut |_| {}).unwrap();
        let config = load(&root).unwrap();

        assert_eq!(config.worker_processes, 1);
        assert_eq!(config.pid, "/tmp/nginx.pid");
        assert_eq!(config.worker_connections, 4096);
        let ports: Vec<u16> = config
            .servers
            .iter()
            .flat_map(|s| &s.listen)
            .map(|a| a.port())
            .collect();
        assert_eq!(ports, [8000, 8443]);
        for (server, port) in config.servers.iter().zip([8000, 8443]) {
            let resolver = server.resolver.as_ref().expect("the stream block's resolver");
            assert_eq!(resolver.servers, vec!["127.0.0.11:53".parse().unwrap()]);
            assert_eq!(resolver.valid, Some(Duration::from_secs(1)));
            assert!(resolver.ipv4 && !resolver.ipv6);
            assert_eq!(server.connect_timeout, Duration::from_secs(1));
            assert!(server.next_upstream);
            assert_eq!(
                server.upstream,
                Upstream::Evaluated {
                    host: "kong".into(),
                    port
                },
                "nginx's own $kong_http and $kong_https survive the template step"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_directive_outside_the_subset_stops_the_front_naming_file_and_line() {
        let root = sandbox("unknown");
        let template = std::fs::read_to_string(repo().join("docker/volumes/api/kong-front.conf.template")).unwrap();
        let changed = template.replace(
            "    proxy_next_upstream on;",
            "    proxy_next_upstream on;\n    proxy_timeout 5s;",
        );
        assert_ne!(changed, template);
        std::fs::write(root.join("etc/nginx/templates/nginx.conf.template"), &changed).unwrap();
        let line = changed.lines().position(|l| l.contains("proxy_timeout")).unwrap() + 1;
        let error = boot(&root, &template_service_env()).unwrap_err();
        assert_eq!(
            error,
            format!("[emerg] unknown or unmodelled directive \"proxy_timeout\" in /etc/nginx/nginx.conf:{line}")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// An upstream on 127.0.0.1 that answers each connection's `ping` with `pong`.
    fn upstream() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 4];
                if stream.read_exact(&mut buf).is_ok() {
                    let _ = stream.write_all(b"pong");
                }
            }
        });
        port
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// A front from `text` (with `{listen}` replaced by a free loopback address).
    fn front(name: &str, text: &str) -> SocketAddr {
        let root = sandbox(name);
        let text = text.replace("{listen}", &format!("127.0.0.1:{}", free_port()));
        let config = conf::parse(&text).unwrap();
        start(&root, &config).unwrap()[0]
    }

    /// `ping` through the front: `pong`, or empty when the front closed the connection.
    fn ping(front: SocketAddr) -> String {
        let mut client = TcpStream::connect(front).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = client.write_all(b"ping");
        let mut answer = String::new();
        let _ = client.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn a_connection_goes_to_the_upstream_and_back() {
        let port = upstream();
        let front = front(
            "back",
            &format!(
                "pid /front.pid;\nevents {{}}\nstream {{ server {{ listen {{listen}}; proxy_pass 127.0.0.1:{port}; }} }}"
            ),
        );
        assert_eq!(ping(front), "pong");
    }

    /// Two addresses for `kong`: 127.0.0.2, where nothing listens, and 127.0.0.1.
    fn next_upstream(name: &str, setting: &str) -> Vec<String> {
        let port = upstream();
        let dns = FakeDns::start(vec![Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::LOCALHOST], 600);
        let front = front(
            name,
            &format!(
                "pid /front.pid;\nevents {{}}\nstream {{\n resolver {} ipv6=off;\n proxy_connect_timeout 1s;\n {setting}\n\
                 server {{ listen {{listen}}; set $kong kong:{port}; proxy_pass $kong; }}\n}}",
                dns.addr
            ),
        );
        (0..4).map(|_| ping(front)).collect()
    }

    #[test]
    fn proxy_next_upstream_decides_whether_a_failed_connect_goes_to_the_next_address() {
        assert_eq!(next_upstream("next-on", "proxy_next_upstream on;"), ["pong"; 4]);
        assert_eq!(next_upstream("next-default", ""), ["pong"; 4], "on by default");
        let off = next_upstream("next-off", "proxy_next_upstream off;");
        assert_eq!(off.iter().filter(|a| a.is_empty()).count(), 2, "{off:?}");
        assert_eq!(off.iter().filter(|a| *a == "pong").count(), 2, "{off:?}");
    }

    #[test]
    fn a_connection_beyond_worker_connections_is_closed() {
        // One listening socket and one session (two connections) fit in three.
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let front = front(
            "budget",
            &format!(
                "pid /front.pid;\nevents {{ worker_connections 3; }}\nstream {{ server {{ listen {{listen}}; proxy_pass 127.0.0.1:{port}; }} }}"
            ),
        );
        let _first = TcpStream::connect(front).unwrap();
        let (_upstream_side, _) = held.accept().unwrap();
        let mut second = TcpStream::connect(front).unwrap();
        second.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut byte = [0u8; 1];
        match second.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("the front kept the connection beyond its budget: {other:?}"),
        }
    }

    #[test]
    fn a_pid_file_that_cannot_be_written_stops_the_front() {
        let root = sandbox("pid");
        let config = conf::parse(&format!(
            "pid /nowhere/nginx.pid;\nevents {{}}\nstream {{ server {{ listen 127.0.0.1:{}; proxy_pass 127.0.0.1:9; }} }}",
            free_port()
        ))
        .unwrap();
        let error = start(&root, &config).unwrap_err();
        assert_eq!(
            error,
            "open() \"/nowhere/nginx.pid\" failed (2: No such file or directory)"
        );
    }
}
