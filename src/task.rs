//! Tasks: a spawned future, its slot in the task table, and the handle that awaits its output.
//!
//! A *task* is a future the runtime owns and polls until it finishes. In asyncio the same idea is
//! `asyncio.Task` (made by `create_task`); in tokio it is what `tokio::spawn` creates. Each task lives
//! in one slot of a [`slab::Slab`], so its key stays stable while it runs, and a [`TaskId`] that is
//! never reused tells a live task apart from an old one that happened to have the same key.
//!
//! The future and its output are stored together in one boxed `TaskCell`, type-erased behind the
//! small `Erased` trait, so the runtime can poll any kind of future and the [`JoinHandle`] can
//! later move the typed output out. A [`Builder`] spawns a task with a name, for the trace.
//! Deliberately left out: task-local storage, cooperative budgets (tokio's "coop"), and
//! priorities.
//!
//! Where we simplify: tokio and async-task allocate a task as one block (header, future, output,
//! waker vtable) built with `unsafe` code. We forbid `unsafe`, so a task costs two allocations: the
//! boxed cell and the `Arc` behind its waker.
//!
//! The book explains tasks in chapter 5.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::runtime::Core;
use crate::waiting::{Links, Wait};

/// The identity of a task: unique for the life of a runtime, never reused.
///
/// Slab keys are reused as soon as a task finishes; ids are not. A waker carries both, so a wake
/// meant for a finished task can never reach the new task that took over its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number (1 for the first task a runtime spawns, then 2, 3, …).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

// ANCHOR: state
/// Where a task is in its life. Exactly one of these holds at any moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// In the ready queue, waiting for its turn.
    Queued,
    /// Being polled right now. `rewoken` records a wake that arrived during this very poll
    /// (for example from `yield_now`): the loop queues the task again once the poll returns.
    Running { rewoken: bool },
    /// In the waiting list: it returned `Pending` and nobody has woken it since.
    Waiting,
    /// Its future completed, panicked or was cancelled; only the output (if any) remains.
    Finished,
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
    pub(crate) cell: Option<Pin<Box<dyn Erased>>>,
    /// Queued, running, waiting or finished. Owned by the loop; wakes and aborts change it.
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

/// A panic's payload, as `catch_unwind` returns it.
pub(crate) type PanicPayload = Box<dyn Any + Send + 'static>;

/// What the runtime needs from a task's cell, whatever the future's type.
pub(crate) trait Erased {
    /// Poll the future once with the task's own waker. `Ready` means the cell now holds an output.
    /// A panic inside the future is caught here and stored as the task's output. `Ready(Some(_))`:
    /// the future completed, then panicked while it was dropped; the output is kept and the
    /// payload handed back to be reported.
    fn poll_task(self: Pin<&mut Self>) -> Poll<Option<PanicPayload>>;
    /// Drop the future (running its destructors) and store "cancelled" as the output, or the
    /// panic of a destructor that panicked. `Some(message)` if one did (the message, if the
    /// panic had one).
    fn cancel(self: Pin<&mut Self>) -> Option<Option<String>>;
    /// Move the output into `out`, which must be an `Option<Result<T, JoinError>>` of the
    /// future's output type `T` (the JoinHandle knows `T`; the runtime does not).
    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any);
    /// True if the task finished by panicking (for the trace).
    fn panicked(self: Pin<&mut Self>) -> bool;
}

