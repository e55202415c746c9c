//! Moving whole messages over a [`TcpStream`]: write all of a buffer, and read until the reader
//! of the bytes says it has enough.
//!
//! The one idea here is *where the read buffer lives*. A task waiting for its response may wait
//! 50 ms, and ten thousand tasks wait at once; if each kept a 4 KiB buffer in its future, the
//! buffers alone would be 40 MB, four times everything else the event loop needs. So [`read_until`] reads into an array on the thread's stack,
//! inside one poll, and hands each chunk to a closure that keeps only what it must (usually
//! nothing: a parsed head and a byte count). A waiting task holds no buffer at all. Blocking
//! threads cannot do this trick: each one is stuck inside its own `read`, with its own buffer.
//!
//! tokio's counterpart is `AsyncReadExt::read_buf` into a `BytesMut` the caller owns (hyper
//! keeps one per connection); asyncio's `StreamReader` owns a `bytearray` per stream. Left out:
//! vectored reads, and any buffer reuse across connections.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};

use crate::net::TcpStream;

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
/// Read `stream` chunk by chunk, handing each chunk to `on_data`, until it returns `Some`.
///
/// End of stream is handed over as an empty chunk; if `on_data` returns `None` even then, this
/// returns `UnexpectedEof` (reading again would only return end of stream forever). The buffer
/// is a stack array that exists only during one poll (see the module docs); it is read into
/// again as long as the socket has data, so one wake-up drains what arrived.
pub(crate) async fn read_until<T>(
    stream: &TcpStream,
    mut on_data: impl FnMut(&[u8]) -> Option<T>,
) -> io::Result<T> {
    poll_fn(|cx| {
        let mut buf = [0u8; READ_BUF];
        loop {
            let n = match Pin::new(&mut &*stream).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(n)) => n,
            };
            if let Some(done) = on_data(&buf[..n]) {
                return Poll::Ready(Ok(done));
            }
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
        }
    })
    .await
}
// ANCHOR_END: read_until
