//! The other side of the fetch: a small HTTP/1.1 server with keep-alive, written twice, once as
//! one task per connection on our event loop and once as one OS thread per connection, so the
//! book can load both with `wrk` and compare.
//!
//! Three routes: `GET /` answers `hello` at once, `GET /delay?ms=N` answers after N milliseconds
//! (a timer on the loop, `thread::sleep` on a thread), anything else is `404`. A connection serves
//! request after request until the client sends `Connection: close` (or speaks HTTP/1.0 without
//! `Connection: keep-alive`). What can go wrong is handled inside the one connection it happens
//! on: a head httparse cannot read gets `400` and the connection closed, a head larger than
//! [`HttpOptions::max_head_bytes`] gets `431` and closed, and a client that has not sent a whole
//! head within [`HttpOptions::request_timeout`] (a stalled or idle client) is closed without an
//! answer. Every other connection carries on.
//!
//! Both flavours share the sans-I/O part (`take_request` turns bytes into a request, `respond`
//! turns a request into bytes); only the waiting differs. What is not about routes is the HTTP
//! core this server shares with the delay server: `http::parse_head` (one httparse pass,
//! the size limit, `GET` only, keep-alive framing) and, on the loop, `wire::RequestReader` (head
//! deadlines, pipelined bytes, the error answer and the lingering close). asyncio's counterpart is
//! `asyncio.start_server` with a `while True: await reader.readuntil(b"\r\n\r\n")` handler, and
//! the threaded one is `socketserver.ThreadingTCPServer`; tokio's is a `TcpListener::accept` loop
//! with `tokio::spawn` per connection (hyper underneath axum does the HTTP part).
//!
//! This file also holds a small keep-alive client ([`get`] on the loop, [`get_blocking`] on a
//! thread), used by the tests, the load test and `examples/thread_local.rs`.
//!
//! Left out, as a production server would not: request bodies (a request that has one is
//! answered, then the connection is closed, because we cannot find where the next request
//! starts), chunked responses, `HEAD`, `Expect: 100-continue`, graceful draining on shutdown,
//! and a cap on connections (hyper and nginx have `max_connections`-style limits; our event-loop
//! server only backs off when `accept` runs out of descriptors).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, Head, HeadRules, Reject};
use super::server::{
    OUT_OF_RESOURCES_PAUSE, ShutdownSignal, accept_each, bind, is_out_of_resources,
    serve_until_signal,
};
use super::wire::{self, Next, RequestReader};
use crate::net::{TcpListener, TcpStream};
use crate::time;

/// Headers a response to the keep-alive client ([`get`]) may have; more is an error.
const MAX_HEADERS: usize = 32;

/// The settings of both servers. Copied into every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// How long a client may take to send a whole request head, counted from the accept for the
    /// first request and from the end of the previous response for the next ones. Past it the
    /// connection is closed without an answer: this one timeout covers both the stalled client
    /// (slowloris) and the idle keep-alive connection (nginx has `client_header_timeout` and
    /// `keepalive_timeout` separately). Default 10 s.
    pub request_timeout: Duration,
    /// The largest request head accepted; a larger one gets `431`. Default 8 KiB.
    pub max_head_bytes: usize,
    /// The longest `/delay?ms=` accepted; a longer one gets `400`. Default 60 s.
    pub max_delay: Duration,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            request_timeout: Duration::from_secs(10),
            max_head_bytes: 8 * 1024,
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Which of the two servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// One task per connection on one taketurns event loop (one thread in all).
    EventLoop,
    /// One OS thread per connection, blocking reads and writes.
    ThreadPerConnection,
}

impl Flavor {
    /// A short name for tables: `event-loop` or `threads`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::EventLoop => "event-loop",
            Flavor::ThreadPerConnection => "threads",
        }
    }
}

/// What a server has done so far. Shared between the server and whoever started it; every
/// counter only grows.
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Connections accepted. Written by the accept loop.
    connections: AtomicU64,
    /// Requests answered with `200` or `404`. Written by the connections.
    requests: AtomicU64,
    /// Requests answered with `400`, `405` or `431` (and then closed). Written by the connections.
    rejected: AtomicU64,
    /// Connections closed because no whole request head arrived in time. Written by the
    /// connections.
    timed_out: AtomicU64,
}

