//! The trace: what the loop did, event by event, with a timestamp on each.
//!
//! With `Runtime::builder().trace(true)` the loop tells a recorder (the crate-private `Tracer`)
//! every time a task is spawned, starts and ends a poll, is woken (and by what: itself, another
//! task, another thread, a socket, a timer) and finishes. The events go into a bounded buffer,
//! which [`crate::Runtime::timeline`] copies into a [`crate::Timeline`] to draw or export. From the
//! same calls the recorder keeps running totals per task ([`crate::TaskStats`]) and checks for the
//! three [`crate::Warning`]s. asyncio's nearest counterpart is its debug mode
//! (`PYTHONASYNCIODEBUG=1`: slow callbacks, never-retrieved exceptions, tasks destroyed while
//! pending); tokio's are `tokio-console` (fed by `tracing` events the runtime emits when built
//! with `--cfg tokio_unstable`) and the unstable task hooks (`on_task_spawn`, `on_before_task_poll`…).
//!
//! Beside the task events the recorder keeps the loop's own [`LoopEvent`]s (a tick's start and
//! end, each check for events and what `epoll_wait` returned, timers fired), each placed among the
//! task events by a count, so that `crate::replay` can rebuild both lists and the loop's phase
//! at every step (the book's player).
//!
//! **Off costs a branch.** With tracing off the runtime's `trace` field is `None`, and each place
//! that would record tests it and moves on: no clock read, no allocation, no extra atomic.
//!
//! **The buffer is bounded.** It keeps the *first* [`DEFAULT_TRACE_CAPACITY`] events (change it
//! with `Builder::trace_capacity`); later events are counted in [`crate::Timeline::dropped`] and
//! not stored, so a long-running program's trace cannot eat its memory. The per-task totals and
//! the warnings do not use the buffer and stay exact after it fills. The recorder also keeps one
//! small record per task ever spawned (name, spawn location, totals), which is not bounded.
//!
//! The book explains the trace in chapter 12.
//!
//! **The clock can be replaced.** Every timestamp is a `Duration` since the runtime was built, read
//! from a clock that `Builder::trace_clock` can replace, so a test can make the times (and so the
//! drawing) exact. Left out: the `block_on` future, which is not a task, gets no row; a remote
//! wake is stamped when the loop takes it out of the inbox, not when the other thread called it.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::event::{
    Event, EventKind, LoopEvent, LoopEventKind, PollResult, TaskInfo, WakeSource,
};
use super::stats::{TaskStats, TaskStatsRow};
use super::timeline::Timeline;
use super::warnings::{self, Warning, WarningKind, WarningSink};
use crate::id::TaskId;
pub use crate::lifecycle::Outcome;
use crate::lifecycle::{TaskState, WaitReason};

/// A task's waker state as the recorder keeps it: only its reference count is read, so any type
/// will do, and the recorder need not know the runtime's waker.
pub(crate) type WakerRef = Arc<dyn Any + Send + Sync>;

/// How many events a trace keeps by default (about 6 MiB at 64 bytes an event).
pub const DEFAULT_TRACE_CAPACITY: usize = 100_000;

/// Polls longer than this are reported as slow by default (asyncio's `slow_callback_duration`
/// is 100 ms; we are stricter because a Rust poll should take microseconds).
pub const DEFAULT_SLOW_POLL: Duration = Duration::from_millis(10);

/// The clock the trace reads: time since the runtime was built.
pub(crate) type Clock = Rc<dyn Fn() -> Duration>;

/// The tracing settings a `Builder` carries.
#[derive(Clone)]
pub(crate) struct TraceConfig {
    /// How many events the buffer keeps.
    pub(crate) capacity: usize,
    /// Polls longer than this raise a slow-poll warning.
    pub(crate) slow_poll: Duration,
    /// Replaces the real clock (tests).
    pub(crate) clock: Option<Clock>,
    /// Replaces printing to stderr.
    pub(crate) on_warning: Option<WarningSink>,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            capacity: DEFAULT_TRACE_CAPACITY,
            slow_poll: DEFAULT_SLOW_POLL,
            clock: None,
            on_warning: None,
        }
    }
}

