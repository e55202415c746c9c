//! hyper on taketurns: the three things hyper 1.x asks of a runtime, answered by ours.
//!
//! hyper does no I/O, spawns nothing and sets no timer on its own. It asks for a connection that
//! implements [`hyper::rt::Read`] and [`hyper::rt::Write`], an [`Executor`] for the background
//! tasks of the protocols that need them, and a [`Timer`] for its timeouts (a server's
//! `header_read_timeout`, for one). This module gives each: [`HyperStream`] wraps a
//! [`TcpStream`], [`TaketurnsExecutor`] is [`crate::spawn`], and [`TaketurnsTimer`] hands out
//! [`HyperSleep`]s that live in the loop's timer list like any [`crate::time::Sleep`]. It is the
//! counterpart of hyper-util's `TokioIo`, `TokioExecutor` and `TokioTimer`.
//!
//! One bound needs a design of its own: hyper's [`hyper::rt::Sleep`] must be `Send + Sync`, and
//! [`crate::time::Sleep`] is neither, because it holds a `Weak` pointer to its runtime's core (an
//! `Rc`, which only ever lives on the runtime's thread). [`HyperSleep`] holds no pointer at all: its
//! deadline, and once registered its runtime's number and its timer key, all plain values. It
//! reaches the runtime through the thread's context (the runtime running on this thread, if its
//! number matches), so it is `Send + Sync` by construction, with no `unsafe` and no timer thread.
//! Polled on another thread or by another runtime than the one holding its entry, it panics with a
//! message that says so; hyper's HTTP/1 connections never move, so that never happens here.
//!
//! Where we simplify: hyper-util's `TokioIo` reads straight into hyper's buffer and marks the
//! bytes filled with an `unsafe` call (`ReadBufCursor::advance`). This crate forbids `unsafe`, so
//! [`HyperStream`] reads into a per-thread scratch buffer and copies the bytes it got into hyper's
//! with the safe `put_slice`: one copy of each received byte.
//!
//! HTTP/1 comes with the `hyper` feature; HTTP/2 with `hyper-http2`, over the same three pieces.
//! HTTP/2 is where hyper uses the [`Executor`] (a task per stream on a server, the connection's
//! driver on a client) and resets its timers (keep-alive pings); `tests/hyper/http2.rs` runs both.
//! TLS, and so HTTP/2 as browsers speak it, is left to a TLS crate over the same socket.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Executor, ReadBufCursor, Timer};

use crate::driver::timers::{TimerEntry, deadline_after};
use crate::net::TcpStream;
use crate::time::{Moved, drop_entry, poll_entry, reset_entry};

// ANCHOR: stream
/// A taketurns [`TcpStream`] as hyper's connection type ([`hyper::rt::Read`] +
/// [`hyper::rt::Write`]).
///
/// ```no_run
/// use taketurns::hyper_rt::HyperStream;
/// use taketurns::net::TcpStream;
/// taketurns::block_on(async {
///     let stream = TcpStream::connect("127.0.0.1:8080").await?;
///     let (sender, connection) =
///         hyper::client::conn::http1::handshake::<_, http_body_util::Empty<bytes::Bytes>>(
///             HyperStream::new(stream),
///         )
///         .await
///         .map_err(std::io::Error::other)?;
///     taketurns::spawn(connection); // drives the connection while `sender` sends requests
///     # drop(sender);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct HyperStream {
    /// The socket; owned, so the connection closes when hyper drops its connection.
    stream: TcpStream,
}

impl HyperStream {
    /// Wrap `stream` for hyper.
    pub fn new(stream: TcpStream) -> HyperStream {
        HyperStream { stream }
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Take the socket back.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }
}

impl fmt::Debug for HyperStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HyperStream").field(&self.stream).finish()
    }
}

/// The largest read [`HyperStream`] makes at once: the size of its per-thread scratch buffer.
const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    /// Where [`HyperStream`] reads before copying into hyper's buffer: one per thread, shared by
    /// every connection on it (a poll finishes its read before another starts), zeroed once.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_BYTES]);
}

