//! The delay server: an HTTP/1.1 server on taketurns that answers after a delay the client asks
//! for, one task per connection, ten thousand connections on one thread.
//!
//! `GET /?delay_ms=50&size=1024` waits 50 ms, then answers `200 OK` with `Content-Length: 1024`
//! and 1,024 bytes, and closes the connection. The wait is a timer ([`crate::time::sleep`]), not
//! a sleeping thread, so a connection that waits costs a task, a socket and a timer entry. A bad
//! request gets `400` (or `405` for a method other than GET, `431` for an oversized head); a
//! client that sends no complete request within [`ServerOptions::header_timeout`] is disconnected.
//! Each of those happens inside that connection's task and touches no other.
//!
//! asyncio's counterpart is `asyncio.start_server` with a handler that does
//! `await asyncio.sleep(delay)`; tokio's, a `TcpListener::accept` loop with `tokio::spawn` per
//! connection and `tokio::time::sleep`. [`spawn_server_thread`] runs it on a thread of its own,
//! with its own runtime, for tests and benches, and stops it cleanly with a cross-thread wake.
//!
//! Left out: keep-alive (one request per connection, as the clients ask), request bodies,
//! access logs, and graceful draining on shutdown (stopping drops every connection at once).

use std::future::{Future, poll_fn};
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use nix::errno::Errno;
use socket2::{Domain, Socket, Type};

use super::http::{self, Ask, OK_HEAD_MAX, Reject};
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
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                // The JoinHandle is dropped: the task runs detached and frees itself when done.
                crate::spawn(connection(stream, options));
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

/// One connection: read the request, wait, answer, close.
async fn connection(stream: TcpStream, options: ServerOptions) {
    let ask = match time::timeout(options.header_timeout, read_request(&stream, &options)).await {
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
    let mut head = [0u8; OK_HEAD_MAX];
    let head_len = http::ok_head(ask.size, &mut head);
    // A client that left during the delay makes this fail; that is its business, not ours.
    let _ = wire::write_head_and_fill(&stream, &head[..head_len], &FILL, ask.size).await;
    // Dropping the stream closes the connection, which tells the client the body is complete.
}
// ANCHOR_END: serve

/// Why a connection gets no `200`.
enum Refusal {
    /// Answer with this error status, then close.
    Answer(Reject),
    /// The client closed or reset the connection before its request was complete.
    Gone,
}

/// Read a request head (the request is usually one read; the bytes are kept only if it is not).
async fn read_request(stream: &TcpStream, options: &ServerOptions) -> Result<Ask, Refusal> {
    let mut partial = Vec::new();
    let outcome = wire::read_until(stream, |chunk| {
        if chunk.is_empty() {
            return Some(Err(Refusal::Gone));
        }
        let parsed = if partial.is_empty() {
            http::parse_request(chunk, options)
        } else {
            partial.extend_from_slice(chunk);
            http::parse_request(&partial, options)
        };
        match parsed {
            Ok(Some(ask)) => Some(Ok(ask)),
            Ok(None) => {
                if partial.is_empty() {
                    partial.extend_from_slice(chunk);
                }
                None
            }
            Err(reject) => Some(Err(Refusal::Answer(reject))),
        }
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
fn is_out_of_resources(e: &io::Error) -> bool {
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
    // The thread reports once whether it got going; a one-time handshake, not polling.
    let (started_tx, started_rx) = mpsc::sync_channel::<io::Result<()>>(1);
    let thread_signal = Arc::clone(&signal);
    let thread = thread::Builder::new()
        .name("delay-server".to_string())
        .spawn(move || -> io::Result<()> {
            let rt = match Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return Ok(());
                }
            };
            rt.block_on(async {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return Ok(());
                    }
                };
                let _ = started_tx.send(Ok(()));
                let mut serving = pin!(serve(listener, options));
                // Serve until the signal fires; whichever finishes first ends the race.
                poll_fn(|cx| {
                    if thread_signal.poll_fired(cx).is_ready() {
                        return Poll::Ready(Ok(()));
                    }
                    serving.as_mut().poll(cx)
                })
                .await
            })
            // Dropping `rt` here drops every connection task: their sockets close, then the
            // listener (already dropped with `serving`) and the epoll instance.
        })?;
    let mut handle = ShutdownHandle {
        signal,
        thread: Some(thread),
        addr: local_addr,
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

/// A listening socket with [`LISTEN_BACKLOG`] (std's own `bind` uses 128, which thousands of
/// simultaneous connects overflow).
fn bind(addr: impl ToSocketAddrs) -> io::Result<std::net::TcpListener> {
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
}

impl ShutdownHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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
struct ShutdownSignal {
    /// Set once, by [`ShutdownSignal::fire`] (the handle's thread).
    fired: AtomicBool,
    /// The waker of the server's `block_on` future, stored by [`ShutdownSignal::poll_fired`]
    /// (the server thread) and taken by `fire`.
    waker: Mutex<Option<Waker>>,
}

impl ShutdownSignal {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        let waker = self.lock().take();
        if let Some(waker) = waker {
            // A remote wake: the runtime's eventfd interrupts its epoll_wait.
            waker.wake();
        }
    }

    fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<()> {
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
