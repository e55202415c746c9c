//! The waiting list: tasks that returned `Pending` and wait for a wake.
//!
//! This is the **waiting list** of the asyncio picture: tasks parked until "some external thing" happens. asyncio
//! has no such list as one object (a waiting task is only referenced from a selector callback, a
//! timer handle or a future's done-callbacks); tokio neither. We keep it explicit so that a reader
//! can print it ([`crate::Snapshot`]) and see every task that is not running and not ready.
//!
//! It is an intrusive doubly linked list threaded through the task table's slots ([`Links`]), so
//! parking and waking are O(1) with no allocation, and the list is ordered by when each task
//! started waiting. A task also records *what* it waits for ([`WaitReason`]), noted by the leaf
//! future that parked it: a socket, a timer, another task.
//!
//! Nothing ever scans this list to find work: the wakers say which task to move. (Scanning it is
//! the naive design; `examples/scan_loop.rs` runs that design for comparison.)

use std::time::Instant;

use slab::Slab;

use crate::id::TaskId;
use crate::lifecycle::{Direction, WaitReason};

/// "No slot": the end of the list. Keys are stored as `u32`, which keeps each task's links at 8
/// bytes (the task table refuses a key that does not fit).
const NIL: u32 = u32::MAX;

// ANCHOR: links
/// A task's neighbours in the waiting list. Meaningful only while the task is waiting.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Links {
    /// The slot key of the task that started waiting just before this one, or `NIL`.
    prev: u32,
    /// The slot key of the task that started waiting just after this one, or `NIL`.
    next: u32,
}
// ANCHOR_END: links

/// A slot that carries [`Links`]: the task table's slots, through which the list is threaded.
pub(crate) trait Linked {
    /// The slot's place in the waiting list.
    fn links(&mut self) -> &mut Links;
    /// The same, read only.
    fn links_ref(&self) -> &Links;
}

impl Default for Links {
    fn default() -> Self {
        Links {
            prev: NIL,
            next: NIL,
        }
    }
}

// ANCHOR: waiting_list
/// The list head: the oldest and newest waiting tasks, and how many there are.
pub(crate) struct WaitingList {
    /// The task that has waited longest, or `NIL`.
    head: u32,
    /// The task that started waiting most recently, or `NIL`.
    tail: u32,
    /// How many tasks are waiting.
    len: usize,
}
// ANCHOR_END: waiting_list

impl Default for WaitingList {
    fn default() -> Self {
        WaitingList {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }
}

impl WaitingList {
    // ANCHOR: push_back_remove
    /// Add the task in slot `key` at the back of the list.
    #[inline]
    pub(crate) fn push_back(&mut self, tasks: &mut Slab<impl Linked>, key: usize) {
        debug_assert!(
            key < NIL as usize,
            "the task table keeps keys below u32::MAX"
        );
        let link = key as u32;
        *tasks[key].links() = Links {
            prev: self.tail,
            next: NIL,
        };
        match self.tail {
            NIL => self.head = link,
            tail => tasks[tail as usize].links().next = link,
        }
        self.tail = link;
        self.len += 1;
    }

    /// Unlink the task in slot `key`, which must be in the list.
    #[inline]
    pub(crate) fn remove(&mut self, tasks: &mut Slab<impl Linked>, key: usize) {
        let Links { prev, next } = *tasks[key].links();
        match prev {
            NIL => self.head = next,
            prev => tasks[prev as usize].links().next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => tasks[next as usize].links().prev = prev,
        }
        *tasks[key].links() = Links::default();
        self.len -= 1;
    }
    // ANCHOR_END: push_back_remove

    /// The waiting tasks' slot keys, longest-waiting first.
    pub(crate) fn iter<'a>(
        &self,
        tasks: &'a Slab<impl Linked>,
    ) -> impl Iterator<Item = usize> + 'a {
        let mut at = self.head;
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let key = at as usize;
            at = tasks[key].links_ref().next;
            Some(key)
        })
    }

    /// Forget every task (shutdown empties the table itself).
    pub(crate) fn clear(&mut self) {
        *self = WaitingList::default();
    }
}

/// What a task waits for, as its slot stores it: [`WaitReason`] in 16 bytes (the direction is the
/// variant), because every task's slot carries one. [`Wait::reason`] turns it into
/// the public form when a snapshot or a warning asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A socket's read direction (or accept), by its reactor token.
    Read(u64),
    /// A socket's write direction (or a connect), by its reactor token.
    Write(u64),
    /// A timer due at this instant.
    Timer(Instant),
    /// Another task's completion.
    Task(TaskId),
    /// Anything else.
    Other,
}

impl Wait {
    /// The public description.
    pub(crate) fn reason(self) -> WaitReason {
        match self {
            Wait::Read(token) => WaitReason::Socket {
                token: token as usize,
                direction: Direction::Read,
            },
            Wait::Write(token) => WaitReason::Socket {
                token: token as usize,
                direction: Direction::Write,
            },
            Wait::Timer(deadline) => WaitReason::Timer { deadline },
            Wait::Task(id) => WaitReason::Task(id),
            Wait::Other => WaitReason::Other,
        }
    }
}
