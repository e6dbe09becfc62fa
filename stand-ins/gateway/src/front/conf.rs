//! `/etc/nginx/nginx.conf` read as nginx reads it (nginx's "Configuration file
//! measurement units" and "Beginner's guide": directives end in `;`, blocks in `{ }`, `#`
//! starts a comment, quotes and `\` escapes), for the directives the template's
//! `kong-front.conf.template` uses:
//!
//! | context | directive |
//! |---|---|
//! | main | `worker_processes N\|auto` (1), `pid FILE` (`/var/run/nginx.pid`, the image's), `events { }` (required), `stream { }` |
//! | events | `worker_connections N` (512) |
//! | stream, server | `resolver ADDRESS… [valid=TIME] [ipv4=on\|off] [ipv6=on\|off]`, `proxy_connect_timeout TIME` (60s), `proxy_next_upstream on\|off` (on) |
//! | server | `listen [ADDRESS:]PORT` (one or more), `set $NAME VALUE`, `proxy_pass HOST:PORT` |
//!
//! A server takes what it does not set from `stream`. `proxy_pass` with a variable is
//! evaluated for each connection and its name resolved by the `resolver`; without one
//! the name is resolved once, at start, by the system's resolver. Anything else is
//! refused, `unknown or unmodelled directive "x" in /etc/nginx/nginx.conf:LINE`: nginx
//! itself may know it (`proxy_timeout`, `proxy_buffer_size`), but the stand-in would not
//! do what it says, so it stops as nginx stops on an unknown one (exit 1).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::dns::ResolverConf;
use super::time::{self, Unit};

/// Where nginx reads its configuration.
pub const CONF_PATH: &str = "/etc/nginx/nginx.conf";
/// The nginx image's `--pid-path`.
const DEFAULT_PID: &str = "/var/run/nginx.pid";
const DEFAULT_WORKER_CONNECTIONS: usize = 512;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// What nginx would run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub worker_processes: usize,
    pub pid: String,
    pub worker_connections: usize,
    pub servers: Vec<Server>,
}

/// One `server` of the `stream` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// The line of its `server {`.
    pub line: usize,
    pub listen: Vec<SocketAddr>,
    pub upstream: Upstream,
    pub resolver: Option<ResolverConf>,
    pub connect_timeout: Duration,
    pub next_upstream: bool,
}

/// Where a server passes its connections.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// `proxy_pass host:port`: resolved once, at start (the line of the directive).
    Fixed { host: String, port: u16, line: usize },
    /// `proxy_pass $var`: evaluated for each connection, the name resolved by `resolver`.
    Evaluated { host: String, port: u16 },
    /// `proxy_pass $var` whose value is not `host:port`: each connection is closed.
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Main,
    Events,
    Stream,
    Server,
}

/// How many arguments a directive takes.
#[derive(Clone, Copy)]
enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

/// Each directive of the subset: name, where it may appear, its arguments, and
/// whether it opens a block.
const DIRECTIVES: &[(&str, &[Context], Arity, bool)] = {
    use Arity::*;
    use Context::*;
    &[
        ("worker_processes", &[Main], Exactly(1), false),
        ("pid", &[Main], Exactly(1), false),
        ("events", &[Main], Exactly(0), true),
        ("worker_connections", &[Events], Exactly(1), false),
        ("stream", &[Main], Exactly(0), true),
        ("resolver", &[Stream, Server], AtLeast(1), false),
        ("proxy_connect_timeout", &[Stream, Server], Exactly(1), false),
        ("proxy_next_upstream", &[Stream, Server], Exactly(1), false),
        ("server", &[Stream], Exactly(0), true),
        ("listen", &[Server], AtLeast(1), false),
        ("set", &[Server], Exactly(2), false),
        ("proxy_pass", &[Server], Exactly(1), false),
    ]
};

/// `message in /etc/nginx/nginx.conf:LINE`, as nginx places a configuration error.
fn at(line: usize, message: impl std::fmt::Display) -> String {
    format!("{message} in {CONF_PATH}:{line}")
}

/// Parses the text of `nginx.conf`. `Err`: the line nginx would print after `[emerg]`.
pub fn parse(text: &str) -> Result<Config, String> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
    };
    let mut builder = Builder::default();
    builder.block(&mut lexer, Context::Main)?;
    builder.finish()
}

// --- the tokens ----------------------------------------------------------------------

