//! The completion driver (`--features uring`): connect, write and read on the ring; a timeout
//! racing a read; a dropped read whose buffer the kernel writes into *after* the future is gone
//! (the test fails if the buffer was freed before the completion); a thousand fetches of the
//! delay server at once; the rest of the runtime on a ring (remote wakes, epoll sockets,
//! shutdown with reads in flight); and the message where io_uring is missing.
//!
//! Every test that needs io_uring starts with [`ring`], which prints the reason and returns
//! `None` where a ring cannot be created (a kernel without io_uring, a sandbox that forbids it,
//! `TAKETURNS_IO_URING=off`): the test then passes as skipped instead of failing.
//! `switched_off_every_test_skips_with_the_message` runs this binary with io_uring switched off
//! and checks that.

mod support;

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream as StdStream};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use taketurns::uring::{self, IoBufMut, TcpStream};
use taketurns::workload::{Client, FetchPlan, raise_fd_limit, spawn_server_thread};
use taketurns::{Runtime, time};

use support::watchdog::watchdog;

// ANCHOR: ring_or_skip
/// A runtime on io_uring, or `None` (after printing why) where io_uring is unavailable.
fn ring() -> Option<Runtime> {
    match Runtime::builder().io_uring(true).build() {
        Ok(rt) => Some(rt),
        Err(e) if uring::is_unavailable(&e) => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("a runtime on io_uring could not be created: {e}"),
    }
}
// ANCHOR_END: ring_or_skip

/// A listener on a free loopback port, and a connected pair: our end (a std stream, to be
/// wrapped or connected to) and the peer the test drives from a plain thread.
fn listener() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Wait (by polling the loop, with a generous limit) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn connect_write_and_read_on_the_ring() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let echo = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).unwrap();
        peer.write_all(&got).unwrap();
        got
    });
    let (echoed, stats) = rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        let (sent, _) = stream.write_all(b"ping".to_vec()).await;
        sent.unwrap();
        let (n, buf) = stream.read(vec![0u8; 16]).await;
        (buf[..n.unwrap()].to_vec(), uring::stats().unwrap())
    });
    assert_eq!(echoed, b"ping");
    assert_eq!(echo.join().unwrap(), *b"ping");
    // Three operations went through the ring (connect, send, recv), with the epoll poll.
    assert!(stats.submitted >= 4, "{stats:?}");
    assert!(stats.completions >= 3, "{stats:?}");
    assert_eq!((stats.in_flight, stats.held), (0, 0), "{stats:?}");
    assert!(rt.ring_stats().is_some());
}

#[test]
fn a_read_into_an_empty_buffer_is_refused_with_what_to_pass() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (result, buf) = stream.read(Vec::with_capacity(4096)).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("vec![0; 4096]"), "{err}");
        assert_eq!(buf.capacity(), 4096, "the buffer comes back");
    });
    drop(listener);
}

#[test]
fn a_refused_connect_is_the_kernel_s_error() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    drop(listener);
    let err = rt.block_on(TcpStream::connect(addr)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connect_and_send_is_one_chain_the_peer_reads_the_bytes_before_anything_else() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let mut got = [0u8; 5];
        peer.read_exact(&mut got).unwrap();
        peer.write_all(b"ok").unwrap();
        got
    });
    let (reply, stats) = rt.block_on(async {
        let before = uring::stats().unwrap();
        let (stream, request) = TcpStream::connect_and_send(addr, b"hello".to_vec()).await;
        let stream = stream.unwrap();
        assert_eq!(request, b"hello", "the buffer comes back");
        let after = uring::stats().unwrap();
        let reply = stream.read_pooled().await.unwrap().to_vec();
        (reply, (before, after))
    });
    assert_eq!(peer.join().unwrap(), *b"hello");
    assert_eq!(reply, b"ok");
    // Both operations completed; the two entries went to the kernel together.
    let (before, after) = stats;
    assert_eq!(after.completions - before.completions, 2, "{after:?}");
    assert_eq!(after.in_flight, 0, "{after:?}");
}

#[test]
fn connect_and_send_to_a_closed_port_is_the_connect_s_error_not_the_cancelled_send_s() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    drop(listener);
    let (stream, request) = rt.block_on(TcpStream::connect_and_send(addr, b"never sent".to_vec()));
    let err = stream.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(request, b"never sent");
    let stats = rt.ring_stats().unwrap();
    assert_eq!((stats.in_flight, stats.held), (0, 0), "{stats:?}");
}

