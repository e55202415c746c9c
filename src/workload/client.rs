//! Four ways to run one plan: one fetch after another, a thread per fetch, a pool of threads,
//! and a task per fetch on the event loop.
//!
//! | [`Client`]      | waits by                                       | Python                      | tokio                    |
//! |-----------------|------------------------------------------------|-----------------------------|--------------------------|
//! | `Sequential`    | blocking the only thread, one fetch at a time  | a `for` loop of `urlopen`   | `.await` in a loop       |
//! | `ThreadPerTask` | blocking one OS thread per fetch               | `threading.Thread` per URL  | `std::thread::spawn`     |
//! | `ThreadPool(n)` | blocking `n` threads; the other fetches queue  | `ThreadPoolExecutor(n).map` | `spawn_blocking`         |
//! | `EventLoop`     | parking one task per fetch, all on one thread  | `asyncio.gather(*fetches)`  | `tokio::spawn` per fetch |
//!
//! All four make the same fetches ([`super::fetch_blocking`] or [`super::fetch`]) and add the
//! outcomes up in a [`Tally`] the same way, so what differs between their reports is only how
//! they wait. A failed fetch is counted, never fatal; what can stop a run before it starts is a
//! [`ClientError`] (no thread or epoll instance could be created).
//!
//! Left out: a limit on fetches in flight for the event loop (asyncio code uses a `Semaphore`),
//! retries, and cancelling a run half-way.

use std::fmt;
use std::io;
use std::panic::resume_unwind;
use std::rc::Rc;
use std::sync::Arc;

use super::fetch::{FetchError, FetchErrorKind, fetch, fetch_blocking};
use super::plan::FetchPlan;
use crate::Runtime;
use crate::threaded::{ThreadPerTask, ThreadPool};

/// How a plan's fetches are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// One fetch after another on the calling thread, blocking `std::net`.
    Sequential,
    /// One OS thread per fetch ([`crate::threaded::ThreadPerTask`]), all started at once, each
    /// blocking in `std::net`.
    ThreadPerTask,
    /// A pool of this many threads ([`crate::threaded::ThreadPool`]); fetches queue for a free
    /// worker. Starting the pool's threads is part of the run, and of its measurements.
    ThreadPool(usize),
    /// One taketurns task per fetch, all spawned at once, on one thread. Creating the runtime
    /// (an epoll instance and an eventfd) is part of the run.
    EventLoop,
}

impl Client {
    /// The name reports use: `sequential`, `thread-per-task`, `thread-pool(64)`, `event-loop`.
    pub fn name(&self) -> String {
        match self {
            Client::Sequential => "sequential".to_string(),
            Client::ThreadPerTask => "thread-per-task".to_string(),
            Client::ThreadPool(n) => format!("thread-pool({n})"),
            Client::EventLoop => "event-loop".to_string(),
        }
    }

    /// How many of `count` fetches this client has in flight at once.
    pub fn concurrency(&self, count: usize) -> usize {
        match self {
            Client::Sequential => count.min(1),
            Client::ThreadPool(n) => count.min(*n),
            Client::ThreadPerTask | Client::EventLoop => count,
        }
    }

