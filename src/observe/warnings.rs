//! Warnings: mistakes the loop can see for itself, and says out loud.
//!
//! - **Slow poll.** A poll that keeps the thread longer than a threshold (10 ms by default,
//!   `Builder::slow_poll_threshold`): for that long, no other task, socket or timer was served.
//!   asyncio's debug mode logs "Executing <Task …> took 0.250 seconds" past its
//!   `slow_callback_duration` (100 ms).
//! - **Lost waker.** A task returned `Pending` and no clone of its waker is alive anywhere: no
//!   socket, timer, channel or thread can ever wake it. (A hand-written future that returns
//!   `Pending` without storing `cx.waker()` is the usual cause.) Neither asyncio nor tokio checks
//!   this; tokio-console shows such a task as idle for ever, and asyncio cannot lose a wake-up in
//!   the same way because a coroutine can only suspend on a future that holds its callback.
//! - **Pending at shutdown.** The runtime was dropped while tasks were still waiting or ready:
//!   their futures are dropped unfinished. asyncio logs "Task was destroyed but it is pending!".
//! - **Destructor panicked.** A `Drop` impl panicked while the loop dropped a task's future or
//!   output and no JoinHandle could carry the panic (the task was detached, or its future had
//!   already completed). The loop catches it, as tokio's task harness does, and goes on. This one
//!   is sent with tracing on or off.
//!
//! The first three are checked while tracing is on (`Builder::trace(true)`), which is what times the
//! polls and keeps a reference to each waker. Each goes to `Builder::on_warning`'s callback, or is
//! printed to stderr. The check is exact in one direction only: a waker clone that the task keeps
//! inside its own future is counted as alive, though nobody else can use it.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::event::TaskInfo;
use crate::lifecycle::WaitReason;

/// The function warnings go to (`Builder::on_warning`).
pub(crate) type WarningSink = Rc<dyn Fn(&Warning)>;

// ANCHOR: report
/// Report `warning`: to `sink` if the program gave one, else to stderr. The one place every
/// warning goes through, whoever noticed it (the recorder, or the runtime's core for a
/// destructor that panicked). Call with no borrow held: the sink is the program's code.
pub(crate) fn report(sink: Option<&WarningSink>, warning: &Warning) {
    match sink {
        Some(sink) => sink(warning),
        None => eprintln!("{warning}"),
    }
}
// ANCHOR_END: report

/// Something the loop noticed about one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The task: id, name, where it was spawned.
    pub task: TaskInfo,
    /// What the loop noticed.
    pub kind: WarningKind,
}

/// The warnings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// One poll kept the thread for `took`, longer than `threshold`.
    SlowPoll {
        /// How long the poll took.
        took: Duration,
        /// The configured threshold.
        threshold: Duration,
    },
    /// The task returned `Pending` and no clone of its waker is alive.
    LostWaker,
    /// The runtime was dropped while the task had not finished.
    PendingAtShutdown {
        /// What it was waiting for, or `None` if it was in the ready queue.
        waiting_for: Option<WaitReason>,
    },
    /// A destructor panicked while the loop dropped the task's future or output, and no
    /// JoinHandle was there to report it. The loop caught the panic and went on. Sent whether or
    /// not tracing is on.
    DestructorPanicked {
        /// What was being dropped.
        what: Dropped,
        /// The panic's message, if it had one.
        message: Option<String>,
    },
}

/// What the loop was dropping when a destructor panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// The task's future: it completed, or was aborted, or the runtime shut down.
    Future,
    /// The task's output, which nobody took (the JoinHandle was dropped).
    Output,
}

impl Warning {
    /// A short name for the kind: `"slow poll"`, `"lost waker"` or `"pending at shutdown"`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            WarningKind::SlowPoll { .. } => "slow poll",
            WarningKind::LostWaker => "lost waker",
            WarningKind::PendingAtShutdown { .. } => "pending at shutdown",
            WarningKind::DestructorPanicked { .. } => "destructor panicked",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TaskInfo {
            id,
            name,
            spawned_at,
        } = &self.task;
        write!(
            f,
            "taketurns warning: {}: task {id} \"{name}\" (spawned at {spawned_at}) ",
            self.name()
        )?;
        match &self.kind {
            WarningKind::SlowPoll { took, threshold } => write!(
                f,
                "kept the thread for {took:.1?} in one poll (threshold {threshold:?}); nothing \
                 else ran meanwhile. Move blocking or CPU-heavy work to a thread, or yield."
            ),
            WarningKind::LostWaker => write!(
                f,
                "returned Pending and no clone of its waker is alive: nothing can ever wake it \
                 again. A future that returns Pending must first store cx.waker() where the \
                 event it waits for will call it."
            ),
            WarningKind::DestructorPanicked { what, message } => {
                let what = match what {
                    Dropped::Future => "its future",
                    Dropped::Output => "its output, which nobody took",
                };
                let message = message.as_deref().unwrap_or("(no message)");
                write!(
                    f,
                    "a destructor panicked while the loop dropped {what}: {message}. The loop \
                     caught it and went on; make that Drop impl not panic."
                )
            }
            WarningKind::PendingAtShutdown { waiting_for } => match waiting_for {
                Some(WaitReason::Timer { deadline }) => write!(
                    f,
                    "was still waiting for a timer (due in {:.1} s) when the runtime was \
                     dropped; its future is dropped unfinished. Await its JoinHandle (or abort \
                     it) before the end.",
                    deadline
                        .saturating_duration_since(std::time::Instant::now())
                        .as_secs_f64()
                ),
                Some(why) => write!(
                    f,
                    "was still waiting for {why} when the runtime was dropped; its future is \
                     dropped unfinished. Await its JoinHandle (or abort it) before the end."
                ),
                None => write!(
                    f,
                    "was still in the ready queue when the runtime was dropped; its future is \
                     dropped unfinished. Await its JoinHandle (or abort it) before the end."
                ),
            },
        }
    }
}
