//! Threads instead of an event loop: one OS thread per task, or a fixed pool of them.
//!
//! The idea: give every task its own OS thread and let it block. A blocking `read` parks only
//! that thread, and the kernel's scheduler runs whichever threads are runnable, switching between
//! them whenever it likes (preemptive multitasking). There is no ready list and no waiting list in
//! our code; the kernel keeps both. The price is paid per thread: a stack, a kernel task, and a
//! context switch every time the kernel moves between them. A *pool* caps that price: `n` worker
//! threads take jobs from one FIFO queue, and jobs beyond `n` wait their turn in that queue.
//! This module exists so the book can run the same blocking I/O workload on [`spawn`],
//! on a [`ThreadPool`], and on the single-threaded event loop, and measure the difference.
//!
//! How it maps to Python and tokio:
//!
//! | here                              | Python                                          | tokio                                       |
//! |-----------------------------------|-------------------------------------------------|---------------------------------------------|
//! | [`spawn`], [`ThreadPerTask`]      | `threading.Thread(target=f).start()`            | `std::thread::spawn` (tokio adds nothing)   |
//! | [`ThreadHandle::join`]            | `Thread.join()`, but we also return the value   | `std::thread::JoinHandle::join`             |
//! | [`ThreadPool::new`]`(n)`          | `ThreadPoolExecutor(max_workers=n)`             | the `spawn_blocking` pool                   |
//! | [`ThreadPool::spawn`]             | `executor.submit(f)`                            | `tokio::task::spawn_blocking(f)`            |
//! | [`PoolHandle::join`]              | `future.result()`, which re-raises the error    | `.await` on the `JoinHandle`                |
//! | [`PoolHandle::is_finished`]       | `future.done()`                                 | `JoinHandle::is_finished`                   |
//! | [`ThreadPool::shutdown`], `Drop`  | `executor.shutdown(wait=True)`, or `with`       | dropping the runtime                        |
//!
//! Two differences matter when reading the measurements. CPython's threads take turns holding the
//! GIL, but a thread blocked in a system call releases it, so for blocking I/O they behave like
//! ours. And both `ThreadPoolExecutor` and tokio's blocking pool start threads lazily and grow up
//! to a cap (tokio's default cap is 512, and idle threads exit after 10 seconds); ours starts all
//! `n` threads in [`ThreadPool::new`], so running out of threads is an error there, not later.
//!
//! Deliberately left out, to keep the file readable:
//! - work stealing: all workers share one queue behind one mutex (rayon and tokio give each
//!   worker its own deque and let idle workers steal from busy ones, which scales to tiny jobs);
//! - scoped tasks: every job is `'static` and owns its data (see `std::thread::scope` instead);
//! - growing, shrinking or re-spawning workers, cancelling queued jobs, and timeouts on `join`;
//! - an async `JoinHandle`: our `join` blocks the calling thread.
//!
//! ```
//! use taketurns::threaded::{self, ThreadPool};
//!
//! let handle = threaded::spawn(|| 6 * 7)?;
//! assert_eq!(handle.join().unwrap(), 42);
//!
//! let pool = ThreadPool::new(2)?;
//! let jobs: Vec<_> = (0..4).map(|i| pool.spawn(move || i * 10)).collect();
//! let results: Vec<i32> = jobs.into_iter().map(|job| job.join().unwrap()).collect();
//! assert_eq!(results, [0, 10, 20, 30]);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

// ---------------------------------------------------------------------------------------------
// One thread per task
// ---------------------------------------------------------------------------------------------

/// Runs `f` on a new OS thread with the default stack size, and returns a handle to its result.
///
/// This is `ThreadPerTask::new().spawn(f)`; use [`ThreadPerTask`] to choose a smaller stack.
///
/// # Errors
///
/// Creating a thread can fail (the kernel says `EAGAIN` when a thread or memory limit is hit).
/// `std::thread::spawn` panics then; we use `std::thread::Builder` so the failure is an
/// [`io::Error`] the caller can handle, for example by backing off to a [`ThreadPool`].
pub fn spawn<F, T>(f: F) -> io::Result<ThreadHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    ThreadPerTask::new().spawn(f)
}

