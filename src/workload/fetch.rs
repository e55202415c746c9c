//! One fetch: connect, send the request, read the whole response, check it. Twice: blocking
//! ([`fetch_blocking`], for the thread clients) and as a future ([`fetch`], for the event loop).
//!
//! Both do the same steps with the same parser ([`super::http`]) and end in the same
//! `Result<u64, FetchError>`: the body's length, or what went wrong, sorted into the kinds a
//! reader can act on ([`FetchErrorKind`]). The difference is only in how they wait. The blocking
//! one parks its thread in `connect` and `read` (with socket timeouts); the future parks its task
//! and the loop runs others meanwhile, with one timer racing the whole exchange
//! ([`crate::time::timeout`]).
//!
//! asyncio: `reader, writer = await asyncio.open_connection(...)`, `writer.write`,
//! `await reader.read()`, inside `asyncio.wait_for`. tokio: `TcpStream::connect`, `write_all`,
//! `read`, inside `tokio::time::timeout`. Python's `urllib` raises `ConnectionRefusedError`,
//! `ConnectionResetError`, `TimeoutError`, `http.client.BadStatusLine`/`IncompleteRead`, and
//! `HTTPError` for the same six cases.
//!
//! A response from a real server may be a redirect, an error status, a chunked body or a body
//! that ends when the server closes; the parser ([`super::http`]) follows the last two, and the
//! first two end the fetch as a [`FetchError`] that says what to fetch instead. Left out:
//! retries, following redirects, and reading the body of an error response (a non-2xx status
//! ends the fetch as soon as the head is read).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::http::ResponseReader;
use super::wire;
use crate::net::TcpStream;
use crate::time;

/// Why one fetch failed. Each kind says what happened and what to do about it.
#[derive(Debug)]
pub enum FetchError {
    /// Nothing listens at the address (`ECONNREFUSED`).
    Refused,
    /// The server reset the connection (`ECONNRESET`, `EPIPE`): it crashed, hit a limit, or
    /// closed with data unread.
    Reset,
    /// No complete response within the plan's timeout (connect, request and response together).
    Timeout(Duration),
    /// The bytes were not an HTTP/1.x response we understand, or the connection closed before a
    /// whole response head arrived; the text says which. (A server that closes an orderly
    /// connection without answering is *malformed*, not *reset*: TCP-wise nothing went wrong.
    /// Python's `RemoteDisconnected` is both a `BadStatusLine` and a `ConnectionResetError`.)
    Malformed(String),
    /// The server closed before sending all the body bytes its `Content-Length` promised.
    ShortBody {
        /// What `Content-Length` said.
        expected: u64,
        /// What arrived before the connection closed.
        got: u64,
    },
    /// The server answered with a status outside `200..=299` that is not a redirect.
    Status(u16),
    /// The server answered with a redirect (`3xx`), which is reported, not followed. Counted
    /// as [`FetchErrorKind::Status`].
    Redirect {
        /// The status, e.g. `301`.
        status: u16,
        /// The `Location` header, if the server sent one.
        location: Option<String>,
    },
    /// Any other I/O error (out of file descriptors, no route to host, ...).
    Other(io::Error),
}

/// The kind of a [`FetchError`], without its details: what reports count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FetchErrorKind {
    /// [`FetchError::Refused`].
    Refused,
    /// [`FetchError::Reset`].
    Reset,
    /// [`FetchError::Timeout`].
    Timeout,
    /// [`FetchError::Malformed`].
    Malformed,
    /// [`FetchError::ShortBody`].
    ShortBody,
    /// [`FetchError::Status`] and [`FetchError::Redirect`].
    Status,
    /// [`FetchError::Other`].
    Other,
}

impl FetchErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [FetchErrorKind; 7] = [
        FetchErrorKind::Refused,
        FetchErrorKind::Reset,
        FetchErrorKind::Timeout,
        FetchErrorKind::Malformed,
        FetchErrorKind::ShortBody,
        FetchErrorKind::Status,
        FetchErrorKind::Other,
    ];

    /// The kind's name in tables and JSON: `refused`, `reset`, `timeout`, `malformed`,
    /// `short_body`, `status`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            FetchErrorKind::Refused => "refused",
            FetchErrorKind::Reset => "reset",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::Malformed => "malformed",
            FetchErrorKind::ShortBody => "short_body",
            FetchErrorKind::Status => "status",
            FetchErrorKind::Other => "other",
        }
    }
}

impl FetchError {
    /// Which kind of failure this is.
    pub fn kind(&self) -> FetchErrorKind {
        match self {
            FetchError::Refused => FetchErrorKind::Refused,
            FetchError::Reset => FetchErrorKind::Reset,
            FetchError::Timeout(_) => FetchErrorKind::Timeout,
            FetchError::Malformed(_) => FetchErrorKind::Malformed,
            FetchError::ShortBody { .. } => FetchErrorKind::ShortBody,
            FetchError::Status(_) | FetchError::Redirect { .. } => FetchErrorKind::Status,
            FetchError::Other(_) => FetchErrorKind::Other,
        }
    }

