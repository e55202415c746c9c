//! The delay server: an HTTP/1.1 server on taketurns that answers after a delay the client asks
//! for, one task per connection, ten thousand connections on one thread.
//!
//! `GET /?delay_ms=50&size=1024` waits 50 ms, then answers `200 OK` with `Content-Length: 1024`
//! and 1,024 bytes. The wait is a timer ([`crate::time::sleep`]), not a sleeping thread, so a
//! connection that waits costs a task, a socket and a timer entry. A bad request gets `400` (or
//! `405` for a method other than GET, `431` for an oversized head) and the connection closed; a
//! client that sends no complete request within [`ServerOptions::header_timeout`] is disconnected.
//! Each of those happens inside that connection's task and touches no other. That HTTP part is
//! the core the delay server shares with [`super::http_server`] (`http::parse_head` reads a head
//! in one httparse pass, `wire::RequestReader` keeps its deadlines and answers a bad one); this
//! file keeps only its one route, `delay_ms` and `size`, and its answer.
//!
//! Keep-alive: a client that sends `Connection: close` (every fetch of the workload's clients
//! does) gets one answer and the close; any other HTTP/1.1 client may send request after request
//! on the same connection, each within [`ServerOptions::idle_timeout`] of the previous answer
//! (`examples/thread_local.rs` reuses connections this way). The [`ShutdownHandle`] counts
//! connections accepted and requests answered, which is how a test or an example tells one
//! reused connection from many fresh ones.
//!
//! asyncio's counterpart is `asyncio.start_server` with a handler that does
//! `await asyncio.sleep(delay)`; tokio's, a `TcpListener::accept` loop with `tokio::spawn` per
//! connection and `tokio::time::sleep`. [`spawn_server_thread`] runs it on a thread of its own,
//! with its own runtime, for tests and benches, and stops it cleanly with a cross-thread wake.
//!
//! Left out: request bodies (a request with one is answered, then the connection closed),
//! access logs, and graceful draining on shutdown (stopping drops every connection at once).

use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use nix::errno::Errno;
use socket2::{Domain, Socket, Type};

use super::http::{self, Head, HeadRules, Reject};
use super::wire::{self, Next, RequestReader};
use crate::net::{LISTEN_BACKLOG, TcpListener, TcpStream};
use crate::{Runtime, time};

/// The delay server's settings. Copied into every connection's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// How long a client may take, from the accept, to send its whole request head. Past it the
    /// connection is closed without an answer (slowloris defence; nginx's
    /// `client_header_timeout`). Default 10 s.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait, after an answer, until its next request head
    /// is complete; past it the connection is closed (nginx's `keepalive_timeout`, Go's
    /// `IdleTimeout`). Default 5 s.
    pub idle_timeout: Duration,
    /// The largest request head accepted; a larger one gets `431`. Default 8 KiB.
    pub max_head_bytes: usize,
    /// The longest `delay_ms` accepted; a longer one gets `400`. Default 60 s.
    pub max_delay: Duration,
    /// The largest `size` accepted; a larger one gets `400`. Default 256 MiB.
    pub max_size: u64,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_head_bytes: 8 * 1024,
            max_delay: Duration::from_secs(60),
            max_size: 256 * 1024 * 1024,
        }
    }
}

/// The body bytes every response is cut from: a static block, so answering allocates nothing.
static FILL: [u8; 16 * 1024] = [b'x'; 16 * 1024];

// ANCHOR: serve
/// Accept connections on `listener` forever, serving each in a task of its own.
///
/// # Errors
/// Only an `accept` error that is neither transient nor about resources ends the server. Running
/// out of file descriptors (`EMFILE`, `ENFILE`) or memory is waited out: the server stops
/// accepting for 10 ms, while finishing connections free descriptors, then tries again; the
/// waiting clients stay in the listen backlog meanwhile. (hyper and Go's `net/http` do the same.)
///
/// # Panics
/// Outside a taketurns runtime.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> io::Result<()> {
    serve_counting(listener, options, Arc::new(Counters::default())).await
}

/// [`serve`], counting connections and requests in `counters`.
async fn serve_counting(
    listener: TcpListener,
    options: ServerOptions,
    counters: Arc<Counters>,
) -> io::Result<()> {
    accept_each(&listener, |stream| {
        counters.connections.fetch_add(1, Ordering::Relaxed);
        // The JoinHandle is dropped: the task runs detached and frees itself when done.
        crate::spawn(connection(stream, options, Arc::clone(&counters)));
    })
    .await
}

