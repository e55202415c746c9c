//! Moving whole messages over a [`TcpStream`]: write all of a buffer, read until the reader of
//! the bytes says it has enough, and, for both servers, read request heads one after another on
//! a kept-alive connection within their time limits ([`RequestReader`]), answering a bad one and
//! closing without losing the answer ([`linger_close`]).
//!
//! The one idea here is *where the read buffer lives*. A task waiting for its response may wait
//! 50 ms, and ten thousand tasks wait at once; if each kept a 4 KiB buffer in its future, the
//! buffers alone would be 40 MB, more than everything else the event loop keeps for them. So
//! [`read_until`] borrows the thread's one read buffer for the length of one poll, and hands each
//! chunk to a closure that keeps only what it must (usually nothing: a parsed head and a byte
//! count). A waiting task holds no buffer at all. Blocking threads cannot do this trick: each one
//! is stuck inside its own `read`, with its own buffer.
//!
//! The buffer is a thread-local, zeroed once when the thread first reads, not an array declared
//! inside the poll: safe Rust must initialise an array before `read` may write into it, and a
//! fresh 4 KiB array per poll would be a 4 KiB `memset` per poll, two per fetch, even for the
//! polls that find the socket not ready and read nothing.
//!
//! tokio's counterpart is `AsyncReadExt::read_buf` into a `BytesMut` the caller owns (hyper
//! keeps one per connection), and `ReadBuf`, which lets a reader fill memory that was never
//! initialised (with `unsafe` inside); asyncio's `StreamReader` owns a `bytearray` per stream.
//! Left out: vectored reads, any buffer reuse across connections beyond the one per thread, and
//! request bodies (the servers answer a request that has one, then close).

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::http::{Head, Reject, error_response, take_head};
use crate::net::TcpStream;
use crate::time;

/// Size of the stack buffer one read uses, in every client: one page. Enough for a response
/// head and a 1 KiB body in one `read`; bigger bodies take one `read` per 4 KiB.
///
/// Why not std's 8 KiB: each blocked thread of the thread clients has its own buffer on its own
/// stack, and a frame larger than a page is probed page by page, so every page of the buffer is
/// faulted in: 8 KiB costs each blocked thread 4 KiB more resident memory than 4 KiB does. (The
/// CPU cost of those extra page faults was too small to separate from run-to-run noise on our
/// 2-core test machine, so we make no claim about it.) The event loop has one buffer in all, so
/// the size hardly matters to it; keeping the same size keeps the comparison fair.
pub(crate) const READ_BUF: usize = 4 * 1024;

