//! The runtime: one thread, one task table, the two lists, a reactor and a timer list.
//!
//! [`Runtime`] is what a program creates and drives with [`Runtime::block_on`]. Its state lives in
//! a [`Core`] shared (through an `Rc`) with the thread-local context, so that `spawn`, wakers,
//! sockets and timers can reach it without being handed a reference. asyncio's counterpart is the
//! event loop object (`asyncio.new_event_loop()`, `loop.run_until_complete`); tokio's is
//! `tokio::runtime::Builder::new_current_thread()`.
//!
//! **Borrowing rule.** Every field that changes is in a `RefCell` or `Cell`, and no borrow is ever
//! held while user code runs: a task's future is moved out of its slot while it is polled, and
//! wakers, destructors and outputs are collected first and woken or dropped after the borrow ends.
//! The task table (`task_table`) is a plain struct whose methods return what must be dropped or
//! woken; `Core` keeps it in a `RefCell` and checks the rule with a `debug_assert!` wherever user
//! code is called (a poll, a destructor, a waker). A destructor that panics is caught and reported
//! as a [`Warning`] (tokio's task harness catches it too), so dropping a task never unwinds out of
//! the loop.
//! That is what lets a task spawn, wake, abort and join other tasks from inside a poll without a
//! "already borrowed" panic (tokio's current_thread scheduler likewise leaves its core in its cell,
//! unborrowed, while a task runs, so that a wake during the poll can borrow it for a moment).
//!
//! The loop itself, one tick at a time, is in the `tick` module.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context;
use crate::inbox::AtomicBool;
use crate::reactor::Reactor;
use crate::stats::{Snapshot, Stats, TaskStats};
use crate::task::{JoinHandle, PanicPayload, State, TaskCell, TaskId, TaskSlot};
use crate::task_table::{JoinPoll, Released, TaskBox, TaskTable};
use crate::timeline::Timeline;
use crate::timers::Timers;
use crate::trace::{Outcome, TaskInfo, TraceConfig, Tracer};
use crate::waiting::Wait;
use crate::waker::{MAIN_KEY, Shared, TaskWaker};
use crate::warnings::{Dropped, Warning, WarningKind};

/// Gives every runtime a distinct number, so a waker knows whether the runtime running on its
/// thread is its own.
static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

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
}

/// A runtime's state, shared by the `Runtime`, the thread-local context and (weakly) by handles.
pub(crate) struct Core {
    /// This runtime's number, compared by wakers (see [`crate::waker`]).
    pub(crate) id: u64,
    /// Tasks, ready queue, waiting list, counters. Borrowed only between two pieces of user code
    /// (see the borrowing rule in the module doc).
    pub(crate) tasks: RefCell<TaskTable>,
    /// Pending timers. `Sleep` futures insert and remove; the loop fires.
    pub(crate) timers: RefCell<Timers>,
    /// Sockets and epoll.
    pub(crate) reactor: Reactor,
    /// The part other threads can reach: the remote-wake inbox and the eventfd.
    pub(crate) shared: Arc<Shared>,
    /// The builder's settings.
    pub(crate) config: Config,
    /// The `block_on` future was woken and must be polled before the loop may sleep.
    pub(crate) main_woken: Cell<bool>,
    /// Tasks polled since the last check for I/O and timers (compared with `event_interval`).
    pub(crate) polls_since_io: Cell<u32>,
    /// The slot key of the task being polled, so leaf futures can note what it waits for.
    pub(crate) current: Cell<Option<usize>>,
    /// Reused buffer that the inbox is swapped into each time the loop takes remote wakes, so
    /// neither side allocates again (the waking thread would otherwise allocate under the lock).
    pub(crate) inbox_buffer: RefCell<Vec<Arc<TaskWaker>>>,
    /// The recorder, when tracing is on; `None` costs one branch at each place that records.
    pub(crate) trace: Option<Box<Tracer>>,
    /// The helper threads of `spawn_blocking`, started on first use. Dropped with the core, which
    /// tells them to exit (see the `blocking` module).
    pub(crate) blocking: crate::blocking::BlockingPool,
}

