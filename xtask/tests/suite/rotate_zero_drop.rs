//! Recreates that drop no request: while `rotate` recreates the stateless
//! services behind the gateway start-first, a client calling through the
//! gateway sees every request answered. On the real test stack; fails, never
//! skips, without Docker.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::stack::Stack;

/// `GET path` on the gateway as a client without a deadline of its own
/// (supabase-js's fetch has none) would see it: the status, 0 when the
/// connection is refused or reset. A request Kong holds while it retries is
/// slow, not failed: the read waits up to a minute (Kong's own upstream
/// timeout).
fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Calls `paths` through the gateway on `port` in turn until `stop`, and
/// returns every (path, status) seen; 0 is a connection that failed.
fn client_loop(port: u16, anon: String, paths: &'static [&'static str], stop: Arc<AtomicBool>) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let bearer = format!("Bearer {anon}");
    let headers = [("apikey", anon.as_str()), ("Authorization", bearer.as_str())];
    while !stop.load(Ordering::SeqCst) {
        for path in paths {
            seen.push((path.to_string(), get(port, path, &headers)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

/// The client kept calling, and no request got a 5xx or no answer.
fn assert_none_failed(seen: &[(String, u16)], when: &str) {
    assert!(seen.len() > 100, "the client kept calling: {} requests", seen.len());
    let failed: Vec<&(String, u16)> = seen
        .iter()
        .filter(|(_, status)| *status == 0 || *status >= 500)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed {when}, first: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(5)]
    );
}

/// Kong recreated behind its front: no request gets a 5xx, and port 8000 keeps
/// answering. A connection can still race the old Kong's stop: one the kernel took
/// into its listen queue just before the listener closed is reset, and a TCP front
/// (nginx stream, like the stand-in) only retries a connection it could not open.
/// A plain recreate loses every request of several seconds: hundreds here.
fn assert_kong_kept_answering(seen: &[(String, u16)], when: &str) {
    assert!(seen.len() > 100, "the client kept calling: {} requests", seen.len());
    let errors: Vec<&(String, u16)> = seen.iter().filter(|(_, status)| *status >= 500).collect();
    assert!(
        errors.is_empty(),
        "{} requests got a 5xx {when}: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let unanswered = seen.iter().filter(|(_, status)| *status == 0).count();
    assert!(
        unanswered * 500 <= seen.len(),
        "{unanswered} of {} requests got no answer {when}: more than the race of a stop explains",
        seen.len()
    );
}

const PATHS: &[&str] = &["/auth/v1/health", "/rest/v1/receptor_live_check", "/functions/v1/hello"];

#[test]
fn a_client_calling_through_the_gateway_sees_no_failed_request_while_services_are_recreated() {
    let stack = Stack::up();
    let before = stack.env();
    let ids = stack.container_ids();

    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (port, anon, stop) = (stack.port, before["ANON_KEY"].clone(), Arc::clone(&stop));
        std::thread::spawn(move || client_loop(port, anon, PATHS, stop))
    };
    std::thread::sleep(Duration::from_millis(500));
    // POSTGRES_PASSWORD is read by auth, rest and functions, not by kong.
    let out = stack.rotate(&["POSTGRES_PASSWORD", "--yes"]).succeeds();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let seen = client.join().unwrap();

    out.stdout_has("start-first (the new container up before the old one stops): auth, functions, rest");
    let after = stack.container_ids();
    for service in ["auth", "functions", "rest"] {
        assert_ne!(ids[service], after[service], "{service} was recreated");
    }
    let states = stack.compose().ps().unwrap();
    for service in ["auth", "functions", "rest"] {
        let running: Vec<_> = states.iter().filter(|s| s.service == service).collect();
        assert_eq!(running.len(), 1, "{service} ends with one container");
    }
    stack.assert_works_with(&stack.env());

    assert_none_failed(&seen, "during the rotation");
    // Each answer is the one a settled stack gives: the keys never stopped working.
    for (path, status) in &seen {
        let expected = if path.starts_with("/rest/") { 404 } else { 200 };
        assert_eq!(*status, expected, "{path}");
    }
}

#[test]
fn rollback_after_a_start_first_recreate_brings_the_previous_containers_back_with_no_failed_request() {
    let stack = Stack::up();
    stack.rotate(&["POSTGRES_PASSWORD", "--yes"]).succeeds();
    let rotated_ids = stack.container_ids();

    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (port, anon, stop) = (stack.port, stack.env()["ANON_KEY"].clone(), Arc::clone(&stop));
        std::thread::spawn(move || client_loop(port, anon, PATHS, stop))
    };
    stack.rotate(&["--rollback", "--yes"]).succeeds();
    stop.store(true, Ordering::SeqCst);
    let seen = client.join().unwrap();

    let after = stack.container_ids();
    for service in ["auth", "functions", "rest"] {
        assert_ne!(rotated_ids[service], after[service], "{service} was recreated");
    }
    assert_none_failed(&seen, "during the rollback");
}

#[test]
fn port_8000_keeps_answering_while_kong_itself_is_recreated_behind_its_front() {
    let stack = Stack::up();
    let ids = stack.container_ids();

    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (port, anon, stop) = (stack.port, stack.env()["ANON_KEY"].clone(), Arc::clone(&stop));
        std::thread::spawn(move || client_loop(port, anon, PATHS, stop))
    };
    std::thread::sleep(Duration::from_millis(500));
    // Only kong reads DASHBOARD_PASSWORD.
    let out = stack.rotate(&["DASHBOARD_PASSWORD", "--yes"]).succeeds();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let seen = client.join().unwrap();

    out.stdout_has("start-first (the new container up before the old one stops): kong");
    let after = stack.container_ids();
    assert_ne!(ids["kong"], after["kong"], "kong was recreated");
    assert_eq!(ids["kong-front"], after["kong-front"], "the front holds no secret");
    stack.assert_works_with(&stack.env());
    assert_kong_kept_answering(&seen, "while kong was recreated");
}
