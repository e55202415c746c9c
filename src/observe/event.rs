//! The trace's vocabulary: what happened to a task ([`Event`]), what the loop did ([`LoopEvent`]),
//! and who the task is ([`TaskInfo`]).
//!
//! Plain data, written by the recorder (`trace.rs`) and read by the timeline, the per-task stats,
//! the warnings and the replay format; kept apart so that each of those reads the events without
//! reaching into the recorder. Public as `taketurns::trace::{Event, EventKind, …}`.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::id::TaskId;
use crate::lifecycle::{Outcome, WaitReason};

/// One thing that happened to one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, as time since the runtime was built (read from the trace clock).
    pub at: Duration,
    /// Which task.
    pub task: TaskId,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The task was created and put at the back of the ready queue.
    Spawn,
    /// The loop took the task off the ready queue and called `poll`.
    PollStart,
    /// `poll` returned.
    PollEnd(PollResult),
    /// A waker of the task was called while the task was alive.
    Wake(WakeSource),
    /// The task will never run again.
    Done(Outcome),
}

/// Where a poll left the task: the state it went to, under [`crate::timeline::TaskState`]'s
/// names.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollResult {
    /// The future returned `Ready`: the task is done (a `Done` event follows).
    Done,
    /// The future returned `Pending` and the task was woken during the poll (`yield_now`): it is
    /// ready again, at the back of the ready queue.
    Ready,
    /// The future returned `Pending`: the task is waiting, in the waiting list, for this.
    Waiting(WaitReason),
}

/// Who called the waker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WakeSource {
    /// The task itself, during its own poll (`yield_now` does this).
    Itself,
    /// Code on the loop's thread: another task (its id), or `None` for the `block_on` future.
    ThisThread(Option<TaskId>),
    /// Another thread, through the inbox and the eventfd (the remote wake path).
    OtherThread,
    /// The reactor: a socket the task waits on became ready.
    Socket,
    /// The timer list: the task's deadline passed.
    Timer,
}

impl fmt::Display for WakeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WakeSource::Itself => f.write_str("itself"),
            WakeSource::ThisThread(Some(id)) => write!(f, "task {id}"),
            WakeSource::ThisThread(None) => f.write_str("the block_on future"),
            WakeSource::OtherThread => f.write_str("another thread"),
            WakeSource::Socket => f.write_str("a socket"),
            WakeSource::Timer => f.write_str("a timer"),
        }
    }
}

/// Something the loop itself did, between two task events: where it is in its tick.
///
/// Kept apart from the task [`Event`]s (which say where each task is) and placed among them by
/// `before`, so that a replay of the two lists can also say what the loop was doing: running ready
/// tasks, checking for events, or asleep in `epoll_wait`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopEvent {
    /// When, as the time of the last task event before it (zero before the first): loop events
    /// do not read the trace clock, so the clock is read exactly as often as the task events
    /// need (a test's fake clock sees the same reads), and a sleep in `epoll_wait` shows as the
    /// gap to the next task event.
    pub at: Duration,
    /// How many task events were recorded before this one (kept or dropped): the loop event
    /// happened between task event `before - 1` and task event `before`.
    pub before: u64,
    /// What the loop did.
    pub kind: LoopEventKind,
}

/// The kinds of [`LoopEvent`], in the order one tick makes them (see the `tick` module).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopEventKind {
    /// A tick began; it will run the `ready` tasks queued now, no more (those woken during the tick
    /// wait for the next one).
    TickStart {
        /// The tick's number, counted from 1.
        tick: u64,
        /// How many ready-queue entries the tick will pop.
        ready: usize,
    },
    /// The loop is about to check for events: `timeout` `Some(0)` is a look without blocking,
    /// anything else sleeps in `epoll_wait` (`None`: until something happens).
    EventsCheck {
        /// The longest the loop may sleep.
        timeout: Option<Duration>,
        /// True when no socket is registered and the loop need not block, so `epoll_wait` is not
        /// called at all (the inbox and the timers are still checked).
        skipped: bool,
    },
    /// `epoll_wait` returned (or was skipped). The reactor wakes the tasks of ready sockets as it
    /// reads the events, so their `Wake` events come just before this one; the wakes from other
    /// threads (the inbox) and the timers follow it.
    EventsReturned {
        /// Socket readiness events it returned.
        sockets: usize,
        /// Whether the eventfd of another thread's wake fired.
        remote: bool,
    },
    /// Due timers were taken off the timer list; their tasks' wakes come next.
    TimersFired {
        /// How many timers were due.
        count: usize,
    },
    /// The tick ended: `block_on` polls its own future if it was woken, then starts the next.
    TickEnd,
}

/// A task as the trace knows it: its id, its name, and where it was spawned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given with `task::Builder::name`, or the spawn location if none was given.
    pub name: String,
    /// Where `spawn` was called (through `#[track_caller]`).
    pub spawned_at: &'static Location<'static>,
}
