//! One tick: a single turn of the event loop.
//!
//! This is asyncio's `BaseEventLoop._run_once`, and everything the loop does happens in it.
//! `Runtime::block_on` polls its own future when woken and otherwise calls [`Core::tick`] again and
//! again. One tick, in order:
//!
//! 1. **Run the tasks that were ready when the tick began**, oldest first. A task woken during
//!    this tick (even one that wakes itself, like `yield_now`) joins the back of the queue and runs
//!    in the *next* tick, so an always-ready task cannot keep the others from running. Every
//!    `event_interval` polls, check sockets and timers without blocking, so a busy loop still
//!    notices the outside world (this is the starvation guard; tokio does the same every 61 polls).
//! 2. **Take the wakes that came from other threads** out of the shared inbox.
//! 3. **If nothing is ready, sleep** in `epoll_wait` until a socket turns ready, the nearest timer
//!    is due, or another thread wakes a task (its eventfd is in the same epoll set). Then move the
//!    tasks of due timers and ready sockets to the ready queue.
//!
//! Nothing else ever polls a task: wakers, sockets and timers only *move tasks into the ready
//! queue*, and the tick runs them. That single rule is what makes the order predictable.
//!
//! Two costs are avoided on purpose. A tick that has ready tasks left does not call `epoll_wait`
//! at all (tokio does, every other `yield_now`); and a check with no socket registered skips the
//! system call entirely, since timers and the inbox need none.

use std::time::{Duration, Instant};

use crate::runtime::Core;
use crate::task::State;
use crate::trace::{Outcome, PollResult, WakeSource};
use crate::waiting::WaitReason;

impl Core {
    // ANCHOR: tick
    /// One turn of the loop: run what was ready, take remote wakes, sleep if idle.
    pub(crate) fn tick(&self) {
        let budget = {
            let mut table = self.tasks.borrow_mut();
            table.stats.ticks += 1;
            table.ready.len()
        };
        for _ in 0..budget {
            let next = self.tasks.borrow_mut().ready.pop();
            let Some((key, id)) = next else { break };
            if self.run_task(key, id) {
                self.count_poll();
            }
        }
        self.drain_inbox();
        if self.tasks.borrow().ready.is_empty() && !self.main_woken.get() {
            self.sleep();
        }
    }
    // ANCHOR_END: tick

    // ANCHOR: count_poll
    /// Count one poll (of a task or of the `block_on` future) towards `event_interval`, and
    /// check sockets and timers without blocking when the interval is reached. Without this a
    /// future that never stops being ready would keep the loop from ever looking outside.
    pub(crate) fn count_poll(&self) {
        let polls = self.polls_since_io.get() + 1;
        self.polls_since_io.set(polls);
        if polls >= self.config.event_interval {
            self.check_outside(Some(Duration::ZERO));
        }
    }
    // ANCHOR_END: count_poll

    // ANCHOR: run_task
    /// Poll the task in slot `key` once, if the entry is still valid. Returns whether it ran.
    fn run_task(&self, key: usize, id: crate::task::TaskId) -> bool {
        if self.trace.is_some() {
            return self.run_task_traced(key, id); // chapter 12
        }
        let mut cell = {
            let mut table = self.tasks.borrow_mut();
            let Some(slot) = table.slab.get_mut(key) else {
                return false;
            };
            // A stale entry: the task was aborted while queued, and maybe its slot reused.
            if slot.id != id || slot.state != State::Queued {
                return false;
            }
            slot.state = State::Running { rewoken: false };
            slot.wait = WaitReason::Other;
            let cell = slot.cell.take().expect("a queued task has its future");
            table.stats.polls += 1;
            cell
        };
        self.current.set(Some(key));
        let poll = cell.as_mut().poll_task();
        self.current.set(None);

        let mut guard = self.tasks.borrow_mut();
        let table = &mut *guard;
        let slot = &mut table.slab[key];
        let State::Running { rewoken } = slot.state else {
            unreachable!("only the loop changes a running task's state")
        };
        if poll.is_ready() || slot.abort_requested {
            slot.state = State::Finished;
            table.stats.tasks_finished += 1;
            drop(guard);
            if poll.is_pending() {
                // Aborted during its own poll: drop the future now, outside the borrow.
                cell.as_mut().cancel();
            }
            self.finish(key, id, Some(cell));
        } else if rewoken {
            slot.cell = Some(cell);
            slot.state = State::Queued;
            table.ready.push(key, id);
        } else {
            slot.cell = Some(cell);
            slot.state = State::Waiting;
            table.waiting.push_back(&mut table.slab, key);
        }
        true
    }
    // ANCHOR_END: run_task

