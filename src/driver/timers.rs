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
//! deadlines to the millisecond. Ours is exact to the nanosecond: O(log n) for a timer due soon, O(1) to add or cancel one due later than the horizon (below).
//!
//! **Near and far.** Most timers never fire: a server's "read the next request within 10 s" is
//! cancelled as soon as the request arrives, thousands of times a second. Sorting each into the
//! tree costs O(log n) twice. So only timers due within [`HORIZON`] go into the tree; a timer due
//! later waits in a plain slab, where adding and cancelling cost O(1), and the loop moves it into
//! the tree once its deadline comes within the horizon (a scan of the far timers, at the moment
//! the earliest of them gets that close). A far timer is never late for it: the loop wakes for the
//! scan as it wakes for a deadline. This is the two-level idea of Linux's timers and of tokio's
//! wheel, with one level where they have several.
//!
//! **One entry per sleep.** A [`TimerEntry`] is what a sleeping future keeps: its deadline and,
//! once a poll has registered it, which runtime's list holds it and under which key. Both of the
//! crate's sleeps (`time::Sleep`, and hyper's through `hyper_rt`) are a `TimerEntry` and nothing
//! more, so registering, refreshing the waker, resetting and clamping a deadline are written once,
//! here. The entry names its list by the runtime's number, not by a pointer, so it is
//! `Send + Sync` (hyper requires that of its sleeps); whoever polls it hands it the list of the
//! runtime running on this thread. This driver knows wakers and deadlines, not tasks: noting
//! that a task waits for a timer is the caller's job.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

/// How far ahead a timer must be due to wait in the far slab rather than the sorted tree.
pub(crate) const HORIZON: Duration = Duration::from_secs(1);

// ANCHOR: timer_key
/// A near timer's place in the tree: its deadline, then a sequence number that keeps timers with
/// the same deadline in creation order and makes every key unique. The deadline is kept as
/// nanoseconds since the list was made, one integer, so that comparing two keys (which every
/// insertion and removal does a few times per level of the tree) is two integer comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    /// When the timer fires, in nanoseconds since the list was made.
    at: u64,
    /// Creation order, unique within the runtime.
    seq: u64,
}
// ANCHOR_END: timer_key

/// A timer's handle: its slot in the list, and its sequence number, which tells it apart from a
/// later timer in the same slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId {
    /// The slot in [`Timers`]' slab.
    slot: usize,
    /// The timer's sequence number (its key's).
    seq: u64,
}

/// One pending timer.
struct Slot {
    /// Its deadline and sequence number: its key in the tree, once near.
    key: TimerKey,
    /// The waker of the task to wake.
    waker: Waker,
    /// In the tree (due within the horizon when last looked at), or still far.
    near: bool,
}

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
pub(crate) struct Timers {
    /// When the list was made: deadlines are kept as nanoseconds since then (a deadline before
    /// it counts as 0, due at once; 2^64 nanoseconds is 584 years).
    origin: Instant,
    /// Every pending timer, near or far, by a key that stays put while it waits.
    slots: Slab<Slot>,
    /// The near timers, nearest deadline first: their keys, and their slots.
    near: BTreeMap<TimerKey, usize>,
    /// How many timers are far (in `slots` but not in `near`).
    far: usize,
    /// When the far timers must next be looked at (nanoseconds since `origin`): the moment the
    /// earliest of them comes within the horizon. `u64::MAX` when none is far.
    next_scan: u64,
    /// The next sequence number to hand out.
    next_seq: u64,
    /// How many timers have fired (reported in `Stats`).
    fired: u64,
}
// ANCHOR_END: timers

impl Default for Timers {
    fn default() -> Self {
        Timers {
            origin: Instant::now(),
            slots: Slab::new(),
            near: BTreeMap::new(),
            far: 0,
            next_scan: u64::MAX,
            next_seq: 0,
            fired: 0,
        }
    }
}

impl Timers {
    /// `at` as nanoseconds since the list was made (0 for an instant before it).
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `nanos` after the list was made.
    fn instant(&self, nanos: u64) -> Instant {
        self.origin + Duration::from_nanos(nanos)
    }