impl HttpStats {
    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
    /// Requests answered with `200` or `404` so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Requests refused with `400`, `405` or `431` so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
    /// Connections closed by the request timeout so far.
    pub fn timed_out(&self) -> u64 {
        self.timed_out.load(Ordering::Relaxed)
    }
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Sans-I/O: bytes to requests, requests to bytes
// ---------------------------------------------------------------------------------------------

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// `GET /`: `hello`.
    Hello,
    /// `GET /delay?ms=N`: `waited N ms` after N ms.
    Delay(Duration),
    /// Any other path: `404`.
    NotFound,
}

/// One parsed request, all the server keeps of it: its route, and whether the connection stays
/// open after the answer.
type Request = Head<Route>;

/// Read a request target as a [`Route`].
fn route(target: &str, options: &HttpOptions) -> Result<Route, Reject> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(match path {
        "/" => Route::Hello,
        "/delay" => {
            let ms = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("ms="))
                .unwrap_or("0");
            let ms = ms
                .parse::<u64>()
                .ok()
                .filter(|&ms| u128::from(ms) <= options.max_delay.as_millis())
                .ok_or_else(|| {
                    Reject::new(
                        400,
                        format!(
                            "ms must be a whole number of milliseconds from 0 to {}, not {ms:?}",
                            options.max_delay.as_millis()
                        ),
                    )
                })?;
            Route::Delay(Duration::from_millis(ms))
        }
        _ => Route::NotFound,
    })
}

/// Parse the head at the start of `buf` (the shared core, with this server's routes).
/// `Ok(None)`: incomplete, read more.
fn parse(buf: &[u8], options: &HttpOptions) -> Result<Option<(Request, usize)>, Reject> {
    let rules = HeadRules {
        max_head_bytes: options.max_head_bytes,
        usage: "GET / or GET /delay?ms=50",
    };
    http::parse_head(buf, &rules, |target| route(target, options))
}

// ANCHOR: take_request
/// Feed one chunk read from a connection (empty: parse what is pending) to the connection's
/// `pending` bytes. `None`: read more. `Some(Ok)`: a request, and `pending` now holds only the
/// bytes after its head (a pipelined next request, usually nothing). `Some(Err)`: answer the
/// rejection and close. The bookkeeping is the core's [`http::take_head`], which the delay
/// server's keep-alive uses too, with its own routes; this server adds [`route`].
fn take_request(
    pending: &mut Vec<u8>,
    chunk: &[u8],
    options: &HttpOptions,
) -> Option<Result<Request, Reject>> {
    http::take_head(pending, chunk, |bytes| parse(bytes, options))
}
// ANCHOR_END: take_request

/// Append the whole response to `request` to `out`. Bodies are a line of text.
fn respond(request: &Request, out: &mut Vec<u8>) {
    let (status, body) = match request.request {
        Route::Hello => ("200 OK", "hello\n".to_string()),
        Route::Delay(d) => ("200 OK", format!("waited {} ms\n", d.as_millis())),
        Route::NotFound => (
            "404 Not Found",
            "no such page; try / or /delay?ms=50\n".to_string(),
        ),
    };
    let connection = if request.keep_alive {
        "keep-alive"
    } else {
        "close"
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: {connection}\r\n\r\n{body}",
        body.len()
    );
}

