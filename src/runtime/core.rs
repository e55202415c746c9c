//! The core: one runtime's state, shared by the [`Runtime`](super::Runtime), the thread-local
//! context and (weakly) by handles, and the operations on it that are not the loop's turn.
//!
//! The core owns the task table (with the ready queue and the waiting list), its drivers (the
//! reactor, the timer list, the remote-wake inbox, the blocking pool) and, when tracing, the
//! recorder. Its fields are private to the runtime layer: the leaf futures, sockets and timers
//! reach it through the methods below, and the drivers never reach it at all. The loop's turn
//! (`tick`, the run of ready tasks, the wait for events) is in `tick.rs`, another `impl Core`.
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

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::Config;
use super::cell::{PanicPayload, TaskCell, panic_message};
use super::context::{LoopShared, LoopWaker};
use super::task_table::{JoinPoll, Released, State, TaskBox, TaskSlot, TaskTable};
use super::waiting::Wait;
use super::waker::MAIN_KEY;
use crate::driver::blocking::BlockingPool;
use crate::driver::inbox::AtomicBool;
use crate::driver::reactor::Reactor;
use crate::driver::timers::Timers;
#[cfg(feature = "uring")]
use crate::driver::uring::Uring;
use crate::id::TaskId;
use crate::lifecycle::Outcome;
use crate::observe::lists::{Lists, Moment};
use crate::observe::stats::{Snapshot, Stats, TaskStats};
use crate::observe::timeline::Timeline;
use crate::observe::trace::{TaskInfo, Tracer};
use crate::observe::warnings::{self, Dropped, Warning, WarningKind};

/// Gives every runtime a distinct number, so a waker knows whether the runtime running on its
/// thread is its own.
static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// A runtime's state, shared by the `Runtime`, the thread-local context and (weakly) by handles.
pub(crate) struct Core {
    /// This runtime's number, compared by wakers and timer entries (see `waker.rs`).
    pub(super) id: u64,
    /// Tasks, ready queue, waiting list, counters. Borrowed only between two pieces of user code
    /// (see the borrowing rule in the module doc).
    pub(super) tasks: RefCell<TaskTable>,
    /// Pending timers: a driver of its own, shared with nobody; `Sleep` futures insert and remove
    /// their entries through [`Core::timers`], the loop fires the due ones.
    pub(super) timers: Rc<RefCell<Timers>>,
    /// The completion driver, when the runtime was built with `Builder::io_uring(true)`: the
    /// loop then waits in `io_uring_enter`, and polls the reactor's epoll descriptor through the
    /// ring. Declared before `reactor` so that it is dropped first (its drop waits for the
    /// kernel to finish every operation). Shared weakly with sockets, strongly with operations.
    #[cfg(feature = "uring")]
    pub(super) uring: Option<Rc<Uring>>,
    /// Sockets and epoll. Shared (weakly) with every socket's registration, which reaches it
    /// without going through the core.
    pub(super) reactor: Rc<Reactor>,
    /// The part other threads can reach: the remote-wake inbox and the eventfd.
    pub(super) shared: Arc<LoopShared>,
    /// The builder's settings.
    pub(super) config: Config,
    /// The `block_on` future was woken and must be polled before the loop may sleep.
    pub(super) main_woken: Cell<bool>,
    /// Tasks polled since the last check for I/O and timers (compared with `event_interval`).
    pub(super) polls_since_io: Cell<u32>,
    /// The slot key of the task being polled, so leaf futures can note what it waits for.
    pub(super) current: Cell<Option<usize>>,
    /// Reused buffer that the inbox is swapped into each time the loop takes remote wakes, so
    /// neither side allocates again (the waking thread would otherwise allocate under the lock).
    pub(super) inbox_buffer: RefCell<Vec<Arc<LoopWaker>>>,
    /// The recorder, when tracing is on; `None` costs one branch at each place that records.
    pub(super) trace: Option<Box<Tracer>>,
    /// The helper threads of `spawn_blocking`, started on first use. Dropped with the core, which
    /// tells them to exit (see the `blocking` module).
    pub(super) blocking: BlockingPool,
}