    /// The horizon in nanoseconds.
    fn horizon() -> u64 {
        HORIZON.as_nanos() as u64
    }

    /// Add a timer due at `deadline` (`now` is the caller's clock reading); the returned id
    /// removes or updates it.
    pub(crate) fn insert(&mut self, deadline: Instant, now: Instant, waker: Waker) -> TimerId {
        let key = TimerKey {
            at: self.nanos(deadline),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        let near = key.at <= self.nanos(now).saturating_add(Self::horizon());
        let slot = self.slots.insert(Slot { key, waker, near });
        if near {
            self.near.insert(key, slot);
        } else {
            self.far += 1;
            self.next_scan = self.next_scan.min(key.at - Self::horizon());
        }
        TimerId { slot, seq: key.seq }
    }

    // ANCHOR: refresh
    /// A registered sleep's poll: one lookup that both answers "still pending?" and keeps the
    /// waker of the latest poll (a task may be polled with a different waker than the one it
    /// registered with, e.g. inside `join` or `select` combinators).
    pub(crate) fn refresh(&mut self, id: TimerId, waker: &Waker) -> Refresh {
        let Some(slot) = self.slots.get_mut(id.slot).filter(|s| s.key.seq == id.seq) else {
            return Refresh::Gone;
        };
        if slot.waker.will_wake(waker) {
            return Refresh::Pending(None);
        }
        Refresh::Pending(Some(std::mem::replace(&mut slot.waker, waker.clone())))
    }
    // ANCHOR_END: refresh

    /// Remove a timer (cancelled, or its future saw the deadline itself). Returns its waker so
    /// the caller can drop it outside any borrow. A far timer leaves in O(1).
    pub(crate) fn remove(&mut self, id: TimerId) -> Option<Waker> {
        if self.slots.get(id.slot).is_none_or(|s| s.key.seq != id.seq) {
            return None;
        }
        let slot = self.slots.remove(id.slot);
        if slot.near {
            self.near.remove(&slot.key);
        } else {
            self.far -= 1;
        }
        Some(slot.waker)
    }

    /// The nearest moment the loop must wake for: the first near deadline, or the next look at
    /// the far timers if that comes sooner.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let near = self
            .near
            .first_key_value()
            .map_or(u64::MAX, |(key, _)| key.at);
        let next = near.min(self.next_scan);
        (next != u64::MAX).then(|| self.instant(next))
    }

    // ANCHOR: fire_due
    /// Move the wakers of every timer due at `now` into `out`. "Due" includes a deadline equal
    /// to `now`, so a zero-length sleep fires on the first check. Far timers that came within
    /// the horizon move into the tree first.
    pub(crate) fn fire_due(&mut self, now: Instant, out: &mut Vec<Waker>) {
        let now = self.nanos(now);
        if self.next_scan <= now {
            self.bring_near(now);
        }
        while let Some(entry) = self.near.first_entry() {
            if entry.key().at > now {
                break;
            }
            let slot = self.slots.remove(entry.remove());
            out.push(slot.waker);
            self.fired += 1;
        }
    }
    // ANCHOR_END: fire_due

    /// Move every far timer due within the horizon of `now` into the tree, and note when the
    /// next of the rest comes that close. O(far timers), once per such moment.
    fn bring_near(&mut self, now: u64) {
        let limit = now.saturating_add(Self::horizon());
        let mut next = u64::MAX;
        for (index, slot) in self.slots.iter_mut().filter(|(_, s)| !s.near) {
            if slot.key.at <= limit {
                slot.near = true;
                self.near.insert(slot.key, index);
                self.far -= 1;
            } else {
                next = next.min(slot.key.at - Self::horizon());
            }
        }
        self.next_scan = next;
    }

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// How many timers have fired.
    pub(crate) fn fired(&self) -> u64 {
        self.fired
    }

    /// Remove every timer (shutdown), handing back the wakers to drop outside any borrow.
    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        self.near.clear();
        self.far = 0;
        self.next_scan = u64::MAX;
        self.slots.drain().map(|slot| slot.waker).collect()
    }
}

/// The deadline `duration` from now; a duration too large to add saturates to "practically
/// never" (about 30 years), as tokio does.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// The timer list of the runtime running on this thread, and that runtime's number.
pub(crate) type Here<'a> = (u64, &'a RefCell<Timers>);