enum Token {
    /// A directive's words, and whether it ended in `{` rather than `;`.
    Directive(Vec<String>, bool),
    BlockEnd,
    End,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn next(&mut self) -> Result<Token, String> {
        let mut words = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                if words.is_empty() {
                    return Ok(Token::End);
                }
                return Err(at(self.line, "unexpected end of file, expecting \";\" or \"}\""));
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    self.bump();
                }
                ';' | '{' | '}' => {
                    self.bump();
                    return match (c, words.is_empty()) {
                        ('}', true) => Ok(Token::BlockEnd),
                        ('}', false) | (_, true) => Err(at(self.line, format!("unexpected \"{c}\""))),
                        _ => Ok(Token::Directive(words, c == '{')),
                    };
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '"' | '\'' => words.push(self.quoted(c)?),
                _ => words.push(self.word()),
            }
        }
    }

    /// A word up to a space, `;` or `{` (not the `{` of `${`); `\` keeps the next
    /// character from ending it.
    fn word(&mut self) -> String {
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            let brace_of_variable = c == '{' && raw.ends_with('$');
            if matches!(c, ' ' | '\t' | '\r' | '\n' | ';') || (c == '{' && !brace_of_variable) {
                break;
            }
            raw.push(c);
            self.bump();
            if c == '\\'
                && let Some(next) = self.bump()
            {
                raw.push(next);
            }
        }
        unescape(&raw)
    }

    /// A quoted word; after its closing quote comes a space, `;` or `{`.
    fn quoted(&mut self, quote: char) -> Result<String, String> {
        self.bump();
        let mut raw = String::new();
        loop {
            match self.bump() {
                None => return Err(at(self.line, "unexpected end of file, expecting \";\" or \"}\"")),
                Some(c) if c == quote => break,
                Some('\\') => {
                    raw.push('\\');
                    if let Some(next) = self.bump() {
                        raw.push(next);
                    }
                }
                Some(c) => raw.push(c),
            }
        }
        match self.peek() {
            None | Some(' ' | '\t' | '\r' | '\n' | ';' | '{') => Ok(unescape(&raw)),
            Some(c) => Err(at(self.line, format!("unexpected \"{c}\""))),
        }
    }
}

/// nginx's escapes: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; any other `\x` stays as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some(&next @ ('"' | '\'' | '\\')) => out.push(next),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    out
}

// --- the directives -------------------------------------------------------------------

/// What `stream` and each `server` set themselves.
#[derive(Debug, Clone, Default)]
struct Scope {
    resolver: Option<ResolverConf>,
    connect_timeout: Option<Duration>,
    next_upstream: Option<bool>,
}

#[derive(Debug, Default)]
struct Draft {
    line: usize,
    scope: Scope,
    listen: Vec<SocketAddr>,
    sets: Vec<(String, String)>,
    proxy_pass: Option<(String, usize)>,
}

#[derive(Default)]
struct Builder {
    worker_processes: Option<usize>,
    pid: Option<String>,
    events: bool,
    worker_connections: Option<usize>,
    stream: bool,
    stream_scope: Scope,
    servers: Vec<Draft>,
    /// Every `$name` a `set` defines, and every one a value uses.
    defined: HashSet<String>,
    used: Vec<String>,
}

/// `Err("is duplicate")` when `slot` is set already, as nginx's slots say.
fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), &'static str> {
    if slot.is_some() {
        return Err("is duplicate");
    }
    *slot = Some(value);
    Ok(())
}

impl Builder {
    /// The directives of one block, up to its `}` (or the end of the file, for main).
    fn block(&mut self, lexer: &mut Lexer, context: Context) -> Result<(), String> {
        loop {
            let (words, opens) = match lexer.next()? {
                Token::End if context == Context::Main => return Ok(()),
                Token::End => return Err(at(lexer.line, "unexpected end of file, expecting \"}\"")),
                Token::BlockEnd if context == Context::Main => return Err(at(lexer.line, "unexpected \"}\"")),
                Token::BlockEnd => return Ok(()),
                Token::Directive(words, opens) => (words, opens),
            };
            let line = lexer.line;
            let (name, args) = (words[0].as_str(), &words[1..]);
            let Some((_, contexts, arity, block)) = DIRECTIVES.iter().find(|d| d.0 == name) else {
                return Err(at(line, format!("unknown or unmodelled directive \"{name}\"")));
            };
            if !contexts.contains(&context) {
                return Err(at(line, format!("\"{name}\" directive is not allowed here")));
            }
            if opens && !block {
                return Err(at(line, format!("directive \"{name}\" is not terminated by \";\"")));
            }
            if !opens && *block {
                return Err(at(line, format!("directive \"{name}\" has no opening \"{{\"")));
            }
            let arity_ok = match arity {
                Arity::Exactly(n) => args.len() == *n,
                Arity::AtLeast(n) => args.len() >= *n,
            };
            if !arity_ok {
                return Err(at(line, format!("invalid number of arguments in \"{name}\" directive")));
            }
            self.directive(lexer, context, name, args, line)?;
        }
    }

