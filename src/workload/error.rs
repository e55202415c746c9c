//! Why a fetch failed: [`FetchError`], sorted into the kinds a reader can act on
//! ([`FetchErrorKind`]): refused, reset, timed out, malformed, a short body, an HTTP status, other.
//!
//! A leaf of the lab bench: the parser (`http`) and the fetches (`fetch`) both speak it. Python's
//! `urllib` raises `ConnectionRefusedError`, `ConnectionResetError`, `TimeoutError`,
//! `http.client.BadStatusLine`/`IncompleteRead`, and `HTTPError` for the same cases.

use std::fmt;
use std::io;
use std::time::Duration;

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
    pub(super) fn from_io(e: io::Error) -> FetchError {
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
    pub(super) fn from_blocking_io(e: io::Error, timeout: Duration) -> FetchError {
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