/// Accept connections on `listener` forever, handing each to `accepted`. Shared by the delay
/// server and [`super::http_server`].
///
/// # Errors
/// As [`serve`]: only an `accept` error that is neither transient nor about resources.
pub(crate) async fn accept_each(
    listener: &TcpListener,
    mut accepted: impl FnMut(TcpStream),
) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => accepted(stream),
            Err(e) if is_out_of_resources(&e) => time::sleep(OUT_OF_RESOURCES_PAUSE).await,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// One connection: read a request, wait, answer; again while the client keeps the connection
/// alive; then close. A bad request, a client too slow with its head and one that left are all
/// handled by the [`RequestReader`] (an error answer, or none); dropping the stream closes it.
async fn connection(stream: TcpStream, options: ServerOptions, counters: Arc<Counters>) {
    let mut requests = RequestReader::new(options.header_timeout, options.idle_timeout);
    let parse = |bytes: &[u8]| parse_ask(bytes, &options);
    while let Next::Request(Head {
        request: ask,
        keep_alive,
    }) = requests.next(&stream, parse).await
    {
        // Reads borrow the thread's buffer for one poll, and a head that arrived whole kept no
        // bytes: a waiting connection holds its socket and its timer entry.
        time::sleep(ask.delay).await;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut head = [0u8; OK_HEAD_MAX];
        let head_len = ok_head(ask.size, keep_alive, &mut head);
        // A client that left during the delay makes this fail; that is its business, not ours.
        let sent = wire::write_head_and_fill(&stream, &head[..head_len], &FILL, ask.size).await;
        if sent.is_err() || !keep_alive {
            // Dropping the stream closes the connection; with `Connection: close` that is also
            // what tells an HTTP/1.0-style client the body is complete.
            return;
        }
        requests.answered();
    }
}
// ANCHOR_END: serve

/// How long the accept loops stop accepting when descriptors or memory run out.
pub(crate) const OUT_OF_RESOURCES_PAUSE: Duration = Duration::from_millis(10);

/// What the server has done, shared with its [`ShutdownHandle`]. Both counters only grow.
#[derive(Debug, Default)]
struct Counters {
    /// Connections accepted; written by the accept loop.
    connections: AtomicU64,
    /// Requests answered with `200`; written by the connections.
    requests: AtomicU64,
}

// ---------------------------------------------------------------------------------------------
// The delay server's own part: its one route, and its answer
// ---------------------------------------------------------------------------------------------

/// What a delay-server request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ask {
    /// How long to wait before answering (`delay_ms`, default 0).
    delay: Duration,
    /// How many body bytes to send (`size`, default 0).
    size: u64,
}

/// Parse the request head at the start of `buf` (the shared core), reading its target as an
/// [`Ask`]. `Ok(None)`: incomplete, read more.
fn parse_ask(buf: &[u8], options: &ServerOptions) -> Result<Option<(Head<Ask>, usize)>, Reject> {
    let rules = HeadRules {
        max_head_bytes: options.max_head_bytes,
        usage: "GET /?delay_ms=50&size=1024",
    };
    http::parse_head(buf, &rules, |target| parse_query(target, options))
}

/// Read `delay_ms` and `size` from the query string of `target`; other parameters are ignored.
fn parse_query(target: &str, options: &ServerOptions) -> Result<Ask, Reject> {
    let mut ask = Ask {
        delay: Duration::ZERO,
        size: 0,
    };
    let Some((_path, query)) = target.split_once('?') else {
        return Ok(ask);
    };
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "delay_ms" => {
                let ms = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&ms| u128::from(ms) <= options.max_delay.as_millis())
                    .ok_or_else(|| {
                        Reject::new(
                            400,
                            format!(
                                "delay_ms must be a whole number of milliseconds from 0 to {}, \
                                 not {value:?}",
                                options.max_delay.as_millis()
                            ),
                        )
                    })?;
                ask.delay = Duration::from_millis(ms);
            }
            "size" => {
                ask.size = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&size| size <= options.max_size)
                    .ok_or_else(|| {
                        Reject::new(
                            400,
                            format!(
                                "size must be a whole number of bytes from 0 to {}, not {value:?}",
                                options.max_size
                            ),
                        )
                    })?;
            }
            _ => {}
        }
    }
    Ok(ask)
}

/// The longest head [`ok_head`] writes (a 20-digit length included), rounded up.
const OK_HEAD_MAX: usize = 96;