/// The delay a route asks for.
fn delay_of(request: &Request) -> Option<Duration> {
    match request.request {
        Route::Delay(d) if !d.is_zero() => Some(d),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The event-loop server
// ---------------------------------------------------------------------------------------------

// ANCHOR: serve_event_loop
/// Accept connections on `listener` forever, one task per connection, counting in `stats`.
///
/// # Errors
/// Only an `accept` error that is neither transient nor about resources ends the server; running
/// out of descriptors is waited out (10 ms pauses), as in the delay server.
///
/// # Panics
/// Outside a taketurns runtime.
pub async fn serve_event_loop(
    listener: TcpListener,
    options: HttpOptions,
    stats: Arc<HttpStats>,
) -> io::Result<()> {
    accept_each(&listener, |stream| {
        HttpStats::count(&stats.connections);
        crate::spawn(connection_task(stream, options, Arc::clone(&stats)));
    })
    .await
}

/// One connection: read a request, answer it, and again, until the client closes, asks to
/// close, misbehaves or falls silent. Reading heads, their limits and the error answers are the
/// shared [`RequestReader`]'s; the routes and the answers are this server's.
async fn connection_task(stream: TcpStream, options: HttpOptions, stats: Arc<HttpStats>) {
    let mut requests = RequestReader::new(options.request_timeout, options.request_timeout);
    let mut out = Vec::new();
    loop {
        let request = match requests.next(&stream, |bytes| parse(bytes, &options)).await {
            Next::Request(request) => request,
            Next::Rejected => return HttpStats::count(&stats.rejected),
            Next::TimedOut => return HttpStats::count(&stats.timed_out),
            Next::Gone => return,
        };
        if let Some(delay) = delay_of(&request) {
            time::sleep(delay).await;
        }
        out.clear();
        respond(&request, &mut out);
        HttpStats::count(&stats.requests);
        if wire::write_all(&stream, &out).await.is_err() || !request.keep_alive {
            return;
        }
        requests.answered();
        if out.capacity() > 4096 {
            out = Vec::new();
        }
    }
}
// ANCHOR_END: serve_event_loop

// ---------------------------------------------------------------------------------------------
// The thread-per-connection server
// ---------------------------------------------------------------------------------------------

/// The stack each connection thread gets. The connection needs a few KiB (a 4 KiB read buffer,
/// httparse's header array); 256 KiB leaves room and keeps 1,000 threads' address space small.
const CONNECTION_STACK: usize = 256 * 1024;

/// The connections the threaded server has open, so that stopping it can close them.
#[derive(Debug, Default)]
struct Live {
    /// A clone of every open connection's socket by id, and the next id. The accept loop adds,
    /// each connection thread removes its own when it ends, `stop` shuts them all down.
    sockets: Mutex<(u64, std::collections::HashMap<u64, std::net::TcpStream>)>,
    /// Signalled whenever a connection thread ends, for `stop` to wait on.
    ended: Condvar,
    /// Set by `stop`: the accept loop exits at its next accept.
    stopping: AtomicBool,
    /// Connection threads still running.
    threads: AtomicUsize,
}

impl Live {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, (u64, std::collections::HashMap<u64, std::net::TcpStream>)> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ANCHOR: serve_threads
/// Accept connections on a blocking `listener` until `live.stopping` is set, one OS thread per
/// connection.
fn serve_threads(
    listener: std::net::TcpListener,
    options: HttpOptions,
    stats: Arc<HttpStats>,
    live: Arc<Live>,
) -> io::Result<()> {
    let threads = crate::threaded::ThreadPerTask::new().stack_size(CONNECTION_STACK);
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // Out of descriptors: pause while connections finish and free some. No connection
            // may arrive to wake the accept for a stop, so the stop flag is checked here too.
            Err(e) if is_out_of_resources(&e) => {
                if live.stopping.load(Ordering::SeqCst) {
                    return Ok(());
                }
                thread::sleep(OUT_OF_RESOURCES_PAUSE);
                continue;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        if live.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        HttpStats::count(&stats.connections);
        let id = {
            let mut sockets = live.lock();
            let id = sockets.0;
            sockets.0 += 1;
            if let Ok(clone) = stream.try_clone() {
                sockets.1.insert(id, clone);
            }
            id
        };
        live.threads.fetch_add(1, Ordering::SeqCst);
        let (stats, thread_live) = (Arc::clone(&stats), Arc::clone(&live));
        let spawned = threads.spawn(move || {
            connection_thread(stream, &options, &stats);
            thread_live.lock().1.remove(&id);
            thread_live.threads.fetch_sub(1, Ordering::SeqCst);
            thread_live.ended.notify_all();
        });
        if spawned.is_err() {
            // Out of threads: this connection is dropped (closed); the next accept may do better.
            live.lock().1.remove(&id);
            live.threads.fetch_sub(1, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(10));
        }
        // The ThreadHandle is dropped: the thread runs detached; `Live` tracks it.
    }
}

/// One connection on its own thread: the same loop as [`connection_task`], with blocking calls.
fn connection_thread(mut stream: std::net::TcpStream, options: &HttpOptions, stats: &HttpStats) {
    // One timeout for every read, set once: the common request arrives in one read, so only a
    // head split across reads pays for re-arming the timeout to what is left of it.
    if stream
        .set_read_timeout(Some(options.request_timeout))
        .is_err()
    {
        return;
    }
    let mut pending = Vec::new();
    let mut out = Vec::new();
    let mut buf = [0u8; wire::READ_BUF];
    loop {
        let started = Instant::now();
        let mut rearmed = false;
        let mut next = if pending.is_empty() {
            None
        } else {
            take_request(&mut pending, &[], options)
        };
        while next.is_none() {
            let n = match stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    HttpStats::count(&stats.timed_out);
                    return;
                }
                Err(_) => return,
            };
            next = take_request(&mut pending, &buf[..n], options);
            if next.is_none() {
                // A partial head: the rest must arrive within what is left of the timeout.
                let left = options.request_timeout.saturating_sub(started.elapsed());
                if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                    HttpStats::count(&stats.timed_out);
                    return;
                }
                rearmed = true;
            }
        }
        if rearmed
            && stream
                .set_read_timeout(Some(options.request_timeout))
                .is_err()
        {
            return;
        }
        let request = match next {
            Some(Ok(request)) => request,
            Some(Err(reject)) => {
                HttpStats::count(&stats.rejected);
                return reject_blocking(&mut stream, &reject);
            }
            None => unreachable!("the loop above ends only with a request or a rejection"),
        };
        if let Some(delay) = delay_of(&request) {
            thread::sleep(delay);
        }
        out.clear();
        respond(&request, &mut out);
        HttpStats::count(&stats.requests);
        if stream.write_all(&out).is_err() || !request.keep_alive {
            return;
        }
    }
}
// ANCHOR_END: serve_threads

