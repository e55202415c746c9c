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
//! - growing or shrinking a [`ThreadPool`], re-spawning workers, cancelling queued jobs, and
//!   timeouts on `join`. The pool underneath can grow and shrink (from a minimum to a maximum of
//!   threads, with a keep-alive); the runtime's `spawn_blocking` pool is the same code with a
//!   minimum of 0, a maximum of 16 and a 10 s keep-alive (see [`crate::blocking`]);
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
use std::time::{Duration, Instant};

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
    /// The queue and the worker threads' shared state. The `ThreadPool` and every worker hold a
    /// clone of this `Arc`; [`ThreadPool::spawn`] pushes jobs, the workers pop them.
    pool: Arc<Pool>,
    /// One handle per worker thread, owned by the `ThreadPool` alone so that shutdown can join
    /// each one: no worker outlives it. Filled by [`ThreadPool::new`], emptied by `Drop`.
    workers: Vec<thread::JoinHandle<()>>,
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
        // `min_threads == max_threads`: all `n` threads start here and none ever idles out, so
        // `keep_alive` never applies.
        let pool = Pool::new(Limits {
            min_threads: n,
            max_threads: n,
            keep_alive: Duration::ZERO,
            name: |k| format!("taketurns-pool-{k}"),
        });
        // Not `Vec::with_capacity(n)`: a silly `n` should end in a thread-creation error below,
        // not in a capacity-overflow panic here.
        let mut this = ThreadPool {
            pool,
            workers: Vec::new(),
        };
        for k in 1..=n {
            match this.pool.start_thread() {
                Ok(worker) => this.workers.push(worker),
                Err(err) => {
                    let created = k - 1;
                    // Dropping the half-built pool stops and joins the workers we did create.
                    drop(this);
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
        Ok(this)
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
        // `submit` fails only when it must start a thread and cannot. All `n` threads started in
        // `new`, so it never starts one here. (If it did fail, the job would be dropped unrun,
        // and `join` says so instead of hanging.)
        let _ = self.pool.submit(job);
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
        self.pool.lock().ready.len()
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
        self.pool.shutdown(Queued::Finish);
        let me = thread::current().id();
        for worker in self.workers.drain(..) {
            // The pool can be dropped inside one of its own jobs (a job that owned the last
            // reference). A thread cannot join itself, so skip it: that worker sees the flag
            // when the job returns, finishes the queue, and exits on its own.
            if worker.thread().id() == me {
                continue;
            }
            // `join` fails only if the worker panicked, and `Pool::work` catches every job's
            // panic. There is nothing useful to do with such an error inside `drop`.
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

// ---------------------------------------------------------------------------------------------
// The pool underneath: shared by `ThreadPool` and `spawn_blocking`
// ---------------------------------------------------------------------------------------------
//
// Both pools in this crate are this one, sized differently, the way Java's `ThreadPoolExecutor`
// takes a core size, a maximum and a keep-alive. `ThreadPool::new(n)` sets the minimum and the
// maximum to `n` and starts every thread at once. The blocking pool of `spawn_blocking` (the
// `blocking` module) sets the minimum to 0, the maximum to 16 and the keep-alive to 10 s, and
// lets `submit` start threads as jobs arrive. Only shutdown differs in kind: a `ThreadPool` runs
// the queued jobs and joins its threads, the blocking pool drops the queued jobs (nobody waits
// for them any more) and leaves running closures to finish on their own.

/// A job as the workers see it: the caller's closure, already wrapped so that it catches its own
/// panic and delivers its result (to a [`PoolHandle`], or to a `spawn_blocking` task). Workers
/// just call it.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

// ANCHOR: pool
/// How many threads a [`Pool`] runs, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Threads that wait for work without a time limit: a pool never shrinks below this many.
    pub(crate) min_threads: usize,
    /// The most threads alive at once. `submit` starts a thread only while fewer exist; jobs
    /// beyond that wait in the queue, oldest first.
    pub(crate) max_threads: usize,
    /// How long a thread above `min_threads` waits for a job before it exits.
    pub(crate) keep_alive: Duration,
    /// The name of a new thread, from its number (how many threads are alive, counting it).
    /// Named threads show up in `top -H`, debuggers and panic messages.
    pub(crate) name: fn(usize) -> String,
}

/// Worker threads and the queue they take jobs from. Held in an `Arc` by its owner (a
/// [`ThreadPool`] or the runtime's blocking pool) and by every one of its threads.
pub(crate) struct Pool {
    /// The queue, the thread counts and the shutdown flag, under one lock.
    state: Mutex<State>,
    /// Idle threads sleep here. `submit` wakes one when an idle thread exists for the job;
    /// shutdown wakes them all so they can see the flag.
    job_ready: Condvar,
    /// The sizes this pool was made with; never changed.
    limits: Limits,
}
// ANCHOR_END: pool

// ANCHOR: pool_state
/// What [`Pool::state`] protects. One lock, so that a thread deciding "the queue is empty and we
/// are shutting down" sees both at the same instant.
struct State {
    /// Jobs waiting for a thread, oldest first. This FIFO queue is the pool's *ready list*, the
    /// same idea as the event loop's: `submit` appends at the back, an idle thread pops from the
    /// front. Unlike the event loop there is no waiting list: a job that blocks on I/O blocks its
    /// thread, and the kernel keeps track of it until the I/O is done.
    ready: VecDeque<Job>,
    /// Threads alive, running a job or idle. Raised by `start_thread`, lowered by a thread as it
    /// exits.
    threads: usize,
    /// Threads asleep on `job_ready`. Each will take one queued job when woken, so `submit`
    /// starts a new thread only when more jobs are queued than threads sleep.
    idle: usize,
    /// Set once, by shutdown. A thread that finds the ready list empty and this flag set exits;
    /// while jobs remain, threads keep running them.
    shutting_down: bool,
}
// ANCHOR_END: pool_state

/// What [`Pool::shutdown`] does with the jobs no thread has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Run them all before the threads exit (a [`ThreadPool`]: every `PoolHandle` gets its
    /// result).
    Finish,
    /// Drop them unrun (the blocking pool: the tasks waiting for them are gone with the runtime).
    Drop,
}

impl Pool {
    /// A pool with no thread yet: `submit` or `start_thread` starts them.
    pub(crate) fn new(limits: Limits) -> Arc<Pool> {
        Arc::new(Pool {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                threads: 0,
                idle: 0,
                shutting_down: false,
            }),
            job_ready: Condvar::new(),
            limits,
        })
    }

    /// Locks the state, ignoring poisoning. A lock is poisoned only by a panic while it is held,
    /// and we hold this one just to push or pop a job or change a count, never while a job runs,
    /// so there is no half-finished update to protect anyone from.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts one more thread, counted before it runs so that `submit` never starts too many.
    ///
    /// # Errors
    /// The kernel's error if the thread cannot be created; the count is taken back.
    pub(crate) fn start_thread(self: &Arc<Self>) -> io::Result<thread::JoinHandle<()>> {
        let number = {
            let mut state = self.lock();
            state.threads += 1;
            state.threads
        };
        let pool = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name((self.limits.name)(number))
            .spawn(move || pool.work());
        if spawned.is_err() {
            self.lock().threads -= 1;
        }
        spawned
    }

    // ANCHOR: submit
    /// Queue `job`, and wake an idle thread, or start a new one if every thread is busy and the
    /// pool is below its maximum.
    ///
    /// # Errors
    /// Only when no thread exists and the kernel refuses to start one; the job is dropped unrun.
    /// If some thread exists, a refused spawn just leaves the job in the queue for that thread
    /// (tokio does the same).
    pub(crate) fn submit(self: &Arc<Self>, job: Job) -> io::Result<()> {
        let mut state = self.lock();
        state.ready.push_back(job);
        if state.ready.len() <= state.idle {
            // Enough sleeping threads for every queued job: wake one. Notifying after the unlock
            // is safe: a thread counted in `idle` is inside `wait` and gets the notification.
            drop(state);
            self.job_ready.notify_one();
            return Ok(());
        }
        if state.threads >= self.limits.max_threads {
            return Ok(()); // the cap: the job waits for a thread to finish its current one
        }
        drop(state);
        match self.start_thread() {
            Ok(_detached) => Ok(()),
            Err(error) => {
                let mut state = self.lock();
                if state.threads > 0 {
                    return Ok(());
                }
                // Nobody will ever run the job: take it back (it is the newest one).
                let job = state.ready.pop_back();
                drop(state);
                drop(job);
                Err(error)
            }
        }
    }
    // ANCHOR_END: submit

    // ANCHOR: worker_loop
    /// A thread's life: pop the oldest job, run it, repeat; exit once the pool is shutting down
    /// and the queue is empty, or after `keep_alive` without a job if the pool is above its
    /// minimum.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            // Pop before looking at the flag: that order is what lets shutdown finish the jobs
            // still queued instead of dropping them.
            if let Some(job) = state.ready.pop_front() {
                drop(state); // other threads can pop while this job runs
                // The job catches its caller's panic itself. This second net catches the one
                // thing left: a panic while dropping a result nobody wanted (a `T` whose `Drop`
                // panics), so that no job, however odd, can take a thread down with it.
                let _ = panic::catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
                continue;
            }
            if state.shutting_down {
                break;
            }
            let expired;
            (state, expired) = self.wait_for_job(state);
            if expired && state.threads > self.limits.min_threads {
                break;
            }
        }
        state.threads -= 1;
    }
    // ANCHOR_END: worker_loop

    /// Sleep until a job is queued or the pool shuts down. A thread above `min_threads` sleeps
    /// at most `keep_alive`; then `true` comes back with an empty queue.
    fn wait_for_job<'a>(&self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        let deadline = (state.threads > self.limits.min_threads)
            .then(|| Instant::now() + self.limits.keep_alive);
        state.idle += 1;
        let expired = loop {
            // `wait` releases the lock while asleep and retakes it before returning.
            state = match deadline {
                None => self
                    .job_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break true;
                    }
                    let (state, _) = self
                        .job_ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner);
                    state
                }
            };
            if !state.ready.is_empty() || state.shutting_down {
                break false;
            }
            // A spurious wake-up, or another thread took the job: sleep again.
        };
        state.idle -= 1;
        (state, expired)
    }

    /// Tell every thread to exit once it has nothing to do, and wake the idle ones so they see
    /// it. Returns at once; a [`ThreadPool`] joins its threads itself.
    pub(crate) fn shutdown(&self, queued: Queued) {
        let dropped = {
            let mut state = self.lock();
            state.shutting_down = true;
            match queued {
                Queued::Finish => VecDeque::new(),
                Queued::Drop => std::mem::take(&mut state.ready),
            }
        };
        self.job_ready.notify_all();
        // The dropped jobs' closures are dropped here, outside the lock.
        drop(dropped);
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.lock().threads
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(2));
        }
    }

    fn limits(min_threads: usize, max_threads: usize, keep_alive: Duration) -> Limits {
        Limits {
            min_threads,
            max_threads,
            keep_alive,
            name: |k| format!("test-pool-{k}"),
        }
    }

    /// `jobs` jobs that each wait for one message on `release` before they send their number.
    fn blocked_jobs(pool: &Arc<Pool>, jobs: usize) -> (mpsc::Sender<()>, mpsc::Receiver<usize>) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (done_tx, done_rx) = mpsc::channel();
        for i in 0..jobs {
            let (release_rx, done_tx) = (Arc::clone(&release_rx), done_tx.clone());
            pool.submit(Box::new(move || {
                release_rx.lock().unwrap().recv().unwrap();
                done_tx.send(i).unwrap();
            }))
            .unwrap();
        }
        (release_tx, done_rx)
    }

    #[test]
    fn idle_threads_exit_after_keep_alive() {
        let pool = Pool::new(limits(0, 4, Duration::from_millis(30)));
        let (tx, rx) = mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap())).unwrap();
        }
        let mut got: Vec<i32> = rx.iter().take(3).collect();
        got.sort();
        assert_eq!(got, [0, 1, 2]);
        assert!(pool.threads() >= 1);
        wait_until("idle threads to exit", || pool.threads() == 0);
    }

    #[test]
    fn the_pool_shrinks_to_its_minimum_and_no_further() {
        let keep_alive = Duration::from_millis(20);
        let pool = Pool::new(limits(1, 3, keep_alive));
        let (release, done) = blocked_jobs(&pool, 3);
        assert_eq!(
            pool.threads(),
            3,
            "three blocked jobs, a maximum of three threads"
        );
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        assert_eq!(done.iter().take(3).count(), 3);
        wait_until("the threads above the minimum to exit", || {
            pool.threads() == 1
        });
        // Many keep-alives later the last thread is still there, and still takes jobs.
        thread::sleep(keep_alive * 5);
        assert_eq!(pool.threads(), 1, "a pool never shrinks below min_threads");
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || tx.send("ran").unwrap()))
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("ran"));
        assert_eq!(pool.threads(), 1, "an idle thread took it: none started");
        pool.shutdown(Queued::Finish);
        wait_until("the last thread to exit after shutdown", || {
            pool.threads() == 0
        });
    }

    #[test]
    fn the_cap_holds_and_queued_jobs_still_run() {
        let pool = Pool::new(limits(0, 2, Duration::from_secs(5)));
        let (release, done) = blocked_jobs(&pool, 6);
        assert_eq!(pool.threads(), 2, "six jobs, a cap of two threads");
        for _ in 0..6 {
            release.send(()).unwrap();
        }
        let mut got: Vec<usize> = done.iter().take(6).collect();
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        pool.shutdown(Queued::Drop);
        wait_until("threads to exit after shutdown", || pool.threads() == 0);
    }

    #[test]
    fn shutdown_that_drops_queued_jobs_never_runs_them() {
        let pool = Pool::new(limits(0, 1, Duration::from_secs(5)));
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        pool.submit(Box::new(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        }))
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // The one thread is busy, so these two wait in the queue.
        let (ran_tx, ran_rx) = mpsc::channel::<usize>();
        for i in 1..3 {
            let ran_tx = ran_tx.clone();
            pool.submit(Box::new(move || ran_tx.send(i).unwrap()))
                .unwrap();
        }
        drop(ran_tx);
        assert_eq!(pool.lock().ready.len(), 2);
        pool.shutdown(Queued::Drop);
        assert_eq!(pool.lock().ready.len(), 0, "shutdown emptied the queue");
        release_tx.send(()).unwrap();
        wait_until("the thread to exit after its job", || pool.threads() == 0);
        // Both senders were dropped with their unrun jobs.
        assert_eq!(ran_rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    }

    #[test]
    fn a_job_that_panics_does_not_take_its_thread_down() {
        let pool = Pool::new(limits(1, 1, Duration::ZERO));
        let _worker = pool.start_thread().unwrap();
        // A raw job with no `catch_unwind` of its own, like a result whose `Drop` panics.
        pool.submit(Box::new(|| panic!("a job that panics on purpose")))
            .unwrap();
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || {
            tx.send(thread::current().name().map(String::from)).unwrap()
        }))
        .unwrap();
        let served_by = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(served_by.as_deref(), Some("test-pool-1"));
        assert_eq!(pool.threads(), 1);
        pool.shutdown(Queued::Finish);
    }
}
