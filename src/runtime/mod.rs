//! The runtime layer: the loop's core, its tick, the task table with the two lists, wakers and
//! the thread's context; and [`Runtime`] and [`Builder`], what a program creates and drives.
//!
//! [`Runtime`] is what a program creates and drives with [`Runtime::block_on`]: asyncio's event
//! loop object (`asyncio.new_event_loop()`, `loop.run_until_complete`), tokio's
//! `tokio::runtime::Builder::new_current_thread()`. Its state is a `Core` (in `core.rs`), shared
//! through an `Rc` with the thread-local context (`context.rs`) so that `spawn`, wakers, sockets and
//! timers can reach it without being handed a reference. The loop itself, one tick at a time, is in
//! `tick.rs`.
//!
//! **The layers.** This layer sits on the drivers (`crate::driver`: the reactor, the timer list,
//! the inbox of remote wakes, the blocking pool), which know nothing of tasks, and it feeds the
//! observability layer (`crate::observe`: stats, trace, timeline, warnings), which knows nothing
//! of the runtime. Ids and the names of a task's states live in leaves (`crate::id`,
//! `crate::lifecycle`) that every layer uses. The leaf futures (`crate::net`, `crate::time`,
//! `crate::blocking`) sit on top: they reach the runtime through the context.

mod cell;
pub(crate) mod context;
mod core;
mod ready;
pub mod task;
mod task_table;
mod tick;
pub(crate) mod waiting;
mod waker;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) use self::core::Core;
use self::task::JoinHandle;
use crate::observe::lists::Moment;
use crate::observe::stats::{Snapshot, Stats, TaskStats};
use crate::observe::timeline::Timeline;
use crate::observe::trace::TraceConfig;
use crate::observe::warnings::Warning;

/// How many tasks run between two non-blocking checks for I/O and timers, by default.
///
/// The same number as tokio's `event_interval` (which took it from Go's scheduler): a prime, so it
/// does not fall into step with a program that runs tasks in rounds of a round number.
pub const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// Settings fixed when the runtime is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Tasks run between two non-blocking I/O checks (see [`Builder::event_interval`]).
    pub(crate) event_interval: u32,
    /// How many events one `epoll_wait` may return.
    pub(crate) events_capacity: usize,
    /// Whether to record a trace (see [`Builder::trace`]).
    pub(crate) trace: bool,
    /// The trace's buffer size, slow-poll threshold, clock and warning callback.
    pub(crate) trace_config: TraceConfig,
    /// Whether the loop waits on io_uring instead of epoll (see [`Builder::io_uring`]).
    #[cfg(feature = "uring")]
    pub(crate) io_uring: bool,
}

/// A single-threaded async runtime: a ready queue, a waiting list, a reactor and timers.
///
/// ```
/// let rt = taketurns::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let task = taketurns::spawn(async { 6 * 7 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Tasks need not be `Send`: they never leave this thread, so they may hold `Rc` and `RefCell`.
/// The `Runtime` itself is therefore `!Send` too.
///
/// `block_on` returns as soon as its own future completes. Tasks still pending stay in the
/// runtime and go on at the next `block_on`; dropping the runtime drops them (their destructors
/// run, their JoinHandles resolve to cancelled).
pub struct Runtime {
    /// The state; the only strong reference besides the context's while `block_on` runs.
    core: Rc<Core>,
}

impl Runtime {
    /// A runtime with the default settings.
    ///
    /// # Errors
    /// If the epoll instance or its eventfd cannot be created (for example, out of file
    /// descriptors: raise `ulimit -n`).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to change the settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    // ANCHOR: block_on
    /// Run `future` to completion on this thread, running spawned tasks while it waits.
    ///
    /// # Panics
    /// If called from inside a running taketurns runtime (use `.await` there), or if `future`
    /// panics (the panic reaches the caller; the runtime stays usable).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.core.clone());
        let core = &*self.core;
        let mut future = pin!(future);
        let waker = core.main_waker();
        let mut cx = Context::from_waker(&waker);
        core.wake_main();
        loop {
            if core.take_main_wake() {
                debug_assert!(
                    core.unborrowed(),
                    "the block_on future is polled with no borrow held"
                );
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
                // The block_on future counts like a task: one that keeps yielding must not
                // keep the loop from checking sockets and timers.
                core.count_poll();
            }
            core.tick();
        }
    }
    // ANCHOR_END: block_on

    /// Spawn a task on this runtime from outside it (it runs at the next `block_on`).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        task::spawn(&self.core, future, None)
    }

    /// The state, for `task::Builder::spawn_on`.
    pub(crate) fn core(&self) -> &Rc<Core> {
        &self.core
    }

    /// A copy of the trace so far, to draw ([`Timeline::render_ascii`]) or export
    /// ([`Timeline::write_chrome_trace`]). Empty (and saying why when drawn) if the runtime was
    /// built without [`Builder::trace`].
    pub fn timeline(&self) -> Timeline {
        self.core.timeline()
    }

    /// Per-task totals so far: polls, busy, scheduled and idle time, wakes, longest poll.
    /// Empty (and saying why when printed) if the runtime was built without [`Builder::trace`].
    pub fn task_stats(&self) -> TaskStats {
        self.core.task_stats()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// The two lists right now.
    pub fn snapshot(&self) -> Snapshot {
        self.core.snapshot()
    }

    /// The io_uring driver's counters so far (system calls, entries submitted, completions,
    /// operations in flight); `None` for a runtime on epoll.
    #[cfg(feature = "uring")]
    pub fn ring_stats(&self) -> Option<crate::driver::uring::RingStats> {
        self.core.uring().map(|ring| ring.stats())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Destructors that spawn or wake during shutdown find the runtime being shut down.
        let _enter = context::enter_for_shutdown(self.core.clone());
        self.core.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.core.id())
            .field("config", self.core.config())
            .finish()
    }
}

