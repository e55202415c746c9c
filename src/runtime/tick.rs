//! One tick: a single turn of the event loop.
//!
//! This is asyncio's `BaseEventLoop._run_once`, and everything the loop does happens in it.
//! `Runtime::block_on` polls its own future when woken and otherwise calls [`Core::tick`] again and
//! again. The core's state and its other operations are in `core.rs`; this file is the loop's
//! turn, another `impl Core`. One tick, in order:
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

use std::task::Poll;

use super::cell::PanicPayload;
use super::core::{Core, message_of};
use super::task_table::{AfterPoll, TaskBox};
use crate::id::TaskId;
use crate::lifecycle::Outcome;
use crate::observe::trace::{LoopEventKind, PollResult, Tracer, WakeSource};
use crate::observe::warnings::Dropped;
use crate::observe::warnings::Warning;

impl Core {
    // ANCHOR: tick
    /// One turn of the loop: run what was ready, take remote wakes, wait for events if idle.
    pub(super) fn tick(&self) {
        let (tick, due) = {
            let mut table = self.tasks.borrow_mut();
            table.stats.ticks += 1;
            (table.stats.ticks, table.ready_len())
        };
        if let Some(trace) = self.trace.as_deref() {
            trace_loop(trace, LoopEventKind::TickStart { tick, ready: due });
        }
        for _ in 0..due {
            let next = self.tasks.borrow_mut().pop_ready();
            let Some((key, id)) = next else { break };
            if self.run_task(key, id) {
                self.count_poll();
            }
        }
        self.drain_inbox();
        if self.tasks.borrow().ready_is_empty() && !self.main_woken.get() {
            self.wait_for_events();
        }
        if let Some(trace) = self.trace.as_deref() {
            trace_loop(trace, LoopEventKind::TickEnd);
        }
    }
    // ANCHOR_END: tick

    // ANCHOR: count_poll
    /// Count one poll (of a task or of the `block_on` future) towards `event_interval`, and
    /// check sockets and timers without blocking when the interval is reached. Without this a
    /// future that never stops being ready would keep the loop from ever looking outside.
    pub(super) fn count_poll(&self) {
        let polls = self.polls_since_io.get() + 1;
        self.polls_since_io.set(polls);
        if polls >= self.config.event_interval {
            self.poll_events(Some(Duration::ZERO));
        }
    }
    // ANCHOR_END: count_poll

    // ANCHOR: run_task
    /// Poll the task in slot `key` once, if the entry is still valid. Returns whether it ran.
    fn run_task(&self, key: usize, id: TaskId) -> bool {
        let Some(mut task) = self.tasks.borrow_mut().start_poll(key, id) else {
            // A stale entry: the task was aborted while queued, and maybe its slot reused.
            return false;
        };
        let traced = self.trace.as_deref().map(|trace| poll_started(trace, id));
        self.current.set(Some(key));
        debug_assert!(self.unborrowed(), "a task is polled with no borrow held");
        let polled = task.as_mut().poll_task();
        self.current.set(None);
        let ready = polled.is_ready();
        let after = self.tasks.borrow_mut().end_poll(key, id, task, ready);
        match after {
            AfterPoll::Done { task, aborted } => {
                self.finish_polled(key, id, task, aborted, traced);
                if let Poll::Ready(Some(payload)) = polled {
                    self.warn_destructor_by_key(key, id, &payload);
                }
            }
            AfterPoll::Ready | AfterPoll::Waiting => {
                if let Some(started) = traced {
                    self.poll_traced(key, id, started, None);
                }
            }
        }
        true
    }
    // ANCHOR_END: run_task

    /// The poll finished the task: drop the future if it was aborted during the poll, tell the
    /// trace how it ended, and finish the task (wake its joiner, or free its slot).
    fn finish_polled(
        &self,
        key: usize,
        id: TaskId,
        mut task: TaskBox,
        aborted: bool,
        traced: Option<Started>,
    ) {
        debug_assert!(
            self.unborrowed(),
            "a future's destructor runs with no borrow held"
        );
        let cancel_panic = if aborted {
            task.as_mut().cancel()
        } else {
            None
        };
        let previous = traced.as_ref().map(|started| started.previous);
        if let Some(started) = traced {
            let outcome = if aborted {
                Outcome::Cancelled
            } else if task.as_mut().panicked() {
                Outcome::Panicked
            } else {
                Outcome::Completed
            };
            self.poll_traced(key, id, started, Some(outcome));
        }
        let released = self.tasks.borrow_mut().finish(key, id, Some(task));
        let spawned_at = released.spawned_at;
        // Wakes the JoinHandle's awaiter: a wake by this task, so the trace's source is still it.
        let detached = self.release(id, released);
        if let (Some(trace), Some(previous)) = (self.trace.as_deref(), previous) {
            trace.restore_source(previous);
        }
        if let (Some(message), true) = (cancel_panic, detached) {
            self.warn_destructor(id, spawned_at, Dropped::Future, message);
        }
    }