    /// Run every fetch of `plan` and add up the outcomes.
    ///
    /// # Errors
    /// A [`ClientError`] if the run could not happen at all: a bad plan, no epoll instance, or
    /// threads that could not be created. A thread-per-task run that runs out of threads half-way
    /// stops starting new ones, joins those it started, and returns [`ClientError::Spawn`]; no
    /// thread is left behind.
    ///
    /// # Panics
    /// If a fetch panics (a bug): the panic is passed on to the caller.
    pub fn run(&self, plan: &FetchPlan) -> Result<Tally, ClientError> {
        let request = plan.request().map_err(ClientError::Plan)?;
        match *self {
            Client::Sequential => Ok(run_sequential(plan, &request)),
            Client::ThreadPerTask => run_thread_per_task(plan, request.into()),
            Client::ThreadPool(n) => run_thread_pool(plan, request.into(), n),
            Client::EventLoop => run_event_loop(plan, request.into()),
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

fn run_sequential(plan: &FetchPlan, request: &[u8]) -> Tally {
    let mut tally = Tally::default();
    for _ in 0..plan.count {
        tally.record(fetch_blocking(plan.addr, request, plan.timeout));
    }
    tally
}

// ANCHOR: thread_per_task
fn run_thread_per_task(plan: &FetchPlan, request: Arc<[u8]>) -> Result<Tally, ClientError> {
    let spawner = ThreadPerTask::new();
    let mut threads = Vec::with_capacity(plan.count);
    for started in 0..plan.count {
        let (addr, timeout, request) = (plan.addr, plan.timeout, Arc::clone(&request));
        match spawner.spawn(move || fetch_blocking(addr, &request, timeout)) {
            Ok(thread) => threads.push(thread),
            Err(source) => {
                // Out of threads: finish what was started, leave nothing running, and say so.
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(ClientError::Spawn {
                    started,
                    wanted: plan.count,
                    source,
                });
            }
        }
    }
    let mut tally = Tally::default();
    for thread in threads {
        tally.record(thread.join().unwrap_or_else(|panic| resume_unwind(panic)));
    }
    Ok(tally)
}
// ANCHOR_END: thread_per_task

// ANCHOR: thread_pool
fn run_thread_pool(
    plan: &FetchPlan,
    request: Arc<[u8]>,
    size: usize,
) -> Result<Tally, ClientError> {
    let pool = ThreadPool::new(size).map_err(|source| ClientError::Pool { size, source })?;
    let jobs: Vec<_> = (0..plan.count)
        .map(|_| {
            let (addr, timeout, request) = (plan.addr, plan.timeout, Arc::clone(&request));
            pool.spawn(move || fetch_blocking(addr, &request, timeout))
        })
        .collect();
    let mut tally = Tally::default();
    for job in jobs {
        tally.record(job.join().unwrap_or_else(|panic| resume_unwind(panic)));
    }
    Ok(tally)
}
// ANCHOR_END: thread_pool

// ANCHOR: event_loop
fn run_event_loop(plan: &FetchPlan, request: Rc<[u8]>) -> Result<Tally, ClientError> {
    let rt = Runtime::new().map_err(ClientError::Runtime)?;
    let (addr, timeout) = (plan.addr, plan.timeout);
    Ok(rt.block_on(async {
        // Spawn every fetch first: they all connect in the first turn of the loop.
        let fetches: Vec<_> = (0..plan.count)
            .map(|_| {
                let request = Rc::clone(&request);
                crate::spawn(async move { fetch(addr, &request, timeout).await })
            })
            .collect();
        let mut tally = Tally::default();
        for handle in fetches {
            match handle.await {
                Ok(result) => tally.record(result),
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => resume_unwind(panic),
                    // Nothing here aborts a fetch, and the runtime outlives this loop.
                    Err(e) => unreachable!("a fetch task was cancelled: {e}"),
                },
            }
        }
        tally
    }))
}
// ANCHOR_END: event_loop

/// The outcomes of a run, added up.
#[derive(Debug, Default)]
pub struct Tally {
    /// Fetches that returned a whole 2xx response.
    pub ok: u64,
    /// Body bytes received by the successful fetches.
    pub bytes: u64,
    /// Failed fetches, by kind.
    pub errors: ErrorCounts,
    /// The first failure seen (in the order the client collects outcomes), kept whole so that a
    /// report can show one real message.
    pub first_error: Option<FetchError>,
}

impl Tally {
    /// Count one fetch's outcome.
    pub fn record(&mut self, outcome: Result<u64, FetchError>) {
        match outcome {
            Ok(bytes) => {
                self.ok += 1;
                self.bytes += bytes;
            }
            Err(e) => {
                self.errors.add(e.kind());
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }

    /// Every fetch counted, successful or not.
    pub fn fetches(&self) -> u64 {
        self.ok + self.errors.total()
    }
}

/// Failed fetches counted per [`FetchErrorKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// One counter per kind, indexed in the order of [`FetchErrorKind::ALL`].
    counts: [u64; FetchErrorKind::ALL.len()],
}

impl ErrorCounts {
    /// Count one more failure of `kind`.
    pub fn add(&mut self, kind: FetchErrorKind) {
        self.counts[kind as usize] += 1;
    }

    /// Set the count of `kind` (for reports read back from JSON).
    pub fn set(&mut self, kind: FetchErrorKind, count: u64) {
        self.counts[kind as usize] = count;
    }

    /// How many failures of `kind`.
    pub fn get(&self, kind: FetchErrorKind) -> u64 {
        self.counts[kind as usize]
    }

    /// How many failures of any kind.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Each kind with its count, zeros included, in the order of [`FetchErrorKind::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (FetchErrorKind, u64)> + '_ {
        FetchErrorKind::ALL
            .iter()
            .map(|&kind| (kind, self.get(kind)))
    }
}

impl fmt::Display for ErrorCounts {
    /// `none`, or the non-zero kinds: `3 timeout, 1 reset`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (kind, count) in self.iter().filter(|&(_, n)| n > 0) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{count} {}", kind.name())?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Why a client could not run a plan at all (as opposed to single fetches failing).
#[derive(Debug)]
pub enum ClientError {
    /// The plan's host or path cannot go into a request.
    Plan(io::Error),
    /// The event loop could not create its epoll instance.
    Runtime(io::Error),
    /// The thread pool could not start its workers.
    Pool {
        /// The pool size asked for.
        size: usize,
        /// The kernel's error.
        source: io::Error,
    },
    /// Thread-per-task could not create a thread (the threads already started were joined).
    Spawn {
        /// Threads started before the failure.
        started: usize,
        /// Threads the plan needed.
        wanted: usize,
        /// The kernel's error, usually `EAGAIN`.
        source: io::Error,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Plan(e) => write!(f, "bad fetch plan: {e}"),
            ClientError::Runtime(e) => write!(
                f,
                "could not create the event loop ({e}); out of file descriptors? raise `ulimit -n`"
            ),
            ClientError::Pool { size, source } => write!(
                f,
                "could not start a pool of {size} threads ({source}); try a smaller pool size"
            ),
            ClientError::Spawn {
                started,
                wanted,
                source,
            } => write!(
                f,
                "could not create thread {} of {wanted} ({source}); the {started} started were \
                 joined. A thread per fetch needs {wanted} threads at once: raise the thread limit \
                 (`ulimit -u`, /proc/sys/kernel/threads-max) or the memory for their stacks, or use \
                 a thread pool or the event loop",
                started + 1
            ),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Plan(e) | ClientError::Runtime(e) => Some(e),
            ClientError::Pool { source, .. } | ClientError::Spawn { source, .. } => Some(source),
        }
    }
}