impl Core {
    fn new(config: Config) -> io::Result<Rc<Core>> {
        let poll = mio::Poll::new()?;
        let reactor = Reactor::new(poll, config.events_capacity);
        let waker = reactor.new_waker()?;
        let trace = config
            .trace
            .then(|| Box::new(Tracer::new(config.trace_config.clone())));
        Ok(Rc::new(Core {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            tasks: RefCell::new(TaskTable::default()),
            timers: RefCell::new(Timers::default()),
            reactor,
            shared: Arc::new(Shared::new(waker)),
            config,
            main_woken: Cell::new(false),
            polls_since_io: Cell::new(0),
            current: Cell::new(None),
            inbox_buffer: RefCell::new(Vec::new()),
            trace,
            blocking: Default::default(),
        }))
    }

    /// True when no part of the runtime's state is borrowed: the moment user code (a poll, a
    /// destructor, a waker) may run. Checked by `debug_assert!` before each such call.
    pub(crate) fn unborrowed(&self) -> bool {
        self.tasks.try_borrow_mut().is_ok() && self.timers.try_borrow_mut().is_ok()
    }

    // ANCHOR: waker_for
    /// A waker for the task in slot `key`.
    fn waker_for(&self, key: usize, id: TaskId) -> Waker {
        Waker::from(self.task_waker(key, id))
    }

    /// The shared state behind that waker (a tracing runtime keeps one reference to it, to count
    /// the waker's clones).
    fn task_waker(&self, key: usize, id: TaskId) -> Arc<TaskWaker> {
        Arc::new(TaskWaker {
            runtime_id: self.id,
            key,
            id,
            queued: AtomicBool::new(false),
            shared: self.shared.clone(),
        })
    }
    // ANCHOR_END: waker_for

    // ANCHOR: spawn
    /// Create an unnamed task (see [`Core::spawn_named`]).
    #[track_caller]
    pub(crate) fn spawn<F>(self: &Rc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.spawn_named(future, None)
    }

    /// Create a task and put it at the back of the ready queue. The name is only read by the
    /// trace; the caller's location also names the task in warnings.
    #[track_caller]
    pub(crate) fn spawn_named<F>(
        self: &Rc<Self>,
        future: F,
        name: Option<Cow<'static, str>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let location = Location::caller();
        // The trace's clock may be the user's: read it before borrowing the table.
        let stamp = self.trace.as_deref().map(Tracer::now);
        let mut table = self.tasks.borrow_mut();
        let (key, id) = table.reserve();
        let waker = self.task_waker(key, id);
        if let Some(at) = stamp {
            self.trace_spawn(at, id, name, location, &waker);
        }
        let task: TaskBox = Box::pin(TaskCell::new(future, Waker::from(waker), id));
        table.insert(key, id, task, location);
        drop(table);
        JoinHandle::new(self, key, id)
    }
    // ANCHOR_END: spawn

    // ANCHOR: schedule
    /// A wake on the loop's own thread: [`Core::schedule`], counted as local.
    pub(crate) fn schedule_local(&self, key: usize, id: TaskId) {
        self.tasks.borrow_mut().stats.local_wakes += 1;
        self.schedule(key, id, false);
    }

    /// Move a task to the ready queue if it is waiting; a task woken while it runs is queued
    /// again once its poll returns; anything else (already queued, finished, or a slot now held
    /// by another task) is ignored. `remote`: the wake came through the inbox.
    pub(crate) fn schedule(&self, key: usize, id: TaskId, remote: bool) {
        if key == MAIN_KEY {
            self.main_woken.set(true);
            return;
        }
        if self.trace.is_some() {
            self.trace_wake(key, id, remote);
        }
        self.tasks.borrow_mut().schedule(key, id);
    }
    // ANCHOR_END: schedule

    /// Record a wake of a live task in the trace. Out of line and marked cold, so that the
    /// untraced path pays only for the `is_some` test.
    #[cold]
    #[inline(never)]
    fn trace_wake(&self, key: usize, id: TaskId, remote: bool) {
        let alive = self.tasks.borrow().is_alive(key, id);
        if let (true, Some(trace)) = (alive, &self.trace) {
            trace.woken(id, remote);
        }
    }

    /// Tell the trace about a new task (cold, like [`Core::trace_wake`]).
    #[cold]
    #[inline(never)]
    fn trace_spawn(
        &self,
        at: Duration,
        id: TaskId,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
        waker: &Arc<TaskWaker>,
    ) {
        if let Some(trace) = &self.trace {
            trace.spawned(at, id, name, location, waker);
        }
    }