#[test]
fn a_timeout_racing_a_read_wins_then_the_stream_reads_what_comes_next() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        go_rx.recv().unwrap();
        peer.write_all(b"late").unwrap();
        // Keep the connection open until the reader is done.
        let _ = peer.read(&mut [0u8; 1]);
    });
    rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        let raced = time::timeout(Duration::from_millis(30), stream.read(vec![0u8; 16])).await;
        assert!(raced.is_err(), "the read won, but the peer sent nothing");
        assert!(started.elapsed() >= Duration::from_millis(30));
        // The dropped read's cancel completes; only then may new data arrive for the next read.
        until("the cancelled read completed", || {
            uring::stats().unwrap().held == 0
        })
        .await;
        assert_eq!(uring::stats().unwrap().cancels, 1);
        go.send(()).unwrap();
        let (n, buf) = stream.read(vec![0u8; 16]).await;
        assert_eq!(&buf[..n.unwrap()], b"late");
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    peer.join().unwrap();
}

// ANCHOR: tracked_buffer
/// A read buffer that writes in a shared log what it held when it was dropped, and whether the
/// driver still counted an operation as held at that moment.
struct Tracked {
    /// The memory the kernel fills.
    bytes: Vec<u8>,
    /// Where the drop is recorded.
    log: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl IoBufMut for Tracked {
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.bytes.clone());
    }
}
// ANCHOR_END: tracked_buffer

// ANCHOR: dropped_read
/// The wrong design frees a read's buffer when its future is dropped. Here the peer's bytes are
/// already waiting, so when the loop next submits, the kernel completes the read at once and
/// writes them into the buffer, *after* its future was dropped (the cancel queued behind it finds
/// nothing left to cancel). The buffer must still be alive then: its destructor must run only
/// after the completion, and see the peer's bytes. Freed at the future's drop, it would record
/// zeros, at once, and the kernel would write into freed memory.
#[test]
fn a_dropped_read_keeps_its_buffer_until_the_kernel_has_written_it() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"0123456789").unwrap();
        let _ = peer.read(&mut [0u8; 1]); // hold the connection until the end
    });
    let ours = StdStream::connect(addr).unwrap();
    let peeker = ours.try_clone().unwrap(); // the same socket, to look without taking
    let log = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let stream = TcpStream::from_std(ours).unwrap();
        // Wait until the peer's ten bytes sit in our receive queue (a blocking peek: the test
        // may stall its own loop for that long).
        let mut peeked = [0u8; 10];
        while peeker.peek(&mut peeked).unwrap() < peeked.len() {}
        let buffer = Tracked {
            bytes: vec![0u8; 10],
            log: Rc::clone(&log),
        };
        let mut read = Box::pin(stream.read(buffer));
        // One poll queues the recv entry; then the future is dropped, before any submission.
        poll_fn(|cx| {
            assert!(read.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        drop(read);
        assert!(
            log.borrow().is_empty(),
            "the buffer was freed with its future"
        );
        assert_eq!(uring::stats().unwrap().held, 1);
        until("the dropped read completed", || {
            uring::stats().unwrap().held == 0
        })
        .await;
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    peer.join().unwrap();
    let log = log.borrow();
    assert_eq!(log.len(), 1, "dropped once");
    assert_eq!(
        log[0], b"0123456789",
        "the kernel wrote into the buffer after its future was dropped, so it had to be alive"
    );
}
// ANCHOR_END: dropped_read

#[test]
fn a_read_cancelled_for_real_frees_its_buffer_after_the_cancel_completes() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let _ = peer.read(&mut [0u8; 1]);
    });
    let log = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let buffer = Tracked {
            bytes: vec![7u8; 8],
            log: Rc::clone(&log),
        };
        let raced = time::timeout(Duration::from_millis(5), stream.read(buffer)).await;
        assert!(raced.is_err());
        assert!(
            log.borrow().is_empty(),
            "the buffer was freed with its future"
        );
        until("the cancel completed", || uring::stats().unwrap().held == 0).await;
        assert_eq!(log.borrow().as_slice(), [vec![7u8; 8]]);
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    peer.join().unwrap();
}

#[test]
fn a_thousand_fetches_of_the_delay_server_at_once() {
    let _w = watchdog();
    if ring().is_none() {
        return;
    }
    const FETCHES: usize = 1000;
    // Client and server sockets live in this one process.
    raise_fd_limit(2 * FETCHES as u64 + 256).expect("this test needs more open files");
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let plan = FetchPlan::delay_server(addr, FETCHES, Duration::from_millis(50), 1024);
    let tally = Client::Uring.run(&plan).unwrap();
    server.shutdown().unwrap();
    assert_eq!(
        (tally.ok, tally.bytes),
        (FETCHES as u64, FETCHES as u64 * 1024),
        "{:?}: {:?}",
        tally.errors,
        tally.first_error
    );
    let ring = tally.ring.expect("the io_uring client reports its ring");
    // Three operations per fetch (connect, send, recv) at least, far fewer enters than that.
    assert!(ring.completions >= 3 * FETCHES as u64, "{ring:?}");
    assert!(ring.enters < ring.submitted / 4, "{ring:?}");
    assert_eq!((ring.in_flight, ring.held), (0, 0), "{ring:?}");
    // Every response was read into a buffer of the pool, and every buffer went back.
    assert_eq!(ring.pool_out, 0, "{ring:?}");
}