pin_project! {
    /// A future while it runs, then its output.
    #[project = StageProj]
    enum Stage<F: Future> {
        Running { #[pin] future: F },
        Finished { output: Option<Result<F::Output, JoinError>> },
    }
}

pin_project! {
    /// The boxed part of a task: its waker and its future or output.
    pub(crate) struct TaskCell<F: Future> {
        // The task's waker, made once at spawn; every poll lends it to the future.
        waker: Waker,
        // Which task this is, for the JoinError of a panic or a cancellation.
        id: TaskId,
        #[pin]
        stage: Stage<F>,
    }
}

impl<F: Future> TaskCell<F> {
    /// A new cell holding `future`, to be polled with `waker`.
    pub(crate) fn new(future: F, waker: Waker, id: TaskId) -> Self {
        TaskCell {
            waker,
            id,
            stage: Stage::Running { future },
        }
    }
}

impl<F: Future + 'static> Erased for TaskCell<F> {
    // ANCHOR: poll_task
    fn poll_task(self: Pin<&mut Self>) -> Poll<Option<PanicPayload>> {
        let mut this = self.project();
        let mut cx = Context::from_waker(this.waker);
        let result = match this.stage.as_mut().project() {
            StageProj::Running { future } => {
                catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx)))
            }
            StageProj::Finished { .. } => return Poll::Ready(None),
        };
        let output = match result {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(JoinError::panic(*this.id, payload)),
        };
        // Replacing the stage drops the future. If a destructor panics in turn, the first outcome
        // stays the task's output (assignment stores the new value even when the old value's
        // destructor panics), and the second panic goes back to be reported.
        let mut stage = this.stage;
        let dropped = catch_unwind(AssertUnwindSafe(move || {
            stage.set(Stage::Finished {
                output: Some(output),
            })
        }));
        Poll::Ready(dropped.err())
    }
    // ANCHOR_END: poll_task

    fn cancel(self: Pin<&mut Self>) -> Option<Option<String>> {
        let mut this = self.project();
        if let StageProj::Running { .. } = this.stage.as_mut().project() {
            let id = *this.id;
            let mut stage = this.stage;
            // Dropping the future runs its destructors, which may panic. The panic must stay in
            // the task (reported by its JoinHandle, as tokio does), not unwind through the loop
            // or through whoever called `abort`. (Assignment stores the new value even when the
            // old value's destructor panics, so `stage` is `Finished` either way.)
            let dropped = catch_unwind(AssertUnwindSafe(|| {
                stage.as_mut().set(Stage::Finished {
                    output: Some(Err(JoinError::cancelled(id))),
                })
            }));
            if let Err(payload) = dropped {
                let message = panic_message(payload.as_ref()).map(str::to_owned);
                stage.set(Stage::Finished {
                    output: Some(Err(JoinError::panic(id, payload))),
                });
                return Some(message);
            }
        }
        None
    }

    fn panicked(self: Pin<&mut Self>) -> bool {
        matches!(
            self.project().stage.project(),
            StageProj::Finished { output: Some(Err(e)) } if e.is_panic()
        )
    }

    fn take_output(self: Pin<&mut Self>, out: &mut dyn Any) {
        if let (StageProj::Finished { output }, Some(out)) = (
            self.project().stage.project(),
            out.downcast_mut::<Option<Result<F::Output, JoinError>>>(),
        ) {
            *out = output.take();
        }
    }
}

// ANCHOR: builder
/// Spawn a task with options: for now, a name.
///
/// ```
/// let rt = taketurns::Runtime::builder().trace(true).build()?;
/// rt.block_on(async {
///     let chicken = taketurns::task::Builder::new()
///         .name("chicken")
///         .spawn(async { "roasted" });
///     assert_eq!(chicken.await.unwrap(), "roasted");
/// });
/// assert_eq!(rt.task_stats().rows()[0].name, "chicken");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The name shows in the timeline, the per-task stats and the warnings of a runtime built with
/// tracing on; without tracing it is dropped unread. A task spawned without a name (by
/// `taketurns::spawn` or this builder) is known by where it was spawned, `src/main.rs:12:9`,
/// found through `#[track_caller]`. tokio has the same builder (`tokio::task::Builder`, unstable);
/// asyncio takes `asyncio.create_task(coro, name="chicken")`.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    /// The name to give, if any. `Cow` so that a literal name costs no allocation.
    name: Option<Cow<'static, str>>,
}

