//! A graceful stop on SIGTERM or SIGQUIT, as the real programs do it (Kong's image
//! stops nginx with SIGQUIT, which finishes the requests in flight; GoTrue and PostgREST
//! shut their HTTP servers down on SIGTERM): the listening sockets are shut at once, so a
//! new connection is refused (a proxy passes it to another address), and the process
//! exits once no connection is being served, or after [`GRACE`].

use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a stop waits for the connections in flight.
pub const GRACE: Duration = Duration::from_secs(8);

const SIGQUIT: i32 = 3;
const SIGTERM: i32 = 15;
const SHUT_RDWR: i32 = 2;

static STOPPING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: i32) {
    STOPPING.store(true, Ordering::SeqCst);
}

unsafe extern "C" {
    /// The C library's `signal` (std links it already).
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    /// The C library's `shutdown`: on a listening socket, no connection is accepted any more.
    fn shutdown(fd: i32, how: i32) -> i32;
}

/// Whether a stop was asked for: the accept loop then waits instead of accepting.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// From now on, SIGTERM and SIGQUIT shut the listening sockets `fds` and stop the
/// process once `active` (the connections being served) is zero.
pub fn drain_on_signal(fds: Vec<RawFd>, active: Arc<AtomicUsize>, name: &'static str) {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        signal(SIGTERM, on_stop);
        signal(SIGQUIT, on_stop);
    }
    let watcher = thread::Builder::new().name("stop".to_owned()).spawn(move || {
        while !STOPPING.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
        }
        for fd in fds {
            // SAFETY: each fd is a listener, open for the life of the process (serve never returns).
            unsafe {
                shutdown(fd, SHUT_RDWR);
            }
        }
        let asked = Instant::now();
        while active.load(Ordering::SeqCst) > 0 && asked.elapsed() < GRACE {
            thread::sleep(Duration::from_millis(5));
        }
        eprintln!("stand-in {name}: stopped");
        std::process::exit(0);
    });
    if let Err(error) = watcher {
        eprintln!("stand-in {name}: no graceful stop: {error}");
    }
}