/// Answer `reject` and close without losing the answer: the blocking twin of the loop's
/// lingering close ([`wire::linger_close`]).
fn reject_blocking(stream: &mut std::net::TcpStream, reject: &Reject) {
    let _ = stream.write_all(&http::error_response(reject));
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(wire::LINGER_TIME));
    let _ = io::copy(
        &mut (&*stream).take(wire::LINGER_BYTES as u64),
        &mut io::sink(),
    );
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping either server on a thread of its own
// ---------------------------------------------------------------------------------------------

/// A running server, either flavour, started by [`HttpServer::start`]. Dropping it (or
/// [`shutdown`](HttpServer::shutdown)) stops it and closes every connection.
#[derive(Debug)]
pub struct HttpServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Which server this is.
    flavor: Flavor,
    /// The counters, shared with the server's connections.
    stats: Arc<HttpStats>,
    /// The event-loop server's stop signal (woken across threads); unused by the threaded one.
    signal: Arc<ShutdownSignal>,
    /// The threaded server's open connections and its stop flag; unused by the event-loop one.
    live: Arc<Live>,
    /// The thread running the accept loop (and, for the event loop, every connection); joined
    /// by the first stop.
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl HttpServer {
    /// Start a server of `flavor` on a new thread, listening on `addr` (port 0 picks one).
    ///
    /// ```
    /// use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer};
    /// use std::io::{Read, Write};
    ///
    /// let server = HttpServer::start("127.0.0.1:0", Flavor::EventLoop, HttpOptions::default())?;
    /// let mut conn = std::net::TcpStream::connect(server.local_addr())?;
    /// let first = taketurns::workload::http_server::get_blocking(&mut conn, "/")?;
    /// let second = taketurns::workload::http_server::get_blocking(&mut conn, "/nope")?;
    /// assert_eq!((first.status, first.body.as_slice()), (200, &b"hello\n"[..]));
    /// assert_eq!(second.status, 404);
    /// assert_eq!(server.stats().connections(), 1); // two requests, one connection
    /// server.shutdown()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If the address cannot be bound, or the thread or its runtime cannot be created.
    pub fn start(
        addr: impl ToSocketAddrs,
        flavor: Flavor,
        options: HttpOptions,
    ) -> io::Result<HttpServer> {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(HttpStats::default());
        let signal = Arc::new(ShutdownSignal::default());
        let live = Arc::new(Live::default());
        let (started_tx, started_rx) = mpsc::sync_channel::<io::Result<()>>(1);
        let (thread_stats, thread_signal, thread_live) =
            (Arc::clone(&stats), Arc::clone(&signal), Arc::clone(&live));
        let thread = thread::Builder::new()
            .name(format!("http-{}", flavor.name()))
            .spawn(move || match flavor {
                Flavor::ThreadPerConnection => {
                    let _ = started_tx.send(Ok(()));
                    serve_threads(listener, options, thread_stats, thread_live)
                }
                Flavor::EventLoop => {
                    serve_until_signal(listener, &started_tx, &thread_signal, |listener| {
                        serve_event_loop(listener, options, thread_stats)
                    })
                }
            })?;
        let mut server = HttpServer {
            addr,
            flavor,
            stats,
            signal,
            live,
            thread: Some(thread),
        };
        match started_rx.recv() {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => {
                let _ = server.stop();
                Err(e)
            }
            Err(mpsc::RecvError) => {
                let _ = server.stop();
                Err(io::Error::other("the server thread died while starting"))
            }
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Which server this is.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Its counters.
    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Stop the server: no more accepts, every connection closed, the accept thread joined (and,
    /// for the threaded server, every connection thread gone, waiting up to 5 s for them).
    ///
    /// # Errors
    /// The error that had already stopped the server, if one did.
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
        let Some(thread) = self.thread.take() else {
            return Ok(Ok(()));
        };
        match self.flavor {
            Flavor::EventLoop => self.signal.fire(),
            Flavor::ThreadPerConnection => {
                self.live.stopping.store(true, Ordering::SeqCst);
                // Wake the blocking accept with a connection of our own; it sees the flag.
                let _ = std::net::TcpStream::connect(self.addr);
                for socket in self.live.lock().1.values() {
                    let _ = socket.shutdown(Shutdown::Both);
                }
            }
        }
        let result = thread.join();
        if self.flavor == Flavor::ThreadPerConnection {
            // Connections accepted between the shutdowns above and the accept loop's exit.
            for socket in self.live.lock().1.values() {
                let _ = socket.shutdown(Shutdown::Both);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut sockets = self.live.lock();
            while self.live.threads.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                sockets = self
                    .live
                    .ended
                    .wait_timeout(sockets, Duration::from_millis(50))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        result
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// A keep-alive client
// ---------------------------------------------------------------------------------------------

/// A response as the keep-alive client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The whole body (`Content-Length` bytes).
    pub body: Vec<u8>,
    /// The server will close the connection after this response (`Connection: close`).
    pub closes: bool,
}

/// The request [`get`] and [`get_blocking`] send: keep-alive, the HTTP/1.1 default.
fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: taketurns\r\n\r\n").into_bytes()
}

/// Reads one response with a `Content-Length`, chunk by chunk.
#[derive(Debug, Default)]
struct ReplyReader {
    /// The bytes so far (heads and bodies here are small).
    bytes: Vec<u8>,
}

impl ReplyReader {
    /// Take the next chunk (empty: the server closed). `Some` once decided.
    fn step(&mut self, chunk: &[u8]) -> Option<io::Result<Reply>> {
        if chunk.is_empty() {
            return Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the server closed the connection {} bytes into the response",
                    self.bytes.len()
                ),
            )));
        }
        self.bytes.extend_from_slice(chunk);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.bytes) {
            Ok(httparse::Status::Partial) => return None,
            Ok(httparse::Status::Complete(n)) => n,
            Err(e) => {
                return Some(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not an HTTP/1.x response ({e})"),
                )));
            }
        };
        let mut length = None;
        let mut closes = response.version == Some(0);
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                length = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
            } else if h.name.eq_ignore_ascii_case("connection") {
                closes = h.value.eq_ignore_ascii_case(b"close");
            }
        }
        let Some(length) = length else {
            return Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a keep-alive response needs a Content-Length",
            )));
        };
        if self.bytes.len() < head_len + length {
            return None;
        }
        Some(Ok(Reply {
            status: response.code.unwrap_or(0),
            body: self.bytes[head_len..head_len + length].to_vec(),
            closes,
        }))
    }
}