impl hyper::rt::Read for HyperStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(SCRATCH_BYTES);
        let stream = &mut self.get_mut().stream;
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let scratch = &mut scratch[..want];
            match Pin::new(stream).poll_read(cx, scratch) {
                Poll::Ready(Ok(n)) => {
                    // The safe way to mark bytes filled: copy them in.
                    buf.put_slice(&scratch[..n]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl hyper::rt::Write for HyperStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    /// Our sockets write with `writev`, so hyper may hand over a head and a body without first
    /// copying them into one buffer.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
// ANCHOR_END: stream

// ANCHOR: executor
/// [`crate::spawn`] as hyper's [`Executor`]: each future becomes a detached task on the runtime
/// running on this thread.
///
/// The futures need not be `Send`: hyper's `Executor<Fut>` puts no bound on `Fut`, and taketurns
/// runs every task on the thread that spawned it. (hyper-util's `TokioExecutor` requires `Send`
/// because it calls `tokio::spawn`; its `LocalExecutor`-style alternatives need a `LocalSet`.)
/// HTTP/1 spawns nothing, since its connection future is driven by whoever holds it; the executor
/// is here for the protocols that do.
///
/// # Panics
/// `execute` panics outside a taketurns runtime, as [`crate::spawn`] does.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaketurnsExecutor;

impl<F> Executor<F> for TaketurnsExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        // The JoinHandle is dropped: the task runs detached, as hyper expects.
        drop(crate::spawn(future));
    }
}
// ANCHOR_END: executor

// ANCHOR: timer
/// The loop's timer list as hyper's [`Timer`]: every sleep hyper asks for is a [`HyperSleep`].
///
/// A unit struct, so trivially `Send + Sync` as hyper's builders require; the runtime is found
/// at each sleep's first poll, on the thread that polls it.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaketurnsTimer;

impl Timer for TaketurnsTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::new(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::until(deadline))
    }

    /// Move the deadline of one of our own sleeps in place (its old timer entry is removed now);
    /// a foreign sleep is replaced by a new one of ours.
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
// ANCHOR_END: timer

// ANCHOR: hyper_sleep
/// A sleep for hyper: [`crate::time::Sleep`]'s job, but `Send + Sync` (hyper's
/// [`hyper::rt::Sleep`] requires both), because it names its timer entry by plain numbers
/// instead of pointing at the runtime.
///
/// # Panics
/// Polled outside a taketurns runtime, or (once registered) on another thread or runtime than
/// the one whose timer list holds its entry.
#[must_use = "futures do nothing unless you .await them"]
pub struct HyperSleep {
    /// The deadline and, once a poll has registered it, our entry in a runtime's timer list,
    /// named by numbers only (which is what makes the sleep `Send + Sync`). The same entry as
    /// [`crate::time::Sleep`]'s.
    entry: TimerEntry,
}

impl HyperSleep {
    /// A sleep that ends `duration` from now (a duration too large to add saturates to about 30
    /// years, as [`crate::time::sleep`] does).
    pub fn new(duration: Duration) -> HyperSleep {
        HyperSleep::until(deadline_after(duration))
    }

