//! What the loop can tell about itself: counters ([`Stats`]) and the two lists ([`Snapshot`]).
//!
//! Both exist so that a reader can *see* the loop work. `Stats` answers "how much": polls, wakes,
//! ticks, sleeps. `Snapshot` answers "who is where": which tasks sit in the ready queue, in order,
//! and which wait, on what. asyncio offers `asyncio.all_tasks()` and the debug mode's slow-callback
//! log; tokio offers `RuntimeMetrics` and tokio-console.

use std::fmt;

use crate::task::TaskId;
use crate::waiting::WaitReason;

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