    fn directive(
        &mut self,
        lexer: &mut Lexer,
        context: Context,
        name: &str,
        args: &[String],
        line: usize,
    ) -> Result<(), String> {
        let says = |why: &str| at(line, format!("\"{name}\" directive {why}"));
        let value = args.first().map(String::as_str).unwrap_or_default();
        match name {
            "worker_processes" => {
                let n = match value {
                    "auto" => std::thread::available_parallelism().map_or(1, |n| n.get()),
                    _ => number(value).ok_or_else(|| says("invalid value"))?,
                };
                once(&mut self.worker_processes, n).map_err(says)
            }
            "pid" => once(&mut self.pid, value.to_owned()).map_err(says),
            "events" => {
                if std::mem::replace(&mut self.events, true) {
                    return Err(says("is duplicate"));
                }
                self.block(lexer, Context::Events)
            }
            "worker_connections" => {
                let n = number(value).ok_or_else(|| at(line, format!("invalid number \"{value}\"")))?;
                once(&mut self.worker_connections, n).map_err(says)
            }
            "stream" => {
                if std::mem::replace(&mut self.stream, true) {
                    return Err(says("is duplicate"));
                }
                self.block(lexer, Context::Stream)
            }
            "server" => {
                self.servers.push(Draft {
                    line,
                    ..Draft::default()
                });
                self.block(lexer, Context::Server)?;
                let server = self.servers.last().expect("pushed above");
                if server.listen.is_empty() {
                    return Err(format!(
                        "no \"listen\" is defined for server in {CONF_PATH}:{}",
                        server.line
                    ));
                }
                Ok(())
            }
            "resolver" => {
                let resolver = resolver(args).map_err(|why| at(line, why))?;
                once(&mut self.scope(context).resolver, resolver).map_err(says)
            }
            "proxy_connect_timeout" => {
                let timeout = time::parse(value, Unit::Milliseconds).ok_or_else(|| says("invalid value"))?;
                once(&mut self.scope(context).connect_timeout, timeout).map_err(says)
            }
            "proxy_next_upstream" => {
                let on = match value.to_ascii_lowercase().as_str() {
                    "on" => true,
                    "off" => false,
                    _ => {
                        return Err(at(
                            line,
                            format!("invalid value \"{value}\" in \"{name}\" directive, it must be \"on\" or \"off\""),
                        ));
                    }
                };
                once(&mut self.scope(context).next_upstream, on).map_err(says)
            }
            "listen" => self.listen(args, line),
            "set" => {
                let variable = value
                    .strip_prefix('$')
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| at(line, format!("invalid variable name \"{value}\"")))?;
                self.used.extend(variables(&args[1]));
                self.defined.insert(variable.to_owned());
                let server = self.servers.last_mut().expect("set is read inside a server");
                server.sets.push((variable.to_owned(), args[1].clone()));
                Ok(())
            }
            "proxy_pass" => {
                let used = variables(value);
                if used.is_empty() {
                    host_port(value).map_err(|why| at(line, format!("{why} in upstream \"{value}\"")))?;
                }
                self.used.extend(used);
                let server = self.servers.last_mut().expect("proxy_pass is read inside a server");
                once(&mut server.proxy_pass, (value.to_owned(), line)).map_err(says)
            }
            _ => unreachable!("every directive of DIRECTIVES is handled"),
        }
    }

    /// The settings of `context`: the stream block's, or the current server's.
    fn scope(&mut self, context: Context) -> &mut Scope {
        match context {
            Context::Server => &mut self.servers.last_mut().expect("inside a server").scope,
            _ => &mut self.stream_scope,
        }
    }

    fn listen(&mut self, args: &[String], line: usize) -> Result<(), String> {
        if let Some(parameter) = args.get(1) {
            return Err(at(line, format!("invalid parameter \"{parameter}\"")));
        }
        let address = listen_address(&args[0]).map_err(|why| at(line, why))?;
        if self.servers.iter().any(|s| s.listen.contains(&address)) {
            return Err(at(line, format!("a duplicate default server for {address}")));
        }
        self.servers.last_mut().expect("inside a server").listen.push(address);
        Ok(())
    }

    fn finish(self) -> Result<Config, String> {
        if !self.events {
            return Err("no \"events\" section in configuration".into());
        }
        if let Some(unknown) = self.used.iter().find(|name| !self.defined.contains(*name)) {
            return Err(format!("unknown \"{unknown}\" variable"));
        }
        let mut servers = Vec::new();
        for draft in self.servers {
            let Some((proxy_pass, proxy_line)) = draft.proxy_pass else {
                return Err(format!("no handler for server in {CONF_PATH}:{}", draft.line));
            };
            let upstream = if variables(&proxy_pass).is_empty() {
                let (host, port) = host_port(&proxy_pass).expect("checked when read");
                Upstream::Fixed {
                    host,
                    port,
                    line: proxy_line,
                }
            } else {
                let mut values: Vec<(String, String)> = Vec::new();
                for (name, value) in &draft.sets {
                    let value = expand(value, &values);
                    values.retain(|(n, _)| n != name);
                    values.push((name.clone(), value));
                }
                let evaluated = expand(&proxy_pass, &values);
                match host_port(&evaluated) {
                    Ok((host, port)) => Upstream::Evaluated { host, port },
                    Err(why) => Upstream::Invalid(format!("{why} in upstream \"{evaluated}\"")),
                }
            };
            let inherit = &self.stream_scope;
            servers.push(Server {
                line: draft.line,
                listen: draft.listen,
                upstream,
                resolver: draft.scope.resolver.or_else(|| inherit.resolver.clone()),
                connect_timeout: draft
                    .scope
                    .connect_timeout
                    .or(inherit.connect_timeout)
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                next_upstream: draft.scope.next_upstream.or(inherit.next_upstream).unwrap_or(true),
            });
        }
        Ok(Config {
            worker_processes: self.worker_processes.unwrap_or(1),
            pid: self.pid.unwrap_or_else(|| DEFAULT_PID.into()),
            worker_connections: self.worker_connections.unwrap_or(DEFAULT_WORKER_CONNECTIONS),
            servers,
        })
    }
}

