//! The reactor through its public face: TcpListener and TcpStream under real traffic, errors,
//! stale events after slot reuse, and descriptor hygiene.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use taketurns::net::{TcpListener, TcpStream};
use taketurns::{Runtime, WaitReason};

mod support;
use support::sockets::{echo_server, local_listener};

#[test]
fn echo_server_serves_1000_concurrent_clients_through_copy() {
    let rt = Runtime::new().unwrap();
    let echoed = rt.block_on(async {
        let (listener, addr) = local_listener().await;
        taketurns::spawn(echo_server(listener));
        let clients: Vec<_> = (0..1000u32)
            .map(|i| {
                taketurns::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    let message = format!("hello from client {i}\n").repeat(50);
                    stream.write_all(message.as_bytes()).await.unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    let mut back = String::new();
                    stream.read_to_string(&mut back).await.unwrap();
                    assert_eq!(back, message, "client {i} got someone else's bytes");
                    back.len()
                })
            })
            .collect();
        let mut total = 0;
        for client in clients {
            total += client.await.unwrap();
        }
        total
    });
    assert!(echoed > 1000 * 1000);
    let stats = rt.stats();
    assert!(stats.io_events > 0 && stats.sleeps > 0, "{stats}");
}

#[test]
fn buf_reader_reads_lines_from_a_socket() {
    taketurns::block_on(async {
        let (listener, addr) = local_listener().await;
        let server = taketurns::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            for line in ["one", "two", "three"] {
                stream
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .unwrap();
                taketurns::yield_now().await;
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut lines = BufReader::new(stream).lines();
        let mut got = Vec::new();
        while let Some(line) = futures::StreamExt::next(&mut lines).await {
            got.push(line.unwrap());
        }
        assert_eq!(got, ["one", "two", "three"]);
        server.await.unwrap();
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    // Bind and drop a std listener: the port is then (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = taketurns::block_on(async {
        let other = taketurns::spawn(async { 7 });
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(
            other.await.unwrap(),
            7,
            "the refusal must not disturb other tasks"
        );
        err
    });
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn bind_to_an_address_in_use_fails() {
    taketurns::block_on(async {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
fn peer_reset_mid_read_is_connection_reset() {
    let err = taketurns::block_on(async {
        let (listener, addr) = local_listener().await;
        // A blocking std client on its own thread: it sends a little, waits until our reply is
        // in its receive buffer, and closes without reading it. Closing a socket with unread
        // data makes the kernel send a reset (RST) instead of a normal end of stream (FIN).
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"partial").unwrap();
            let mut peeked = [0u8; 1];
            stream.peek(&mut peeked).unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 7];
        stream.read_exact(&mut buf).await.unwrap();
        stream.write_all(b"never read").await.unwrap();
        let mut rest = Vec::new();
        let err = stream.read_to_end(&mut rest).await.unwrap_err();
        client.join().unwrap();
        err
    });
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn write_to_a_closed_peer_is_broken_pipe_or_reset() {
    let err = taketurns::block_on(async {
        let (listener, addr) = local_listener().await;
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let mut one = [0u8; 1];
            // Wait for the server's first byte, then close without reading the rest.
            stream.read_exact(&mut one).unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"x").await.unwrap();
        client.join().unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = stream.write_all(&chunk).await {
                break e;
            }
        }
    });
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
}

#[test]
fn a_task_parked_on_a_socket_shows_in_the_snapshot() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (listener, addr) = local_listener().await;
        let accepted = Rc::new(Cell::new(None));
        let acceptor = taketurns::spawn({
            let accepted = accepted.clone();
            async move {
                let (stream, _) = listener.accept().await.unwrap();
                accepted.set(Some(stream.token()));
                let mut buf = [0u8; 1];
                let mut stream = stream;
                stream.read(&mut buf).await.unwrap()
            }
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        // Let the acceptor accept and park on its read.
        while accepted.get().is_none() || !rt.snapshot().waiting_ids().contains(&acceptor.id()) {
            taketurns::yield_now().await;
        }
        let snapshot = rt.snapshot();
        let (_, reason) = snapshot
            .waiting
            .iter()
            .find(|(id, _)| *id == acceptor.id())
            .unwrap();
        assert_eq!(
            *reason,
            WaitReason::Socket {
                token: accepted.get().unwrap(),
                direction: taketurns::Direction::Read
            },
            "{snapshot:#}"
        );
        client.write_all(b"!").await.unwrap();
        assert_eq!(acceptor.await.unwrap(), 1);
    });
}

#[test]
fn stale_event_after_slot_reuse_cannot_wake_the_new_owner() {
    // A duplicate descriptor keeps the kernel's epoll entry alive after our socket is dropped
    // (as a child process between fork and exec would), so events for the old token still come.
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (listener, addr) = local_listener().await;
        let mut peer = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let old_token = accepted.token();
        // Keep a std copy of the accepted socket open, then drop ours: the slot is freed.
        let std_copy = accepted_std_dup(&accepted);
        drop(accepted);

        // A new socket takes over the freed slot.
        let mut other_peer = std::net::TcpStream::connect(addr).unwrap();
        let (mut fresh, _) = listener.accept().await.unwrap();
        assert_eq!(
            fresh.token() & 0xffff_ffff,
            old_token & 0xffff_ffff,
            "the new socket should reuse the slot"
        );
        assert_ne!(fresh.token(), old_token, "…with a new generation");

        let reader = taketurns::spawn(async move {
            let mut buf = [0u8; 16];
            let n = fresh.read(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        // Let the reader park.
        for _ in 0..5 {
            taketurns::yield_now().await;
        }
        let polls_before = taketurns::stats().polls;
        // Make the OLD socket readable: an event arrives for the old token.
        peer.write_all(b"for the old owner").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while taketurns::stats().stale_events == 0 {
            assert!(std::time::Instant::now() < deadline, "no stale event seen");
            taketurns::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(!reader.is_finished(), "the stale event woke the new owner");
        let reader_polls = taketurns::stats().polls - polls_before;
        // The only tasks polled in between are none: the reader stayed parked.
        assert_eq!(
            reader_polls, 0,
            "the new owner was polled for someone else's event"
        );

        other_peer.write_all(b"for the new").unwrap();
        assert_eq!(reader.await.unwrap(), b"for the new");
        drop(std_copy);
    });
}

/// A second descriptor for the same socket.
fn accepted_std_dup(stream: &TcpStream) -> std::net::TcpStream {
    use std::os::fd::{AsFd, BorrowedFd};
    let fd: BorrowedFd<'_> = stream.as_fd();
    std::net::TcpStream::from(fd.try_clone_to_owned().unwrap())
}

#[test]
fn data_and_end_of_stream_in_one_edge_still_reach_eof() {
    // Data and the peer's FIN arrive before the reader looks: epoll reports them as one edge.
    // The first read is short (so readiness is cleared); the reader must still see end of stream.
    taketurns::block_on(async {
        let (listener, addr) = local_listener().await;
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"bye").unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        client.join().unwrap();
        taketurns::time::sleep(Duration::from_millis(20)).await;
        let mut all = Vec::new();
        let read = taketurns::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all));
        read.await.expect("end of stream was lost").unwrap();
        assert_eq!(all, b"bye");
    });
}

#[test]
fn cancelling_a_task_removes_its_socket_registration() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (listener, addr) = local_listener().await;
        assert_eq!(taketurns::stats().sockets_registered, 1);
        let reader = taketurns::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1];
            stream.read(&mut buf).await
        });
        let client = TcpStream::connect(addr).await.unwrap();
        // Wait until the reader has accepted and parked on its read (listener, both ends).
        while taketurns::stats().sockets_registered < 3
            || !taketurns::snapshot().waiting_ids().contains(&reader.id())
        {
            taketurns::yield_now().await;
        }
        reader.abort();
        assert!(reader.await.unwrap_err().is_cancelled());
        assert_eq!(
            taketurns::stats().sockets_registered,
            1,
            "the listener and the accepted stream left with their task"
        );
        drop(client);
        assert_eq!(taketurns::stats().sockets_registered, 0);
    });
}
