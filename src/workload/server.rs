//! The delay server: an HTTP/1.1 server on taketurns that answers after a delay the client asks
//! for, one task per connection, ten thousand connections on one thread.
//!
//! `GET /?delay_ms=50&size=1024` waits 50 ms, then answers `200 OK` with `Content-Length: 1024`
//! and 1,024 bytes. The wait is a timer ([`crate::time::sleep`]), not a sleeping thread, so a
//! connection that waits costs a task, a socket and a timer entry. A bad request gets `400` (or
//! `405` for a method other than GET, `431` for an oversized head) and the connection closed; a
//! client that sends no complete request within [`ServerOptions::header_timeout`] is disconnected.
//! Each of those happens inside that connection's task and touches no other.
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
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use nix::errno::Errno;
use socket2::{Domain, Socket, Type};

use super::http::{self, OK_HEAD_MAX, Reject};
use super::http_server::{Framing, framing, take_head};
use super::wire;
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
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                counters.connections.fetch_add(1, Ordering::Relaxed);
                // The JoinHandle is dropped: the task runs detached and frees itself when done.
                crate::spawn(connection(stream, options, Arc::clone(&counters)));
            }
            Err(e) if is_out_of_resources(&e) => time::sleep(Duration::from_millis(10)).await,
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
/// alive; then close.
async fn connection(stream: TcpStream, options: ServerOptions, counters: Arc<Counters>) {
    // Bytes that arrived after a request head: the start of a pipelined next request. Empty,
    // and unallocated, for every client that waits for its answer before asking again.
    let mut pending = Vec::new();
    let mut limit = options.header_timeout;
    loop {
        let ask = match time::timeout(limit, read_request(&stream, &options, &mut pending)).await {
            Ok(Ok(ask)) => ask,
            Ok(Err(Refusal::Answer(reject))) => {
                let _ = wire::write_all(&stream, &http::error_response(&reject)).await;
                linger_close(&stream).await;
                return;
            }
            // The client went away (or reset) before finishing its request: nothing to answer.
            Ok(Err(Refusal::Gone)) => return,
            // The client said nothing (complete) for too long: drop it, which closes the socket.
            Err(_elapsed) => return,
        };
        // The request buffer is gone by now: a waiting connection holds only its socket and timer.
        time::sleep(ask.delay).await;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut head = [0u8; OK_HEAD_MAX];
        let head_len = if ask.keep_alive {
            keep_alive_head(ask.size, &mut head)
        } else {
            http::ok_head(ask.size, &mut head)
        };
        // A client that left during the delay makes this fail; that is its business, not ours.
        let sent = wire::write_head_and_fill(&stream, &head[..head_len], &FILL, ask.size).await;
        if sent.is_err() || !ask.keep_alive {
            // Dropping the stream closes the connection; with `Connection: close` that is also
            // what tells an HTTP/1.0-style client the body is complete.
            return;
        }
        limit = options.idle_timeout;
    }
}
// ANCHOR_END: serve

/// What the server has done, shared with its [`ShutdownHandle`]. Both counters only grow.
#[derive(Debug, Default)]
struct Counters {
    /// Connections accepted; written by the accept loop.
    connections: AtomicU64,
    /// Requests answered with `200`; written by the connections.
    requests: AtomicU64,
}

/// A request the server will answer, and whether the connection stays open after it.
struct KeptAsk {
    /// What the request asks for.
    delay: Duration,
    /// How many body bytes.
    size: u64,
    /// HTTP/1.1 without `Connection: close` (and no request body).
    keep_alive: bool,
}

/// The head of a `200` on a kept-alive connection: [`http::ok_head`] without `Connection: close`.
fn keep_alive_head(size: u64, out: &mut [u8; OK_HEAD_MAX]) -> usize {
    let mut rest = &mut out[..];
    // Cannot fail: shorter than the `Connection: close` head, which fits.
    let _ = write!(
        rest,
        "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: keep-alive\r\n\r\n"
    );
    OK_HEAD_MAX - rest.len()
}

/// Why a connection gets no `200`.
enum Refusal {
    /// Answer with this error status, then close.
    Answer(Reject),
    /// The client closed or reset the connection before its request was complete.
    Gone,
}

/// Parse the request at the start of `buf`, with its framing.
fn parse_kept(buf: &[u8], options: &ServerOptions) -> Result<Option<(KeptAsk, usize)>, Reject> {
    let Some(ask) = http::parse_request(buf, options)? else {
        return Ok(None);
    };
    // A complete head parsed once already parses again (a second, ~100 ns pass for the
    // framing, which keeps http.rs as it was).
    let framing = framing(buf).unwrap_or(Framing {
        head_len: buf.len(),
        keep_alive: false,
    });
    let kept = KeptAsk {
        delay: ask.delay,
        size: ask.size,
        keep_alive: framing.keep_alive,
    };
    Ok(Some((kept, framing.head_len)))
}

/// Read a request head (the request is usually one read; the bytes are kept only if it is not).
/// `pending` holds bytes already read past the previous request, and on return the bytes past
/// this one.
async fn read_request(
    stream: &TcpStream,
    options: &ServerOptions,
    pending: &mut Vec<u8>,
) -> Result<KeptAsk, Refusal> {
    if !pending.is_empty() {
        match parse_kept(pending, options) {
            Ok(Some((ask, head_len))) => {
                pending.drain(..head_len);
                return Ok(ask);
            }
            Ok(None) => {}
            Err(reject) => return Err(Refusal::Answer(reject)),
        }
    }
    let outcome = wire::read_until(stream, |chunk| {
        if chunk.is_empty() {
            return Some(Err(Refusal::Gone));
        }
        take_head(pending, chunk, |bytes| parse_kept(bytes, options))
            .map(|taken| taken.map_err(Refusal::Answer))
    })
    .await;
    outcome.unwrap_or(Err(Refusal::Gone))
}

/// Close after an error answer without losing it. Closing a socket with unread bytes makes the
/// kernel send a reset, which can destroy the answer before the client reads it; so we shut down
/// our side, then read and discard what the client still sends (at most 64 KiB, at most 1 s),
/// the "lingering close" of Apache and nginx.
async fn linger_close(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut left = 64 * 1024usize;
    let drain = wire::read_until(stream, |chunk| {
        left = left.saturating_sub(chunk.len());
        (chunk.is_empty() || left == 0).then_some(())
    });
    let _ = time::timeout(Duration::from_secs(1), drain).await;
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