    /// Sort an I/O error from a non-blocking socket into a kind.
    fn from_io(e: io::Error) -> FetchError {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => FetchError::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => FetchError::Reset,
            _ => FetchError::Other(e),
        }
    }

    /// Sort an I/O error from a blocking socket: there a socket timeout shows up as
    /// `TimedOut` (from `connect_timeout`) or `WouldBlock` (`EAGAIN` from a read past
    /// `SO_RCVTIMEO`).
    fn from_blocking_io(e: io::Error, timeout: Duration) -> FetchError {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => FetchError::Timeout(timeout),
            _ => FetchError::from_io(e),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Refused => f.write_str(
                "connection refused: nothing listens at that address; \
                 is the server running, and is the port right?",
            ),
            FetchError::Reset => f.write_str(
                "connection reset by the server before the response was complete; \
                 it crashed, hit a limit (open files, backlog) or closed with data unread: \
                 check its log and limits",
            ),
            FetchError::Timeout(after) => write!(
                f,
                "no complete response within {after:?}: the server never answered or is \
                 overloaded; allow a longer timeout or make fewer fetches at once"
            ),
            FetchError::Malformed(detail) => write!(
                f,
                "malformed response: {detail}; is that an HTTP/1.x server, and did it crash?"
            ),
            FetchError::ShortBody { expected, got } => write!(
                f,
                "short body: Content-Length promised {expected} bytes but the connection \
                 closed after {got}; the server stopped mid-response (crash or limit)"
            ),
            FetchError::Status(code) => write!(
                f,
                "the server answered {code}, not 2xx; check the path (and the server's log)"
            ),
            FetchError::Redirect {
                status,
                location: Some(location),
            } => write!(
                f,
                "the server answered {status}, a redirect to {location:?}, which this client \
                 does not follow; fetch that location instead (a directory's path needs its \
                 trailing slash)"
            ),
            FetchError::Redirect {
                status,
                location: None,
            } => write!(
                f,
                "the server answered {status}, a redirect without a Location; check the path"
            ),
            FetchError::Other(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Other(e) => Some(e),
            _ => None,
        }
    }
}

// ANCHOR: fetch
/// One fetch on the current taketurns runtime: connect to `addr`, send `request`, read and check
/// the response; the body's length in bytes, or why not. The whole exchange must finish within
/// `timeout`.
///
/// Seven system calls when all goes well: `socket`, `connect`, `epoll_ctl` (register),
/// `getsockopt` (did the connection succeed?), `write`, `read` (the whole response, usually),
/// `close`; plus this task's share of the loop's `epoll_wait`s.
///
/// # Panics
/// Outside a taketurns runtime.
pub async fn fetch(addr: SocketAddr, request: &[u8], timeout: Duration) -> Result<u64, FetchError> {
    match time::timeout(timeout, exchange(addr, request)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(FetchError::Timeout(timeout)),
    }
}

/// The exchange itself, without the deadline.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Result<u64, FetchError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(FetchError::from_io)?;
    wire::write_all(&stream, request)
        .await
        .map_err(FetchError::from_io)?;
    // No buffer is held while we wait: `read_until` borrows the thread's buffer for each poll.
    let mut response = ResponseReader::new();
    wire::read_until(&stream, |chunk| response.step(chunk))
        .await
        .map_err(FetchError::from_io)?
    // Dropping `stream` here closes the socket, which also takes it out of epoll.
}
// ANCHOR_END: fetch

// ANCHOR: fetch_blocking
/// One fetch that blocks the calling thread: the same steps as [`fetch`], with `std::net`.
///
/// The deadline is kept with socket timeouts: `connect_timeout`, then `SO_RCVTIMEO` set once to
/// what is left, and the clock checked after every read. Where we simplify: a server that drips
/// one byte just before each read timeout could stretch a fetch to twice `timeout`; resetting
/// `SO_RCVTIMEO` before every read, as a production client would, closes that gap at one more
/// system call per read.
pub fn fetch_blocking(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> Result<u64, FetchError> {
    let deadline = Instant::now() + timeout;
    let as_fetch_error = |e| FetchError::from_blocking_io(e, timeout);
    if timeout.is_zero() {
        return Err(FetchError::Timeout(timeout));
    }
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, timeout).map_err(as_fetch_error)?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(FetchError::Timeout(timeout));
    }
    stream
        .set_read_timeout(Some(left))
        .map_err(as_fetch_error)?;
    stream.write_all(request).map_err(as_fetch_error)?;
    let mut response = ResponseReader::new();
    // The same size as the event loop's buffer; here each waiting thread has its own.
    let mut buf = [0u8; wire::READ_BUF];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(as_fetch_error(e)),
        };
        if let Some(done) = response.step(&buf[..n]) {
            return done;
        }
        if Instant::now() >= deadline {
            return Err(FetchError::Timeout(timeout));
        }
    }
}
// ANCHOR_END: fetch_blocking