/// Spawns one OS thread per task, with options. Configure once, then call
/// [`spawn`](ThreadPerTask::spawn) as often as you like.
///
/// The default Rust stack is 2 MiB (unless the `RUST_MIN_STACK` environment variable says
/// otherwise). That is *virtual* memory: the kernel maps pages only when the thread first touches
/// them, so a thread that uses 20 KiB of stack costs about 20 KiB of RSS, not 2 MiB. A small
/// stack still helps when you start tens of thousands of threads, because the reserved address
/// space and the kernel's overcommit accounting both count the full size.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadPerTask {
    /// Stack size in bytes for each new thread; `None` means Rust's default. Set by
    /// [`ThreadPerTask::stack_size`] and passed on to `std::thread::Builder`, which rounds it up
    /// to a whole page and to the platform minimum.
    stack_size: Option<usize>,
}

impl ThreadPerTask {
    /// A spawner with Rust's default stack size.
    pub fn new() -> ThreadPerTask {
        ThreadPerTask::default()
    }

    /// Gives every thread spawned from now on a stack of `bytes` bytes.
    ///
    /// Too small a stack makes the thread crash with a stack overflow when it runs out; an
    /// impossible size (larger than the address space) makes [`spawn`](ThreadPerTask::spawn)
    /// return an error.
    #[must_use = "`stack_size` returns the changed spawner; it does not change `self` in place"]
    pub fn stack_size(mut self, bytes: usize) -> ThreadPerTask {
        self.stack_size = Some(bytes);
        self
    }

    // ANCHOR: thread_per_task_spawn
    /// Runs `f` on a new OS thread and returns a handle to its result.
    ///
    /// # Errors
    ///
    /// The [`io::Error`] the kernel gave when the thread could not be created: `WouldBlock`
    /// (`EAGAIN`) when a thread limit is hit or the stack cannot be mapped.
    pub fn spawn<F, T>(&self, f: F) -> io::Result<ThreadHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut builder = thread::Builder::new();
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        // No `catch_unwind` here: std already catches a panic at the top of every thread it
        // starts and hands the payload to whoever joins.
        let inner = builder.spawn(f)?;
        Ok(ThreadHandle { inner })
    }
    // ANCHOR_END: thread_per_task_spawn
}

/// The owner's end of a thread started by [`spawn`] or [`ThreadPerTask::spawn`].
///
/// Dropping the handle detaches the thread: it keeps running, and its result is dropped when it
/// finishes.
pub struct ThreadHandle<T> {
    /// std's handle to the thread. Owned by whoever holds this `ThreadHandle`; only its owner can
    /// join the thread, and joining consumes it, so a thread is joined at most once.
    inner: thread::JoinHandle<T>,
}

impl<T> ThreadHandle<T> {
    /// Waits for the thread to finish and returns what it returned, or, if it panicked, the
    /// panic payload (usually a `&'static str` or a `String`), exactly like
    /// `std::thread::JoinHandle::join`.
    pub fn join(self) -> thread::Result<T> {
        self.inner.join()
    }

