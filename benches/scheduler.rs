//! Scheduler micro-benchmarks: taketurns side by side with tokio's current-thread runtime,
//! `futures::executor::LocalPool` and smol's `async_executor::LocalExecutor`, doing the same shape
//! of work.
//!
//! Run with `cargo bench --bench scheduler` (about three minutes on two cores), or
//! `cargo test --benches` to run every benchmark once as a smoke test (with a smaller
//! `many_idle_tasks`, see [`idle_task_count`]).
//!
//! Each scenario is written once, as a function generic over the [`Executor`] trait (spawn, join,
//! yield, block_on: a thin call of each executor's own API), and `on_every_member!` runs it on
//! every member in the same order, so each group's bench IDs are `scenario/member`.
//!
//! # Groups
//!
//! - **`spawn_one`**: spawn one task that returns a number and await its JoinHandle, one after
//!   the other, inside a single `block_on` on a runtime created once (runtime creation is not
//!   measured). Time per iteration = one spawn + one run + one join.
//! - **`spawn_many`**: spawn 10,000 tasks, then await their handles in order. Throughput is
//!   10,000 elements per iteration, so criterion's `thrpt` is spawns+joins per second.
//! - **`yield_now`**: two tasks ping-pong on the ready queue, each yielding 1,000 times.
//!   Throughput is the total number of yields (2,000 per iteration): ns per yield = 1e3 / Melem/s.
//! - **`wake_from_thread`**: one long-lived task awaits a `futures::channel::oneshot` whose
//!   sender it handed to a persistent helper OS thread (over a `std::sync::mpsc` channel, so no
//!   thread is spawned while measuring). The task registers its waker in the oneshot *before*
//!   handing the sender over, so every round trip takes the cross-thread wake path: mpsc send +
//!   helper wake-up, oneshot send + remote wake, the loop waking from its sleep, one poll.
//! - **`timers`**: spawn 100,000 tasks, task `i` doing `sleep(3 ms + i × 10 ns)`, and await them
//!   all. The sleep is created at the task's first poll, so every deadline is distinct and lies
//!   3 ms after the moment its timer is registered. Time per iteration is what the target
//!   ("100,000 timers fire in order in ≤ 100 ms") compares with. Spawning and first-polling
//!   100,000 tasks takes longer than 3 ms, so the first timers are due before the last are
//!   registered: the loop never sleeps, and an iteration is the CPU cost of 100,000 spawns, timer
//!   inserts, fires, wakes and joins (plus about 4 ms after the last registration). Before
//!   measuring, the taketurns member runs the scenario once with a 100 ms lead instead (see
//!   [`CHECK_LEAD`]), every task logging its number when it wakes, and asserts that the log is in
//!   deadline order and that all 100,000 sleeps fired through the timer list.
//! - **`many_idle_tasks`**: spawn 1,000,000 tasks, each parked on its own
//!   `futures::channel::oneshot` receiver; once every task has been polled (and so is parked), send
//!   on every sender, then await every handle in spawn order. Time per element = one spawn, one
//!   park, one wake, one completion and one join, with a million tasks alive at once (caches
//!   miss: this is the scheduler at scale, not in L1). The memory side of the same scenario is
//!   `examples/idle_tasks.rs`.
//!
//! # Members
//!
//! - `taketurns`: `taketurns::Runtime` (always has its epoll instance and eventfd).
//! - `tokio_current_thread`: `Builder::new_current_thread()` with **no drivers enabled** (no I/O,
//!   no timers) and plain `tokio::spawn` of `Send` futures inside `Runtime::block_on`. That is the
//!   cheapest fair tokio setup: tasks go straight to the current-thread scheduler's local queue
//!   (a `LocalSet` adds a second queue and its own task header on top of it), and without drivers
//!   a park/unpark is a condvar, never `epoll_wait`.
//! - `tokio_current_thread_io`: the same with `enable_all()` (what `#[tokio::main(flavor =
//!   "current_thread")]` builds). It is the closer match for taketurns, which always owns an epoll
//!   instance: with the I/O driver, tokio's `yield_now` and its block_on wake-ups go through
//!   `epoll_wait`/the eventfd.
//! - `futures_local_pool`: `LocalPool::run_until` with `LocalSpawner::spawn_local_with_handle`
//!   (a `RemoteHandle`, i.e. a oneshot per task) and, for `yield_now`, a hand-written yield future
//!   (wake self, return `Pending` once), the same as `taketurns::yield_now`.
//! - `smol_local_executor`: `async_executor::LocalExecutor` (smol's single-threaded executor,
//!   built on `async-task`: one allocation per task, the waker *is* the task pointer), driven by
//!   `futures::executor::block_on(ex.run(…))` and awaiting its `Task` handles. It has no yield of
//!   its own; it uses the same hand-written yield future as the pool (`futures_lite::future::
//!   yield_now` is the same thing).
//!
//! `timers` has only taketurns and tokio (with `enable_time`, its timer wheel): `LocalPool` and
//! `LocalExecutor` are executors only, with no clock. A sleep on them needs a timer from another
//! crate (`async-io`'s `Timer`, which needs its reactor thread, or `futures-timer`'s helper
//! thread), and that would measure that crate and a cross-thread wake per timer, not the executor.
//!
//! # Targets
//!
//! - spawn + await: **≤ 150 ns per task** (`spawn_one`, and `spawn_many` per element).
//! - yield: **≤ 60 ns per yield, and no system call per yield** (`yield_now`; the system-call
//!   half is checked with `strace -f -c`, not here).
//! - timers: **100,000 timers fire in order in ≤ 100 ms** (`timers`; the order is asserted).
//! - idle tasks: **≤ 300 bytes per idle task beyond its future** (measured by
//!   `examples/idle_tasks.rs`, not here: criterion measures time).