    /// Record what the running task is about to wait for (called by leaf futures). The first
    /// leaf that parks during a poll names the wait: inside `timeout(d, read)` the read is polled
    /// first, so the task shows as waiting for its socket rather than for the deadline.
    pub(crate) fn note_wait(&self, wait: Wait) {
        if let Some(key) = self.current.get() {
            self.tasks.borrow_mut().note_wait(key, wait);
        }
    }

    /// Cancel a task (see [`JoinHandle::abort`]).
    pub(crate) fn abort(&self, key: usize, id: TaskId) {
        let Some(task) = self.tasks.borrow_mut().abort(key, id) else {
            return;
        };
        if let Some(trace) = &self.trace {
            trace.done(id, Outcome::Cancelled);
        }
        // The stale ready-queue entry (if it was queued) is skipped when popped.
        self.cancel_and_finish(key, id, task);
    }

    /// Drop an aborted task's future (outside any borrow), then finish the task.
    pub(crate) fn cancel_and_finish(&self, key: usize, id: TaskId, mut task: TaskBox) {
        debug_assert!(
            self.unborrowed(),
            "a future's destructor runs with no borrow held"
        );
        let panicked = task.as_mut().cancel();
        let released = self.tasks.borrow_mut().finish(key, id, Some(task));
        let spawned_at = released.spawned_at;
        let detached = self.release(id, released);
        if let (Some(message), true) = (panicked, detached) {
            // A JoinHandle would hold the panic; with no handle left, say it here.
            self.warn_destructor(id, spawned_at, Dropped::Future, message);
        }
    }

    /// Wake the joiner and drop a freed slot, outside the borrow, catching a panic of the
    /// output's destructor. Returns whether a slot was freed.
    #[inline]
    pub(crate) fn release(&self, id: TaskId, released: Released) -> bool {
        debug_assert!(
            self.unborrowed(),
            "destructors and wakers run with no borrow held"
        );
        let Released {
            join_waker,
            freed,
            spawned_at,
        } = released;
        let was_freed = freed.is_some();
        if let Some(slot) = freed
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(slot)))
        {
            self.warn_destructor(id, spawned_at, Dropped::Output, message_of(&payload));
        }
        if let Some(waker) = join_waker {
            waker.wake();
        }
        was_freed
    }

    /// The JoinHandle was dropped: free the slot if the task is finished, else mark it detached.
    pub(crate) fn detach(&self, key: usize, id: TaskId) {
        let released = self.tasks.borrow_mut().detach(key, id);
        self.release(id, released);
    }

    /// Poll a JoinHandle: move the output into `out` if the task is finished, else register
    /// `waker` to be woken when it is.
    pub(crate) fn poll_join(
        &self,
        key: usize,
        id: TaskId,
        waker: &Waker,
        out: &mut dyn std::any::Any,
    ) -> Poll<()> {
        let polled = self.tasks.borrow_mut().poll_join(key, id, waker);
        match polled {
            JoinPoll::Pending(old_waker) => {
                drop(old_waker);
                self.note_wait(Wait::Task(id));
                Poll::Pending
            }
            JoinPoll::Ready(slot) => {
                if let Some(cell) = slot.and_then(|mut slot| slot.cell.take()) {
                    let mut cell = cell;
                    cell.as_mut().take_output(out);
                }
                Poll::Ready(())
            }
        }
    }

    /// Whether the task in `key` has finished.
    pub(crate) fn is_finished(&self, key: usize, id: TaskId) -> bool {
        self.tasks.borrow().is_finished(key, id)
    }

    /// The two lists as they are now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.tasks.borrow().snapshot(self.current.get())
    }

    /// The counters, gathered from the three places that keep them.
    pub(crate) fn stats(&self) -> Stats {
        let table = self.tasks.borrow();
        let io = self.reactor.counters.get();
        Stats {
            remote_wakes: self.shared.remote_wakes(),
            max_ready_len: table.max_ready_len(),
            io_polls: io.polls,
            io_events: io.events,
            stale_events: io.stale_events,
            timers_fired: self.timers.borrow().fired(),
            timers_pending: self.timers.borrow().len(),
            sockets_registered: self.reactor.len(),
            ..table.stats
        }
    }

    /// A destructor panicked after its task completed, or while a detached task's future or
    /// output was dropped: nobody can be told through a JoinHandle, so warn. `message` is the
    /// panic's message, if it had one.
    pub(crate) fn warn_destructor(
        &self,
        id: TaskId,
        spawned_at: Option<&'static Location<'static>>,
        what: Dropped,
        message: Option<String>,
    ) {
        let task = self
            .trace
            .as_deref()
            .and_then(|trace| trace.info(id))
            .unwrap_or_else(|| {
                let spawned_at = spawned_at.unwrap_or(Location::caller());
                TaskInfo {
                    id,
                    name: spawned_at.to_string(),
                    spawned_at,
                }
            });
        self.warn(&Warning {
            task,
            kind: WarningKind::DestructorPanicked { what, message },
        });
    }

    /// Send a warning to the builder's callback, or to stderr. Call with no borrow held.
    pub(crate) fn warn(&self, warning: &Warning) {
        match &self.config.trace_config.on_warning {
            Some(sink) => sink(warning),
            None => eprintln!("{warning}"),
        }
    }

    /// Drop every task's future and every timer, until no destructor spawns anything new. A
    /// destructor that panics is caught and reported, and the rest are still dropped.
    fn shutdown(self: &Rc<Self>) {
        let _enter = context::enter_for_shutdown(self.clone());
        if let Some(trace) = &self.trace {
            // The "pending at shutdown" warning: every task not finished, by name.
            let alive = self.tasks.borrow().unfinished();
            for warning in trace.pending_at_shutdown(alive) {
                trace.warn(&warning);
            }
        }
        loop {
            let slots = self.tasks.borrow_mut().drain();
            if slots.is_empty() {
                break;
            }
            for slot in slots {
                self.drop_at_shutdown(slot);
            }
        }
        let timers = self.timers.borrow_mut().clear();
        drop(timers);
        drop(self.shared.close());
    }

    /// Drop one slot's future or output (its destructors may close sockets, cancel timers, even
    /// spawn), then tell a JoinHandle awaited from elsewhere that the task is gone: cancelled.
    fn drop_at_shutdown(&self, mut slot: TaskSlot) {
        debug_assert!(self.unborrowed(), "destructors run with no borrow held");
        let (id, spawned_at) = (slot.id, slot.spawned_at);
        let what = match slot.state {
            State::Finished => Dropped::Output,
            _ => Dropped::Future,
        };
        let cell = slot.cell.take();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(cell))) {
            self.warn_destructor(id, Some(spawned_at), what, message_of(&payload));
        }
        if let Some(waker) = slot.join_waker.take() {
            waker.wake();
        }
    }
}

