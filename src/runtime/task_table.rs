//! The task table: every task's slot, the ready queue and the waiting list, and one method for each
//! way a task changes state.
//!
//! This is the bookkeeping half of the loop, kept apart from the half that runs user code. A
//! [`TaskTable`] is a plain struct: no `RefCell`, no waker is woken and no future is polled or
//! dropped inside it. Every method that ends something (a poll, a task, a wait) *returns* what must
//! be dropped or woken, and the caller (the runtime's `Core`, which owns the table in a `RefCell`)
//! does that after the borrow has ended. Destructors and wakers are user code: they may spawn, wake
//! or abort, which would borrow the table again.
//!
//! asyncio keeps the same information spread over `loop._ready`, each `Task`'s `_state` and the
//! selector's callbacks; tokio keeps it in each task's header (a state word updated with atomic
//! operations) and its run queue.
//!
//! # The states of a task
//!
//! ```text
//!  spawn --> Ready --start_poll--> Running --end_poll--+-- Ready(output), or aborted --> Done
//!              ^                                       +-- Pending, rewoken ----------> Ready
//!              |                                       +-- Pending -------------------> Waiting
//!              |                                                                          |
//!              +-------------------------------- schedule --------------------------------+
//!
//!  schedule on Running: sets `rewoken`          abort on Ready or Waiting: Done at once
//!  schedule on Ready or Done: nothing           abort on Running: Done at end_poll
//!  Done --finish--> kept for the JoinHandle (poll_join frees it), or freed if detached
//! ```
//!
//! The states are [`TaskState`]'s, under the same names the trace, the timeline, the replay
//! format and the book use.
//!
//! - `schedule` (a wake) moves a `Waiting` task to the back of the ready queue; on a `Running`
//!   task it sets `rewoken`, and `end_poll` queues the task again; on a `Ready` or `Done`
//!   task it does nothing. So a task is in the ready queue at most once.
//! - `abort` finishes a `Ready` or `Waiting` task at once (its future is handed back to be
//!   dropped); a `Running` task is marked and finished by `end_poll`.
//! - Slots are reused; a [`TaskId`] is not. Every method takes both and ignores a slot that now
//!   holds another task.

use std::panic::Location;
use std::pin::Pin;
use std::task::Waker;

use slab::Slab;

use super::cell::Erased;
use super::ready::ReadyQueue;
use super::waiting::{Linked, Links, Wait, WaitingList};
use crate::id::TaskId;
use crate::lifecycle::WaitReason;
use crate::observe::stats::{Snapshot, Stats};

/// A task's future and then its output, boxed and type-erased (see the `cell` module).
pub(crate) type TaskBox = Pin<Box<dyn Erased>>;

// ANCHOR: state
/// Where a task is in its life, as the table keeps it: `TaskState`'s four states under the same
/// names, with one more fact while the task runs. Exactly one of these holds at any moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// In the ready queue, waiting for its turn.
    Ready,
    /// Being polled right now. `rewoken` records a wake that arrived during this very poll
    /// (for example from `yield_now`): the loop queues the task again once the poll returns.
    Running { rewoken: bool },
    /// In the waiting list: it returned `Pending` and nobody has woken it since.
    Waiting,
    /// Its future completed, panicked or was cancelled; only the output (if any) remains.
    Done,
}

// ANCHOR_END: state

// ANCHOR: task_slot
/// The runtime's record of one task: one slot of the task table.
pub(crate) struct TaskSlot {
    /// Which task occupies the slot. Checked by every wake, ready-queue pop and join, because the
    /// slot's key is reused by later tasks.
    pub(crate) id: TaskId,
    /// The future and, once finished, its output. `None` while the loop has moved it out to poll
    /// it, so that the poll can borrow the task table (to spawn, wake, join) without conflict.
    pub(crate) cell: Option<TaskBox>,
    /// Ready, running, waiting or done. Owned by the loop; wakes and aborts change it.
    pub(crate) state: State,
    /// What the task is waiting for, noted by the leaf future that parked it (a socket, a timer,
    /// another task). Reset to [`Wait::Other`] before every poll. Only shown by snapshots.
    pub(crate) wait: Wait,
    /// The waker of whoever awaits the [`JoinHandle`]; woken when the task finishes.
    pub(crate) join_waker: Option<Waker>,
    /// The JoinHandle was dropped: nobody will take the output, so the slot is freed at once
    /// when the task finishes.
    pub(crate) detached: bool,
    /// `abort()` was called while the task was being polled; the loop cancels it after the poll.
    pub(crate) abort_requested: bool,
    /// Where `spawn` was called, to name the task in a warning when tracing is off.
    pub(crate) spawned_at: &'static Location<'static>,
    /// This task's place in the waiting list (an intrusive list threaded through the slots).
    pub(crate) links: Links,
}
// ANCHOR_END: task_slot