/// nginx's `ngx_atoi`: digits only.
fn number(text: &str) -> Option<usize> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The names of the variables `text` uses: `$name` and `${name}`.
fn variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    walk_variables(text, &mut |piece| {
        if let Piece::Variable(name) = piece {
            names.push(name.to_owned());
        }
    });
    names
}

/// `text` with each variable replaced by its value in `values` (empty when unset).
fn expand(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::new();
    walk_variables(text, &mut |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Variable(name) => {
            if let Some((_, value)) = values.iter().find(|(n, _)| n == name) {
                out.push_str(value);
            }
        }
    });
    out
}

enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn walk_variables<'a>(text: &'a str, each: &mut dyn FnMut(Piece<'a>)) {
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        each(Piece::Text(&rest[..dollar]));
        let after = &rest[dollar + 1..];
        let (braced, body) = match after.strip_prefix('{') {
            Some(body) => (true, body),
            None => (false, after),
        };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let closed = !braced || body[len..].starts_with('}');
        if len == 0 || !closed {
            each(Piece::Text("$"));
            rest = after;
            continue;
        }
        each(Piece::Variable(&body[..len]));
        rest = &body[len + usize::from(braced)..];
    }
    each(Piece::Text(rest));
}

/// `host:port` (`[v6]:port` for an IPv6 address), as `ngx_parse_url` reads an upstream.
fn host_port(text: &str) -> Result<(String, u16), &'static str> {
    if text.starts_with("unix:") {
        return Err("unix sockets are not served by the stand-in");
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']').ok_or("invalid IPv6 address")?;
            (host, rest.strip_prefix(':').ok_or("no port")?)
        }
        None => text.rsplit_once(':').ok_or("no port")?,
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = number(port).filter(|p| (1..=65535).contains(p)).ok_or("invalid port")?;
    Ok((host.to_owned(), port as u16))
}

/// A `listen` address: `PORT`, `*:PORT`, `ADDRESS:PORT` or `[V6]:PORT`.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    let invalid = |why: &str| format!("{why} in \"{text}\" of the \"listen\" directive");
    if let Some(port) = number(text) {
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid("invalid port"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    let (host, port) = host_port(text).map_err(invalid)?;
    if host == "*" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| invalid("host not found"))
}

