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
//! A plan may cap the fetches in flight ([`FetchPlan::limit`], `--concurrency`). Each client keeps
//! the cap its own way: thread-per-task never has more than that many threads alive (a finished
//! thread's slot goes to the next fetch), the event loop runs that many *worker tasks* that take
//! the next fetch from a shared counter (asyncio: a few `create_task` workers reading an
//! `asyncio.Queue`; a `Semaphore` around each fetch would hold every fetch's task in memory from
//! the start), and a pool simply has no more threads than the cap. Without a cap, thread-per-task
//! and the event loop start every fetch at once, which is what the book measures.
//!
//! Left out: retries, and cancelling a run half-way.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::panic::resume_unwind;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};

use super::fetch::{FetchError, FetchErrorKind, fetch, fetch_blocking};
use super::plan::FetchPlan;
use crate::Runtime;
use crate::task::JoinError;
use crate::threaded::{ThreadHandle, ThreadPerTask, ThreadPool};

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
    /// One taketurns task per fetch on a runtime that waits on io_uring (the `uring` feature):
    /// connect, send and receive are operations on the ring ([`super::fetch_uring`]).
    /// Creating the runtime (the ring, an epoll instance and an eventfd) is part of the run.
    #[cfg(feature = "uring")]
    Uring,
}

impl Client {
    /// The name reports use: `sequential`, `thread-per-task`, `thread-pool(64)`, `event-loop`.
    pub fn name(&self) -> String {
        match self {
            Client::Sequential => "sequential".to_string(),
            Client::ThreadPerTask => "thread-per-task".to_string(),
            Client::ThreadPool(n) => format!("thread-pool({n})"),
            Client::EventLoop => "event-loop".to_string(),
            #[cfg(feature = "uring")]
            Client::Uring => "io-uring".to_string(),
        }
    }

    /// How many of `count` fetches this client has in flight at once, with no cap.
    pub fn concurrency(&self, count: usize) -> usize {
        match self {
            Client::Sequential => count.min(1),
            Client::ThreadPool(n) => count.min(*n),
            Client::ThreadPerTask | Client::EventLoop => count,
            #[cfg(feature = "uring")]
            Client::Uring => count,
        }
    }

