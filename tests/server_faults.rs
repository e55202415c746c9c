//! Clients that misbehave, against both servers (the delay server and `http_server` in both
//! flavours): connecting and never sending, sending one byte at a time forever (slowloris), and
//! resetting the connection in the middle of a response. Each test checks that the misbehaving
//! connections are dealt with (closed by the head timeout, or forgotten after the reset) and
//! that a well-behaved client is served meanwhile.
//!
//! Running out of descriptors is in `server_faults_fds.rs`, a binary of its own (the open-file limit
//! is the whole process's).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

mod server_faults_common;
use server_faults_common::{
    PATIENCE, Running, Subject, closed_by_server, eventually, send, server_side_connections,
};

/// Twenty clients connect and never send a byte; ten well-behaved clients are served while they
/// sit there, and the head timeout then closes every silent one without an answer.
#[test]
fn clients_that_never_send_are_closed_and_others_are_served() {
    for subject in Subject::ALL {
        let server = subject.start();
        let mut silent: Vec<TcpStream> = (0..20).map(|_| server.connect()).collect();
        let answered = server.answered();
        for _ in 0..10 {
            server.serve_one();
        }
        assert_eq!(server.answered(), answered + 10, "{subject:?}");
        for conn in &mut silent {
            let (closed, sent) = closed_by_server(conn);
            assert!(closed, "{subject:?}: a silent client was never closed");
            assert!(sent.is_empty(), "{subject:?}: a silent client got {sent:?}");
        }
        // One more after the timeouts: the server is still there.
        server.serve_one();
        server.shutdown().unwrap();
    }
}

/// A slowloris client: sends a request head that never ends, one byte every 20 ms, until the
/// server closes the connection or [`PATIENCE`] runs out. Whether the server closed it. With
/// `warm`, the connection first makes one complete request, so the byte-by-byte head is the
/// second one on a kept-alive connection (the idle timeout's case, not the first head's).
fn slowloris(server: &Running, warm: bool) -> bool {
    let mut conn = server.connect();
    if warm {
        server.ask(&mut conn, 0);
    }
    let head = b"GET / HTTP/1.1\r\nX-Slow: ";
    let started = Instant::now();
    for i in 0.. {
        let byte = head.get(i).copied().unwrap_or(b'a');
        match conn.write(&[byte]) {
            Ok(1) => {}
            // The server closed: the write after its close meets a reset (or a broken pipe).
            Ok(_) | Err(_) => return true,
        }
        if started.elapsed() > PATIENCE {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    unreachable!("the loop returns")
}

/// Four slowloris clients, two on fresh connections and two on kept-alive ones, each sending
/// one byte every 20 ms: the head timeout (which counts from the start of the head, not from the
/// last byte) closes them all, while well-behaved clients are served one after another.
#[test]
fn slowloris_clients_are_closed_and_others_are_served() {
    for subject in Subject::ALL {
        let server = subject.start();
        let running = &server;
        let closed = thread::scope(|scope| {
            let slow: Vec<_> = [false, true, false, true]
                .into_iter()
                .map(|warm| scope.spawn(move || slowloris(running, warm)))
                .collect();
            let mut conn = server.connect();
            while !slow.iter().all(|s| s.is_finished()) {
                server.ask(&mut conn, 10);
                server.serve_one();
            }
            slow.into_iter()
                .map(|s| s.join().unwrap())
                .collect::<Vec<bool>>()
        });
        assert_eq!(
            closed, [true; 4],
            "{subject:?}: a slowloris client was never closed"
        );
        server.serve_one();
        server.shutdown().unwrap();
    }
}

/// Close `conn` with a reset: `SO_LINGER` 0 makes `close` send RST instead of FIN and discard
/// whatever is still queued, as a crashed client or a middlebox does.
fn reset(conn: TcpStream) {
    let socket = socket2::Socket::from(conn);
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    drop(socket);
}

/// Ask for more than the socket buffers hold, read the start of the answer, then reset: the
/// server is in the middle of writing when the reset arrives.
fn reset_mid_response(server: &Running) -> io::Result<()> {
    let mut conn = server.connect();
    send(&mut conn, &server.subject.flood_request(), server.subject);
    let mut start = [0u8; 1024];
    conn.read_exact(&mut start)?;
    assert!(
        start.starts_with(b"HTTP/1.1 200 OK"),
        "{:?}: {:?}",
        server.subject,
        String::from_utf8_lossy(&start[..64])
    );
    reset(conn);
    Ok(())
}

/// Clients reset their connections while the server writes to them (and, for comparison, while
/// it waits out a delay before answering). Each time, a kept-alive client and a fresh one are
/// served right after; at the end the server has closed every reset connection, still answers
/// the kept-alive client and stops cleanly.
#[test]
fn clients_that_reset_mid_response_spoil_nothing_for_others() {
    for subject in Subject::ALL {
        let server = subject.start_patient();
        let mut kept = server.connect();
        for _ in 0..5 {
            reset_mid_response(&server)
                .unwrap_or_else(|e| panic!("{subject:?}: the flood's answer did not start: {e}"));
            server.ask(&mut kept, 0);
            server.serve_one();
            // A reset while the server waits to answer: its write comes after the reset.
            let mut waiting = server.connect();
            let request = format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", subject.path(50));
            send(&mut waiting, request.as_bytes(), subject);
            reset(waiting);
            server.ask(&mut kept, 0);
        }
        // The delayed answers to the reset clients come due and fail; each reset connection is
        // closed on the server's side, and only the kept-alive one is left.
        let port = server.addr.port();
        let mut left = 0;
        assert!(
            eventually(PATIENCE, || {
                left = server_side_connections(port);
                left == 1
            }),
            "{subject:?}: {left} connections still open on the server's side, 1 expected"
        );
        server.ask(&mut kept, 0);
        server.shutdown().unwrap();
    }
}
