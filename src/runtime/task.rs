//! Tasks as a program sees them: the [`JoinHandle`] that awaits a task's output, the
//! [`JoinError`] it gives when there is none, and the [`Builder`] that names a task.
//!
//! A *task* is a future the runtime owns and polls until it finishes: asyncio's `asyncio.Task`
//! (made by `create_task`), what `tokio::spawn` creates. Each lives in one slot of the task table,
//! whose key stays stable while it runs, and has a [`TaskId`] that is never reused. Deliberately
//! left out: task-local storage, cooperative budgets (tokio's "coop budget"), and priorities.
//!
//! The book explains tasks in chapter 5.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

pub use super::cell::JoinError;
use super::context;
use super::core::Core;
pub use crate::id::TaskId;

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
        spawn(
            &context::current("taketurns::task::Builder::spawn"),
            future,
            self.name,
        )
    }

    /// Spawn the task on `runtime` from outside it (it runs at the next `block_on`).
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, runtime: &super::Runtime) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        spawn(runtime.core(), future, self.name)
    }
}
// ANCHOR_END: builder

/// Spawn `future` on `core` as a task named `name` (if any) and hand back its handle: what
/// [`crate::spawn`], [`Builder::spawn`] and `Runtime::spawn` all do.
#[track_caller]
pub(crate) fn spawn<F>(
    core: &Rc<Core>,
    future: F,
    name: Option<Cow<'static, str>>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let (key, id) = core.spawn(future, name);
    JoinHandle::new(core, key, id)
}

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
    fn new(core: &Rc<Core>, key: usize, id: TaskId) -> Self {
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