    /// How many of `plan`'s fetches this client has in flight at once, under the plan's cap.
    pub fn in_flight(&self, plan: &FetchPlan) -> usize {
        let uncapped = self.concurrency(plan.count);
        plan.limit.map_or(uncapped, |limit| uncapped.min(limit))
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
        let capped = plan.limit.filter(|&limit| limit < plan.count);
        match (*self, capped) {
            (Client::Sequential, _) => Ok(run_sequential(plan, &request)),
            (Client::ThreadPerTask, None) => run_thread_per_task(plan, request.into()),
            (Client::ThreadPerTask, Some(limit)) => {
                run_thread_per_task_capped(plan, request.into(), limit)
            }
            (Client::ThreadPool(n), _) => {
                let threads = plan.limit.map_or(n, |limit| n.min(limit));
                run_thread_pool(plan, request.into(), threads)
            }
            (Client::EventLoop, None) => run_event_loop(plan, request.into()),
            (Client::EventLoop, Some(limit)) => run_event_loop_capped(plan, request.into(), limit),
            #[cfg(feature = "uring")]
            (Client::Uring, capped) => super::uring::run_uring(plan, request.into(), capped),
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

// ANCHOR: thread_per_task_capped
/// Thread-per-task under a cap: at most `limit` threads alive. Each thread owns a slot number and
/// says when it is done (a guard sends the slot even if the fetch panics); the slot's thread is
/// joined, its outcome counted, and the slot goes to the next fetch's thread.
fn run_thread_per_task_capped(
    plan: &FetchPlan,
    request: Arc<[u8]>,
    limit: usize,
) -> Result<Tally, ClientError> {
    let spawner = ThreadPerTask::new();
    let (done, finished) = mpsc::channel::<usize>();
    let mut slots: Vec<Option<ThreadHandle<FetchResult>>> = (0..limit).map(|_| None).collect();
    let mut free: Vec<usize> = (0..limit).rev().collect();
    let mut tally = Tally::default();
    for _ in 0..plan.count {
        let slot = match free.pop() {
            Some(slot) => slot,
            // Every slot is taken: wait for one thread to finish. `done` is still held here, so
            // the channel cannot close, and every live thread sends exactly once.
            None => {
                let slot = finished.recv().expect("this thread holds a sender");
                tally.record(join_thread(slots[slot].take()));
                slot
            }
        };
        let (addr, timeout, request) = (plan.addr, plan.timeout, Arc::clone(&request));
        let guard = SlotDone(slot, done.clone());
        match spawner.spawn(move || {
            let _guard = guard;
            fetch_blocking(addr, &request, timeout)
        }) {
            Ok(thread) => slots[slot] = Some(thread),
            Err(source) => {
                // Out of threads: finish what was started, leave nothing running, and say so.
                let alive: Vec<_> = slots.into_iter().flatten().collect();
                let started = alive.len();
                for thread in alive {
                    let _ = thread.join();
                }
                return Err(ClientError::Spawn {
                    started,
                    wanted: limit,
                    source,
                });
            }
        }
    }
    for thread in slots.into_iter().flatten() {
        tally.record(join_thread(Some(thread)));
    }
    Ok(tally)
}
// ANCHOR_END: thread_per_task_capped

/// What one fetch returns.
type FetchResult = Result<u64, FetchError>;

/// Sends its slot number when dropped: at the end of a capped thread's fetch, or during its
/// unwinding if the fetch panicked, so the parent's wait for a free slot always ends.
struct SlotDone(
    /// The slot this thread holds.
    usize,
    /// Where the parent waits for finished slots.
    Sender<usize>,
);

impl Drop for SlotDone {
    fn drop(&mut self) {
        // The parent may already be gone (it panicked); then nobody needs the slot.
        let _ = self.1.send(self.0);
    }
}

/// A finished thread's outcome; a panic in it is passed on.
fn join_thread(thread: Option<ThreadHandle<FetchResult>>) -> FetchResult {
    let thread = thread.expect("a finished slot holds its thread");
    thread.join().unwrap_or_else(|panic| resume_unwind(panic))
}

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

// ANCHOR: event_loop_capped
/// The event loop under a cap: `limit` worker tasks, each taking the next fetch from a shared
/// counter until none is left. Only `limit` futures exist at a time, however big the plan. The
/// counter is a `Cell`: every worker runs on this one thread, and no worker holds a borrow across
/// an `.await`.
fn run_event_loop_capped(
    plan: &FetchPlan,
    request: Rc<[u8]>,
    limit: usize,
) -> Result<Tally, ClientError> {
    let rt = Runtime::new().map_err(ClientError::Runtime)?;
    let (addr, timeout, count) = (plan.addr, plan.timeout, plan.count);
    let next = Rc::new(Cell::new(0));
    Ok(rt.block_on(async {
        let workers: Vec<_> = (0..limit.min(count))
            .map(|_| {
                let (next, request) = (Rc::clone(&next), Rc::clone(&request));
                crate::spawn(async move {
                    let mut tally = Tally::default();
                    while next.get() < count {
                        next.set(next.get() + 1);
                        tally.record(fetch(addr, &request, timeout).await);
                    }
                    tally
                })
            })
            .collect();
        let mut tally = Tally::default();
        for worker in workers {
            tally.merge(task_output(worker.await));
        }
        tally
    }))
}
// ANCHOR_END: event_loop_capped

/// A finished task's output; a panic in it is passed on.
pub(super) fn task_output<T>(joined: Result<T, JoinError>) -> T {
    match joined {
        Ok(output) => output,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            // Nothing here aborts a task, and the runtime outlives the caller's loop.
            Err(e) => unreachable!("a fetch task was cancelled: {e}"),
        },
    }
}

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
    /// The io_uring driver's counters over the run, for the client that runs on it.
    #[cfg(feature = "uring")]
    pub ring: Option<crate::uring::RingStats>,
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

    /// Add another tally's counts to this one (the first error stays the earlier one's).
    pub fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.bytes += other.bytes;
        for (kind, n) in other.errors.iter() {
            self.errors.set(kind, self.errors.get(kind) + n);
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
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
    /// The event loop could not create its epoll instance (or its ring, on io_uring).
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
            #[cfg(feature = "uring")]
            ClientError::Runtime(e) if crate::uring::is_unavailable(e) => {
                write!(f, "could not create the event loop on io_uring: {e}")
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A server that answers every connection on a thread of its own after `hold`, and counts
    /// the requests it holds at once: the most it saw. A request counts from its arrival until
    /// just before its answer leaves, so a client that waits for an answer before it sends the
    /// next request can never be seen twice.
    fn counting_server(
        connections: usize,
        hold: Duration,
    ) -> (FetchPlan, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let plan = FetchPlan::new(listener.local_addr().unwrap(), connections);
        let server = std::thread::spawn(move || {
            let open = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let mut handlers = Vec::new();
            for _ in 0..connections {
                let (mut stream, _) = listener.accept().unwrap();
                let (open, most) = (Arc::clone(&open), Arc::clone(&most));
                handlers.push(std::thread::spawn(move || {
                    let mut head = [0u8; 1024];
                    let _ = stream.read(&mut head);
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(hold);
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }));
            }
            for handler in handlers {
                handler.join().unwrap();
            }
            most.load(Ordering::SeqCst)
        });
        (plan, server)
    }

    fn capped_run_stays_under_the_cap(client: Client) {
        let (plan, server) = counting_server(24, Duration::from_millis(20));
        let tally = client.run(&plan.with_limit(Some(4))).unwrap();
        assert_eq!((tally.ok, tally.bytes, tally.errors.total()), (24, 48, 0));
        let most = server.join().unwrap();
        assert!(most <= 4, "{client}: {most} requests held at once, cap 4");
    }

    #[test]
    fn capped_thread_per_task_never_has_more_than_the_cap_in_flight() {
        capped_run_stays_under_the_cap(Client::ThreadPerTask);
    }

    #[test]
    fn capped_event_loop_never_has_more_than_the_cap_in_flight() {
        capped_run_stays_under_the_cap(Client::EventLoop);
    }

    #[test]
    fn a_pool_bigger_than_the_cap_shrinks_to_it() {
        capped_run_stays_under_the_cap(Client::ThreadPool(16));
    }

    #[test]
    fn in_flight_is_the_smaller_of_the_client_s_own_limit_and_the_cap() {
        let plan = FetchPlan::new("127.0.0.1:1".parse().unwrap(), 100);
        assert_eq!(Client::EventLoop.in_flight(&plan), 100);
        let capped = plan.with_limit(Some(8));
        assert_eq!(Client::EventLoop.in_flight(&capped), 8);
        assert_eq!(Client::ThreadPerTask.in_flight(&capped), 8);
        assert_eq!(Client::ThreadPool(4).in_flight(&capped), 4);
        assert_eq!(Client::Sequential.in_flight(&capped), 1);
    }

    #[test]
    fn merged_tallies_add_up_and_keep_the_first_error() {
        let mut a = Tally::default();
        a.record(Ok(3));
        let mut b = Tally::default();
        b.record(Err(FetchError::Status(404)));
        b.record(Err(FetchError::Refused));
        b.record(Ok(5));
        a.merge(b);
        assert_eq!((a.ok, a.bytes, a.fetches()), (2, 8, 4));
        assert!(matches!(a.first_error, Some(FetchError::Status(404))));
        assert_eq!(a.errors.get(FetchErrorKind::Refused), 1);
    }
}