// ANCHOR: pooled
/// The pool's size on this runtime, or `None` (after saying so) on a kernel without provided
/// buffer rings, where pooled reads bring their own buffers and there is no pool to test.
fn pool_size() -> Option<u64> {
    let size = uring::stats().unwrap().pool_buffers;
    if size == 0 {
        eprintln!("skipped: this kernel has no provided buffer rings (Linux 5.19)");
        return None;
    }
    Some(size)
}

#[test]
fn a_pooled_read_takes_a_buffer_only_when_data_arrives_and_gives_it_back() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let mut go = [0u8; 1];
        peer.read_exact(&mut go).unwrap(); // the reader is waiting now
        peer.write_all(b"hello").unwrap();
        // Dropping `peer` closes it: the next read is the end of the stream.
    });
    rt.block_on(async {
        if pool_size().is_none() {
            return;
        }
        let stream = Rc::new(TcpStream::connect(addr).await.unwrap());
        let reader = taketurns::spawn({
            let stream = Rc::clone(&stream);
            async move {
                let first = stream.read_pooled().await.unwrap();
                let out = uring::stats().unwrap().pool_out;
                let text = first.to_vec();
                drop(first);
                let back = uring::stats().unwrap().pool_out;
                let end = stream.read_pooled().await.unwrap();
                (text, out, back, end.len())
            }
        });
        until("the read is in flight", || {
            uring::stats().unwrap().in_flight > 0
        })
        .await;
        // The read waits, and holds no buffer of the pool while it does.
        let waiting = uring::stats().unwrap();
        assert_eq!(waiting.pool_out, 0, "{waiting:?}");
        let (sent, _) = stream.write_all(b"!".to_vec()).await;
        sent.unwrap();
        let (text, out, back, end) = reader.await.unwrap();
        assert_eq!(text, b"hello");
        assert_eq!((out, back), (1, 0), "one buffer out while held, none after");
        assert_eq!(end, 0, "the end of the stream reads as no bytes");
    });
    peer.join().unwrap();
}

#[test]
fn a_read_that_finds_the_pool_empty_waits_for_a_buffer_and_loses_nothing() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    // The peer echoes each byte, so each read gets one byte in a buffer of its own.
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        while peer.read_exact(&mut byte).is_ok() {
            peer.write_all(&byte).unwrap();
        }
    });
    rt.block_on(async {
        let Some(size) = pool_size() else { return };
        let stream = Rc::new(TcpStream::connect(addr).await.unwrap());
        let mut held = Vec::new();
        for _ in 0..size {
            let (sent, _) = stream.write_all(b"a".to_vec()).await;
            sent.unwrap();
            let buf = stream.read_pooled().await.unwrap();
            assert_eq!(&*buf, b"a");
            held.push(buf);
        }
        assert_eq!(uring::stats().unwrap().pool_out, size);
        // Every buffer is out. The next byte arrives with none free for it.
        let (sent, _) = stream.write_all(b"z".to_vec()).await;
        sent.unwrap();
        let last = taketurns::spawn({
            let stream = Rc::clone(&stream);
            async move { stream.read_pooled().await.unwrap().to_vec() }
        });
        until("the read found the pool empty", || {
            uring::stats().unwrap().pool_empty >= 1
        })
        .await;
        assert!(!last.is_finished(), "a read finished without a buffer");
        // One buffer back: the waiting read takes it, and the byte was kept in the socket.
        held.pop();
        assert_eq!(last.await.unwrap(), b"z");
        drop(held);
        let stats = uring::stats().unwrap();
        assert_eq!(stats.pool_out, 0, "{stats:?}");
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    peer.join().unwrap();
}

#[test]
fn a_pooled_read_dropped_after_its_completion_gives_the_buffer_back() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let mut go = [0u8; 1];
        peer.read_exact(&mut go).unwrap();
        peer.write_all(b"never read").unwrap();
        let _ = peer.read(&mut go); // until our end closes
    });
    rt.block_on(async {
        if pool_size().is_none() {
            return;
        }
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut read = Box::pin(stream.read_pooled());
        // One poll submits the read; then the data arrives and the loop reaps the completion,
        // with a buffer of the pool in it, while nobody polls the future.
        assert!(futures::poll!(read.as_mut()).is_pending());
        let (sent, _) = stream.write_all(b"!".to_vec()).await;
        sent.unwrap();
        until("the completion picked a buffer", || {
            uring::stats().unwrap().pool_out == 1
        })
        .await;
        drop(read);
        let stats = uring::stats().unwrap();
        assert_eq!((stats.pool_out, stats.in_flight), (0, 0), "{stats:?}");
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    peer.join().unwrap();
}
// ANCHOR_END: pooled

#[test]
fn remote_wakes_and_epoll_sockets_work_on_a_ring() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"epoll").unwrap();
    });
    rt.block_on(async {
        // A wake from another thread (the blocking pool) reaches a loop asleep in the ring.
        let answer = taketurns::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(20));
            42
        })
        .await
        .unwrap();
        assert_eq!(answer, 42);
        // A readiness socket on the same loop: epoll's descriptor is polled through the ring.
        use futures::io::AsyncReadExt;
        let mut stream = taketurns::net::TcpStream::connect(addr).await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"epoll");
    });
    peer.join().unwrap();
    assert!(rt.stats().remote_wakes >= 1);
}

