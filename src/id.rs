//! Ids: the names the runtime gives its tasks, in a leaf that every layer may use.
//!
//! A task lives in a slot of the task table, and slots are reused as soon as a task finishes.
//! An id is not: it tells a live task apart from an old one that happened to sit in the same slot,
//! so a late wake, a stale ready-queue entry or a JoinHandle of a finished task can never reach
//! its successor. asyncio names tasks by object identity (and `Task.get_name()`); tokio has
//! `tokio::task::Id`, a counter like ours.
//!
//! This file imports nothing from the crate: the drivers, the runtime and the observability
//! layer all speak of tasks by these ids, and none of them needs the others to do so.

use std::fmt;

/// The identity of a task: unique for the life of a runtime, never reused.
///
/// Slab keys are reused as soon as a task finishes; ids are not. A waker carries both, so a wake
/// meant for a finished task can never reach the new task that took over its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number (1 for the first task a runtime spawns, then 2, 3, …).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
