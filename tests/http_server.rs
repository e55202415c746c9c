//! `workload::http_server`, both flavours: 1,000 concurrent keep-alive connections with several
//! requests each, every response checked; `400`, `431` and the stall timeout, each with another
//! connection still served. `examples/http_server.rs`, the program around it, is run in
//! `tests/examples/http_server.rs`.
//!
//! The 1,000-connection tests hold both ends in this one process: 2,000 sockets (and, for the
//! threaded server, 1,000 threads), so they raise the open-file limit first and run one at a time.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer, get, get_blocking};
use taketurns::workload::{check_thread_limit, raise_fd_limit};

/// The load tests run one at a time: each needs 2,000 descriptors of the process's limit.
static HEAVY: Mutex<()> = Mutex::new(());

const BOTH: [Flavor; 2] = [Flavor::EventLoop, Flavor::ThreadPerConnection];

fn start(flavor: Flavor, options: HttpOptions) -> HttpServer {
    HttpServer::start("127.0.0.1:0", flavor, options).unwrap()
}

/// Send `bytes` on a new connection and read until the server closes (at most 5 s).
fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A kept-alive connection that has answered once already.
fn warm_connection(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let reply = get_blocking(&mut stream, "/").unwrap();
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (200, &b"hello\n"[..])
    );
    stream
}

// ANCHOR: load
/// 1,000 tasks each open a connection, make one request, wait until all 1,000 connections are
/// open at once, then make four more on the same connection: `/`, a 5 ms delay, a 404, `/`.
/// Every reply is checked, status and body.
fn thousand_keep_alive_connections(flavor: Flavor) {
    const CONNECTIONS: usize = 1_000;
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    raise_fd_limit(2 * CONNECTIONS as u64 + 256).expect("2,256 open files for both ends");
    if flavor == Flavor::ThreadPerConnection {
        check_thread_limit(CONNECTIONS as u64 + 64).expect("1,064 threads");
    }
    let server = start(flavor, HttpOptions::default());
    let addr = server.local_addr();
    let checked = taketurns::block_on(async move {
        let connected = Rc::new(Cell::new(0usize));
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                let connected = Rc::clone(&connected);
                taketurns::spawn(async move {
                    let stream = taketurns::net::TcpStream::connect(addr).await.unwrap();
                    let first = get(&stream, "/").await.unwrap();
                    assert_eq!(
                        (first.status, first.body.as_slice()),
                        (200, &b"hello\n"[..])
                    );
                    connected.set(connected.get() + 1);
                    // Condition polling, not a fixed sleep: go on once every connection is open.
                    while connected.get() < CONNECTIONS {
                        taketurns::time::sleep(Duration::from_millis(2)).await;
                    }
                    let mut checked = 1;
                    for (path, status, body) in [
                        ("/", 200, "hello\n"),
                        ("/delay?ms=5", 200, "waited 5 ms\n"),
                        (
                            "/no/such/page",
                            404,
                            "no such page; try / or /delay?ms=50\n",
                        ),
                        ("/", 200, "hello\n"),
                    ] {
                        let reply = get(&stream, path).await.unwrap_or_else(|e| {
                            panic!("connection {i}, GET {path}: {e}");
                        });
                        assert_eq!(reply.status, status, "connection {i}, GET {path}");
                        assert_eq!(reply.body, body.as_bytes(), "connection {i}, GET {path}");
                        assert!(!reply.closes, "the server keeps the connection");
                        checked += 1;
                    }
                    checked
                })
            })
            .collect();
        let mut checked = 0;
        for task in tasks {
            checked += task.await.unwrap();
        }
        checked
    });
    assert_eq!(checked, 5 * CONNECTIONS);
    let stats = server.stats();
    assert_eq!(
        stats.connections(),
        CONNECTIONS as u64,
        "one connection per task"
    );
    assert_eq!(stats.requests(), 5 * CONNECTIONS as u64);
    assert_eq!((stats.rejected(), stats.timed_out()), (0, 0));
    server.shutdown().unwrap();
}
// ANCHOR_END: load