use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use async_executor::{LocalExecutor, Task};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures::channel::oneshot;
use futures::executor::{LocalPool, LocalSpawner, block_on};
use futures::future::RemoteHandle;
use futures::task::LocalSpawnExt;

/// Tasks per iteration of `spawn_many`.
const SPAWN_MANY: u64 = 10_000;
/// Yields per task per iteration of `yield_now` (two tasks).
const YIELDS_PER_TASK: u64 = 1_000;
/// Sleeping tasks per iteration of `timers`.
const TIMERS: u64 = 100_000;
/// Idle tasks per iteration of `many_idle_tasks` under `cargo bench`.
const IDLE_TASKS: usize = 1_000_000;
/// Idle tasks per iteration of `many_idle_tasks` under `cargo test --benches`.
const IDLE_TASKS_SMOKE: usize = 10_000;

/// A criterion group: one scenario, one bench function per member.
type Group<'a> = BenchmarkGroup<'a, WallTime>;

// ---------------------------------------------------------------------------------------------
// The members: what a scenario needs from an executor

// ANCHOR: executor
/// One member of every group: an executor that a scenario, written once, runs on.
///
/// Every method is a thin call of the executor's own API, so a scenario measures the same work it
/// would measure written out by hand for that executor.
trait Executor {
    /// What `spawn` returns: the executor's own join handle.
    type Handle<T: Send + 'static>: Future;

    /// The bench function's name in every group (criterion's function id).
    fn name(&self) -> &'static str;

    /// Run `future` to completion on this executor, from outside it.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawn `future` as a task; called from inside [`Executor::block_on`].
    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// The task's value from what awaiting its handle gave (tokio and taketurns give a
    /// `Result` that carries a panic; the others give the value).
    fn output<T: Send + 'static>(joined: <Self::Handle<T> as Future>::Output) -> T;

    /// Give the other tasks a turn: the executor's own yield, or [`YieldOnce`] if it has none.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;
}
// ANCHOR_END: executor

/// Executors with a clock, for `timers`.
trait Timers: Executor {
    /// Spawn a task that sleeps for `delay` on this executor's timers.
    fn spawn_sleep(&self, delay: Duration) -> Self::Handle<()>;
}

/// `taketurns::Runtime` (always has its epoll instance and eventfd).
struct Taketurns {
    /// The runtime, created once per group, outside the timing.
    rt: taketurns::Runtime,
}

impl Taketurns {
    fn new() -> Taketurns {
        let rt = taketurns::Runtime::new().expect("create a taketurns runtime");
        Taketurns { rt }
    }
}

impl Executor for Taketurns {
    type Handle<T: Send + 'static> = taketurns::JoinHandle<T>;

    fn name(&self) -> &'static str {
        "taketurns"
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        taketurns::spawn(future)
    }

    fn output<T: Send + 'static>(joined: Result<T, taketurns::JoinError>) -> T {
        joined.expect("task completes")
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        taketurns::yield_now()
    }
}

impl Timers for Taketurns {
    fn spawn_sleep(&self, delay: Duration) -> Self::Handle<()> {
        taketurns::spawn(async move { taketurns::time::sleep(delay).await })
    }
}