    /// Whether the thread has finished, so that [`join`](ThreadHandle::join) will not block.
    /// Never blocks itself.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> fmt::Debug for ThreadHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// A fixed-size pool
// ---------------------------------------------------------------------------------------------

/// A job as the workers see it: the caller's closure, already wrapped so that it catches its own
/// panic and sends its result to its [`PoolHandle`]. Workers just call it.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads running jobs from one FIFO queue, like Python's
/// `concurrent.futures.ThreadPoolExecutor`.
///
/// Dropping the pool (or calling [`shutdown`](ThreadPool::shutdown)) first lets the workers
/// finish every job already queued, then joins every worker thread. So a [`PoolHandle`] never
/// waits for a job that can no longer run: by the time the pool is gone, its job has run.
///
/// Never [`join`](PoolHandle::join) a pool job from *inside* a job on the same pool: if every
/// worker waits for a job still in the queue, nobody is left to run it (a pool of one deadlocks
/// the first time). This is the thread version of blocking inside an async task.
pub struct ThreadPool {
    /// The job queue and the shutdown flag. The pool and every worker hold a clone of this `Arc`;
    /// the pool pushes jobs, the workers pop them.
    shared: Arc<Shared>,
    /// One handle per worker thread, owned by the pool alone so that shutdown can join each one:
    /// no worker outlives the pool. Emptied by shutdown.
    workers: Vec<thread::JoinHandle<()>>,
}

/// The part of the pool the workers share with it.
struct Shared {
    /// The ready list and the shutdown flag, behind one lock so that a worker deciding "the
    /// queue is empty and we are shutting down" sees both at the same instant.
    state: Mutex<State>,
    /// Idle workers sleep here. [`ThreadPool::spawn`] wakes one worker per job; shutdown wakes
    /// them all so they can see the flag.
    job_ready: Condvar,
}

// ANCHOR: pool_state
/// What [`Shared::state`] protects.
struct State {
    /// Jobs waiting for a worker, oldest first. This FIFO queue is the pool's *ready list*, the
    /// same idea as the event loop's: [`ThreadPool::spawn`] appends at the back, an idle worker
    /// pops from the front. Unlike the event loop there is no waiting list: a job that blocks on
    /// I/O blocks its worker thread, and the kernel keeps track of it until the I/O is done.
    ready: VecDeque<Job>,
    /// Set once, by shutdown. A worker that finds the ready list empty and this flag set exits;
    /// while jobs remain, workers keep running them, which is how queued jobs get finished.
    shutting_down: bool,
}
// ANCHOR_END: pool_state

impl Shared {
    /// Locks the state, ignoring poisoning. A lock is poisoned only by a panic while it is held,
    /// and we hold this one just to push or pop a job or set a flag, never while a job runs, so
    /// there is no half-finished update to protect anyone from.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ThreadPool {
    /// Starts a pool of `n` worker threads, all created up front.
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if `n` is zero (jobs would wait forever), and
    /// with the kernel's error if a thread cannot be created; in that case the threads already
    /// created are stopped and joined before this returns, so a failed `new` leaks nothing.
    pub fn new(n: usize) -> io::Result<ThreadPool> {
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ThreadPool::new(0): a pool needs at least one worker thread, \
                 or its jobs would wait forever",
            ));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                shutting_down: false,
            }),
            job_ready: Condvar::new(),
        });
        // Not `Vec::with_capacity(n)`: a silly `n` should end in a thread-creation error below,
        // not in a capacity-overflow panic here.
        let mut pool = ThreadPool {
            shared,
            workers: Vec::new(),
        };
        for k in 1..=n {
            let shared = Arc::clone(&pool.shared);
            // Named threads show up in `top -H`, debuggers and panic messages.
            let spawned = thread::Builder::new()
                .name(format!("taketurns-pool-{k}"))
                .spawn(move || worker_loop(&shared));
            match spawned {
                Ok(worker) => pool.workers.push(worker),
                Err(err) => {
                    let created = k - 1;
                    // Dropping the half-built pool stops and joins the workers we did create.
                    drop(pool);
                    return Err(io::Error::new(
                        err.kind(),
                        format!(
                            "ThreadPool::new({n}): could not create worker thread {k}: {err}; \
                             the {created} threads created before it were shut down and joined; \
                             try a smaller pool, or raise the thread limit (`ulimit -u`)"
                        ),
                    ));
                }
            }
        }
        Ok(pool)
    }

    // ANCHOR: pool_spawn
    /// Queues `f` to run on the next free worker and returns a handle to its result.
    ///
    /// Never blocks and never fails: the queue is unbounded. If `f` panics, the panic is caught,
    /// the worker goes on to the next job, and [`PoolHandle::join`] returns the payload.
    pub fn spawn<F, T>(&self, f: F) -> PoolHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // A one-shot channel with room for exactly one result, so the worker never blocks on
        // `send`, even if nobody ever joins.
        let (sender, receiver) = mpsc::sync_channel(1);
        let token = Arc::new(());
        let job_token = Arc::clone(&token);
        let job: Job = Box::new(move || {
            // `AssertUnwindSafe`: `f` is consumed by the call, so nothing can observe it half-done
            // after a panic; data it shares through `Arc<Mutex<_>>` has its own poisoning.
            let result = panic::catch_unwind(AssertUnwindSafe(f));
            // An error here means the handle was dropped: nobody wants the result, so `send`
            // hands it back and it is dropped right here.
            let _ = sender.send(result);
            // Released only after the result is in the channel; see `PoolHandle::is_finished`.
            drop(job_token);
        });
        self.shared.lock().ready.push_back(job);
        // One job, one worker. Notifying after the push, from outside the lock, is fine: an idle
        // worker re-checks the queue under the lock before it sleeps, so it cannot miss the job.
        self.shared.job_ready.notify_one();
        PoolHandle {
            result: receiver,
            token,
        }
    }
    // ANCHOR_END: pool_spawn

    /// The number of worker threads, the `n` given to [`ThreadPool::new`].
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// The number of jobs waiting in the queue for a free worker (not counting running ones).
    /// A snapshot: it may change as soon as it is returned.
    pub fn queued(&self) -> usize {
        self.shared.lock().ready.len()
    }

    /// Finishes every queued job, then stops and joins every worker thread.
    ///
    /// The same as dropping the pool; this name makes the wait visible where it happens, like
    /// Python's `executor.shutdown(wait=True)`.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Set the flag under the lock: a worker that has just found the queue empty is either
        // still holding the lock (and will see the flag before it sleeps) or already asleep (and
        // is woken by the notify below). Either way nobody sleeps through the shutdown.
        self.shared.lock().shutting_down = true;
        self.shared.job_ready.notify_all();

        let me = thread::current().id();
        for worker in self.workers.drain(..) {
            // The pool can be dropped inside one of its own jobs (a job that owned the last
            // reference). A thread cannot join itself, so skip it: that worker sees the flag
            // when the job returns, finishes the queue, and exits on its own.
            if worker.thread().id() == me {
                continue;
            }
            // `join` fails only if the worker panicked, and jobs catch their own panics (see
            // `worker_loop`). There is nothing useful to do with such an error inside `drop`.
            let _ = worker.join();
        }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("size", &self.size())
            .field("queued", &self.queued())
            .finish()
    }
}

