//! The listener every stand-in shares: one thread per connection (at most
//! `MAX_CONNECTIONS` at once), one request per connection, one log line per request
//! naming the method, the route and the status (never a header value).

use crate::http::{self, Request, Response};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

pub const MAX_CONNECTIONS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// What a stand-in answers.
pub trait Handler: Send + Sync {
    fn handle(&self, request: &Request) -> Response;
    /// The path its healthcheck asks for.
    fn health_path(&self) -> &str;
}

/// Serves until the process is stopped ([`crate::stop`]).
pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>, name: &'static str) -> ! {
    let active = Arc::new(AtomicUsize::new(0));
    crate::stop::drain_on_signal(vec![listener.as_raw_fd()], Arc::clone(&active), name);
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) if crate::stop::stopping() => {
                thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(error) => {
                eprintln!("stand-in {name}: accept failed: {error}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let Some(slot) = Slot::take(&active) else {
            let mut stream = stream;
            let busy = Response::json(503, &serde_json::json!({"message": "too many connections"}));
            let _ = http::write_response(&mut stream, &busy);
            continue;
        };
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new().name("connection".to_owned()).spawn(move || {
            let _slot = slot;
            handle(stream, handler.as_ref(), name);
        });
        if let Err(error) = spawned {
            eprintln!("stand-in {name}: cannot start a connection thread: {error}");
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

fn handle(mut stream: TcpStream, handler: &dyn Handler, name: &str) {
    let (response, logged) = match http::read_request(&mut stream) {
        Ok(request) => {
            let response = handler.handle(&request);
            let quiet = request.path == handler.health_path() && response.status < 500;
            // Paths are not echoed when unmatched: a client might have put anything there.
            let path = if response.status == 404 {
                "(unmatched)"
            } else {
                request.path.as_str()
            };
            (response, (!quiet).then(|| format!("{} {path}", request.method)))
        }
        Err(bad) => match bad.status() {
            Some(status) => (
                Response::json(status, &serde_json::json!({"message": "bad request"})),
                Some("(bad request)".to_owned()),
            ),
            None => return,
        },
    };
    if let Some(line) = logged {
        eprintln!("stand-in {name}: {line} -> {}", response.status);
    }
    let _ = http::write_response(&mut stream, &response);
}

#[cfg(test)]
mod tests {
    use super::*;

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