/// Write the head of a `200 OK` response with a body of `size` bytes into `out`, returning its
/// length: `Connection: keep-alive` or `Connection: close`. No allocation: ten thousand of these
/// are written per run.
fn ok_head(size: u64, keep_alive: bool, out: &mut [u8; OK_HEAD_MAX]) -> usize {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let mut rest = &mut out[..];
    // Cannot fail: the longest possible head fits in OK_HEAD_MAX bytes.
    let _ = write!(
        rest,
        "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: {connection}\r\n\r\n"
    );
    OK_HEAD_MAX - rest.len()
}

/// Errors of `accept` that mean "out of descriptors or memory for now".
pub(crate) fn is_out_of_resources(e: &io::Error) -> bool {
    [Errno::EMFILE, Errno::ENFILE, Errno::ENOBUFS, Errno::ENOMEM]
        .iter()
        .any(|&errno| e.raw_os_error() == Some(errno as i32))
}

// ---------------------------------------------------------------------------------------------
// On a thread of its own
// ---------------------------------------------------------------------------------------------

/// Start the delay server with default options on a new thread with its own runtime, listening
/// on `addr` (port 0 picks a free port). Returns the address it listens on, and the handle that
/// stops it.
///
/// ```
/// use taketurns::workload::{spawn_server_thread, Client, FetchPlan};
/// use std::time::Duration;
///
/// let (addr, server) = spawn_server_thread("127.0.0.1:0")?;
/// let plan = FetchPlan::delay_server(addr, 10, Duration::from_millis(5), 100);
/// let tally = Client::EventLoop.run(&plan).unwrap();
/// assert_eq!(tally.ok, 10);
/// server.shutdown()?; // the thread has exited and the port is closed
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// If the address cannot be bound, or the thread or its runtime cannot be created.
pub fn spawn_server_thread(addr: impl ToSocketAddrs) -> io::Result<(SocketAddr, ShutdownHandle)> {
    spawn_server_thread_with(addr, ServerOptions::default())
}

// ANCHOR: spawn_server_thread
/// [`spawn_server_thread`] with options.
///
/// # Errors
/// If the address cannot be bound, or the thread or its runtime cannot be created.
pub fn spawn_server_thread_with(
    addr: impl ToSocketAddrs,
    options: ServerOptions,
) -> io::Result<(SocketAddr, ShutdownHandle)> {
    // Bind here, on the caller's thread, so that a bad address is the caller's error at once.
    let listener = bind(addr)?;
    let local_addr = listener.local_addr()?;
    let signal = Arc::new(ShutdownSignal::default());
    let counters = Arc::new(Counters::default());
    let thread_counters = Arc::clone(&counters);
    // The thread reports once whether it got going; a one-time handshake, not polling.
    let (started_tx, started_rx) = mpsc::sync_channel::<io::Result<()>>(1);
    let thread_signal = Arc::clone(&signal);
    let thread = thread::Builder::new()
        .name("delay-server".to_string())
        .spawn(move || -> io::Result<()> {
            serve_until_signal(listener, &started_tx, &thread_signal, |listener| {
                serve_counting(listener, options, thread_counters)
            })
        })?;
    let mut handle = ShutdownHandle {
        signal,
        thread: Some(thread),
        addr: local_addr,
        counters,
    };
    match started_rx.recv() {
        Ok(Ok(())) => Ok((local_addr, handle)),
        Ok(Err(e)) => {
            let _ = handle.stop();
            Err(e)
        }
        Err(mpsc::RecvError) => {
            let _ = handle.stop();
            Err(io::Error::other(
                "the delay server thread died while starting",
            ))
        }
    }
}
// ANCHOR_END: spawn_server_thread

/// The body of a server thread on its own event loop: make a runtime, wrap `listener`, report on
/// `started` whether that worked (a one-time handshake, not polling), then run `serve` until it
/// ends or `signal` fires, whichever comes first. Shared by the delay server and
/// [`super::http_server`].
pub(crate) fn serve_until_signal<F, Fut>(
    listener: std::net::TcpListener,
    started: &mpsc::SyncSender<io::Result<()>>,
    signal: &ShutdownSignal,
    serve: F,
) -> io::Result<()>
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = started.send(Err(e));
            return Ok(());
        }
    };
    rt.block_on(async {
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                let _ = started.send(Err(e));
                return Ok(());
            }
        };
        let _ = started.send(Ok(()));
        let mut serving = pin!(serve(listener));
        // Serve until the signal fires; whichever finishes first ends the race.
        poll_fn(|cx| {
            if signal.poll_fired(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            serving.as_mut().poll(cx)
        })
        .await
    })
    // Dropping `rt` here drops every connection task: their sockets close, then the listener
    // (already dropped with `serving`) and the epoll instance.
}