    /// A sleep that ends at `deadline`.
    pub fn until(deadline: Instant) -> HyperSleep {
        HyperSleep {
            entry: TimerEntry::new(deadline),
        }
    }

    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.entry.deadline()
    }

    /// Move the deadline. A later deadline keeps the timer entry where it is: when the entry
    /// fires at the old deadline, the poll finds the new one not yet due and registers it then.
    /// A timer pushed later again and again (HTTP/2's keep-alive ping is one) so costs one
    /// spurious wake per period instead of a removal and an insertion per push. An earlier
    /// deadline removes the entry now; the next poll registers the new one. (The rule is
    /// [`crate::time::Sleep::reset`]'s: both are the same timer entry.)
    pub fn reset(&mut self, deadline: Instant) {
        reset_entry(&mut self.entry, deadline);
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_entry(
            &mut self.get_mut().entry,
            cx,
            Moved::Panic("a hyper timer (hyper_rt::HyperSleep)"),
        )
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl Drop for HyperSleep {
    /// Removes the timer entry when dropped on its runtime's thread, which is where hyper drops
    /// it; dropped anywhere else, the entry is left to fire or to be dropped with its runtime.
    fn drop(&mut self) {
        drop_entry(&mut self.entry);
    }
}
// ANCHOR_END: hyper_sleep

impl fmt::Debug for HyperSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperSleep")
            .field("deadline", &self.deadline())
            .field("registered", &self.entry.is_registered())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper hands its executor futures that need not be `Send`; ours runs them as detached
    /// tasks of the runtime on this thread, to completion, while the caller goes on.
    #[test]
    fn the_executor_runs_a_future_that_is_not_send_detached() {
        use std::cell::Cell;
        use std::rc::Rc;

        let rt = crate::Runtime::new().unwrap();
        let done = Rc::new(Cell::new(false));
        let seen = Rc::clone(&done);
        rt.block_on(async move {
            TaketurnsExecutor.execute(async move {
                for _ in 0..3 {
                    crate::yield_now().await;
                }
                seen.set(true);
            });
            // Spawned, not run inline: nothing has happened yet.
            assert!(!done.get());
            for _ in 0..100 {
                if done.get() {
                    break;
                }
                crate::yield_now().await;
            }
            assert!(done.get(), "the executed future did not run to completion");
        });
        assert_eq!(rt.stats().tasks_finished, 1);
    }

    /// hyper's bound, checked at compile time.
    #[test]
    fn hyper_sleep_is_send_and_sync() {
        fn needs_send_sync<T: Send + Sync>() {}
        needs_send_sync::<HyperSleep>();
        needs_send_sync::<TaketurnsTimer>();
    }

    #[test]
    fn hyper_sleep_waits_for_its_deadline_and_cleans_up() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let start = Instant::now();
            HyperSleep::new(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20));
            // A sleep dropped while registered leaves no entry behind.
            let mut long = Box::pin(HyperSleep::new(Duration::from_secs(3600)));
            let waker = futures_task_noop();
            assert!(
                long.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            assert_eq!(crate::stats().timers_pending, 1);
            drop(long);
            assert_eq!(crate::stats().timers_pending, 0);
        });
    }

    #[test]
    fn reset_moves_the_deadline_in_place() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let timer = TaketurnsTimer;
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let start = Instant::now();
            timer.reset(&mut sleep, start + Duration::from_millis(10));
            assert!(sleep.is::<HyperSleep>());
            sleep.await;
            assert!(start.elapsed() >= Duration::from_millis(10));
            assert!(start.elapsed() < Duration::from_secs(600));
        });
    }

    #[test]
    fn a_later_reset_keeps_the_entry_and_still_waits_for_the_new_deadline() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let timer = TaketurnsTimer;
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_millis(10));
            // Register the first deadline, then push it later: the entry stays where it is.
            std::future::poll_fn(|cx| {
                assert!(sleep.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            timer.reset(&mut sleep, start + Duration::from_millis(60));
            assert_eq!(crate::stats().timers_pending, 1);
            sleep.await;
            assert!(start.elapsed() >= Duration::from_millis(60), "not early");
            assert_eq!(crate::stats().timers_pending, 0, "nothing left behind");
        });
    }

    #[test]
    fn an_earlier_reset_replaces_a_registered_entry() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let timer = TaketurnsTimer;
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            std::future::poll_fn(|cx| {
                assert!(sleep.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            timer.reset(&mut sleep, start + Duration::from_millis(10));
            assert_eq!(crate::stats().timers_pending, 0, "the far entry is gone");
            sleep.await;
            assert!(start.elapsed() >= Duration::from_millis(10));
            assert!(start.elapsed() < Duration::from_secs(600));
        });
    }

    #[test]
    #[should_panic(expected = "polled on another thread or runtime")]
    fn polled_by_another_runtime_panics_clearly() {
        let first = crate::Runtime::new().unwrap();
        let mut sleep = Box::pin(HyperSleep::new(Duration::from_secs(3600)));
        first.block_on(async {
            let waker = futures_task_noop();
            assert!(
                sleep
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        });
        let second = crate::Runtime::new().unwrap();
        second.block_on(async {
            let waker = futures_task_noop();
            let _ = sleep.as_mut().poll(&mut Context::from_waker(&waker));
        });
    }

    /// A waker that does nothing, for polling by hand.
    fn futures_task_noop() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }
}