/// Settings for a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    /// What `build` will use.
    config: Config,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default settings.
    pub fn new() -> Builder {
        Builder {
            config: Config {
                event_interval: DEFAULT_EVENT_INTERVAL,
                events_capacity: 1024,
                trace: false,
                trace_config: TraceConfig::default(),
                #[cfg(feature = "uring")]
                io_uring: false,
            },
        }
    }

    /// How many tasks the loop runs between two non-blocking checks for I/O and timers while
    /// tasks keep being ready (default [`DEFAULT_EVENT_INTERVAL`]). Lower: sockets and timers are
    /// noticed sooner, at the cost of more `epoll_wait` calls. Higher: fewer system calls, and a
    /// busy loop notices the outside world later. When nothing is ready the loop always checks.
    ///
    /// # Panics
    /// If `interval` is 0.
    pub fn event_interval(mut self, interval: u32) -> Builder {
        assert!(interval > 0, "event_interval must be at least 1");
        self.config.event_interval = interval;
        self
    }

    /// How many events one `epoll_wait` may return (default 1024). More are simply returned by
    /// the next call.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn events_capacity(mut self, capacity: usize) -> Builder {
        assert!(capacity > 0, "events_capacity must be at least 1");
        self.config.events_capacity = capacity;
        self
    }

    // ANCHOR: builder_trace
    /// Record a trace (default: off): every spawn, poll, wake and completion, with a timestamp,
    /// for [`Runtime::timeline`] and [`Runtime::task_stats`], and check for the three
    /// [`Warning`]s (slow poll, lost waker, pending at shutdown). This is asyncio's debug mode
    /// (`asyncio.run(main(), debug=True)`).
    ///
    /// Off, it costs one branch at each place that would record: no clock read, no allocation.
    /// On, every event reads the clock, and polls and wakes cost a few times more.
    pub fn trace(mut self, on: bool) -> Builder {
        self.config.trace = on;
        self
    }

    /// How many events the trace keeps (default [`crate::trace::DEFAULT_TRACE_CAPACITY`], about
    /// 64 bytes each). The *first* `events` are kept; later ones are only counted
    /// ([`Timeline::dropped`]). Per-task stats and warnings stay exact after the buffer is full.
    pub fn trace_capacity(mut self, events: usize) -> Builder {
        self.config.trace_config.capacity = events;
        self
    }

    /// A poll longer than `threshold` raises a slow-poll warning (default 10 ms; asyncio's
    /// `slow_callback_duration` is 100 ms). Only checked while tracing.
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.config.trace_config.slow_poll = threshold;
        self
    }

    /// Send warnings to `sink` instead of printing them to stderr.
    pub fn on_warning(mut self, sink: impl Fn(&Warning) + 'static) -> Builder {
        self.config.trace_config.on_warning = Some(Rc::new(sink));
        self
    }

    /// Read the trace's timestamps from `clock` (time since the runtime was built) instead of
    /// the real clock: a test can then make every time, and so every drawing, exact. The clock is
    /// read once per event (twice per poll), and times slow polls too.
    pub fn trace_clock(mut self, clock: impl Fn() -> Duration + 'static) -> Builder {
        self.config.trace_config.clock = Some(Rc::new(clock));
        self
    }
    // ANCHOR_END: builder_trace

    // ANCHOR: builder_io_uring
    /// Wait on io_uring instead of epoll (default: off; needs the `uring` feature and Linux
    /// 5.11 or later). The loop, its two lists, wakers and timers stay the same; what changes is
    /// its wait: `io_uring_enter` submits every operation queued since the last call and sleeps
    /// until the first completion or the next timer. Sockets of [`crate::uring`] hand the kernel
    /// whole reads and writes; those of [`crate::net`] still work, through epoll, whose
    /// descriptor the ring polls.
    ///
    /// [`Builder::build`] then fails where io_uring is missing or forbidden, with an error of kind
    /// [`io::ErrorKind::Unsupported`] that says why and how to run on epoll instead.
    #[cfg(feature = "uring")]
    pub fn io_uring(mut self, on: bool) -> Builder {
        self.config.io_uring = on;
        self
    }
    // ANCHOR_END: builder_io_uring

    /// Create the runtime.
    ///
    /// # Errors
    /// If the epoll instance or its eventfd cannot be created; with `Builder::io_uring(true)`
    /// (the `uring` feature), if the ring cannot be (io_uring missing, forbidden or too old: the
    /// message says which).
    pub fn build(self) -> io::Result<Runtime> {
        Ok(Runtime {
            core: Core::new(self.config)?,
        })
    }
}

/// The number of steps so far and the two lists, seen from inside the runtime on this thread
/// (see [`crate::replay::moment`]).
pub(crate) fn moment() -> Option<Moment> {
    context::current("taketurns::replay::moment").moment()
}
