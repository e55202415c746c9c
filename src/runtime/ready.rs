//! The ready queue: tasks that can make progress, in the order they became ready.
//!
//! This is the **ready list** of the asyncio picture, and asyncio's `loop._ready` deque. It is first in, first
//! out: the task that has waited longest runs next, and a task that yields (or wakes itself) goes
//! to the back, behind everyone who was already waiting. Only the loop pops; wakes push.
//!
//! An entry is a task's slot key *and* its id. A task can leave the queue early (aborted) and its
//! slot can be reused by a new task, so the loop checks the id and the task's state when it pops
//! rather than searching the queue on every abort.
//!
//! Left out: priorities and a LIFO slot. tokio's scheduler keeps a one-task "LIFO slot" so a task
//! woken by the one that just ran (a message passed along) runs next, which helps cache locality
//! at some cost to fairness; our queue is strictly FIFO so the order is easy to predict and print.

use std::collections::VecDeque;

use crate::id::TaskId;

// ANCHOR: ready_queue
/// The FIFO queue of tasks waiting for their turn.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// `(slot key, task id)` pairs in the order the tasks became ready. Pushed by wakes and
    /// spawns, popped by the loop. May hold stale entries for aborted tasks (see the module doc).
    queue: VecDeque<(usize, TaskId)>,
    /// The longest the queue has been since the runtime started (reported in `Stats`).
    max_len: usize,
}
// ANCHOR_END: ready_queue

impl ReadyQueue {
    // ANCHOR: push_pop
    /// Put a task at the back of the queue.
    #[inline]
    pub(crate) fn push(&mut self, key: usize, id: TaskId) {
        self.queue.push_back((key, id));
        self.max_len = self.max_len.max(self.queue.len());
    }

    /// Take the task that has waited longest.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(usize, TaskId)> {
        self.queue.pop_front()
    }
    // ANCHOR_END: push_pop

    /// How many entries are queued (stale ones included).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when no task is queued.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The longest the queue has been.
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }

    /// The entries front to back, for snapshots.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, TaskId)> + '_ {
        self.queue.iter().copied()
    }

    /// Empty the queue (shutdown).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}