// ANCHOR: worker_loop
/// The body of every worker thread: pop the oldest job, run it, repeat; exit once shutdown has
/// been requested and the queue is empty.
fn worker_loop(shared: &Shared) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                // Pop before looking at the flag: that order is what makes shutdown finish the
                // jobs already queued instead of dropping them.
                if let Some(job) = state.ready.pop_front() {
                    break job;
                }
                if state.shutting_down {
                    return;
                }
                // `wait` releases the lock while asleep and retakes it before returning. It can
                // also return without a notify (a spurious wakeup), hence the loop.
                state = shared
                    .job_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }; // The lock is released here, so other workers can pop while this job runs.

        // The job catches the caller's panic itself. This second net catches the one thing left:
        // a panic while dropping a result nobody joined (a `T` whose `Drop` panics), so that no
        // job, however odd, can take a worker down with it.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}
// ANCHOR_END: worker_loop

/// The owner's end of a job queued by [`ThreadPool::spawn`].
///
/// Dropping the handle does not cancel the job: it still runs, and its result is dropped.
pub struct PoolHandle<T> {
    /// Receiving end of the job's one-shot result channel. The job owns the sending end and sends
    /// exactly once. If the job were ever dropped without running, its sender would be dropped
    /// with it and `recv` would return an error instead of blocking forever.
    result: mpsc::Receiver<thread::Result<T>>,
    /// A counter shared with the job: the job holds the other clone and drops it after sending
    /// its result. So "only this clone is left" means the job is over. std's
    /// `JoinHandle::is_finished` uses the same trick with its result slot.
    token: Arc<()>,
}

impl<T> PoolHandle<T> {
    /// Blocks until the job has run, then returns what it returned, or, if it panicked, the
    /// panic payload (usually a `&'static str` or a `String`), like `std::thread::JoinHandle`.
    ///
    /// If the job was dropped without running (which the pool never does: shutdown finishes
    /// queued jobs first), the result channel is closed and this returns `Err` with a
    /// `&'static str` payload saying so, instead of hanging.
    pub fn join(self) -> thread::Result<T> {
        match self.result.recv() {
            Ok(result) => result,
            Err(mpsc::RecvError) => Err(Box::new(
                "taketurns::threaded: the job was dropped before it sent a result \
                 (its result channel closed unexpectedly)",
            )),
        }
    }

    /// Whether the job is over, so that [`join`](PoolHandle::join) will not block. Never blocks
    /// itself. False while the job is queued or running.
    pub fn is_finished(&self) -> bool {
        Arc::strong_count(&self.token) == 1
    }
}

impl<T> fmt::Debug for PoolHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