/// tokio's current-thread runtime, with plain `tokio::spawn` of `Send` futures.
struct Tokio {
    /// Which configuration this is (see the module docs): the bench function's name.
    name: &'static str,
    /// The runtime, created once per group, outside the timing.
    rt: tokio::runtime::Runtime,
}

impl Tokio {
    /// The two tokio members: no drivers (cheapest), and all drivers (like taketurns, owns an
    /// epoll).
    fn both() -> [Tokio; 2] {
        let bare = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("create a tokio runtime");
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("create a tokio runtime with drivers");
        [
            Tokio {
                name: "tokio_current_thread",
                rt: bare,
            },
            Tokio {
                name: "tokio_current_thread_io",
                rt: io,
            },
        ]
    }

    /// The `timers` member: only the time driver, the timer wheel, parked on a condvar with a
    /// timeout (no epoll).
    fn with_timers() -> Tokio {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("create a tokio runtime with the time driver");
        Tokio {
            name: "tokio_current_thread",
            rt,
        }
    }
}

impl Executor for Tokio {
    type Handle<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn output<T: Send + 'static>(joined: Result<T, tokio::task::JoinError>) -> T {
        joined.expect("task completes")
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
}

impl Timers for Tokio {
    fn spawn_sleep(&self, delay: Duration) -> Self::Handle<()> {
        tokio::spawn(async move { tokio::time::sleep(delay).await })
    }
}

/// `futures::executor::LocalPool`, spawning with a `RemoteHandle` (a oneshot per task).
struct Pool {
    /// The pool. `run_until` needs it mutably while the scenario holds `&self` for the spawner,
    /// hence the cell; it is borrowed once per `block_on`, outside the timing.
    pool: RefCell<LocalPool>,
    /// Spawns onto `pool`; used from inside the scenario.
    spawner: LocalSpawner,
}

impl Pool {
    fn new() -> Pool {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        Pool {
            pool: RefCell::new(pool),
            spawner,
        }
    }
}

impl Executor for Pool {
    type Handle<T: Send + 'static> = RemoteHandle<T>;

    fn name(&self) -> &'static str {
        "futures_local_pool"
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.pool.borrow_mut().run_until(future)
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawner
            .spawn_local_with_handle(future)
            .expect("spawn on the pool")
    }

    fn output<T: Send + 'static>(joined: T) -> T {
        joined
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        YieldOnce { yielded: false }
    }
}

/// smol's `async_executor::LocalExecutor` (built on `async-task`: one allocation per task, the
/// waker *is* the task pointer), driven by `futures::executor::block_on(ex.run(…))`.
struct Smol {
    /// The executor, created once per group, outside the timing.
    ex: LocalExecutor<'static>,
}

impl Executor for Smol {
    type Handle<T: Send + 'static> = Task<T>;

    fn name(&self) -> &'static str {
        "smol_local_executor"
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on(self.ex.run(future))
    }

    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.ex.spawn(future)
    }

    fn output<T: Send + 'static>(joined: T) -> T {
        joined
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        YieldOnce { yielded: false }
    }
}

/// A yield for executors that have none: wake ourselves, return `Pending` once (the same thing
/// `taketurns::yield_now` does).
struct YieldOnce {
    /// Whether `Pending` has been returned once already.
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Run `$scenario(&mut $group, &member, $args…)` for every member, in the same order in every
/// group, each member created fresh for the group (and outside the timing).
macro_rules! on_every_member {
    ($group:expr, $scenario:ident $(, $arg:expr)*) => {{
        $scenario(&mut $group, &Taketurns::new() $(, $arg)*);
        for tokio in Tokio::both() {
            $scenario(&mut $group, &tokio $(, $arg)*);
        }
        $scenario(&mut $group, &Pool::new() $(, $arg)*);
        $scenario(&mut $group, &Smol { ex: LocalExecutor::new() } $(, $arg)*);
    }};
}

// ---------------------------------------------------------------------------------------------
// spawn_one

fn spawn_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_one");
    group.throughput(Throughput::Elements(1));
    on_every_member!(group, spawn_one_on);
    group.finish();
}

// ANCHOR: spawn_one
fn spawn_one_on<E: Executor>(group: &mut Group<'_>, ex: &E) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            ex.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let handle = ex.spawn(async move { black_box(i) });
                    black_box(E::output(handle.await));
                }
                start.elapsed()
            })
        })
    });
}
// ANCHOR_END: spawn_one

// ---------------------------------------------------------------------------------------------
// spawn_many

fn spawn_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many");
    group.throughput(Throughput::Elements(SPAWN_MANY));
    on_every_member!(group, spawn_many_on);
    group.finish();
}

