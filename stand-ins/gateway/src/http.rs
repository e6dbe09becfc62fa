//! Just enough HTTP/1.1 for the tests: one request per connection, bounded in size and
//! time, answered with a JSON body and `Connection: close`.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Request line plus headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Bodies are read (so closing the socket does not reset the client) and dropped.
pub const MAX_BODY: usize = 64 * 1024;
/// The whole request must arrive within this time, however slowly it trickles in.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

pub struct Request {
    pub method: String,
    /// The target without its query string.
    pub path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
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
    let request = parse_head(head)?;

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
    let mut remaining = body_len.saturating_sub(buf.len() - (head_end + 4));
    while remaining > 0 {
        if started.elapsed() > REQUEST_DEADLINE {
            return Err(BadRequest::Io);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(BadRequest::Malformed),
            Ok(n) => remaining = remaining.saturating_sub(n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(BadRequest::Io),
        }
    }
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
    let path = target.split('?').next().unwrap_or(target);

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(BadRequest::Malformed)?;
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic());
        if !name_ok {
            return Err(BadRequest::Malformed);
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes a complete response with a JSON body and closes the exchange.
pub fn write_response(stream: &mut impl Write, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Request, BadRequest> {
        read_request(&mut &raw[..])
    }

    #[test]
    fn parses_method_path_and_headers() {
        let request = read(b"GET /rest/v1/?select=* HTTP/1.1\r\nHost: x\r\nApiKey:  abc \r\n\r\n").unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/rest/v1/");
        assert_eq!(request.header("apikey"), Some("abc"));
        assert_eq!(request.header("authorization"), None);
    }

    #[test]
    fn consumes_a_declared_body() {
        let request = read(b"POST /functions/v1/hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(request.path, "/functions/v1/hello");
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
}
