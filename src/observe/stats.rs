//! What the loop can tell about itself: counters ([`Stats`]) and the two lists ([`Snapshot`]).
//!
//! Both exist so that a reader can *see* the loop work. `Stats` answers "how much": polls, wakes,
//! ticks, sleeps. `Snapshot` answers "who is where": which tasks sit in the ready queue, in order,
//! and which wait, on what. [`TaskStats`] answers "where did each task's time go": busy, scheduled,
//! idle, for a runtime built with tracing on. asyncio offers `asyncio.all_tasks()` and the debug
//! mode's slow-callback log; tokio offers `RuntimeMetrics` and tokio-console.
//!
//! The book explains these in chapter 12.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::id::TaskId;
use crate::lifecycle::{Outcome, TaskState, WaitReason};

/// Counters since the runtime was created. Cheap to read: `rt.stats()` copies them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Tasks spawned.
    pub tasks_spawned: u64,
    /// Tasks that finished: completed, panicked or were cancelled.
    pub tasks_finished: u64,
    /// Polls of spawned tasks (the `block_on` future's polls are not counted).
    pub polls: u64,
    /// Wakes made on the loop's own thread while it ran (the fast path: no lock, no system call).
    pub local_wakes: u64,
    /// Wakes from other threads, or from this thread outside `block_on` (inbox and eventfd).
    pub remote_wakes: u64,
    /// Turns of the loop (see the `tick` module).
    pub ticks: u64,
    /// Times the loop had nothing ready and blocked in `epoll_wait`.
    pub sleeps: u64,
    /// Calls to `epoll_wait`, blocking or not.
    pub io_polls: u64,
    /// Socket readiness events received from epoll.
    pub io_events: u64,
    /// Events for a socket that was dropped and whose slot now belongs to another (ignored).
    pub stale_events: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// The longest the ready queue has been.
    pub max_ready_len: usize,
    /// Timers pending right now (a gauge, not a counter): dropped timers leave at once.
    pub timers_pending: usize,
    /// Sockets registered with the reactor right now (a gauge): dropped sockets leave at once.
    pub sockets_registered: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, u64); 14] = [
            ("tasks spawned", self.tasks_spawned),
            ("tasks finished", self.tasks_finished),
            ("polls", self.polls),
            ("wakes, this thread", self.local_wakes),
            ("wakes, other threads", self.remote_wakes),
            ("loop ticks", self.ticks),
            ("times the loop slept", self.sleeps),
            ("epoll_wait calls", self.io_polls),
            ("socket events", self.io_events),
            ("stale socket events", self.stale_events),
            ("timers fired", self.timers_fired),
            ("longest ready queue", self.max_ready_len as u64),
            ("timers pending", self.timers_pending as u64),
            ("sockets registered", self.sockets_registered as u64),
        ];
        for (name, value) in rows {
            writeln!(f, "{name:>22}: {value}")?;
        }
        Ok(())
    }
}

/// The two lists at one moment: the ready queue in order, and the waiting tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The task being polled when the snapshot was taken (the one that asked for it), if any.
    pub running: Option<TaskId>,
    /// The ready queue, front (runs next) to back.
    pub ready: Vec<TaskId>,
    /// The waiting list, longest-waiting first, each with what it waits for.
    pub waiting: Vec<(TaskId, WaitReason)>,
}

impl Snapshot {
    /// The waiting tasks' ids, without reasons.
    pub fn waiting_ids(&self) -> Vec<TaskId> {
        self.waiting.iter().map(|(id, _)| *id).collect()
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = self.running {
            write!(f, "running {id} | ")?;
        }
        write!(f, "ready [")?;
        for (i, id) in self.ready.iter().enumerate() {
            write!(f, "{}{id}", if i == 0 { "" } else { " " })?;
        }
        write!(f, "] | waiting [")?;
        for (i, (id, _)) in self.waiting.iter().enumerate() {
            write!(f, "{}{id}", if i == 0 { "" } else { " " })?;
        }
        write!(f, "]")?;
        if f.alternate() {
            for (id, why) in &self.waiting {
                write!(f, "\n  {id} waits for {why}")?;
            }
        }
        Ok(())
    }
}