fn spawn_many_on<E: Executor>(group: &mut Group<'_>, ex: &E) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            ex.block_on(async {
                let mut handles = Vec::with_capacity(SPAWN_MANY as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    handles.extend((0..SPAWN_MANY).map(|i| ex.spawn(async move { i })));
                    let mut sum = 0;
                    for handle in handles.drain(..) {
                        sum += E::output(handle.await);
                    }
                    black_box(sum);
                }
                start.elapsed()
            })
        })
    });
}

// ---------------------------------------------------------------------------------------------
// yield_now

fn yield_now(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_now");
    group.throughput(Throughput::Elements(2 * YIELDS_PER_TASK));
    on_every_member!(group, yield_now_on);
    group.finish();
}

// ANCHOR: yield_now
fn yield_now_on<E: Executor>(group: &mut Group<'_>, ex: &E) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            ex.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let yielder = || async {
                        for _ in 0..YIELDS_PER_TASK {
                            E::yield_now().await;
                        }
                    };
                    let a = ex.spawn(yielder());
                    let b = ex.spawn(yielder());
                    E::output(a.await);
                    E::output(b.await);
                }
                start.elapsed()
            })
        })
    });
}
// ANCHOR_END: yield_now

// ---------------------------------------------------------------------------------------------
// wake_from_thread

/// A persistent OS thread that completes every oneshot it is handed.
struct Helper {
    /// Where the bench sends the oneshot senders for the helper to complete. Dropped first by
    /// `Drop`, which ends the helper's loop.
    requests: Option<mpsc::Sender<oneshot::Sender<u64>>>,
    /// The helper thread, joined by `Drop` after `requests` is gone.
    thread: Option<thread::JoinHandle<()>>,
}

impl Helper {
    fn start() -> Helper {
        let (requests, inbox) = mpsc::channel::<oneshot::Sender<u64>>();
        let thread = thread::Builder::new()
            .name("wake-helper".into())
            .spawn(move || {
                for (n, reply) in inbox.into_iter().enumerate() {
                    let _ = reply.send(n as u64);
                }
            })
            .expect("spawn the helper thread");
        Helper {
            requests: Some(requests),
            thread: Some(thread),
        }
    }

    fn requests(&self) -> mpsc::Sender<oneshot::Sender<u64>> {
        self.requests.clone().expect("helper running")
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The measured loop, run as one spawned task: `iters` cross-thread wake round trips.
async fn round_trips(requests: mpsc::Sender<oneshot::Sender<u64>>, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let (reply, mut answer) = oneshot::channel();
        // Park our waker in the channel before the helper can see it, so the answer always comes
        // through a wake from the other thread (never an already-completed first poll).
        assert!(futures::poll!(&mut answer).is_pending());
        requests.send(reply).expect("helper thread alive");
        black_box(answer.await.expect("helper answers"));
    }
    start.elapsed()
}

fn wake_from_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("wake_from_thread");
    group.throughput(Throughput::Elements(1));
    let helper = Helper::start();
    on_every_member!(group, wake_from_thread_on, &helper);
    group.finish();
}

fn wake_from_thread_on<E: Executor>(group: &mut Group<'_>, ex: &E, helper: &Helper) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            let task = round_trips(helper.requests(), iters);
            ex.block_on(async { E::output(ex.spawn(task).await) })
        })
    });
}

// ---------------------------------------------------------------------------------------------
// timers

/// How long task `i` of `timers` sleeps: `lead`, plus 10 ns per task before it. The sleep is
/// created at the task's first poll (inside its `async` block, not at spawn), and first polls
/// happen in spawn order, so deadlines are distinct and grow with `i`; `lead` is how far ahead of
/// its own first poll each deadline lies, so no sleep is due before it has been registered.
fn timer_delay(lead: Duration, i: u64) -> Duration {
    lead + Duration::from_nanos(10 * i)
}

/// The measured lead: "a few milliseconds in the future".
const TIMER_LEAD: Duration = Duration::from_millis(3);

/// The lead for the order check: long enough that a preempted bench thread (a loaded machine
/// can take the CPU away for several milliseconds between a sleep's creation and its first poll)
/// still registers every sleep before it is due. A sleep found due at its first poll completes
/// without a timer and would overtake earlier timers that have not fired yet.
const CHECK_LEAD: Duration = Duration::from_millis(100);