#[test]
fn thousand_keep_alive_connections_on_the_event_loop() {
    thousand_keep_alive_connections(Flavor::EventLoop);
}

#[test]
fn thousand_keep_alive_connections_on_threads() {
    thousand_keep_alive_connections(Flavor::ThreadPerConnection);
}

#[test]
fn malformed_request_gets_400_and_a_close_and_others_carry_on() {
    for flavor in BOTH {
        let server = start(flavor, HttpOptions::default());
        let mut good = warm_connection(server.local_addr());
        let answer = raw_exchange(server.local_addr(), b"NONSENSE \x01\r\n\r\n");
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request") && answer.contains("Connection: close"),
            "{flavor:?}: {answer}"
        );
        // raw_exchange read to end of stream: the server closed that connection.
        let answer = raw_exchange(server.local_addr(), b"GET /delay?ms=later HTTP/1.1\r\n\r\n");
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("ms must be"),
            "{flavor:?}: {answer}"
        );
        let reply = get_blocking(&mut good, "/delay?ms=1").unwrap();
        assert_eq!(reply.status, 200, "{flavor:?}");
        assert_eq!(server.stats().rejected(), 2);
        assert_eq!(server.stats().connections(), 3);
        server.shutdown().unwrap();
    }
}

#[test]
fn oversized_head_gets_431_and_others_carry_on() {
    for flavor in BOTH {
        let server = start(flavor, HttpOptions::default());
        let mut good = warm_connection(server.local_addr());
        let mut huge = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 20_000));
        huge.extend_from_slice(b"\r\n\r\n");
        let answer = raw_exchange(server.local_addr(), &huge);
        assert!(
            answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
            "{flavor:?}: {answer}"
        );
        let reply = get_blocking(&mut good, "/").unwrap();
        assert_eq!(reply.status, 200, "{flavor:?}");
        server.shutdown().unwrap();
    }
}

#[test]
fn stalled_client_is_timed_out_while_another_is_served() {
    let timeout = Duration::from_millis(300);
    for flavor in BOTH {
        let options = HttpOptions {
            request_timeout: timeout,
            ..HttpOptions::default()
        };
        let server = start(flavor, options);
        let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
        stalled
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let stalled_at = Instant::now();
        stalled.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
        // Another client is served, request after request, while the first one stalls.
        let mut other = TcpStream::connect(server.local_addr()).unwrap();
        for _ in 0..3 {
            let reply = get_blocking(&mut other, "/delay?ms=20").unwrap();
            assert_eq!(reply.body, b"waited 20 ms\n", "{flavor:?}");
        }
        let mut buf = [0u8; 64];
        assert_eq!(
            stalled.read(&mut buf).unwrap(),
            0,
            "{flavor:?}: closed without an answer"
        );
        let waited = stalled_at.elapsed();
        assert!(
            waited >= timeout - Duration::from_millis(20) && waited < Duration::from_secs(8),
            "{flavor:?}: closed after {waited:?}, the timeout is {timeout:?}"
        );
        assert_eq!(server.stats().timed_out(), 1, "{flavor:?}");
        // The served client, idle since, is within its own timeout and still open... until it
        // too falls silent for longer than the timeout.
        let reply = get_blocking(&mut other, "/").unwrap();
        assert_eq!(reply.status, 200);
        other
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(other.read(&mut buf).unwrap(), 0, "{flavor:?}: idle close");
        server.shutdown().unwrap();
    }
}

#[test]
fn connection_close_and_pipelined_requests() {
    for flavor in BOTH {
        let server = start(flavor, HttpOptions::default());
        let two = b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nConnection: close\r\n\r\n";
        let answer = raw_exchange(server.local_addr(), two);
        assert_eq!(
            answer.matches("HTTP/1.1 ").count(),
            2,
            "{flavor:?}: {answer}"
        );
        assert!(answer.contains("200 OK") && answer.contains("404 Not Found"));
        assert!(answer.ends_with("Connection: close\r\n\r\nno such page; try / or /delay?ms=50\n"));
        assert_eq!(server.stats().connections(), 1);
        server.shutdown().unwrap();
    }
}
