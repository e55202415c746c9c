//! The words for a task's life, shared by every layer: where a task is ([`TaskState`]), what a
//! waiting task waits for ([`WaitReason`], with a socket's [`Direction`]) and how a task ended
//! ([`Outcome`]).
//!
//! The task table, the trace, the timeline, the replay format, the diagrams and the book all use
//! these names: a task is **ready** (in the ready queue), **running** (being polled), **waiting**
//! (in the waiting list) or **done**. asyncio's `Task` has no single state field (its `_state` is
//! the *future's*: pending, cancelled, finished); tokio keeps the same four facts as bits of a
//! task's state word (`NOTIFIED`, `RUNNING`, `COMPLETE`, …).
//!
//! A leaf: it names nothing of the crate but the ids, so the drivers, the runtime and the
//! observability layer can all use it without reaching into each other.

use std::fmt;
use std::time::Instant;

use crate::id::TaskId;

// ANCHOR: task_state
/// Where a task is. Exactly one of these holds at any moment of its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskState {
    /// Finished: completed, panicked or cancelled; only its output (if any) remains (drawn `_`).
    Done,
    /// In the waiting list: it returned `Pending` and nobody has woken it since (drawn `.`).
    Waiting,
    /// In the ready queue, waiting for its turn (drawn `=`).
    Ready,
    /// Being polled: it has the thread (drawn `#`).
    Running,
}
// ANCHOR_END: task_state

impl TaskState {
    /// The character a timeline draws for this state.
    pub fn symbol(self) -> char {
        match self {
            TaskState::Running => '#',
            TaskState::Ready => '=',
            TaskState::Waiting => '.',
            TaskState::Done => '_',
        }
    }

    /// The state's name in lower case, as the replay format and the tables write it.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Waiting => "waiting",
            TaskState::Done => "done",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its future returned `Ready`.
    Completed,
    /// Its future panicked (the panic is in its `JoinError`).
    Panicked,
    /// It was aborted.
    Cancelled,
}

/// A direction of a socket a task can wait in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Waiting to read (or to accept a connection).
    Read,
    /// Waiting to write (or for a connection to complete).
    Write,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Read => "read",
            Direction::Write => "write",
        })
    }
}

/// What a waiting task is waiting for, as far as the runtime can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// A socket: its reactor token, and whether the task waits to read or to write.
    Socket {
        /// The `mio::Token` the socket is registered under (slot key and generation).
        token: usize,
        /// Which way the task waits.
        direction: Direction,
    },
    /// A timer that fires at this instant.
    Timer {
        /// When the timer is due.
        deadline: Instant,
    },
    /// Another task's completion (an awaited [`crate::JoinHandle`]).
    Task(TaskId),
    /// Something the runtime does not see into: a channel, a lock, a hand-written future.
    Other,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::Socket { token, direction } => {
                write!(f, "socket {token:#x} ({direction})")
            }
            WaitReason::Timer { deadline } => {
                let now = Instant::now();
                if *deadline > now {
                    write!(f, "timer in {:?}", *deadline - now)
                } else {
                    write!(f, "timer (due)")
                }
            }
            WaitReason::Task(id) => write!(f, "task {id}"),
            WaitReason::Other => write!(f, "a wake (channel or other)"),
        }
    }
}