// ANCHOR: get
/// Send `GET path` on an open connection (keep-alive) and read the response. Call it again on
/// the same `stream` for the next request, as long as the last reply did not say it `closes`.
///
/// # Errors
/// The connection's I/O errors; `UnexpectedEof` if the server closed mid-response;
/// `InvalidData` for a response that is not HTTP/1.x with a `Content-Length`.
pub async fn get(stream: &TcpStream, path: &str) -> io::Result<Reply> {
    wire::write_all(stream, &get_request(path)).await?;
    let mut reader = ReplyReader::default();
    wire::read_until(stream, |chunk| reader.step(chunk)).await?
}
// ANCHOR_END: get

/// [`get`] for a blocking socket, as a thread uses it.
///
/// # Errors
/// As [`get`].
pub fn get_blocking(stream: &mut std::net::TcpStream, path: &str) -> io::Result<Reply> {
    stream.write_all(&get_request(path))?;
    let mut reader = ReplyReader::default();
    let mut buf = [0u8; wire::READ_BUF];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(done) = reader.step(&buf[..n]) {
            return done;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> HttpOptions {
        HttpOptions::default()
    }

    #[test]
    fn routes_and_keep_alive() {
        let (r, n) = parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &opts())
            .unwrap()
            .unwrap();
        assert_eq!((r.request, r.keep_alive, n), (Route::Hello, true, 27));
        let (r, _) = parse(
            b"GET /delay?ms=7 HTTP/1.1\r\nConnection: close\r\n\r\n",
            &opts(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.request, r.keep_alive),
            (Route::Delay(Duration::from_millis(7)), false)
        );
        let (r, _) = parse(b"GET /x HTTP/1.0\r\n\r\n", &opts()).unwrap().unwrap();
        assert_eq!((r.request, r.keep_alive), (Route::NotFound, false));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHo", &opts()), Ok(None));
    }

    #[test]
    fn bad_heads_get_400_405_431() {
        let status = |buf: &[u8]| parse(buf, &opts()).unwrap_err().status;
        assert_eq!(status(b"GARBAGE\r\n\r\n"), 400);
        assert_eq!(status(b"GET /delay?ms=soon HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"POST / HTTP/1.1\r\n\r\n"), 405);
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(9000, b'a');
        assert_eq!(status(&huge), 431);
    }

    #[test]
    fn a_head_split_across_reads_and_two_pipelined_requests() {
        let mut pending = Vec::new();
        assert!(take_request(&mut pending, b"GET / HT", &opts()).is_none());
        assert_eq!(pending.len(), 8);
        let two = b"TP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n";
        let first = take_request(&mut pending, two, &opts()).unwrap().unwrap();
        assert_eq!(first.request, Route::Hello);
        let second = take_request(&mut pending, &[], &opts()).unwrap().unwrap();
        assert_eq!(second.request, Route::NotFound);
        assert!(pending.is_empty());
    }

    #[test]
    fn the_client_reads_a_response_in_pieces() {
        let mut reader = ReplyReader::default();
        assert!(reader.step(b"HTTP/1.1 200 OK\r\nContent-Le").is_none());
        assert!(reader.step(b"ngth: 6\r\n\r\nhel").is_none());
        let reply = reader.step(b"lo\n").unwrap().unwrap();
        assert_eq!(
            (reply.status, reply.body, reply.closes),
            (200, b"hello\n".to_vec(), false)
        );
    }
}
