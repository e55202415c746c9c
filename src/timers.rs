//! The timer list: every pending deadline of one runtime, in order.
//!
//! A sleeping task is a waiting task whose wait ends at a known instant. The loop keeps all such
//! instants in one ordered structure, asks it for the nearest deadline to know how long it may
//! block in epoll, and after each wait moves the tasks of every due timer to the ready queue.
//! asyncio's counterpart is `loop._scheduled`, a binary heap of `TimerHandle`s.
//!
//! **Why a `BTreeMap` and not a heap.** A timer is usually cancelled, not fired: every
//! `timeout(…)` around an operation that finishes in time drops its timer. A binary heap cannot
//! remove an arbitrary entry cheaply, so asyncio marks cancelled handles and rebuilds the heap when
//! more than half are dead. A `BTreeMap` keyed by `(deadline, sequence number)` removes any entry
//! in O(log n), keeps equal deadlines in creation order, and finds the nearest deadline as its
//! first key. Memory is exactly the live timers: a million timeouts created and cancelled leave
//! nothing behind.
//!
//! Where we simplify: tokio uses a hierarchical timing wheel (six levels of 64 slots, 1 ms
//! resolution): insert and cancel are O(1) and firing is amortised O(1), at the cost of rounding
//! deadlines to the millisecond. Ours is exact to the nanosecond and O(log n).

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

// ANCHOR: timer_key
/// A timer's place in the list: its deadline, then a sequence number that keeps timers with the
/// same deadline in creation order and makes every key unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    /// When the timer fires.
    pub(crate) deadline: Instant,
    /// Creation order, unique within the runtime.
    seq: u64,
}
// ANCHOR_END: timer_key

/// What [`Timers::refresh`] found for a registered sleep.
pub(crate) enum Refresh {
    /// Still in the list. Holds the waker it replaced, if the task's waker changed, for the
    /// caller to drop outside any borrow.
    Pending(Option<Waker>),
    /// No longer in the list: it fired (or the runtime is shutting down and dropped it).
    Gone,
}

// ANCHOR: timers
/// Every pending timer of one runtime. Owned by the runtime's core; `Sleep` futures insert and
/// remove their own entries, the loop fires the due ones.
#[derive(Default)]
pub(crate) struct Timers {
    /// Pending timers, nearest deadline first, each with the waker of the task to wake.
    entries: BTreeMap<TimerKey, Waker>,
    /// The next sequence number to hand out.
    next_seq: u64,
    /// How many timers have fired (reported in `Stats`).
    fired: u64,
}
// ANCHOR_END: timers

impl Timers {
    /// Add a timer; the returned key removes or updates it.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.entries.insert(key, waker);
        key
    }

    // ANCHOR: refresh
    /// A registered sleep's poll: one lookup that both answers "still pending?" and keeps the
    /// waker of the latest poll (a task may be polled with a different waker than the one it
    /// registered with, e.g. inside `join` or `select` combinators).
    pub(crate) fn refresh(&mut self, key: TimerKey, waker: &Waker) -> Refresh {
        let Some(slot) = self.entries.get_mut(&key) else {
            return Refresh::Gone;
        };
        if slot.will_wake(waker) {
            return Refresh::Pending(None);
        }
        Refresh::Pending(Some(std::mem::replace(slot, waker.clone())))
    }
    // ANCHOR_END: refresh

    /// Remove a timer (cancelled, or its future saw the deadline itself). Returns its waker so
    /// the caller can drop it outside any borrow.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.entries.remove(&key)
    }

    /// The nearest deadline, which bounds how long the loop may sleep.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.first_key_value().map(|(key, _)| key.deadline)
    }

    // ANCHOR: fire_due
    /// Move the wakers of every timer due at `now` into `out`. "Due" includes a deadline equal
    /// to `now`, so a zero-length sleep fires on the first check.
    pub(crate) fn fire_due(&mut self, now: Instant, out: &mut Vec<Waker>) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            out.push(entry.remove());
            self.fired += 1;
        }
    }
    // ANCHOR_END: fire_due

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many timers have fired.
    pub(crate) fn fired(&self) -> u64 {
        self.fired
    }

    /// Remove every timer (shutdown), handing back the wakers to drop outside any borrow.
    pub(crate) fn clear(&mut self) -> BTreeMap<TimerKey, Waker> {
        std::mem::take(&mut self.entries)
    }
}