/// Write all of `buf`, waiting whenever the send buffer is full.
pub(crate) async fn write_all(stream: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut &*stream).poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Write `head` followed by `body_len` bytes copied from `fill` (repeated as often as needed),
/// with one vectored write per turn: the response head and the start of the body usually leave
/// in one system call and one TCP segment.
pub(crate) async fn write_head_and_fill(
    stream: &TcpStream,
    mut head: &[u8],
    fill: &[u8],
    mut body_len: u64,
) -> io::Result<()> {
    while !head.is_empty() || body_len > 0 {
        let chunk = &fill[..fill
            .len()
            .min(usize::try_from(body_len).unwrap_or(usize::MAX))];
        let n = poll_fn(|cx| {
            let bufs = [IoSlice::new(head), IoSlice::new(chunk)];
            Pin::new(&mut &*stream).poll_write_vectored(cx, &bufs)
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len());
        head = &head[from_head..];
        body_len -= (n - from_head) as u64;
    }
    Ok(())
}

// ANCHOR: read_until
thread_local! {
    /// This thread's read buffer, shared by every `read_until` that runs on it. Owned by the
    /// thread; a poll takes it out, reads into it and puts it back before returning, so no
    /// future ever holds it across an `.await`. `None` until the thread's first read (and while a
    /// poll has it out).
    static READ_BUFFER: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Read `stream` chunk by chunk, handing each chunk to `on_data`, until it returns `Some`.
///
/// End of stream is handed over as an empty chunk; if `on_data` returns `None` even then, this
/// returns `UnexpectedEof` (reading again would only return end of stream forever). The buffer
/// is the thread's, borrowed for one poll only (see the module docs); it is read into again as
/// long as the socket has data, so one wake-up drains what arrived.
pub(crate) async fn read_until<T>(
    stream: &TcpStream,
    mut on_data: impl FnMut(&[u8]) -> Option<T>,
) -> io::Result<T> {
    poll_fn(|cx| {
        // Zeroed once per thread (if a panic in `on_data` lost it, once more).
        let mut buf = READ_BUFFER
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0u8; READ_BUF].into_boxed_slice());
        let result = loop {
            let n = match Pin::new(&mut &*stream).poll_read(cx, &mut buf) {
                Poll::Pending => break Poll::Pending,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Ready(Ok(n)) => n,
            };
            if let Some(done) = on_data(&buf[..n]) {
                break Poll::Ready(Ok(done));
            }
            if n == 0 {
                break Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
        };
        // Put it back for the next poll (a thread that is exiting just drops it).
        let _ = READ_BUFFER.try_with(|slot| slot.set(Some(buf)));
        result
    })
    .await
}
// ANCHOR_END: read_until

// ANCHOR: request_reader
/// How one request head on a server connection came out.
pub(crate) enum Next<T> {
    /// A request to answer.
    Request(Head<T>),
    /// A bad head: it has been answered with its error status and the connection closed
    /// (lingering, see [`linger_close`]); the caller only counts it.
    Rejected,
    /// No whole head arrived within the head's time limit; the caller drops the connection.
    TimedOut,
    /// The client closed or reset the connection before a whole head.
    Gone,
}

/// The reading side of one server connection, request after request (keep-alive): the bytes
/// read past the previous head, and how long each head may take. Shared by the delay server and
/// http_server on the loop; each only parses (with its own routes) and answers.
pub(crate) struct RequestReader {
    /// Bytes read but not yet parsed: a head that arrived in pieces, or the start of a pipelined
    /// next request. Empty, and unallocated, for every client that waits for its answer before
    /// asking again.
    pending: Vec<u8>,
    /// The time limit of the next head: from the accept for the first one, from the end of the
    /// previous answer for the next (set by [`RequestReader::answered`]).
    limit: Duration,
    /// The time limit of every head after the first.
    idle_limit: Duration,
}

impl RequestReader {
    /// A fresh connection: the first head may take `first_limit`, each later one `idle_limit`.
    pub(crate) fn new(first_limit: Duration, idle_limit: Duration) -> RequestReader {
        RequestReader {
            pending: Vec::new(),
            limit: first_limit,
            idle_limit,
        }
    }

    /// The answer to the last request is sent: the next head's clock starts now.
    pub(crate) fn answered(&mut self) {
        self.limit = self.idle_limit;
    }

    /// Read the next request head (usually one read; bytes are kept only when it is not), parse
    /// it with `parse` (which answers like [`super::http::parse_head`]), and answer a bad one
    /// itself: the error response, then a lingering close.
    pub(crate) async fn next<T>(
        &mut self,
        stream: &TcpStream,
        mut parse: impl FnMut(&[u8]) -> Result<Option<(Head<T>, usize)>, Reject>,
    ) -> Next<T> {
        let pending = &mut self.pending;
        let read = async {
            // A pipelined request may already be complete in `pending`.
            if !pending.is_empty()
                && let Some(done) = take_head(pending, &[], &mut parse)
            {
                return Some(done);
            }
            let outcome = read_until(stream, |chunk| {
                if chunk.is_empty() {
                    return Some(None); // the client closed: nothing to answer
                }
                take_head(pending, chunk, &mut parse).map(Some)
            });
            outcome.await.ok().flatten()
        };
        match time::timeout(self.limit, read).await {
            Ok(Some(Ok(head))) => Next::Request(head),
            Ok(Some(Err(reject))) => {
                let _ = write_all(stream, &error_response(&reject)).await;
                linger_close(stream).await;
                Next::Rejected
            }
            Ok(None) => Next::Gone,
            Err(_elapsed) => Next::TimedOut,
        }
    }
}

/// Close after an error answer without losing it. Closing a socket with unread bytes makes the
/// kernel send a reset, which can destroy the answer before the client reads it; so we shut down
/// our side, then read and discard what the client still sends (at most 64 KiB, at most 1 s),
/// the "lingering close" of Apache and nginx.
pub(crate) async fn linger_close(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut left = LINGER_BYTES;
    let drain = read_until(stream, |chunk| {
        left = left.saturating_sub(chunk.len());
        (chunk.is_empty() || left == 0).then_some(())
    });
    let _ = time::timeout(LINGER_TIME, drain).await;
}
// ANCHOR_END: request_reader

/// The most a lingering close reads and discards.
pub(crate) const LINGER_BYTES: usize = 64 * 1024;

/// The longest a lingering close waits for the client to close its side.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::TcpListener;

    /// The read buffer is shared by every read on the thread, so a read must see only the bytes
    /// it read itself: a short message after a long one on another socket must not arrive with
    /// the long one's leftovers, and two reads waiting at once must each get their own bytes.
    #[test]
    fn shared_buffer_hands_each_read_only_its_own_bytes() {
        crate::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = crate::spawn(async move {
                for message in [vec![b'A'; 3000], b"b".to_vec(), b"cc".to_vec()] {
                    let (stream, _) = listener.accept().await.unwrap();
                    write_all(&stream, &message).await.unwrap();
                }
            });
            let read_one = |stream: TcpStream| async move {
                let mut got = Vec::new();
                // Collect every chunk until end of stream.
                read_until(&stream, |chunk| {
                    got.extend_from_slice(chunk);
                    chunk.is_empty().then_some(())
                })
                .await
                .unwrap();
                got
            };
            let long = TcpStream::connect(addr).await.unwrap();
            assert_eq!(read_one(long).await, vec![b'A'; 3000]);
            // Two reads waiting at the same time, on two sockets.
            let short = TcpStream::connect(addr).await.unwrap();
            let other = TcpStream::connect(addr).await.unwrap();
            let (a, b) = futures::join!(read_one(short), read_one(other));
            assert_eq!(a, b"b");
            assert_eq!(b, b"cc");
            server.await.unwrap();
        });
    }
}
