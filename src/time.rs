//! Waiting for time to pass: [`sleep`], [`sleep_until`] and [`timeout`].
//!
//! A [`Sleep`] is a leaf future: the first poll before its deadline puts an entry in the loop's
//! timer list (the `timers` module) with the task's waker, and returns `Pending`; the task waits in
//! the waiting list until the loop sees the deadline pass and wakes it. No thread sleeps. Dropping
//! a `Sleep` removes its entry, so cancelled timers cost nothing afterwards. These are asyncio's
//! `asyncio.sleep` and `asyncio.wait_for`/`asyncio.timeout`, and tokio's `tokio::time` functions of
//! the same names.
//!
//! A sleep is never early: it completes only once `Instant::now() >= deadline`. It may be late by
//! the time other tasks take to hand control back, plus epoll's millisecond granularity (mio rounds
//! the timeout up, so the wait never ends before the deadline).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::driver::timers::{Here, TimerEntry, TimerPoll, deadline_after};
use crate::runtime::context;
use crate::runtime::waiting::Wait;

/// Wait until `duration` has passed.
///
/// ```
/// use std::time::{Duration, Instant};
/// taketurns::block_on(async {
///     let start = Instant::now();
///     taketurns::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(duration))
}

/// Wait until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        entry: TimerEntry::new(deadline),
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Sleep {
    /// The deadline, and our entry in the timer list of the runtime that last polled us once a
    /// poll has registered it.
    entry: TimerEntry,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.entry.deadline()
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    // ANCHOR: reset
    /// Move the deadline (earlier or later), even after the sleep completed. An earlier deadline
    /// removes the old timer entry now and the next poll registers the new one; a later one keeps
    /// the entry until it fires, and the poll then registers the new deadline.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        reset_entry(&mut self.get_mut().entry, deadline);
    }
    // ANCHOR_END: reset
}

/// Run `f` with the timer list of the runtime running on this thread (`None` outside one).
fn with_here<R>(f: impl FnOnce(Option<Here<'_>>) -> R) -> R {
    let mut f = Some(f);
    let inside = context::with_current(|core| {
        let f = f.take().expect("called once");
        f(Some((core.id(), &**core.timers())))
    });
    match inside {
        Some(result) => result,
        None => (f.take().expect("not called inside"))(None),
    }
}

/// What a sleep does when its entry is in another runtime's list than the one polling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moved {
    /// Forget the old entry (it fires there later, waking nobody) and register here.
    Register,
    /// Panic with this sleep's name: a sleep that must never move (hyper's).
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    Panic(&'static str),
}

// ANCHOR: poll_entry
/// Poll a sleep's timer entry in the runtime running on this thread, and on `Pending` note that
/// the running task waits for the timer: the one poll of both `Sleep` and hyper's sleeps.
///
/// # Panics
/// Not due and outside a runtime, or moved when `moved` says to panic.
pub(crate) fn poll_entry(entry: &mut TimerEntry, cx: &Context<'_>, moved: Moved) -> Poll<()> {
    // One look at the thread's context gives the timer list and the note both.
    let inside = context::with_current(|core| {
        let here = Some((core.id(), &**core.timers()));
        let mut polled = entry.poll(cx, here);
        if let TimerPoll::Elsewhere(owner) = polled {
            match moved {
                Moved::Register => {
                    entry.unregister(here);
                    polled = entry.poll(cx, here);
                }
                Moved::Panic(what) => panic!(
                    "taketurns: {what} was polled on another thread or runtime than the \
                     taketurns runtime that registered it (runtime {owner}). Keep it on the \
                     runtime that made it (a hyper connection stays on the runtime that \
                     accepted or opened it)."
                ),
            }
        }
        if polled == TimerPoll::Pending {
            core.note_wait(Wait::Timer(entry.deadline()));
        }
        polled
    });
    match inside.unwrap_or_else(|| entry.poll(cx, None)) {
        TimerPoll::Ready => Poll::Ready(()),
        TimerPoll::Pending => Poll::Pending,
        TimerPoll::NoRuntime | TimerPoll::Elsewhere(_) => {
            // `current` panics with a message that says what to do.
            context::current(match moved {
                Moved::Panic(what) => what,
                Moved::Register => "time::sleep (its first poll)",
            });
            unreachable!("no runtime is running on this thread")
        }
    }
}

/// Move a sleep's deadline: see [`TimerEntry::reset`].
pub(crate) fn reset_entry(entry: &mut TimerEntry, deadline: Instant) {
    with_here(|here| entry.reset(deadline, here));
}

/// Take a sleep's entry out of its list (when dropped): see [`TimerEntry::unregister`].
pub(crate) fn drop_entry(entry: &mut TimerEntry) {
    if entry.is_registered() {
        with_here(|here| entry.unregister(here));
    }
}
// ANCHOR_END: poll_entry

// ANCHOR: sleep_poll
impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_entry(&mut self.get_mut().entry, cx, Moved::Register)
    }
}
// ANCHOR_END: sleep_poll

// ANCHOR: sleep_drop
impl Drop for Sleep {
    fn drop(&mut self) {
        drop_entry(&mut self.entry);
    }
}
// ANCHOR_END: sleep_drop

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("registered", &self.entry.is_registered())
            .finish()
    }
}

/// Run `future`, but give up after `duration`: `Ok(output)` if it finished in time,
/// `Err(Elapsed)` if not (the future is then dropped, which cancels it).
///
/// ```
/// use std::time::Duration;
/// use taketurns::time::{sleep, timeout};
/// taketurns::block_on(async {
///     let quick = timeout(Duration::from_secs(5), async { 1 }).await;
///     assert_eq!(quick, Ok(1));
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(5))).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

// ANCHOR: timeout
pin_project! {
    /// The future returned by [`timeout`]: the inner future raced against a [`Sleep`].
    #[must_use = "futures do nothing unless you .await them"]
    pub struct Timeout<F> {
        // The operation being timed. Polled first, so a future that is ready at the deadline wins.
        #[pin]
        future: F,
        // The deadline. Not structurally pinned: `Sleep` is `Unpin`.
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Take the wrapped future back (dropping the timer).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
// ANCHOR_END: timeout

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
