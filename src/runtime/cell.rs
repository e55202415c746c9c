//! The task cell: a spawned future while it runs, then its output, in one box.
//!
//! A *task* is a future the runtime owns and polls until it finishes. The future and its output
//! are stored together in one boxed `TaskCell`, type-erased behind the small `Erased` trait, so
//! the loop can poll any kind of future and a [`crate::JoinHandle`] can later move the typed output
//! out. The cell catches a panic of the future (or of its destructor) and keeps it as the task's
//! output, a [`JoinError`]. asyncio's `Task` holds its coroutine and, once done, its result or
//! exception the same way; tokio's task cell holds a `Stage` (running, finished, consumed) too.
//!
//! Where we simplify: tokio and async-task allocate a task as one block (header, future, output,
//! waker vtable) built with `unsafe` code. We forbid `unsafe`, so a task costs two allocations: the
//! boxed cell and the `Arc` behind its waker.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::id::TaskId;

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