/// The message of a caught panic, if it had one.
pub(crate) fn message_of(payload: &PanicPayload) -> Option<String> {
    crate::task::panic_message(payload.as_ref()).map(str::to_owned)
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
        let waker = core.waker_for(MAIN_KEY, TaskId(0));
        let mut cx = Context::from_waker(&waker);
        core.main_woken.set(true);
        loop {
            if core.main_woken.replace(false) {
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
        self.core.spawn(future)
    }

    /// The state, for `task::Builder::spawn_on`.
    pub(crate) fn core(&self) -> &Rc<Core> {
        &self.core
    }

    /// A copy of the trace so far, to draw ([`Timeline::render_ascii`]) or export
    /// ([`Timeline::write_chrome_trace`]). Empty (and saying why when drawn) if the runtime was
    /// built without [`Builder::trace`].
    pub fn timeline(&self) -> Timeline {
        match &self.core.trace {
            Some(trace) => trace.timeline(),
            None => Timeline::untraced(),
        }
    }

    /// Per-task totals so far: polls, busy, scheduled and idle time, wakes, longest poll.
    /// Empty (and saying why when printed) if the runtime was built without [`Builder::trace`].
    pub fn task_stats(&self) -> TaskStats {
        match &self.core.trace {
            Some(trace) => trace.task_stats(),
            None => TaskStats::new(Vec::new(), false),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// The two lists right now.
    pub fn snapshot(&self) -> Snapshot {
        self.core.snapshot()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.core.id)
            .field("config", &self.core.config)
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

    /// Create the runtime.
    ///
    /// # Errors
    /// If the epoll instance or its eventfd cannot be created.
    pub fn build(self) -> io::Result<Runtime> {
        Ok(Runtime {
            core: Core::new(self.config)?,
        })
    }
}