    /// The future completed, then panicked while it was dropped: the output is kept, and the
    /// panic is reported as a warning.
    #[cold]
    #[inline(never)]
    fn warn_destructor_by_key(&self, key: usize, id: TaskId, payload: &PanicPayload) {
        let spawned_at = self.tasks.borrow().spawned_at(key);
        self.warn_destructor(id, spawned_at, Dropped::Future, message_of(payload));
    }

    // ANCHOR: poll_traced
    /// With tracing on: record the poll's outcome (`finished`: how the task ended, if it did),
    /// and check for a slow poll and a lost waker. A task that did not finish stops being the
    /// source of wakes here; one that finished stays it until its JoinHandle's awaiter is woken.
    #[cold]
    #[inline(never)]
    fn poll_traced(&self, key: usize, id: TaskId, started: Started, finished: Option<Outcome>) {
        let trace = self.trace.as_deref().expect("called only when tracing");
        let result = match finished {
            Some(_) => PollResult::Done,
            None if self.tasks.borrow().is_waiting(key, id) => {
                PollResult::Waiting(self.tasks.borrow().wait_reason(key))
            }
            None => PollResult::Ready,
        };
        let waiting = matches!(result, PollResult::Waiting(_));
        let mut warnings: Vec<Warning> =
            trace.poll_end(id, started.at, result).into_iter().collect();
        if let Some(outcome) = finished {
            trace.done(id, outcome);
        }
        // A remote wake waiting in the inbox holds a clone of the waker, so it counts as alive:
        // the check needs no look into the inbox, and the schedule is the same traced or not.
        if waiting && trace.waker_lost(id) {
            warnings.extend(trace.lost_waker_warning(id));
        }
        if finished.is_none() {
            trace.restore_source(started.previous);
        }
        for warning in &warnings {
            trace.warn(warning);
        }
    }
    // ANCHOR_END: poll_traced

    // ANCHOR: drain_inbox
    /// Move remote wakes (from other threads) into the ready queue.
    fn drain_inbox(&self) {
        if !self.shared.has_remote_wakes() {
            return;
        }
        let mut woken = std::mem::take(&mut *self.inbox_buffer.borrow_mut());
        self.shared.take_inbox(&mut woken);
        for task in woken.drain(..) {
            self.schedule(task.key, task.id, true);
        }
        *self.inbox_buffer.borrow_mut() = woken;
    }
    // ANCHOR_END: drain_inbox

    // ANCHOR: wait_for_events
    /// Nothing is ready: block until a socket, a timer or another thread has something for us.
    fn wait_for_events(&self) {
        let timeout = self
            .timers
            .borrow()
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if timeout != Some(Duration::ZERO) {
            self.tasks.borrow_mut().stats.sleeps += 1;
        }
        self.poll_events(timeout);
    }
    // ANCHOR_END: wait_for_events

    // ANCHOR: poll_events
    /// Check sockets (blocking for at most `timeout`, `None` for "until something happens"),
    /// remote wakes and timers, moving every task that can now go on to the ready queue.
    fn poll_events(&self, timeout: Option<Duration>) {
        self.polls_since_io.set(0);
        #[cfg(feature = "uring")]
        if self.poll_ring(timeout) {
            return; // a runtime on io_uring waits in its ring instead (chapter 15)
        }
        // With no socket registered and no need to block, epoll has nothing to tell us: skip the
        // system call. (Remote wakes are found through the inbox flag, timers by the clock.)
        let blocking = timeout != Some(Duration::ZERO);
        let check = blocking || self.reactor.len() > 0;
        let events_before = self
            .trace
            .as_deref()
            .map(|trace| self.trace_events_check(trace, timeout, !check));
        if check {
            // Wakes made inside `poll` are socket wakes (recorded as such when tracing).
            let _socket = self.wake_source(WakeSource::Socket);
            debug_assert!(
                self.unborrowed(),
                "the reactor calls wakers with no borrow held"
            );
            match self.reactor.poll(timeout) {
                Ok(outcome) => {
                    if outcome.remote_wake {
                        self.shared.clear_notified();
                    }
                    if let (Some(trace), Some(before)) = (self.trace.as_deref(), events_before) {
                        self.trace_events_returned(trace, before, outcome.remote_wake);
                    }
                }
                // epoll_wait only fails on a bad descriptor or a bad buffer: a bug, not an
                // input the program could recover from.
                Err(e) => panic!("taketurns: epoll_wait failed: {e}"),
            }
        } else if let Some(trace) = self.trace.as_deref() {
            trace_loop(
                trace,
                LoopEventKind::EventsReturned {
                    sockets: 0,
                    remote: false,
                },
            );
        }
        self.drain_inbox();
        self.fire_timers();
    }
    // ANCHOR_END: poll_events