#[test]
fn dropping_the_runtime_with_reads_in_flight_waits_for_the_kernel_then_frees_them() {
    let _w = watchdog();
    let Some(rt) = ring() else { return };
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let _ = peer.read(&mut [0u8; 1]);
    });
    let log = Rc::new(RefCell::new(Vec::new()));
    let started = {
        let log = Rc::clone(&log);
        rt.block_on(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            taketurns::spawn(async move {
                let buffer = Tracked {
                    bytes: vec![1u8; 4],
                    log,
                };
                let _ = stream.read(buffer).await;
                unreachable!("the peer never sends");
            });
            // Let the task submit its read.
            until("the read is in flight", || {
                uring::stats().unwrap().in_flight == 1
            })
            .await;
        });
        Instant::now()
    };
    assert!(log.borrow().is_empty());
    drop(rt);
    assert_eq!(
        log.borrow().as_slice(),
        [vec![1u8; 4]],
        "freed once, after its completion"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    peer.join().unwrap();
}

#[test]
fn a_traced_ring_runtime_records_its_waits_and_draws_its_timeline() {
    let _w = watchdog();
    if ring().is_none() {
        return;
    }
    let rt = Runtime::builder()
        .io_uring(true)
        .trace(true)
        .build()
        .unwrap();
    let (listener, addr) = listener();
    let peer = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"traced").unwrap();
    });
    let got = rt.block_on(async {
        let reader = taketurns::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (n, buf) = stream.read(vec![0u8; 16]).await;
            buf[..n.unwrap()].to_vec()
        });
        reader.await.unwrap()
    });
    peer.join().unwrap();
    assert_eq!(got, b"traced");
    let drawing = rt.timeline().render_ascii(60);
    // The task's row: it ran, waited (for its connect, then its read) and ran again.
    let row = drawing
        .lines()
        .find(|l| l.starts_with("#1 "))
        .unwrap_or_else(|| panic!("no row for the task:\n{drawing}"));
    assert!(row.contains(".#") || row.contains(".=#"), "{drawing}");
    let stats = rt.task_stats();
    assert!(!stats.to_string().is_empty());
}

#[test]
fn uring_sockets_on_an_epoll_runtime_say_what_to_build() {
    let rt = Runtime::new().unwrap();
    let (_listener, addr) = listener();
    let err = rt.block_on(TcpStream::connect(addr)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("Builder::io_uring(true)"), "{err}");
    assert!(rt.ring_stats().is_none());
}

// ANCHOR: switched_off
/// The missing-io_uring path, end to end: this binary's own ring test, run with
/// `TAKETURNS_IO_URING=off`, skips with the message (which says how to run on epoll) and passes;
/// and `fetch_many --runner uring` exits 1 with the same message.
#[test]
fn switched_off_every_test_skips_with_the_message() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "connect_write_and_read_on_the_ring",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(uring::SWITCH, "off")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        stderr.contains("skipped: io_uring is unavailable: switched off by TAKETURNS_IO_URING=off"),
        "{stderr}"
    );
    assert!(stderr.contains("runs on epoll"), "{stderr}");

    let mut fetch_many = support::run_example::command("fetch_many");
    let out = fetch_many
        .args(["--runner", "uring", "--count", "1", "--delay-ms", "1"])
        .env(uring::SWITCH, "off")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("io-uring: did not run"))
        .unwrap_or_else(|| panic!("no line for the io-uring client in:\n{stdout}"));
    assert!(row.contains("io_uring is unavailable"), "{row}");
    assert!(row.contains("--runner event-loop"), "{row}");
}
// ANCHOR_END: switched_off

/// Output bytes as text.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