impl fmt::Debug for TraceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceConfig")
            .field("capacity", &self.capacity)
            .field("slow_poll", &self.slow_poll)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field("on_warning", &self.on_warning.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// What the recorder keeps about one task (one per task ever spawned).
struct TaskRecord {
    /// Id, name, spawn location.
    info: TaskInfo,
    /// A reference to the task's waker state: after a `Pending` poll, a strong count of 2 (this
    /// one and the task cell's `Waker`) means nobody else holds a clone. Dropped when it ends.
    waker: Option<WakerRef>,
    /// Where the task is now.
    phase: TaskState,
    /// When it entered `phase`.
    since: Duration,
    /// Totals so far.
    totals: TaskStatsRow,
}

/// The recorder's mutable part.
struct TraceState {
    /// The events kept, oldest first, at most `capacity`.
    events: Vec<Event>,
    /// Events not kept because the buffer was full.
    dropped: u64,
    /// One record per task, indexed by `id - 1` (ids are handed out 1, 2, 3… per runtime).
    tasks: Vec<TaskRecord>,
    /// What the loop did between task events, oldest first, at most `capacity`.
    loop_events: Vec<LoopEvent>,
    /// Loop events not kept because their buffer was full.
    loop_dropped: u64,
    /// The time of the last task event (kept or dropped), which loop events are stamped with.
    last_at: Duration,
}

/// The recorder. Owned by the runtime's core (`Core::trace`), present only when tracing is on.
pub(crate) struct Tracer {
    /// Settings from the builder.
    config: TraceConfig,
    /// The clock every event reads.
    clock: Clock,
    /// When the recorder was made: timer deadlines (`Instant`s) are exported relative to it.
    origin: Instant,
    /// Who is calling wakers right now, set by the loop around the code that wakes (a poll, the
    /// reactor, the timer list). Read by each wake to say where it came from.
    source: Cell<WakeSource>,
    /// Events, totals and records. Never borrowed while user code runs.
    state: RefCell<TraceState>,
}

impl Tracer {
    /// A recorder with `config`; the real clock starts now.
    pub(crate) fn new(config: TraceConfig) -> Tracer {
        let clock = config.clock.clone().unwrap_or_else(|| {
            let start = Instant::now();
            Rc::new(move || start.elapsed())
        });
        Tracer {
            config,
            clock,
            origin: Instant::now(),
            source: Cell::new(WakeSource::ThisThread(None)),
            state: RefCell::new(TraceState {
                events: Vec::new(),
                dropped: 0,
                tasks: Vec::new(),
                loop_events: Vec::new(),
                loop_dropped: 0,
                last_at: Duration::ZERO,
            }),
        }
    }

    /// Read the clock.
    pub(crate) fn now(&self) -> Duration {
        (self.clock)()
    }

    /// Set who is calling wakers; returns what it was, for [`Tracer::restore_source`].
    pub(crate) fn set_source(&self, source: WakeSource) -> WakeSource {
        self.source.replace(source)
    }

    /// Put back the source saved by [`Tracer::set_source`].
    pub(crate) fn restore_source(&self, previous: WakeSource) {
        self.source.set(previous);
    }

    /// A task was spawned at `at` (read from [`Tracer::now`] by the caller before it borrowed
    /// the task table: the clock may be user code).
    pub(crate) fn spawned(
        &self,
        at: Duration,
        id: TaskId,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
        waker: WakerRef,
    ) {
        let name = match name {
            Some(name) => name.into_owned(),
            None => location.to_string(),
        };
        let mut state = self.state.borrow_mut();
        state.tasks.push(TaskRecord {
            info: TaskInfo {
                id,
                name,
                spawned_at: location,
            },
            waker: Some(waker),
            phase: TaskState::Ready,
            since: at,
            // The row's name is filled in by `task_stats`: one copy of the name per task.
            totals: TaskStatsRow::new(id, String::new(), location),
        });
        self.push(&mut state, at, id, EventKind::Spawn);
    }

    /// A poll is about to start; returns its start time.
    pub(crate) fn poll_start(&self, id: TaskId) -> Duration {
        let at = self.now();
        let mut state = self.state.borrow_mut();
        if let Some(task) = record(&mut state.tasks, id) {
            task.totals.scheduled += at.saturating_sub(task.since);
            task.totals.polls += 1;
            task.phase = TaskState::Running;
            task.since = at;
        }
        self.push(&mut state, at, id, EventKind::PollStart);
        at
    }

    /// A poll that started at `started` returned `result`. Returns a slow-poll warning if it was
    /// slow, and notes whether the waker looks lost (see [`Tracer::waker_lost`]).
    pub(crate) fn poll_end(
        &self,
        id: TaskId,
        started: Duration,
        result: PollResult,
    ) -> Option<Warning> {
        let at = self.now();
        let took = at.saturating_sub(started);
        let mut state = self.state.borrow_mut();
        let mut warning = None;
        if let Some(task) = record(&mut state.tasks, id) {
            task.totals.busy += took;
            task.totals.longest_poll = task.totals.longest_poll.max(took);
            task.phase = match result {
                PollResult::Done => TaskState::Done,
                PollResult::Ready => TaskState::Ready,
                PollResult::Waiting(_) => TaskState::Waiting,
            };
            task.since = at;
            if took > self.config.slow_poll {
                warning = Some(Warning {
                    task: task.info.clone(),
                    kind: WarningKind::SlowPoll {
                        took,
                        threshold: self.config.slow_poll,
                    },
                });
            }
        }
        self.push(&mut state, at, id, EventKind::PollEnd(result));
        warning
    }

    /// True if the task's waker has no clone outside the task itself: nothing can wake it.
    pub(crate) fn waker_lost(&self, id: TaskId) -> bool {
        let state = self.state.borrow();
        let Some(waker) = state
            .tasks
            .get((id.0 as usize).wrapping_sub(1))
            .and_then(|t| t.waker.as_ref())
        else {
            return false;
        };
        // Ours and the one in the task cell. (Acquire: a clone dropped by another thread after it
        // pushed a wake into the inbox is seen together with that push.)
        let alone = Arc::strong_count(waker) <= 2;
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        alone
    }

    /// What the trace knows of task `id`: its name and where it was spawned.
    pub(crate) fn info(&self, id: TaskId) -> Option<TaskInfo> {
        let state = self.state.borrow();
        Some(
            state
                .tasks
                .get((id.0 as usize).wrapping_sub(1))?
                .info
                .clone(),
        )
    }

    /// The lost-waker warning for `id`.
    pub(crate) fn lost_waker_warning(&self, id: TaskId) -> Option<Warning> {
        let state = self.state.borrow();
        let task = state.tasks.get((id.0 as usize).wrapping_sub(1))?;
        Some(Warning {
            task: task.info.clone(),
            kind: WarningKind::LostWaker,
        })
    }

    /// A waker of task `id` was called while the task was alive; `remote` if the wake came
    /// through the inbox from another thread.
    pub(crate) fn woken(&self, id: TaskId, remote: bool) {
        let at = self.now();
        let source = if remote {
            WakeSource::OtherThread
        } else {
            match self.source.get() {
                WakeSource::ThisThread(Some(by)) if by == id => WakeSource::Itself,
                other => other,
            }
        };
        let mut state = self.state.borrow_mut();
        if let Some(task) = record(&mut state.tasks, id) {
            task.totals.wakes += 1;
            if source == WakeSource::Itself {
                task.totals.self_wakes += 1;
            }
            if task.phase == TaskState::Waiting {
                task.totals.idle += at.saturating_sub(task.since);
                task.phase = TaskState::Ready;
                task.since = at;
            }
        }
        self.push(&mut state, at, id, EventKind::Wake(source));
    }

    /// The task finished (after its last poll, or aborted).
    pub(crate) fn done(&self, id: TaskId, outcome: Outcome) {
        let at = self.now();
        let mut state = self.state.borrow_mut();
        let waker = record(&mut state.tasks, id).and_then(|task| {
            match task.phase {
                TaskState::Ready => task.totals.scheduled += at.saturating_sub(task.since),
                TaskState::Waiting => task.totals.idle += at.saturating_sub(task.since),
                TaskState::Running | TaskState::Done => {}
            }
            task.phase = TaskState::Done;
            task.since = at;
            task.totals.outcome = Some(outcome);
            task.waker.take()
        });
        self.push(&mut state, at, id, EventKind::Done(outcome));
        drop(state);
        drop(waker);
    }

    /// Warnings for the tasks still alive at shutdown; `alive` gives each one's wait (`None`:
    /// it was in the ready queue).
    pub(crate) fn pending_at_shutdown(
        &self,
        alive: Vec<(TaskId, Option<WaitReason>)>,
    ) -> Vec<Warning> {
        let state = self.state.borrow();
        alive
            .into_iter()
            .filter_map(|(id, waiting_for)| {
                let task = state.tasks.get((id.0 as usize).wrapping_sub(1))?;
                Some(Warning {
                    task: task.info.clone(),
                    kind: WarningKind::PendingAtShutdown { waiting_for },
                })
            })
            .collect()
    }

    /// Send a warning to the callback, or to stderr. Call with no borrow held.
    pub(crate) fn warn(&self, warning: &Warning) {
        warnings::report(self.config.on_warning.as_ref(), warning);
    }

    /// The loop did `kind` (see [`LoopEvent`]).
    pub(crate) fn loop_event(&self, kind: LoopEventKind) {
        let mut state = self.state.borrow_mut();
        let at = state.last_at;
        if state.loop_events.len() < self.config.capacity {
            let before = state.events.len() as u64 + state.dropped;
            state.loop_events.push(LoopEvent { at, before, kind });
        } else {
            state.loop_dropped += 1;
        }
    }

    /// How many events (task and loop, kept or dropped) have been recorded so far.
    pub(crate) fn recorded(&self) -> (u64, u64) {
        let state = self.state.borrow();
        (
            state.events.len() as u64 + state.dropped,
            state.loop_events.len() as u64 + state.loop_dropped,
        )
    }

    /// When the recorder was made (timer deadlines are exported relative to it).
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// A copy of the events and tasks so far.
    pub(crate) fn timeline(&self) -> Timeline {
        let state = self.state.borrow();
        Timeline::new(
            state.tasks.iter().map(|t| t.info.clone()).collect(),
            state.events.clone(),
            state.dropped,
        )
        .with_loop_events(state.loop_events.clone(), state.loop_dropped, self.origin)
    }

    /// The totals so far, each task's current phase counted up to now.
    pub(crate) fn task_stats(&self) -> TaskStats {
        let now = self.now();
        let state = self.state.borrow();
        let rows = state
            .tasks
            .iter()
            .map(|task| {
                let mut row = task.totals.clone();
                row.name.clone_from(&task.info.name);
                let open = now.saturating_sub(task.since);
                match task.phase {
                    TaskState::Ready => row.scheduled += open,
                    TaskState::Running => row.busy += open,
                    TaskState::Waiting => row.idle += open,
                    TaskState::Done => {}
                }
                row.state = task.phase;
                row
            })
            .collect();
        TaskStats::new(rows, true)
    }

    /// Keep an event if there is room, else count it.
    fn push(&self, state: &mut TraceState, at: Duration, task: TaskId, kind: EventKind) {
        state.last_at = at;
        if state.events.len() < self.config.capacity {
            state.events.push(Event { at, task, kind });
        } else {
            state.dropped += 1;
        }
    }
}

/// The record of task `id`.
fn record(tasks: &mut [TaskRecord], id: TaskId) -> Option<&mut TaskRecord> {
    tasks.get_mut((id.0 as usize).wrapping_sub(1))
}
