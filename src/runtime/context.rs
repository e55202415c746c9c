//! The runtime that is running on this thread right now.
//!
//! `taketurns::spawn(fut)` takes no runtime argument, so it must find "the current runtime"
//! somewhere: a thread-local set by `block_on` for as long as it runs. asyncio does the same with
//! `asyncio.get_running_loop()` (a thread-local too), and tokio with its runtime context.
//!
//! The same thread-local gives wakers their fast path: a waker whose runtime is the one running
//! on this thread pushes straight onto the ready queue ([`OnThisThread`], the one piece of the
//! waker that knows the runtime; the rest of `waker.rs` is generic over it, as tokio's task module
//! is over its `Schedule` trait). And it is how leaf futures (sockets, sleeps) note what the
//! running task waits for, and how `spawn_blocking` and the sockets find the runtime's drivers.

use std::cell::RefCell;
use std::rc::Rc;

use super::core::Core;
#[cfg(feature = "uring")]
use super::waiting::Wait;
use super::waker::{LocalWake, Shared, TaskWaker};
use crate::id::TaskId;

/// The wakers of this crate's runtime: local wakes go through this thread's context.
pub(crate) type LoopWaker = TaskWaker<OnThisThread>;

/// The thread-safe part of this crate's runtime (the inbox, the eventfd).
pub(crate) type LoopShared = Shared<OnThisThread>;

thread_local! {
    /// The runtime inside whose `block_on` this thread is, if any. Set and cleared only by
    /// [`enter`] and [`EnterGuard`]; everyone else only reads it.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Leaves the runtime (restores the previous state) when dropped, even while unwinding from a
/// panic in the `block_on` future.
pub(crate) struct EnterGuard {
    /// What was current before: `None` for `block_on`, possibly another runtime for shutdown.
    previous: Option<Rc<Core>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: the thread-local may already be gone if a runtime is dropped during
        // thread exit.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Make `core` the current runtime for `block_on`.
///
/// # Panics
/// If a runtime is already running on this thread.
pub(crate) fn enter(core: Rc<Core>) -> EnterGuard {
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        if current.is_some() {
            drop(current);
            panic!(
                "taketurns: block_on was called from inside a running taketurns runtime. \
                 Blocking here would stop every other task on this thread. \
                 Use `.await` on the future instead, or `taketurns::spawn` it."
            );
        }
        *current = Some(core);
    });
    EnterGuard { previous: None }
}

/// Make `core` current whatever was current before (used while dropping a runtime, so that
/// destructors that spawn or wake find the runtime being shut down).
pub(crate) fn enter_for_shutdown(core: Rc<Core>) -> EnterGuard {
    let previous = CURRENT
        .try_with(|c| c.borrow_mut().replace(core))
        .ok()
        .flatten();
    EnterGuard { previous }
}

/// The current runtime.
///
/// # Panics
/// Outside a runtime, with a message that says what to do; `what` names the function called.
pub(crate) fn current(what: &str) -> Rc<Core> {
    match try_current() {
        Some(core) => core,
        None => panic!(
            "taketurns: {what} must be called from inside a taketurns runtime. \
             Wrap the code in `taketurns::block_on(async {{ ... }})` or `Runtime::block_on`."
        ),
    }
}

/// The current runtime, if there is one.
pub(crate) fn try_current() -> Option<Rc<Core>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

// ANCHOR: with_runtime
/// Run `f` on the current runtime if it is the runtime numbered `runtime_id`.
/// `None` when no runtime is running on this thread, or another one is.
#[inline]
pub(crate) fn with_runtime<R>(runtime_id: u64, f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| match &*c.borrow() {
            Some(core) if core.id() == runtime_id => Some(f(core)),
            _ => None,
        })
        .ok()
        .flatten()
}
// ANCHOR_END: with_runtime

/// Run `f` on the current runtime, whichever it is; `None` outside a runtime.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Note what the running task is about to wait for: called by a leaf future that returns
/// `Pending` and holds no handle on its runtime. Does nothing outside a runtime or a task's poll.
#[cfg(feature = "uring")]
#[inline]
pub(crate) fn note_wait(wait: Wait) {
    with_current(|core| core.note_wait(wait));
}

/// A wake on the loop's thread reaches the runtime through the thread-local context.
pub(crate) struct OnThisThread;

impl LocalWake for OnThisThread {
    #[inline]
    fn wake_local(runtime_id: u64, key: usize, id: TaskId) -> bool {
        with_runtime(runtime_id, |core| core.schedule_local(key, id)).is_some()
    }
}