impl Builder {
    /// No options: an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Name the task.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawn the task on the current runtime (as [`crate::spawn`] does).
    ///
    /// # Panics
    /// Outside a runtime; use [`Builder::spawn_on`] there.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        crate::context::current("taketurns::task::Builder::spawn").spawn_named(future, self.name)
    }

    /// Spawn the task on `runtime` from outside it (it runs at the next `block_on`).
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, runtime: &crate::Runtime) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        runtime.core().spawn_named(future, self.name)
    }
}
// ANCHOR_END: builder

/// Awaits a spawned task's output, like tokio's `JoinHandle` or an awaited `asyncio.Task`.
///
/// `handle.await` gives `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled
/// (by [`abort`](JoinHandle::abort), or because the runtime was dropped first).
///
/// Dropping a JoinHandle *detaches* the task: it keeps running and its output is dropped when it
/// finishes, as in tokio. (asyncio differs: a task with no reference left may be garbage
/// collected mid-flight, which is why its docs tell you to keep one.)
pub struct JoinHandle<T> {
    /// The runtime that owns the task. Weak, because tasks may hold JoinHandles of other tasks:
    /// a strong reference would make a cycle runtime → task → handle → runtime.
    core: Weak<Core>,
    /// The task's slot in the task table.
    key: usize,
    /// The task's id, to check that the slot still holds this task.
    id: TaskId,
    /// The output has been taken; the slot is no longer ours.
    done: bool,
    /// The output type; `fn() -> T` keeps the handle free of `T`'s auto traits.
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(core: &Rc<Core>, key: usize, id: TaskId) -> Self {
        JoinHandle {
            core: Rc::downgrade(core),
            key,
            id,
            done: false,
            _output: PhantomData,
        }
    }

    /// The id of the task this handle awaits.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Cancel the task: its future is dropped (now, or right after its current poll if it is
    /// running) and awaiting this handle gives a [`JoinError`] for which `is_cancelled()` is true.
    /// Aborting a finished task does nothing; its output is kept.
    pub fn abort(&self) {
        if self.done {
            return;
        }
        if let Some(core) = self.core.upgrade() {
            core.abort(self.key, self.id);
        }
    }

    /// True once the task has finished: completed, panicked or been cancelled.
    /// (A runtime that has been dropped counts as finished: its tasks were cancelled.)
    pub fn is_finished(&self) -> bool {
        if self.done {
            return true;
        }
        match self.core.upgrade() {
            Some(core) => core.is_finished(self.key, self.id),
            None => true,
        }
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.done,
            "JoinHandle polled again after it returned its output"
        );
        let Some(core) = self.core.upgrade() else {
            self.done = true;
            return Poll::Ready(Err(JoinError::cancelled(self.id)));
        };
        let mut out: Option<Result<T, JoinError>> = None;
        match core.poll_join(self.key, self.id, cx.waker(), &mut out) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.done = true;
                // A cell lost to a panicking destructor leaves no output: report it as cancelled.
                Poll::Ready(out.unwrap_or(Err(JoinError::cancelled(self.id))))
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if !self.done
            && let Some(core) = self.core.upgrade()
        {
            core.detach(self.key, self.id);
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Why a task gave no output: it panicked, or it was cancelled.
pub struct JoinError {
    /// The task that failed.
    id: TaskId,
    /// What happened to it.
    repr: Repr,
}

/// The two ways a task can fail to produce its output.
enum Repr {
    /// Aborted, or dropped when the runtime shut down.
    Cancelled,
    /// Its future panicked; this is the panic payload, as `std::thread::JoinHandle` returns it.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    pub(crate) fn cancelled(id: TaskId) -> Self {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            id,
            repr: Repr::Panic(payload),
        }
    }

    /// The task was cancelled: aborted, or dropped with its runtime.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload, to inspect it or to resume the panic with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking; use [`try_into_panic`](Self::try_into_panic)
    /// to find out without panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => panic!("JoinError::into_panic called on a task that did not panic: {err}"),
        }
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }
}

/// The message of a panic payload, when it is a string (as `panic!("…")` makes it).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "task {} panicked: {msg}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "JoinError::Panic({}, {msg:?})", self.id),
                None => write!(f, "JoinError::Panic({}, ..)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}