    // ANCHOR: run_task_traced
    /// `run_task` with tracing on: the same steps, with the clock read around the poll, the
    /// outcome recorded, and the slow-poll and lost-waker checks. Kept apart so that the
    /// untraced path above stays exactly as it was (tracing off costs one branch).
    #[cold]
    #[inline(never)]
    fn run_task_traced(&self, key: usize, id: crate::task::TaskId) -> bool {
        let trace = self.trace.as_deref().expect("called only when tracing");
        let mut cell = {
            let mut table = self.tasks.borrow_mut();
            let Some(slot) = table.slab.get_mut(key) else {
                return false;
            };
            if slot.id != id || slot.state != State::Queued {
                return false;
            }
            slot.state = State::Running { rewoken: false };
            slot.wait = WaitReason::Other;
            let cell = slot.cell.take().expect("a queued task has its future");
            table.stats.polls += 1;
            cell
        };
        // Wakes made from here on (by the poll, or by this task finishing) come from this task.
        let previous = trace.set_source(WakeSource::ThisThread(Some(id)));
        let started = trace.poll_start(id);
        self.current.set(Some(key));
        let poll = cell.as_mut().poll_task();
        self.current.set(None);

        let mut guard = self.tasks.borrow_mut();
        let table = &mut *guard;
        let slot = &mut table.slab[key];
        let State::Running { rewoken } = slot.state else {
            unreachable!("only the loop changes a running task's state")
        };
        let mut warnings = Vec::new();
        if poll.is_ready() || slot.abort_requested {
            slot.state = State::Finished;
            table.stats.tasks_finished += 1;
            drop(guard);
            let outcome = if poll.is_pending() {
                cell.as_mut().cancel();
                Outcome::Cancelled
            } else if cell.as_mut().panicked() {
                Outcome::Panicked
            } else {
                Outcome::Completed
            };
            warnings.extend(trace.poll_end(id, started, PollResult::Ready));
            trace.done(id, outcome);
            self.finish(key, id, Some(cell));
        } else if rewoken {
            slot.cell = Some(cell);
            slot.state = State::Queued;
            table.ready.push(key, id);
            drop(guard);
            warnings.extend(trace.poll_end(id, started, PollResult::Yielded));
        } else {
            slot.cell = Some(cell);
            slot.state = State::Waiting;
            let why = slot.wait.clone();
            table.waiting.push_back(&mut table.slab, key);
            drop(guard);
            warnings.extend(trace.poll_end(id, started, PollResult::Waiting(why)));
            if trace.waker_lost(id) {
                // Another thread may have woken the task and dropped its clone already: its
                // wake is then in the inbox. Take it first, and warn only if the task still waits.
                self.drain_inbox();
                let still_waiting = self
                    .tasks
                    .borrow()
                    .slab
                    .get(key)
                    .is_some_and(|s| s.id == id && s.state == State::Waiting);
                if still_waiting {
                    warnings.extend(trace.lost_waker_warning(id));
                }
            }
        }
        trace.restore_source(previous);
        for warning in &warnings {
            trace.warn(warning);
        }
        true
    }
    // ANCHOR_END: run_task_traced

    // ANCHOR: drain_inbox
    /// Move remote wakes (from other threads) into the ready queue.
    fn drain_inbox(&self) {
        let mut woken = std::mem::take(&mut *self.inbox_buffer.borrow_mut());
        self.shared.take_inbox(&mut woken);
        for (key, id) in woken.drain(..) {
            self.schedule(key, id);
        }
        *self.inbox_buffer.borrow_mut() = woken;
    }
    // ANCHOR_END: drain_inbox

    // ANCHOR: sleep
    /// Nothing is ready: block until a socket, a timer or another thread has something for us.
    fn sleep(&self) {
        let timeout = self
            .timers
            .borrow()
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if timeout != Some(Duration::ZERO) {
            self.tasks.borrow_mut().stats.sleeps += 1;
        }
        self.check_outside(timeout);
    }
    // ANCHOR_END: sleep

    // ANCHOR: check_outside
    /// Check sockets (blocking for at most `timeout`, `None` for "until something happens"),
    /// remote wakes and timers, moving every task that can now go on to the ready queue.
    fn check_outside(&self, timeout: Option<Duration>) {
        self.polls_since_io.set(0);
        // With no socket registered and no need to block, epoll has nothing to tell us: skip the
        // system call. (Remote wakes are found through the inbox flag, timers by the clock.)
        let blocking = timeout != Some(Duration::ZERO);
        if blocking || self.reactor.len() > 0 {
            // Wakes made inside `poll` are socket wakes (recorded as such when tracing).
            let _socket = self.wake_source(WakeSource::Socket);
            match self.reactor.poll(timeout) {
                Ok(outcome) => {
                    if outcome.remote_wake {
                        self.shared.clear_notified();
                    }
                }
                // epoll_wait only fails on a bad descriptor or a bad buffer: a bug, not an
                // input the program could recover from.
                Err(e) => panic!("taketurns: epoll_wait failed: {e}"),
            }
        }
        self.drain_inbox();
        self.fire_timers();
    }
    // ANCHOR_END: check_outside

    // ANCHOR: fire_timers
    /// Wake the tasks of every timer that is due now.
    fn fire_timers(&self) {
        let mut due = Vec::new();
        {
            let mut timers = self.timers.borrow_mut();
            if timers.len() == 0 {
                return;
            }
            timers.fire_due(Instant::now(), &mut due);
        }
        let _timer = self.wake_source(WakeSource::Timer); // for the trace (chapter 12)
        for waker in due {
            waker.wake();
        }
    }
    // ANCHOR_END: fire_timers

    /// While the returned guard lives, wakes are recorded as coming from `source` (when
    /// tracing; otherwise nothing happens).
    fn wake_source(&self, source: WakeSource) -> SourceGuard<'_> {
        SourceGuard {
            saved: self
                .trace
                .as_deref()
                .map(|trace| (trace, trace.set_source(source))),
        }
    }
}

/// Puts the previous wake source back when dropped.
struct SourceGuard<'a> {
    /// The recorder and what its source was, if tracing.
    saved: Option<(&'a crate::trace::Tracer, WakeSource)>,
}

impl Drop for SourceGuard<'_> {
    fn drop(&mut self) {
        if let Some((trace, previous)) = self.saved {
            trace.restore_source(previous);
        }
    }
}
