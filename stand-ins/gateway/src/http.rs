//! Just enough HTTP/1.1 for the stand-ins: one request per connection, bounded in size
//! and time, answered with `Connection: close`; and the client the gateway stand-in uses
//! to reach the services behind its routes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Request line plus headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// A request body larger than this is refused (413).
pub const MAX_BODY: usize = 64 * 1024;
/// An upstream answer larger than this is cut.
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// The whole request must arrive within this time, however slowly it trickles in.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, without its query string (not percent-decoded).
    pub path: String,
    /// The query string's `name=value` pairs, in order (not percent-decoded).
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no header, query or body.
    pub fn new(method: &str, target: &str) -> Request {
        let (path, query) = split_target(target);
        Request {
            method: method.to_owned(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// How many headers have this name.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .count()
    }

    /// Replaces every header of this name with one holding `value`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn set_query_param(&mut self, name: &str, value: &str) {
        self.remove_query_param(name);
        self.query.push((name.to_owned(), value.to_owned()));
    }

    pub fn remove_query_param(&mut self, name: &str) {
        self.query.retain(|(key, _)| key != name);
    }

    /// The path with its query string.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (pair.to_owned(), String::new()),
        })
        .collect();
    (path.to_owned(), query)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A response with a plain-text body.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body as JSON, `Null` when it is not JSON.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum BadRequest {
    /// The client closed the connection before sending a whole head.
    Closed,
    /// Timed out or failed while reading.
    Io,
    Malformed,
    HeadTooLarge,
    BodyTooLarge,
    /// `Transfer-Encoding` (chunked bodies) is not supported.
    LengthRequired,
}

impl BadRequest {
    /// The status to answer with, if any answer is possible.
    pub fn status(&self) -> Option<u16> {
        match self {
            BadRequest::Closed | BadRequest::Io => None,
            BadRequest::Malformed => Some(400),
            BadRequest::HeadTooLarge => Some(431),
            BadRequest::BodyTooLarge => Some(413),
            BadRequest::LengthRequired => Some(411),
        }
    }
}

/// Reads one request; the stream should have a read timeout set.
pub fn read_request(stream: &mut impl Read) -> Result<Request, BadRequest> {
    let started = Instant::now();
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return Err(BadRequest::HeadTooLarge);
        }
        if started.elapsed() > REQUEST_DEADLINE {
            return Err(BadRequest::Io);
        }
        match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(BadRequest::Closed),
            Ok(0) => return Err(BadRequest::Malformed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(BadRequest::Io),
        }
    };
    if head_end > MAX_HEAD {
        return Err(BadRequest::HeadTooLarge);
    }
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| BadRequest::Malformed)?;
    let mut request = parse_head(head)?;

    if request.header("transfer-encoding").is_some() {
        return Err(BadRequest::LengthRequired);
    }
    let body_len = match request.header("content-length") {
        None => 0,
        Some(value) => value.trim().parse::<usize>().map_err(|_| BadRequest::Malformed)?,
    };
    if body_len > MAX_BODY {
        return Err(BadRequest::BodyTooLarge);
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < body_len {
        if started.elapsed() > REQUEST_DEADLINE {
            return Err(BadRequest::Io);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(BadRequest::Malformed),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(BadRequest::Io),
        }
    }
    body.truncate(body_len);
    request.body = body;
    Ok(request)
}

fn parse_head(head: &str) -> Result<Request, BadRequest> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().ok_or(BadRequest::Malformed)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::Malformed);
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(BadRequest::Malformed);
    }
    let mut request = Request::new(method, target);
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(BadRequest::Malformed)?;
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic());
        if !name_ok {
            return Err(BadRequest::Malformed);
        }
        request.headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Entity",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes a complete response and closes the exchange.
pub fn write_response(stream: &mut impl Write, response: &Response) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

/// Why a service behind a route could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    /// The host name does not resolve.
    Resolve,
    /// Nothing accepts connections there, or it did not answer HTTP in time.
    Connect,
}

/// Why one attempt at an upstream address failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptError {
    /// No connection: nothing of the request reached the upstream.
    Connect,
    /// The connection failed or timed out after the request was (partly) sent,
    /// before a whole response header came back.
    Sent,
}

/// Sends `request` to `host:port` (its first address) and reads the whole answer.
pub fn send(host: &str, port: u16, request: &Request) -> Result<Response, UpstreamError> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|_| UpstreamError::Resolve)?
        .next()
        .ok_or(UpstreamError::Resolve)?;
    send_to(addr, host, port, request).map_err(|_| UpstreamError::Connect)
}

/// Sends `request` to the address `addr` of `host:port` and reads the whole answer.
pub fn send_to(addr: SocketAddr, host: &str, port: u16, request: &Request) -> Result<Response, AttemptError> {
    let mut stream = TcpStream::connect_timeout(&addr, UPSTREAM_TIMEOUT).map_err(|_| AttemptError::Connect)?;
    let _ = stream.set_read_timeout(Some(UPSTREAM_TIMEOUT));
    let _ = stream.set_write_timeout(Some(UPSTREAM_TIMEOUT));
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}:{port}\r\n",
        request.method,
        request.target()
    );
    for (name, value) in &request.headers {
        let hop = [
            "host",
            "connection",
            "content-length",
            "transfer-encoding",
            "keep-alive",
        ];
        if hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&request.body))
        .map_err(|_| AttemptError::Sent)?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE as u64)
        .read_to_end(&mut raw)
        .map_err(|_| AttemptError::Sent)?;
    parse_response(&raw).ok_or(AttemptError::Sent)
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let head_end = find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(length) = length {
        body.truncate(length);
    }
    Some(Response { status, headers, body })
}

/// The first of `headers` named `name`, compared case-insensitively (HTTP's rule).
fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Request, BadRequest> {
        read_request(&mut &raw[..])
    }

    #[test]
    fn parses_method_path_query_and_headers() {
        let request = read(b"GET /rest/v1/?select=*&apikey=k HTTP/1.1\r\nHost: x\r\nApiKey:  abc \r\n\r\n").unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/rest/v1/");
        assert_eq!(request.query_param("apikey"), Some("k"));
        assert_eq!(request.header("apikey"), Some("abc"));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(request.target(), "/rest/v1/?select=*&apikey=k");
    }

    #[test]
    fn keeps_a_declared_body() {
        let request = read(b"POST /functions/v1/hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(request.body, b"hello");
        assert_eq!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort").err(),
            Some(BadRequest::Malformed)
        );
    }

    #[test]
    fn enforces_limits() {
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        huge.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read(&huge).err(), Some(BadRequest::HeadTooLarge));
        let big_body = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(read(big_body.as_bytes()).err(), Some(BadRequest::BodyTooLarge));
        assert_eq!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").err(),
            Some(BadRequest::LengthRequired)
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(read(b"").err(), Some(BadRequest::Closed));
        assert_eq!(read(b"hello\r\n\r\n").err(), Some(BadRequest::Malformed));
        assert_eq!(
            read(b"GET http://x/ HTTP/1.1\r\n\r\n").err(),
            Some(BadRequest::Malformed)
        );
        assert_eq!(
            read(b"GET / HTTP/1.1\r\nno-colon\r\n\r\n").err(),
            Some(BadRequest::Malformed)
        );
    }

    #[test]
    fn reads_an_upstream_answer() {
        let response = parse_response(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}extra").unwrap();
        assert_eq!((response.status, response.body.as_slice()), (401, &b"{}"[..]));
    }
}