/// What [`TimerEntry::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerPoll {
    /// The deadline has passed; the entry is out of every list.
    Ready,
    /// Not yet: the entry is in the list of the runtime that was given, with the latest waker.
    Pending,
    /// The entry is in the list of another runtime (this number), which is not the one running
    /// on this thread: the sleep was moved. Nothing was changed.
    Elsewhere(u64),
    /// Not due, and no runtime is running on this thread to hold an entry.
    NoRuntime,
}

// ANCHOR: timer_entry
/// A sleep's deadline and, once registered, its place in one runtime's timer list.
#[derive(Debug)]
pub(crate) struct TimerEntry {
    /// When the sleep ends. Owned by the sleep; `reset` moves it.
    deadline: Instant,
    /// The number of the runtime whose list holds our entry, the entry's key there and the
    /// deadline it was registered for; `None` until a poll registers the entry, and again once
    /// it fired or was removed.
    registered: Option<(u64, TimerId, Instant)>,
}

impl TimerEntry {
    /// An entry for `deadline`, not yet in any list.
    pub(crate) fn new(deadline: Instant) -> TimerEntry {
        TimerEntry {
            deadline,
            registered: None,
        }
    }

    /// When the sleep ends.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether a poll has put the entry in a list (and it has not fired since).
    pub(crate) fn is_registered(&self) -> bool {
        self.registered.is_some()
    }

    /// Poll the sleep. Registered already, in the list of the runtime polling us now: one lookup
    /// says whether the loop has fired the entry, and keeps the waker of the latest poll (the
    /// task may now be polled through a combinator with another waker). A deadline that has
    /// passed counts even while the entry is still in the list: a task that never gives the loop
    /// a turn (a `select` that keeps finding its other branch ready) would otherwise never see
    /// it, because only the loop fires timers. (tokio does not read the clock here; its coop
    /// budget forces such a task to yield, and then the driver fires the timer.) Not registered
    /// (first poll, or fired while a later `reset` was waiting): register with `here`.
    pub(crate) fn poll(&mut self, cx: &Context<'_>, here: Option<Here<'_>>) -> TimerPoll {
        if let Some((owner, key, _)) = self.registered {
            let Some((runtime, timers)) = here.filter(|(runtime, _)| *runtime == owner) else {
                return TimerPoll::Elsewhere(owner);
            };
            let refresh = timers.borrow_mut().refresh(key, cx.waker());
            match refresh {
                Refresh::Pending(old_waker) => {
                    // Dropped outside the borrow: a waker's destructor is anyone's code.
                    drop(old_waker);
                    if Instant::now() < self.deadline {
                        return TimerPoll::Pending;
                    }
                    self.unregister(Some((runtime, timers)));
                    return TimerPoll::Ready;
                }
                // Fired: done, unless a reset moved the deadline later since (checked below).
                Refresh::Gone => self.registered = None,
            }
        }
        let now = Instant::now();
        if now >= self.deadline {
            return TimerPoll::Ready;
        }
        let Some((runtime, timers)) = here else {
            return TimerPoll::NoRuntime;
        };
        let key = timers
            .borrow_mut()
            .insert(self.deadline, now, cx.waker().clone());
        self.registered = Some((runtime, key, self.deadline));
        TimerPoll::Pending
    }

    /// Move the deadline. A later deadline keeps the entry where it is: when it fires at the old
    /// deadline, the poll finds the new one not yet due and registers it then, so a timer pushed
    /// later again and again (a keep-alive, an idle timeout) costs one spurious wake per period
    /// instead of a removal and an insertion per push (tokio resets its entries lazily for the
    /// same reason). An earlier deadline removes the entry now (if its runtime is `here`); the
    /// next poll registers the new one.
    pub(crate) fn reset(&mut self, deadline: Instant, here: Option<Here<'_>>) {
        let later = self
            .registered
            .is_some_and(|(_, _, registered)| deadline >= registered);
        if !later {
            self.unregister(here);
        }
        self.deadline = deadline;
    }

