//! The listener: one thread per connection (at most `MAX_CONNECTIONS` at once) and the
//! routes of the stand-in stack.

use crate::auth::{self, Keys};
use crate::http::{self, Request};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

pub const MAX_CONNECTIONS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(5);
const HEALTH_LOG: &str = "GET /auth/v1/health";

/// Serves until the process is killed (the image's stop signal is SIGKILL).
pub fn serve(listener: TcpListener, keys: Keys) -> ! {
    let keys = Arc::new(keys);
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(error) => {
                eprintln!("stand-in-gateway: accept failed: {error}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let slot = Slot::take(&active);
        if slot.is_none() {
            let mut stream = stream;
            let body = r#"{"message":"too many connections"}"#;
            let _ = http::write_response(&mut stream, 503, body);
            continue;
        }
        let keys = Arc::clone(&keys);
        let spawned = thread::Builder::new().name("connection".to_owned()).spawn(move || {
            let _slot = slot;
            handle(stream, &keys);
        });
        if let Err(error) = spawned {
            eprintln!("stand-in-gateway: cannot start a connection thread: {error}");
        }
    }
}

/// One of the `MAX_CONNECTIONS` places; given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Option<Slot> {
        let taken = active.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_CONNECTIONS).then_some(n + 1)
        });
        taken.ok().map(|_| Slot(Arc::clone(active)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn handle(mut stream: TcpStream, keys: &Keys) {
    let (status, body, logged_path) = match http::read_request(&mut stream) {
        Ok(request) => {
            let (status, body) = route(&request, keys);
            // Unmatched paths are not echoed: a client might have put anything there.
            let path = if status == 404 {
                "(unmatched)".to_owned()
            } else {
                request.path.clone()
            };
            (status, body, format!("{} {path}", request.method))
        }
        Err(bad) => match bad.status() {
            Some(status) => (
                status,
                r#"{"message":"bad request"}"#.to_owned(),
                "(bad request)".to_owned(),
            ),
            None => return,
        },
    };
    // Only the route and the outcome, never a header value; healthy healthchecks are noise.
    if !(status == 200 && logged_path == HEALTH_LOG) {
        eprintln!("stand-in-gateway: {logged_path} -> {status}");
    }
    let _ = http::write_response(&mut stream, status, &body);
}

/// The status and JSON body for a request.
pub fn route(request: &Request, keys: &Keys) -> (u16, String) {
    let method = request.method.as_str();
    let path = request.path.as_str();
    if path == "/auth/v1/health" {
        return match method {
            "GET" => (200, r#"{"status":"ok"}"#.to_owned()),
            _ => method_not_allowed(),
        };
    }
    if path.starts_with("/rest/v1/") {
        if method != "GET" {
            return method_not_allowed();
        }
        return match auth::rest(keys, request.header("apikey")) {
            Ok(role) => (200, serde_json::json!({ "ok": true, "role": role }).to_string()),
            Err(denied) => (401, denied.rest_body().to_owned()),
        };
    }
    if let Some(name) = path.strip_prefix("/functions/v1/") {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return not_found();
        }
        if method != "GET" && method != "POST" {
            return method_not_allowed();
        }
        return match auth::function(keys, request.header("authorization")) {
            Ok(()) => (200, serde_json::json!({ "function": name, "ok": true }).to_string()),
            Err(denied) => (401, denied.function_body().to_owned()),
        };
    }
    not_found()
}

fn not_found() -> (u16, String) {
    (404, r#"{"message":"no Route matched with those values"}"#.to_owned())
}

fn method_not_allowed() -> (u16, String) {
    (405, r#"{"message":"method not allowed"}"#.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &str) -> Request {
        http::read_request(&mut raw.as_bytes()).unwrap()
    }

    fn keys() -> Keys {
        Keys::new(b"0123456789abcdef0123456789abcdef", "a".into(), "s".into()).unwrap()
    }

    #[test]
    fn health_needs_no_key() {
        let (status, body) = route(&request("GET /auth/v1/health HTTP/1.1\r\n\r\n"), &keys());
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    }

    #[test]
    fn routes_refuse_without_keys() {
        let keys = keys();
        assert_eq!(route(&request("GET /rest/v1/ HTTP/1.1\r\n\r\n"), &keys).0, 401);
        assert_eq!(
            route(&request("POST /functions/v1/hello HTTP/1.1\r\n\r\n"), &keys).0,
            401
        );
        assert_eq!(
            route(&request("DELETE /functions/v1/hello HTTP/1.1\r\n\r\n"), &keys).0,
            405
        );
        assert_eq!(
            route(&request("GET /functions/v1/a%22b HTTP/1.1\r\n\r\n"), &keys).0,
            404
        );
        assert_eq!(route(&request("GET /storage/v1/ HTTP/1.1\r\n\r\n"), &keys).0, 404);
    }

    #[test]
    fn slots_are_bounded_and_given_back() {
        let active = Arc::new(AtomicUsize::new(0));
        let slots: Vec<Slot> = (0..MAX_CONNECTIONS).map_while(|_| Slot::take(&active)).collect();
        assert_eq!(slots.len(), MAX_CONNECTIONS);
        assert!(Slot::take(&active).is_none());
        drop(slots);
        assert_eq!(active.load(Ordering::Acquire), 0);
    }
}