impl Linked for TaskSlot {
    fn links(&mut self) -> &mut Links {
        &mut self.links
    }

    fn links_ref(&self) -> &Links {
        &self.links
    }
}

// ANCHOR: task_table
/// The task table and the two lists, changed together because every state change touches them
/// together. Owned by the runtime's core, which borrows it only between two pieces of user code.
pub(crate) struct TaskTable {
    /// Every task that has not been joined, or detached and finished, by slot key.
    slab: Slab<TaskSlot>,
    /// The ready queue: tasks that can run, oldest first.
    ready: ReadyQueue,
    /// The waiting list: tasks parked until a wake, threaded through `slab`.
    waiting: WaitingList,
    /// The id the next spawned task gets.
    next_id: u64,
    /// Counters owned by the loop's thread (remote wakes and I/O are counted elsewhere).
    pub(crate) stats: Stats,
}
// ANCHOR_END: task_table

/// What a poll left behind, for the caller to act on outside the borrow.
pub(crate) enum AfterPoll {
    /// The task woke itself during the poll: it is at the back of the ready queue.
    Ready,
    /// The task is in the waiting list.
    Waiting,
    /// The task is finished (its future returned `Ready`, or it was aborted during its poll, in
    /// which case `aborted` is true and the caller must cancel the future). Hand the box to
    /// [`TaskTable::finish`] afterwards.
    Done {
        /// The future, or its output.
        task: TaskBox,
        /// `abort()` was called during the poll: drop the future, outside the borrow.
        aborted: bool,
    },
}

/// What [`TaskTable::finish`] and [`TaskTable::detach`] leave for the caller.
#[must_use = "wake the joiner and drop the freed slot outside the borrow"]
pub(crate) struct Released {
    /// The waker of whoever awaits the JoinHandle, to wake.
    pub(crate) join_waker: Option<Waker>,
    /// The slot, freed because nobody will take the output: drop it (its output's destructor may
    /// panic) outside the borrow.
    pub(crate) freed: Option<TaskSlot>,
    /// Where the task was spawned, to name it if that destructor panics.
    pub(crate) spawned_at: Option<&'static Location<'static>>,
}

impl Released {
    /// Nothing to do: the task was not in the table.
    const NOTHING: Released = Released {
        join_waker: None,
        freed: None,
        spawned_at: None,
    };
}

/// What polling a JoinHandle found.
pub(crate) enum JoinPoll {
    /// Not finished. Holds the joiner's previous waker, if it was replaced, to drop outside.
    Pending(Option<Waker>),
    /// Finished: the slot, freed, with the output to move out (`None`: already gone, which only
    /// happens after shutdown emptied the table).
    Ready(Option<TaskSlot>),
}

impl Default for TaskTable {
    fn default() -> Self {
        TaskTable {
            slab: Slab::new(),
            ready: ReadyQueue::default(),
            waiting: WaitingList::default(),
            next_id: 1,
            stats: Stats::default(),
        }
    }
}

impl TaskTable {
    // ANCHOR: insert
    /// The slot key and the id the next task will get. Call [`TaskTable::insert`] next, with no
    /// other change in between (the key is the slab's next vacant one).
    #[inline]
    pub(crate) fn reserve(&mut self) -> (usize, TaskId) {
        let id = TaskId(self.next_id);
        self.next_id += 1;
        (self.slab.vacant_key(), id)
    }