/// Run the `timers` scenario once on `rt`, every task logging its number when it wakes, and
/// assert that the tasks woke in deadline order and that every sleep went through the timer list.
fn check_timer_order(rt: &taketurns::Runtime) {
    let fired_before = rt.stats().timers_fired;
    let log = Rc::new(RefCell::new(Vec::with_capacity(TIMERS as usize)));
    rt.block_on(async {
        let handles: Vec<_> = (0..TIMERS)
            .map(|i| {
                let log = log.clone();
                taketurns::spawn(async move {
                    taketurns::time::sleep(timer_delay(CHECK_LEAD, i)).await;
                    log.borrow_mut().push(i);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task completes");
        }
    });
    let log = log.borrow();
    assert_eq!(log.len(), TIMERS as usize, "every sleeping task woke");
    assert!(
        log.windows(2).all(|w| w[0] < w[1]),
        "timers fired out of deadline order"
    );
    assert_eq!(
        rt.stats().timers_fired - fired_before,
        TIMERS,
        "every sleep was registered and fired by the timer list"
    );
}

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers");
    group.throughput(Throughput::Elements(TIMERS));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));

    let taketurns = Taketurns::new();
    check_timer_order(&taketurns.rt);
    timers_on(&mut group, &taketurns);
    timers_on(&mut group, &Tokio::with_timers());

    group.finish();
}

// ANCHOR: timers
fn timers_on<E: Timers>(group: &mut Group<'_>, ex: &E) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            ex.block_on(async {
                let mut handles = Vec::with_capacity(TIMERS as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    handles.extend((0..TIMERS).map(|i| ex.spawn_sleep(timer_delay(TIMER_LEAD, i))));
                    for handle in handles.drain(..) {
                        E::output(handle.await);
                    }
                }
                start.elapsed()
            })
        })
    });
}
// ANCHOR_END: timers

// ---------------------------------------------------------------------------------------------
// many_idle_tasks

/// How many tasks `many_idle_tasks` parks. `cargo bench` passes `--bench` to this binary;
/// `cargo test --benches` does not, and criterion then runs every benchmark once as a smoke test,
/// where a million tasks per member would cost seconds and hundreds of MB for nothing: the smoke
/// test parks [`IDLE_TASKS_SMOKE`] tasks instead.
fn idle_task_count() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        IDLE_TASKS
    } else {
        IDLE_TASKS_SMOKE
    }
}

thread_local! {
    /// How many idle tasks of the current round have been polled (and so are parked). Every
    /// executor here runs its tasks on the bench thread, so a thread-local needs no atomics.
    static PARKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One idle task: count itself as parked, then wait on its own oneshot.
async fn idle_task(wake: oneshot::Receiver<u64>) -> u64 {
    PARKED.set(PARKED.get() + 1);
    wake.await.expect("the sender is kept until it sends")
}

/// One round of `many_idle_tasks` on `ex`: spawn `n` idle tasks, let the executor poll them all
/// (it runs them whenever this future yields), send on every oneshot, then await every handle in
/// spawn order. Asserts every task came back with its own number.
async fn idle_round<E: Executor>(ex: &E, n: usize) {
    PARKED.set(0);
    let mut senders = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = oneshot::channel();
        senders.push(tx);
        handles.push(ex.spawn(idle_task(rx)));
    }
    while PARKED.get() < n {
        E::yield_now().await;
    }
    for (i, tx) in senders.into_iter().enumerate() {
        tx.send(i as u64).expect("the task is waiting");
    }
    let mut sum = 0;
    for handle in handles {
        sum += E::output(handle.await);
    }
    let n = n as u64;
    assert_eq!(sum, n * (n - 1) / 2, "every task returned its own number");
}

fn many_idle_tasks(c: &mut Criterion) {
    let n = idle_task_count();
    let mut group = c.benchmark_group("many_idle_tasks");
    group.throughput(Throughput::Elements(n as u64));
    // An iteration takes a large fraction of a second: one iteration per sample, ten samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(12));
    on_every_member!(group, many_idle_tasks_on, n);
    group.finish();
}

fn many_idle_tasks_on<E: Executor>(group: &mut Group<'_>, ex: &E, n: usize) {
    group.bench_function(ex.name(), |b| {
        b.iter_custom(|iters| {
            ex.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    idle_round(ex, n).await;
                }
                start.elapsed()
            })
        })
    });
}

fn config() -> Criterion {
    // 4 groups x 5 members x (0.5 s warm-up + 3 s measurement), plus `timers` (2 members x 3.5 s)
    // and `many_idle_tasks` (5 members x about 12 s): `cargo bench` takes about three minutes.
    // The last two set their own sampling (see each group).
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_one, spawn_many, yield_now, wake_from_thread, timers, many_idle_tasks
}
criterion_main!(benches);
