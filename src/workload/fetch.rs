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

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::http::ResponseReader;
use super::wire;
use crate::net::TcpStream;
use crate::time;

pub use super::error::{FetchError, FetchErrorKind};

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
