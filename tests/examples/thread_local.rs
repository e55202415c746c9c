//! The delay server's keep-alive, which `examples/thread_local.rs` relies on, and the example
//! itself run as a binary with small parameters.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use taketurns::workload::http_server::get_blocking;
use taketurns::workload::{
    Client, FetchPlan, ServerOptions, spawn_server_thread, spawn_server_thread_with,
};

use crate::support::run_example::run_ok;

#[test]
fn the_delay_server_keeps_a_connection_alive_and_counts_it_once() {
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for size in [10, 0, 5000] {
        let reply = get_blocking(&mut conn, &format!("/?delay_ms=1&size={size}")).unwrap();
        assert_eq!((reply.status, reply.body.len()), (200, size));
        assert!(!reply.closes);
    }
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(server.requests_answered(), 3);
    server.shutdown().unwrap();
}

#[test]
fn connection_close_still_closes_after_one_answer() {
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET /?size=3 HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    conn.read_to_end(&mut all).unwrap();
    let all = String::from_utf8(all).unwrap();
    assert!(
        all.starts_with("HTTP/1.1 200 OK")
            && all.contains("Connection: close")
            && all.ends_with("\r\n\r\nxxx"),
        "{all}"
    );
    // The fetch clients send `Connection: close`: one connection per fetch, as before.
    let tally = Client::EventLoop
        .run(&FetchPlan::delay_server(addr, 5, Duration::ZERO, 10))
        .unwrap();
    assert_eq!(tally.ok, 5);
    assert_eq!(server.connections_accepted(), 6);
    server.shutdown().unwrap();
}

#[test]
fn two_pipelined_requests_get_two_answers() {
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(
        b"GET /?size=2 HTTP/1.1\r\n\r\nGET /?size=4 HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut all = Vec::new();
    conn.read_to_end(&mut all).unwrap();
    let all = String::from_utf8(all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 2, "{all}");
    assert!(all.ends_with("\r\n\r\nxxxx"), "{all}");
    assert_eq!(server.requests_answered(), 2);
    server.shutdown().unwrap();
}

#[test]
fn an_idle_kept_connection_is_closed_after_the_idle_timeout() {
    let options = ServerOptions {
        idle_timeout: Duration::from_millis(200),
        ..ServerOptions::default()
    };
    let (addr, server) = spawn_server_thread_with("127.0.0.1:0", options).unwrap();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reply = get_blocking(&mut conn, "/?size=1").unwrap();
    assert_eq!(reply.body, b"x");
    let idle_from = Instant::now();
    let mut buf = [0u8; 16];
    assert_eq!(conn.read(&mut buf).unwrap(), 0, "closed, without a word");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(180) && idle < Duration::from_secs(8),
        "closed after {idle:?}"
    );
    server.shutdown().unwrap();
}

/// The `opened` and `accepted` columns of the example's row that starts with `way`.
fn counts(stdout: &str, way: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(way))
        .unwrap_or_else(|| panic!("no row {way:?} in:\n{stdout}"));
    let numbers: Vec<u64> = line[way.len()..]
        .split_whitespace()
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn the_example_counts_one_connection_per_fetch_or_per_worker() {
    let stdout = run_ok(
        "thread_local",
        &["--fetches", "40", "--workers", "3", "--delay-ms", "1"],
    );
    assert_eq!(
        counts(&stdout, "pool, fresh connection per fetch"),
        (40, 40)
    );
    let (opened, accepted) = counts(&stdout, "pool, thread_local! session");
    // One per worker that ran a fetch: at most 3, never one per fetch.
    assert!(
        (1..=3).contains(&accepted) && opened == accepted,
        "{stdout}"
    );
    assert_eq!(
        counts(&stdout, "event loop, one connection per task"),
        (3, 3)
    );
    assert!(
        stdout.contains(
            "task A saw [1, 3, 5], task B saw [2, 4, 6] (one counter; same thread: true)"
        ),
        "{stdout}"
    );
}