    /// Add a new task, at the back of the ready queue.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        key: usize,
        id: TaskId,
        task: TaskBox,
        spawned_at: &'static Location<'static>,
    ) {
        // The waiting list links slots by `u32` keys (see `crate::waiting`).
        assert!(
            key < u32::MAX as usize,
            "taketurns: more than 4 billion tasks at once"
        );
        let inserted = self.slab.insert(TaskSlot {
            id,
            cell: Some(task),
            state: State::Ready,
            wait: Wait::Other,
            join_waker: None,
            detached: false,
            abort_requested: false,
            spawned_at,
            links: Default::default(),
        });
        debug_assert_eq!(inserted, key, "insert must follow reserve");
        self.ready.push(key, id);
        self.stats.tasks_spawned += 1;
    }
    // ANCHOR_END: insert

    /// Take the task that has waited longest in the ready queue (possibly a stale entry, which
    /// [`TaskTable::start_poll`] skips).
    #[inline]
    pub(crate) fn pop_ready(&mut self) -> Option<(usize, TaskId)> {
        self.ready.pop()
    }

    /// True when the ready queue is empty.
    #[inline]
    pub(crate) fn ready_is_empty(&self) -> bool {
        self.ready.is_empty()
    }

    /// How many entries the ready queue holds (stale ones included).
    #[inline]
    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    // ANCHOR: start_poll
    /// `Ready` → `Running`: hand out the task's future to be polled, or `None` for a stale
    /// ready-queue entry (the task was aborted while queued, and its slot maybe reused).
    #[inline]
    pub(crate) fn start_poll(&mut self, key: usize, id: TaskId) -> Option<TaskBox> {
        let slot = self.slab.get_mut(key)?;
        if slot.id != id || slot.state != State::Ready {
            return None;
        }
        slot.state = State::Running { rewoken: false };
        slot.wait = Wait::Other;
        self.stats.polls += 1;
        Some(slot.cell.take().expect("a queued task has its future"))
    }

    /// `Running` → `Ready`, `Waiting` or `Done`, by what the poll returned and what happened
    /// while it ran.
    #[inline]
    pub(crate) fn end_poll(
        &mut self,
        key: usize,
        id: TaskId,
        task: TaskBox,
        ready: bool,
    ) -> AfterPoll {
        let slot = &mut self.slab[key];
        debug_assert_eq!(slot.id, id, "a running task keeps its slot");
        let State::Running { rewoken } = slot.state else {
            unreachable!("only end_poll changes a running task's state")
        };
        if ready || slot.abort_requested {
            slot.state = State::Done;
            self.stats.tasks_finished += 1;
            AfterPoll::Done {
                task,
                aborted: !ready,
            }
        } else if rewoken {
            slot.cell = Some(task);
            slot.state = State::Ready;
            self.ready.push(key, id);
            AfterPoll::Ready
        } else {
            slot.cell = Some(task);
            slot.state = State::Waiting;
            self.waiting.push_back(&mut self.slab, key);
            AfterPoll::Waiting
        }
    }
    // ANCHOR_END: start_poll

    // ANCHOR: schedule
    /// A wake: `Waiting` → `Ready` (back of the ready queue); a `Running` task is queued again
    /// when its poll ends; a task already queued, finished, or gone is left alone. Returns whether
    /// the task was moved to the ready queue now.
    #[inline]
    pub(crate) fn schedule(&mut self, key: usize, id: TaskId) -> bool {
        let Some(slot) = self.slab.get_mut(key) else {
            return false;
        };
        if slot.id != id {
            return false;
        }
        match slot.state {
            State::Waiting => {
                slot.state = State::Ready;
                self.waiting.remove(&mut self.slab, key);
                self.ready.push(key, id);
                true
            }
            State::Running { .. } => {
                slot.state = State::Running { rewoken: true };
                false
            }
            State::Ready | State::Done => false,
        }
    }
    // ANCHOR_END: schedule

    /// Cancel a task. A queued or waiting task is finished now and its future handed back, to be
    /// dropped outside the borrow and then given to [`TaskTable::finish`]; a running task is
    /// marked, and finished when its poll ends; a finished task is left alone.
    pub(crate) fn abort(&mut self, key: usize, id: TaskId) -> Option<TaskBox> {
        let slot = self.slab.get_mut(key).filter(|s| s.id == id)?;
        match slot.state {
            State::Done => return None,
            State::Running { .. } => {
                slot.abort_requested = true;
                return None;
            }
            // Its ready-queue entry stays, and is skipped when popped.
            State::Ready => {}
            State::Waiting => self.waiting.remove(&mut self.slab, key),
        }
        let slot = &mut self.slab[key];
        slot.state = State::Done;
        self.stats.tasks_finished += 1;
        slot.cell.take()
    }

    /// A finished task's box comes back (holding its output): keep it for the JoinHandle, or free
    /// the slot if the handle was dropped. The caller wakes the joiner and drops the freed slot.
    #[inline]
    pub(crate) fn finish(&mut self, key: usize, id: TaskId, task: Option<TaskBox>) -> Released {
        let Some(slot) = self.slab.get_mut(key).filter(|s| s.id == id) else {
            return Released::NOTHING;
        };
        debug_assert_eq!(slot.state, State::Done);
        let join_waker = slot.join_waker.take();
        let spawned_at = Some(slot.spawned_at);
        slot.cell = task;
        let freed = slot.detached.then(|| self.slab.remove(key));
        Released {
            join_waker,
            freed,
            spawned_at,
        }
    }

    /// The JoinHandle was dropped: free the slot if the task is finished (its output is dropped
    /// by the caller), else mark it so that [`TaskTable::finish`] frees it.
    #[inline]
    pub(crate) fn detach(&mut self, key: usize, id: TaskId) -> Released {
        let Some(slot) = self.slab.get_mut(key).filter(|s| s.id == id) else {
            return Released::NOTHING;
        };
        let join_waker = slot.join_waker.take();
        let spawned_at = Some(slot.spawned_at);
        let freed = if slot.state == State::Done {
            Some(self.slab.remove(key))
        } else {
            slot.detached = true;
            None
        };
        Released {
            join_waker,
            freed,
            spawned_at,
        }
    }

    /// Poll a JoinHandle: the freed slot if the task is finished, else remember `waker`.
    #[inline]
    pub(crate) fn poll_join(&mut self, key: usize, id: TaskId, waker: &Waker) -> JoinPoll {
        let Some(slot) = self.slab.get_mut(key).filter(|s| s.id == id) else {
            return JoinPoll::Ready(None);
        };
        if slot.state == State::Done {
            return JoinPoll::Ready(Some(self.slab.remove(key)));
        }
        let old = match &slot.join_waker {
            Some(w) if w.will_wake(waker) => None,
            _ => slot.join_waker.replace(waker.clone()),
        };
        JoinPoll::Pending(old)
    }

    /// Whether the task has finished (a task no longer in the table has).
    pub(crate) fn is_finished(&self, key: usize, id: TaskId) -> bool {
        self.slab
            .get(key)
            .filter(|s| s.id == id)
            .is_none_or(|s| s.state == State::Done)
    }

    /// Whether the task is in the table and not finished.
    pub(crate) fn is_alive(&self, key: usize, id: TaskId) -> bool {
        self.slab
            .get(key)
            .is_some_and(|s| s.id == id && s.state != State::Done)
    }

    /// Whether the task is in the waiting list.
    pub(crate) fn is_waiting(&self, key: usize, id: TaskId) -> bool {
        self.slab
            .get(key)
            .is_some_and(|s| s.id == id && s.state == State::Waiting)
    }

    /// Note what the running task in `key` waits for; the first note of a poll wins.
    pub(crate) fn note_wait(&mut self, key: usize, wait: Wait) {
        if let Some(slot) = self.slab.get_mut(key)
            && slot.wait == Wait::Other
        {
            slot.wait = wait;
        }
    }

    /// What the task in `key` waits for, as last noted.
    pub(crate) fn wait_reason(&self, key: usize) -> WaitReason {
        self.slab
            .get(key)
            .map_or(WaitReason::Other, |s| s.wait.reason())
    }

    /// Where the task in `key` was spawned.
    pub(crate) fn spawned_at(&self, key: usize) -> Option<&'static Location<'static>> {
        self.slab.get(key).map(|s| s.spawned_at)
    }

    /// The longest the ready queue has been.
    pub(crate) fn max_ready_len(&self) -> usize {
        self.ready.max_len()
    }

    /// The two lists as they are now; `running` is the slot being polled, if any.
    pub(crate) fn snapshot(&self, running: Option<usize>) -> Snapshot {
        let running = running.and_then(|key| self.slab.get(key)).map(|s| s.id);
        let ready = self
            .ready
            .iter()
            .filter(|&(key, id)| {
                self.slab
                    .get(key)
                    .is_some_and(|s| s.id == id && s.state == State::Ready)
            })
            .map(|(_, id)| id)
            .collect();
        let waiting = self
            .waiting
            .iter(&self.slab)
            .map(|key| (self.slab[key].id, self.slab[key].wait.reason()))
            .collect();
        Snapshot {
            running,
            ready,
            waiting,
        }
    }

    /// Every task not finished, by id, with what it waits for (`None`: it is ready).
    pub(crate) fn unfinished(&self) -> Vec<(TaskId, Option<WaitReason>)> {
        let mut alive: Vec<_> = self
            .slab
            .iter()
            .filter(|(_, s)| s.state != State::Done)
            .map(|(_, s)| (s.id, (s.state == State::Waiting).then(|| s.wait.reason())))
            .collect();
        alive.sort_by_key(|(id, _)| *id);
        alive
    }

    /// Shutdown: empty both lists and the table, counting every unfinished task as finished, and
    /// hand every slot back to be dropped outside the borrow.
    pub(crate) fn drain(&mut self) -> Vec<TaskSlot> {
        self.ready.clear();
        self.waiting.clear();
        let unfinished = self
            .slab
            .iter()
            .filter(|(_, s)| s.state != State::Done)
            .count() as u64;
        self.stats.tasks_finished += unfinished;
        self.slab.drain().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;

    use super::super::cell::TaskCell;
    use super::*;

    /// A task box around a future that is ready at once with `value`.
    fn boxed(value: u32) -> TaskBox {
        Box::pin(TaskCell::new(
            std::future::ready(value),
            Waker::noop().clone(),
            TaskId(0),
        ))
    }

    fn spawn(table: &mut TaskTable) -> (usize, TaskId) {
        let (key, id) = table.reserve();
        table.insert(key, id, boxed(id.0 as u32), Location::caller());
        (key, id)
    }

    fn ids(table: &TaskTable) -> (Vec<u64>, Vec<u64>) {
        let snapshot = table.snapshot(None);
        (
            snapshot.ready.iter().map(|id| id.0).collect(),
            snapshot.waiting.iter().map(|(id, _)| id.0).collect(),
        )
    }

    /// Poll the front task with a pretend outcome.
    fn run_front(table: &mut TaskTable, ready: bool) -> Option<AfterPoll> {
        let (key, id) = table.pop_ready()?;
        let task = table.start_poll(key, id)?;
        Some(table.end_poll(key, id, task, ready))
    }

    #[test]
    fn spawned_tasks_queue_in_order_and_park_when_pending() {
        let mut table = TaskTable::default();
        spawn(&mut table);
        spawn(&mut table);
        assert_eq!(ids(&table), (vec![1, 2], vec![]));
        assert!(matches!(
            run_front(&mut table, false),
            Some(AfterPoll::Waiting)
        ));
        assert_eq!(ids(&table), (vec![2], vec![1]));
    }

    #[test]
    fn schedule_moves_a_waiting_task_once() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        run_front(&mut table, false);
        assert!(table.schedule(key, id));
        assert!(!table.schedule(key, id), "already queued");
        assert_eq!(ids(&table), (vec![1], vec![]));
        assert_eq!(table.ready_len(), 1);
    }

    #[test]
    fn a_wake_during_the_poll_requeues_after_it() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        let (k, i) = table.pop_ready().unwrap();
        let task = table.start_poll(k, i).unwrap();
        assert!(!table.schedule(key, id), "running: noted, not queued");
        assert!(!table.schedule(key, id), "noted once");
        assert!(matches!(
            table.end_poll(k, i, task, false),
            AfterPoll::Ready
        ));
        assert_eq!(table.ready_len(), 1);
    }

    #[test]
    fn a_stale_id_is_ignored_after_slot_reuse() {
        let mut table = TaskTable::default();
        let (key, old) = spawn(&mut table);
        let Some(AfterPoll::Done { task, .. }) = run_front(&mut table, true) else {
            panic!("a ready poll finishes")
        };
        let released = table.finish(key, old, Some(task));
        assert!(released.freed.is_none(), "kept for the JoinHandle");
        let released = table.detach(key, old);
        assert!(released.freed.is_some(), "detached after finishing: freed");
        let (new_key, new) = spawn(&mut table);
        assert_eq!(new_key, key, "the slot is reused");
        assert!(!table.schedule(key, old));
        assert!(table.abort(key, old).is_none());
        assert!(table.is_finished(key, old));
        assert!(!table.is_finished(key, new));
    }

    #[test]
    fn abort_finishes_a_waiting_task_and_hands_back_its_future() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        run_front(&mut table, false);
        let task = table.abort(key, id).expect("the future, to drop");
        assert_eq!(ids(&table), (vec![], vec![]));
        assert!(table.is_finished(key, id));
        assert!(!table.schedule(key, id), "a finished task is never queued");
        let _ = table.finish(key, id, Some(task));
        assert_eq!(table.stats.tasks_finished, 1);
    }

    #[test]
    fn abort_during_the_poll_finishes_after_it() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        let (k, i) = table.pop_ready().unwrap();
        let task = table.start_poll(k, i).unwrap();
        assert!(table.abort(key, id).is_none(), "running: only marked");
        assert!(matches!(
            table.end_poll(k, i, task, false),
            AfterPoll::Done { aborted: true, .. }
        ));
    }

    #[test]
    fn a_queued_abort_leaves_a_stale_entry_that_start_poll_skips() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        assert!(table.abort(key, id).is_some());
        assert_eq!(table.ready_len(), 1, "the entry stays");
        let (k, i) = table.pop_ready().unwrap();
        assert!(table.start_poll(k, i).is_none());
    }

    #[test]
    fn join_waits_then_takes_the_slot() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        assert!(matches!(
            table.poll_join(key, id, Waker::noop()),
            JoinPoll::Pending(None)
        ));
        let Some(AfterPoll::Done { mut task, .. }) = run_front(&mut table, true) else {
            panic!()
        };
        // The cell must hold the output before `finish`: poll it for real.
        assert!(task.as_mut().poll_task().is_ready());
        let released = table.finish(key, id, Some(task));
        assert!(released.join_waker.is_some(), "the joiner is woken");
        let JoinPoll::Ready(Some(mut slot)) = table.poll_join(key, id, Waker::noop()) else {
            panic!("finished")
        };
        let mut out: Option<Result<u32, super::super::cell::JoinError>> = None;
        slot.cell
            .as_mut()
            .unwrap()
            .as_mut()
            .take_output(&mut out as &mut dyn Any);
        assert_eq!(out.unwrap().unwrap(), 1);
    }

    #[test]
    fn a_detached_task_frees_its_slot_when_it_finishes() {
        let mut table = TaskTable::default();
        let (key, id) = spawn(&mut table);
        let released = table.detach(key, id);
        assert!(released.freed.is_none(), "not finished yet");
        let Some(AfterPoll::Done { task, .. }) = run_front(&mut table, true) else {
            panic!()
        };
        let released = table.finish(key, id, Some(task));
        assert!(released.freed.is_some());
        assert!(table.is_finished(key, id));
    }

    #[test]
    fn drain_empties_everything_and_counts_the_unfinished() {
        let mut table = TaskTable::default();
        spawn(&mut table);
        spawn(&mut table);
        run_front(&mut table, false);
        let slots = table.drain();
        assert_eq!(slots.len(), 2);
        assert_eq!(table.stats.tasks_finished, 2);
        assert_eq!(ids(&table), (vec![], vec![]));
        assert_eq!(table.ready_len(), 0);
    }

    /// Every task, idle or not, pays for its slot: what it waits for is stored in two words, and
    /// the whole slot in ten (an id, the boxed future, the join waker, the spawn location, the
    /// links, the state and flags).
    #[test]
    fn a_task_slot_stays_small() {
        use super::super::waiting::Wait;
        assert_eq!(std::mem::size_of::<Wait>(), 2 * std::mem::size_of::<u64>());
        assert!(std::mem::size_of::<TaskSlot>() <= 10 * std::mem::size_of::<u64>());
    }
}