    /// Take the entry out of its list if that list is `here`'s. Otherwise (dropped or reset off
    /// its runtime's thread, or after that runtime stopped running) the entry is only forgotten:
    /// it stays in its list until it fires, waking a task that no longer waits for it (which does
    /// nothing), or until its runtime is dropped with it.
    pub(crate) fn unregister(&mut self, here: Option<Here<'_>>) {
        let Some((owner, key, _)) = self.registered.take() else {
            return;
        };
        if let Some((runtime, timers)) = here
            && runtime == owner
        {
            let waker = timers.borrow_mut().remove(key);
            // Dropped here, outside the borrow of the timer list.
            drop(waker);
        }
    }
}
// ANCHOR_END: timer_entry

#[cfg(test)]
mod tests {
    use super::*;

    /// A waker for the tests (a timer's waker is only moved around here, never woken).
    fn waker(_tag: usize) -> Waker {
        Waker::noop().clone()
    }

    /// The wakers a `fire_due` at `at` hands out.
    fn fire(timers: &mut Timers, at: Instant) -> Vec<Waker> {
        let mut out = Vec::new();
        timers.fire_due(at, &mut out);
        out
    }

    #[test]
    fn a_far_timer_is_brought_near_in_time_and_fires_at_its_deadline_not_before() {
        let mut timers = Timers::default();
        let start = timers.origin;
        let deadline = start + HORIZON * 5;
        timers.insert(deadline, start, waker(1));
        assert_eq!(timers.far, 1);
        assert!(timers.near.is_empty(), "a far timer is not sorted yet");
        // The loop must wake when the timer comes within the horizon, before its deadline.
        assert_eq!(timers.next_deadline(), Some(deadline - HORIZON));
        assert!(fire(&mut timers, deadline - HORIZON).is_empty());
        assert_eq!(
            (timers.far, timers.near.len()),
            (0, 1),
            "moved into the tree"
        );
        assert_eq!(timers.next_deadline(), Some(deadline));
        assert!(fire(&mut timers, deadline - Duration::from_nanos(1)).is_empty());
        assert_eq!(fire(&mut timers, deadline).len(), 1);
        assert_eq!((timers.len(), timers.fired()), (0, 1));
    }

    #[test]
    fn a_cancelled_far_timer_leaves_nothing_and_no_scan_finds_it() {
        let mut timers = Timers::default();
        let start = timers.origin;
        let id = timers.insert(start + HORIZON * 10, start, waker(1));
        assert!(timers.remove(id).is_some());
        assert!(timers.remove(id).is_none(), "removed once");
        assert_eq!((timers.len(), timers.far), (0, 0));
        // The scan planned for it finds nothing and plans no other.
        assert!(fire(&mut timers, start + HORIZON * 9).is_empty());
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn equal_deadlines_fire_in_creation_order_whether_they_came_near_or_far() {
        let mut timers = Timers::default();
        let start = timers.origin;
        let deadline = start + HORIZON * 3;
        // The first two are added while far, the last two when already near.
        let mut ids = vec![
            timers.insert(deadline, start, waker(0)),
            timers.insert(deadline, start, waker(1)),
        ];
        let later = deadline - HORIZON / 2;
        ids.push(timers.insert(deadline, later, waker(2)));
        ids.push(timers.insert(deadline, later, waker(3)));
        let keys: Vec<TimerKey> = ids.iter().map(|id| timers.slots[id.slot].key).collect();
        let fired = fire(&mut timers, deadline);
        assert_eq!(fired.len(), 4);
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "creation order is key order");
        assert_eq!(timers.fired(), 4);
    }

    #[test]
    fn a_slot_reused_by_a_later_timer_is_not_the_earlier_ones() {
        let mut timers = Timers::default();
        let start = timers.origin;
        let first = timers.insert(start + HORIZON * 2, start, waker(1));
        timers.remove(first);
        let second = timers.insert(start + HORIZON * 2, start, waker(2));
        assert_eq!(first.slot, second.slot, "the slab reuses the slot");
        assert!(matches!(timers.refresh(first, &waker(3)), Refresh::Gone));
        assert!(timers.remove(first).is_none());
        assert!(timers.remove(second).is_some());
    }
}