/// One task's totals in [`TaskStats`]: where its time went, and how often it ran and was woken.
///
/// The three times add up to the task's life so far: **busy** (being polled), **scheduled** (in
/// the ready queue: from its spawn or a wake to the next poll) and **idle** (in the waiting list).
/// tokio-console shows the same three for each task.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskStatsRow {
    /// The task.
    pub id: TaskId,
    /// Its name, or its spawn location if it has none.
    pub name: String,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is now.
    pub state: TaskState,
    /// How it ended, if it did.
    pub outcome: Option<Outcome>,
    /// Times it was polled.
    pub polls: u64,
    /// Time spent inside its `poll`.
    pub busy: Duration,
    /// Time spent in the ready queue, waiting for its turn.
    pub scheduled: Duration,
    /// Time spent in the waiting list.
    pub idle: Duration,
    /// Times one of its wakers was called while it was alive (from anywhere).
    pub wakes: u64,
    /// Of those, wakes from its own poll (`yield_now`).
    pub self_wakes: u64,
    /// Its longest single poll.
    pub longest_poll: Duration,
}

impl TaskStatsRow {
    pub(crate) fn new(id: TaskId, name: String, spawned_at: &'static Location<'static>) -> Self {
        TaskStatsRow {
            id,
            name,
            spawned_at,
            state: TaskState::Ready,
            outcome: None,
            polls: 0,
            busy: Duration::ZERO,
            scheduled: Duration::ZERO,
            idle: Duration::ZERO,
            wakes: 0,
            self_wakes: 0,
            longest_poll: Duration::ZERO,
        }
    }
}

/// Per-task totals of a traced runtime, one row per task in spawn order
/// ([`crate::Runtime::task_stats`]). `Display` prints an aligned table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// One row per task.
    rows: Vec<TaskStatsRow>,
    /// False if the runtime was built without tracing (then there are no rows).
    traced: bool,
}

impl TaskStats {
    pub(crate) fn new(rows: Vec<TaskStatsRow>, traced: bool) -> Self {
        TaskStats { rows, traced }
    }

    /// The rows, in spawn order.
    pub fn rows(&self) -> &[TaskStatsRow] {
        &self.rows
    }

    /// The first row whose task has this name.
    pub fn get(&self, name: &str) -> Option<&TaskStatsRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

/// A duration rounded for a table: `850 ns`, `12.3 µs`, `4.5 ms`, `1.25 s`.
pub(crate) fn short_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

impl fmt::Display for TaskStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.traced {
            return writeln!(
                f,
                "no task stats: this runtime was built without tracing; build it with \
                 Runtime::builder().trace(true).build()"
            );
        }
        let header = [
            "task",
            "name",
            "state",
            "polls",
            "busy",
            "scheduled",
            "idle",
            "wakes",
            "self",
            "longest",
        ];
        let cells: Vec<[String; 10]> = self
            .rows
            .iter()
            .map(|r| {
                let state = match (r.state, r.outcome) {
                    (_, Some(Outcome::Panicked)) => "panicked",
                    (_, Some(Outcome::Cancelled)) => "cancelled",
                    (TaskState::Done, _) => "done",
                    (TaskState::Waiting, _) => "waiting",
                    (TaskState::Ready, _) => "ready",
                    (TaskState::Running, _) => "running",
                };
                [
                    r.id.to_string(),
                    r.name.clone(),
                    state.to_string(),
                    r.polls.to_string(),
                    short_duration(r.busy),
                    short_duration(r.scheduled),
                    short_duration(r.idle),
                    r.wakes.to_string(),
                    r.self_wakes.to_string(),
                    short_duration(r.longest_poll),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // Text columns (id, name, state) align left, numbers right.
        let line = |f: &mut fmt::Formatter<'_>, row: &[&str]| -> fmt::Result {
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                let sep = if i == 0 { "" } else { "  " };
                let pad = w.saturating_sub(cell.chars().count());
                if i < 3 {
                    write!(f, "{sep}{cell}{:pad$}", "")?;
                } else {
                    write!(f, "{sep}{:pad$}{cell}", "")?;
                }
            }
            writeln!(f)
        };
        line(f, &header)?;
        for row in &cells {
            let row: Vec<&str> = row.iter().map(String::as_str).collect();
            line(f, &row)?;
        }
        Ok(())
    }
}