impl Core {
    pub(super) fn new(config: Config) -> io::Result<Rc<Core>> {
        let reactor = Reactor::new(config.events_capacity)?;
        let waker = reactor.new_waker()?;
        #[cfg(feature = "uring")]
        let uring = match config.io_uring {
            true => Some(Rc::new(Uring::new(reactor.epoll_fd())?)),
            false => None,
        };
        let trace = config
            .trace
            .then(|| Box::new(Tracer::new(config.trace_config.clone())));
        Ok(Rc::new(Core {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            tasks: RefCell::new(TaskTable::default()),
            timers: Rc::new(RefCell::new(Timers::default())),
            #[cfg(feature = "uring")]
            uring,
            reactor: Rc::new(reactor),
            shared: Arc::new(LoopShared::new(waker)),
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
    pub(super) fn unborrowed(&self) -> bool {
        self.tasks.try_borrow_mut().is_ok() && self.timers.try_borrow_mut().is_ok()
    }

    // ANCHOR: waker_for
    /// The waker of the `block_on` future, which is not a task: a wake sets `main_woken`.
    pub(super) fn main_waker(&self) -> Waker {
        Waker::from(self.task_waker(MAIN_KEY, TaskId(0)))
    }

    /// The shared state behind a task's waker (a tracing runtime keeps one reference to it, to
    /// count the waker's clones).
    fn task_waker(&self, key: usize, id: TaskId) -> Arc<LoopWaker> {
        Arc::new(LoopWaker::new(
            self.id,
            key,
            id,
            AtomicBool::new(false),
            self.shared.clone(),
        ))
    }
    // ANCHOR_END: waker_for

    /// Ask for the `block_on` future to be polled (it is, before the loop may sleep).
    pub(super) fn wake_main(&self) {
        self.main_woken.set(true);
    }

    /// Whether the `block_on` future was woken since the last call; clears the flag.
    pub(super) fn take_main_wake(&self) -> bool {
        self.main_woken.replace(false)
    }

    /// This runtime's number.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The builder's settings.
    pub(super) fn config(&self) -> &Config {
        &self.config
    }

    /// This runtime's timer list (for `time::Sleep` and hyper's sleeps, through
    /// `driver::timers::TimerEntry`).
    pub(crate) fn timers(&self) -> &Rc<RefCell<Timers>> {
        &self.timers
    }

    /// This runtime's reactor (for sockets to register with).
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// This runtime's completion driver, if it was built with `Builder::io_uring(true)` (for
    /// `taketurns::uring`'s sockets).
    #[cfg(feature = "uring")]
    pub(crate) fn uring(&self) -> Option<&Rc<Uring>> {
        self.uring.as_ref()
    }

    /// This runtime's blocking pool (for `spawn_blocking`).
    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    // ANCHOR: spawn
    /// Create a task and put it at the back of the ready queue; its slot key and id, for the
    /// `JoinHandle` (made by `task::spawn`). The name is only read by the trace; the caller's
    /// location also names the task in warnings.
    #[track_caller]
    pub(super) fn spawn<F>(&self, future: F, name: Option<Cow<'static, str>>) -> (usize, TaskId)
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
        (key, id)
    }
    // ANCHOR_END: spawn

    // ANCHOR: schedule
    /// A wake on the loop's own thread: [`Core::schedule`], counted as local.
    pub(super) fn schedule_local(&self, key: usize, id: TaskId) {
        self.tasks.borrow_mut().stats.local_wakes += 1;
        self.schedule(key, id, false);
    }

    /// Move a task to the ready queue if it is waiting; a task woken while it runs is queued
    /// again once its poll returns; anything else (already queued, finished, or a slot now held
    /// by another task) is ignored. `remote`: the wake came through the inbox.
    pub(super) fn schedule(&self, key: usize, id: TaskId, remote: bool) {
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
        waker: &Arc<LoopWaker>,
    ) {
        if let Some(trace) = &self.trace {
            trace.spawned(at, id, name, location, waker.clone());
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
    pub(super) fn abort(&self, key: usize, id: TaskId) {
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
    pub(super) fn cancel_and_finish(&self, key: usize, id: TaskId, mut task: TaskBox) {
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
    pub(super) fn release(&self, id: TaskId, released: Released) -> bool {
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
    pub(super) fn detach(&self, key: usize, id: TaskId) {
        let released = self.tasks.borrow_mut().detach(key, id);
        self.release(id, released);
    }

    /// Poll a JoinHandle: move the output into `out` if the task is finished, else register
    /// `waker` to be woken when it is.
    pub(super) fn poll_join(
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
    pub(super) fn is_finished(&self, key: usize, id: TaskId) -> bool {
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
    pub(super) fn warn_destructor(
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
        let warning = Warning {
            task,
            kind: WarningKind::DestructorPanicked { what, message },
        };
        warnings::report(self.config.trace_config.on_warning.as_ref(), &warning);
    }

    /// A copy of the trace so far (empty, and saying why, without tracing).
    pub(super) fn timeline(&self) -> Timeline {
        match &self.trace {
            Some(trace) => trace.timeline(),
            None => Timeline::untraced(),
        }
    }

    /// Per-task totals so far (empty, and saying why, without tracing).
    pub(super) fn task_stats(&self) -> TaskStats {
        match &self.trace {
            Some(trace) => trace.task_stats(),
            None => TaskStats::new(Vec::new(), false),
        }
    }

    /// The number of trace steps so far and the two lists; `None` without tracing.
    pub(super) fn moment(&self) -> Option<Moment> {
        let trace = self.trace.as_deref()?;
        let (tasks, loops) = trace.recorded();
        let snapshot = self.snapshot();
        Some(Moment {
            after: (tasks + loops) as usize,
            lists: Lists::from_snapshot(&snapshot, Some(trace.origin())),
        })
    }

    /// Drop every task's future and every timer, until no destructor spawns anything new. A
    /// destructor that panics is caught and reported, and the rest are still dropped.
    pub(super) fn shutdown(&self) {
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
        #[cfg(feature = "uring")]
        if let Some(ring) = &self.uring {
            ring.close();
        }
    }

    /// Drop one slot's future or output (its destructors may close sockets, cancel timers, even
    /// spawn), then tell a JoinHandle awaited from elsewhere that the task is gone: cancelled.
    fn drop_at_shutdown(&self, mut slot: TaskSlot) {
        debug_assert!(self.unborrowed(), "destructors run with no borrow held");
        let (id, spawned_at) = (slot.id, slot.spawned_at);
        let what = match slot.state {
            State::Done => Dropped::Output,
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
pub(super) fn message_of(payload: &PanicPayload) -> Option<String> {
    panic_message(payload.as_ref()).map(str::to_owned)
}