    // ANCHOR: poll_ring
    /// `poll_events` on a runtime built with `Builder::io_uring(true)`: submit the operations
    /// queued since the last call and (unless `timeout` is zero) wait in `io_uring_enter` for the
    /// first completion or the timeout; the driver wakes the task of each completion. When the
    /// ring's poll on the epoll descriptor completed, ask epoll without blocking (a remote wake
    /// or a readiness socket is there) and queue that poll again. Then remote wakes and timers,
    /// as after `epoll_wait`.
    /// Returns `false`, having done nothing, on a runtime that waits on epoll.
    #[cfg(feature = "uring")]
    fn poll_ring(&self, timeout: Option<Duration>) -> bool {
        let Some(ring) = self.uring.as_deref() else {
            return false;
        };
        if let Some(trace) = self.trace.as_deref() {
            trace_loop(
                trace,
                LoopEventKind::EventsCheck {
                    timeout,
                    skipped: false,
                },
            );
        }
        let _socket = self.wake_source(WakeSource::Socket);
        debug_assert!(
            self.unborrowed(),
            "the ring wakes tasks with no borrow held"
        );
        let outcome = match ring.poll(timeout) {
            Ok(outcome) => outcome,
            // io_uring_enter fails only on a bad descriptor or bad arguments: a bug.
            Err(e) => panic!("taketurns: io_uring_enter failed: {e}"),
        };
        let mut remote = false;
        if outcome.epoll_ready {
            match self.reactor.poll(Some(Duration::ZERO)) {
                Ok(polled) => remote = polled.remote_wake,
                Err(e) => panic!("taketurns: epoll_wait failed: {e}"),
            }
            if remote {
                self.shared.clear_notified();
            }
            ring.rearm_epoll();
        }
        if let Some(trace) = self.trace.as_deref() {
            trace_loop(
                trace,
                LoopEventKind::EventsReturned {
                    sockets: outcome.completions,
                    remote,
                },
            );
        }
        self.drain_inbox();
        self.fire_timers();
        true
    }
    // ANCHOR_END: poll_ring

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
        if let Some(trace) = self.trace.as_deref()
            && !due.is_empty()
        {
            let count = due.len();
            trace_loop(trace, LoopEventKind::TimersFired { count });
        }
        let _timer = self.wake_source(WakeSource::Timer);
        debug_assert!(self.unborrowed(), "wakers are called with no borrow held");
        for waker in due {
            waker.wake();
        }
    }
    // ANCHOR_END: fire_timers

    /// With tracing on: record that the loop is about to check for events; returns the socket
    /// events counted so far, so that what this check returns can be counted after it.
    #[cold]
    #[inline(never)]
    fn trace_events_check(&self, trace: &Tracer, timeout: Option<Duration>, skipped: bool) -> u64 {
        trace_loop(trace, LoopEventKind::EventsCheck { timeout, skipped });
        self.reactor.counters.get().events
    }

    /// With tracing on: record what `epoll_wait` returned (the socket events counted since
    /// `before`, and whether another thread's wake fired the eventfd).
    #[cold]
    #[inline(never)]
    fn trace_events_returned(&self, trace: &Tracer, before: u64, remote: bool) {
        let sockets = self.reactor.counters.get().events.saturating_sub(before) as usize;
        trace_loop(trace, LoopEventKind::EventsReturned { sockets, remote });
    }

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
    saved: Option<(&'a Tracer, WakeSource)>,
}

impl Drop for SourceGuard<'_> {
    fn drop(&mut self) {
        if let Some((trace, previous)) = self.saved {
            trace.restore_source(previous);
        }
    }
}

/// What the trace needs to remember across a poll.
struct Started {
    /// When the poll started.
    at: Duration,
    /// The wake source before the poll, put back after it.
    previous: WakeSource,
}

/// Record what the loop did (out of line, so the untraced path pays only for the `if let`).
#[cold]
#[inline(never)]
fn trace_loop(trace: &Tracer, kind: LoopEventKind) {
    trace.loop_event(kind);
}

/// Mark the start of a poll in the trace: wakes made from here on (by the poll, or by this task
/// finishing) come from this task.
#[cold]
#[inline(never)]
fn poll_started(trace: &Tracer, id: TaskId) -> Started {
    let previous = trace.set_source(WakeSource::ThisThread(Some(id)));
    let at = trace.poll_start(id);
    Started { at, previous }
}
