//! Moving whole messages over a [`TcpStream`]: write all of a buffer, and read until the reader
//! of the bytes says it has enough.
//!
//! The one idea here is *where the read buffer lives*. A task waiting for its response may wait
//! 50 ms, and ten thousand tasks wait at once; if each kept a 4 KiB buffer in its future, the
//! buffers alone would be 40 MB, four times everything else the event loop needs. So
//! [`read_until`] borrows the thread's one read buffer for the length of one poll, and hands each
//! chunk to a closure that keeps only what it must (usually nothing: a parsed head and a byte
//! count). A waiting task holds no buffer at all. Blocking threads cannot do this trick: each one
//! is stuck inside its own `read`, with its own buffer.
//!
//! The buffer is a thread-local, zeroed once when the thread first reads, not an array declared
//! inside the poll: safe Rust must initialise an array before `read` may write into it, and a
//! fresh 4 KiB array per poll was a 4 KiB `memset` per poll, two per fetch, even for the polls
//! that find the socket not ready and read nothing (chapter 13 measures what that cost).
//!
//! tokio's counterpart is `AsyncReadExt::read_buf` into a `BytesMut` the caller owns (hyper
//! keeps one per connection), and `ReadBuf`, which lets a reader fill memory that was never
//! initialised (with `unsafe` inside); asyncio's `StreamReader` owns a `bytearray` per stream.
//! Left out: vectored reads, and any buffer reuse across connections beyond the one per thread.

use std::cell::Cell;
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