/// The arguments of `resolver`.
fn resolver(args: &[String]) -> Result<ResolverConf, String> {
    let mut conf = ResolverConf {
        servers: Vec::new(),
        valid: None,
        ipv4: true,
        ipv6: true,
    };
    for arg in args {
        let invalid = || format!("invalid parameter: {arg}");
        let flag = |value: &str| match value {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err(invalid()),
        };
        if let Some(valid) = arg.strip_prefix("valid=") {
            conf.valid = Some(time::parse(valid, Unit::Seconds).ok_or_else(invalid)?);
        } else if let Some(value) = arg.strip_prefix("ipv4=") {
            conf.ipv4 = flag(value)?;
        } else if let Some(value) = arg.strip_prefix("ipv6=") {
            conf.ipv6 = flag(value)?;
        } else {
            conf.servers.push(name_server(arg)?);
        }
    }
    if !conf.ipv4 && !conf.ipv6 {
        return Err("\"ipv4\" and \"ipv6\" cannot both be \"off\"".into());
    }
    // A value of 0 is no value: nginx then uses each answer's TTL.
    conf.valid = conf.valid.filter(|v| !v.is_zero());
    Ok(conf)
}

/// A resolver's address, port 53 unless given.
fn name_server(text: &str) -> Result<SocketAddr, String> {
    let has_port = match text.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => text.contains(':'),
    };
    let with_port = if has_port {
        text.to_owned()
    } else {
        format!("{text}:53")
    };
    let (host, port) = host_port(&with_port).map_err(|why| format!("{why} in resolver \"{text}\""))?;
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("host not found in resolver \"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "events { }\nstream {\n  server {\n    listen 8000;\n    proxy_pass 127.0.0.1:9;\n  }\n}\n";

    fn refused(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn defaults_are_nginx_defaults_and_a_server_inherits_from_stream() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.worker_processes, 1);
        assert_eq!(config.pid, "/var/run/nginx.pid");
        assert_eq!(config.worker_connections, 512);
        let server = &config.servers[0];
        assert_eq!(server.connect_timeout, Duration::from_secs(60));
        assert!(server.next_upstream);
        assert_eq!(server.resolver, None);
        assert_eq!(server.listen, vec!["0.0.0.0:8000".parse().unwrap()]);

        let config = parse(
            "events {}\nstream {\n resolver 10.0.0.1 valid=2m;\n proxy_connect_timeout 500ms;\n proxy_next_upstream off;\n\
             server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:9; }\n\
             server { listen 2; proxy_connect_timeout 3s; proxy_next_upstream ON; resolver [::1]:5353; proxy_pass 127.0.0.1:9; }\n}\n",
        )
        .unwrap();
        let (first, second) = (&config.servers[0], &config.servers[1]);
        assert_eq!(first.connect_timeout, Duration::from_millis(500));
        assert!(!first.next_upstream);
        let inherited = first.resolver.as_ref().unwrap();
        assert_eq!(inherited.servers, vec!["10.0.0.1:53".parse().unwrap()]);
        assert_eq!(inherited.valid, Some(Duration::from_secs(120)));
        assert_eq!(second.connect_timeout, Duration::from_secs(3));
        assert!(second.next_upstream);
        assert_eq!(
            second.resolver.as_ref().unwrap().servers,
            vec!["[::1]:5353".parse().unwrap()]
        );
    }

    #[test]
    fn proxy_pass_with_a_variable_is_evaluated_per_connection_and_without_one_resolved_at_start() {
        let config = parse(
            "events {}\nstream {\n server {\n  listen 1;\n  set $port 8000;\n  set $target \"kong:${port}\";\n  proxy_pass $target;\n }\n\
             server { listen 2; proxy_pass kong:8443; }\n server { listen 3; set $t kong; proxy_pass $t; }\n}\n",
        )
        .unwrap();
        assert_eq!(
            config.servers[0].upstream,
            Upstream::Evaluated {
                host: "kong".into(),
                port: 8000
            }
        );
        assert_eq!(
            config.servers[1].upstream,
            Upstream::Fixed {
                host: "kong".into(),
                port: 8443,
                line: 9
            }
        );
        assert_eq!(
            config.servers[2].upstream,
            Upstream::Invalid("no port in upstream \"kong\"".into())
        );
    }

    #[test]
    fn comments_quotes_and_escapes_are_read_as_nginx_reads_them() {
        let config = parse(
            "# a comment; with { braces }\nevents { worker_connections '64'; } # trailing\n\
             pid \"/tmp/a b.pid\";\nstream { server { listen 8000; proxy_pass 127.0.0.1:9; } }",
        )
        .unwrap();
        assert_eq!(config.worker_connections, 64);
        assert_eq!(config.pid, "/tmp/a b.pid");
        assert_eq!(unescape(r#"a\"b\\c\;d\te"#), "a\"b\\c\\;d\te");
    }

    #[test]
    fn anything_outside_the_subset_is_refused_with_nginx_wording() {
        let cases = [
            (
                "events {}\nhttp {}\n",
                "unknown or unmodelled directive \"http\" in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream {\n  server {\n    listen 8000;\n    proxy_timeout 10m;\n  }\n}\n",
                "unknown or unmodelled directive \"proxy_timeout\" in /etc/nginx/nginx.conf:5",
            ),
            (
                "events {}\nlisten 80;\n",
                "\"listen\" directive is not allowed here in /etc/nginx/nginx.conf:2",
            ),
            (
                "events;\n",
                "directive \"events\" has no opening \"{\" in /etc/nginx/nginx.conf:1",
            ),
            (
                "pid /x {\n",
                "directive \"pid\" is not terminated by \";\" in /etc/nginx/nginx.conf:1",
            ),
            (
                "pid;\n",
                "invalid number of arguments in \"pid\" directive in /etc/nginx/nginx.conf:1",
            ),
            (
                "pid a;\npid b;\n",
                "\"pid\" directive is duplicate in /etc/nginx/nginx.conf:2",
            ),
            (
                "worker_processes two;\n",
                "\"worker_processes\" directive invalid value in /etc/nginx/nginx.conf:1",
            ),
            (
                "events { worker_connections -1; }",
                "invalid number \"-1\" in /etc/nginx/nginx.conf:1",
            ),
            ("stream {}\n", "no \"events\" section in configuration"),
            (
                "events {\n",
                "unexpected end of file, expecting \"}\" in /etc/nginx/nginx.conf:2",
            ),
            ("events {}\n}\n", "unexpected \"}\" in /etc/nginx/nginx.conf:2"),
            (
                "pid /x",
                "unexpected end of file, expecting \";\" or \"}\" in /etc/nginx/nginx.conf:1",
            ),
            ("pid \"/x\"y;", "unexpected \"y\" in /etc/nginx/nginx.conf:1"),
            (
                "events {}\nstream { proxy_connect_timeout ${FRONT_CONNECT_TIMEOUT}s; }",
                "\"proxy_connect_timeout\" directive invalid value in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream { proxy_next_upstream maybe; }",
                "invalid value \"maybe\" in \"proxy_next_upstream\" directive, it must be \"on\" or \"off\" in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream { resolver 127.0.0.11 valid=${FRONT_DNS_VALID}s; }",
                "invalid parameter: valid=${FRONT_DNS_VALID}s in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream { resolver 127.0.0.11 ipv4=off ipv6=off; }",
                "\"ipv4\" and \"ipv6\" cannot both be \"off\" in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream {\nserver {\n}\n}\n",
                "no \"listen\" is defined for server in /etc/nginx/nginx.conf:3",
            ),
            (
                "events {}\nstream {\nserver {\nlisten 1;\n}\n}\n",
                "no handler for server in /etc/nginx/nginx.conf:3",
            ),
            (
                "events {}\nstream { server { listen 1 reuseport; } }",
                "invalid parameter \"reuseport\" in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream { server { listen 1; proxy_pass kong; } }",
                "no port in upstream \"kong\" in /etc/nginx/nginx.conf:2",
            ),
            (
                "events {}\nstream { server { listen 1; proxy_pass $nowhere; } }",
                "unknown \"nowhere\" variable",
            ),
            (
                "events {}\nstream {\nserver { listen 1; proxy_pass a:1; }\nserver { listen 0.0.0.0:1; proxy_pass a:1; }\n}",
                "a duplicate default server for 0.0.0.0:1 in /etc/nginx/nginx.conf:4",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(refused(text), expected, "{text}");
        }
    }

    #[test]
    fn valid_0_means_the_answers_ttl() {
        let conf = resolver(&["127.0.0.11".into(), "valid=0s".into(), "ipv6=off".into()]).unwrap();
        assert_eq!(conf.valid, None);
        assert!(conf.ipv4 && !conf.ipv6);
        assert_eq!(conf.servers, vec!["127.0.0.11:53".parse().unwrap()]);
    }
}