/// A listening socket with [`LISTEN_BACKLOG`] (std's own `bind` uses 128, which thousands of
/// simultaneous connects overflow).
pub(crate) fn bind(addr: impl ToSocketAddrs) -> io::Result<std::net::TcpListener> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        let attempt = (|| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok(std::net::TcpListener::from(socket))
        })();
        match attempt {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

/// Stops a server started by [`spawn_server_thread`]: [`shutdown`](ShutdownHandle::shutdown),
/// or drop it. Either way, when it returns the server thread has exited, every connection and the
/// listening socket are closed.
#[derive(Debug)]
pub struct ShutdownHandle {
    /// Shared with the server thread, which waits on it alongside serving.
    signal: Arc<ShutdownSignal>,
    /// The server thread; taken (and joined) by the first stop.
    thread: Option<thread::JoinHandle<io::Result<()>>>,
    /// Where the server listens, for [`ShutdownHandle::local_addr`].
    addr: SocketAddr,
    /// The server's counters, shared with its accept loop and connections.
    counters: Arc<Counters>,
}

impl ShutdownHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections the server has accepted so far. This is the honest count of connections a
    /// client opened: a client can only say how many it *meant* to open.
    pub fn connections_accepted(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }

    /// Requests the server has answered with `200` so far (counted just before the answer is
    /// written).
    pub fn requests_answered(&self) -> u64 {
        self.counters.requests.load(Ordering::Relaxed)
    }

    /// Stop the server and wait for its thread to exit.
    ///
    /// # Errors
    /// The error that had already stopped the server, if one did (a fatal `accept` error).
    ///
    /// # Panics
    /// If the server thread panicked (a bug); the panic is passed on.
    pub fn shutdown(mut self) -> io::Result<()> {
        match self.stop() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn stop(&mut self) -> thread::Result<io::Result<()>> {
        self.signal.fire();
        match self.thread.take() {
            Some(thread) => thread.join(),
            None => Ok(Ok(())),
        }
    }
}

impl Drop for ShutdownHandle {
    fn drop(&mut self) {
        // A panic of the server thread cannot be passed on from a destructor; `shutdown` does.
        let _ = self.stop();
    }
}

// ANCHOR: shutdown_signal
/// A one-shot, cross-thread "stop now": a flag and the waker of the task waiting for it.
///
/// The order is what makes it race-free: `fire` sets the flag, *then* takes the waker;
/// `poll_fired` stores its waker, *then* checks the flag again. Whichever runs second sees the
/// other's write, so the server either sees the flag or gets woken.
#[derive(Debug, Default)]
pub(crate) struct ShutdownSignal {
    /// Set once, by [`ShutdownSignal::fire`] (the handle's thread).
    fired: AtomicBool,
    /// The waker of the server's `block_on` future, stored by [`ShutdownSignal::poll_fired`]
    /// (the server thread) and taken by `fire`.
    waker: Mutex<Option<Waker>>,
}

impl ShutdownSignal {
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        let waker = self.lock().take();
        if let Some(waker) = waker {
            // A remote wake: the runtime's eventfd interrupts its epoll_wait.
            waker.wake();
        }
    }

    pub(crate) fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        {
            let mut slot = self.lock();
            // Keep the waker of the latest poll, cloning only when it changed.
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        if self.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
// ANCHOR_END: shutdown_signal

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_server_reads_delay_and_size() {
        let o = ServerOptions::default();
        let (head, n) = parse_ask(
            b"GET /?delay_ms=50&size=1024 HTTP/1.1\r\nHost: x\r\n\r\n",
            &o,
        )
        .unwrap()
        .unwrap();
        let ask = Ask {
            delay: Duration::from_millis(50),
            size: 1024,
        };
        assert_eq!((head.request, head.keep_alive, n), (ask, true, 49));
        assert_eq!(parse_ask(b"GET / HTTP/1.1\r\nHo", &o), Ok(None));
        let status = |buf: &[u8]| parse_ask(buf, &o).unwrap_err().status;
        assert_eq!(status(b"GET /?size=x HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /?delay_ms=60001 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"POST / HTTP/1.1\r\n\r\n"), 405);
        assert_eq!(status(b"\x01\x02 / HTTP/1.1\r\n\r\n"), 400);
    }

    #[test]
    fn ok_head_fits_the_largest_size() {
        let mut out = [0; OK_HEAD_MAX];
        for keep_alive in [false, true] {
            let n = ok_head(u64::MAX, keep_alive, &mut out);
            assert!(out[..n].ends_with(b"\r\n\r\n"));
        }
    }
}
