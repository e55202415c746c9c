//! Scheduler micro-benchmarks: taketurns side by side with tokio's current-thread runtime and
//! `futures::executor::LocalPool`, doing the same shape of work.
//!
//! Run with `cargo bench --bench scheduler` (about a minute on two cores), or
//! `cargo test --benches` to run every benchmark once as a smoke test.
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
//!
//! # Targets (from the issue)
//!
//! - spawn + await: **≤ 150 ns per task** (`spawn_one`, and `spawn_many` per element).
//! - yield: **≤ 60 ns per yield, and no system call per yield** (`yield_now`; the system-call
//!   half is checked with `strace -f -c`, not here).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::channel::oneshot;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Tasks per iteration of `spawn_many`.
const SPAWN_MANY: u64 = 10_000;
/// Yields per task per iteration of `yield_now` (two tasks).
const YIELDS_PER_TASK: u64 = 1_000;

fn taketurns_rt() -> taketurns::Runtime {
    taketurns::Runtime::new().expect("create a taketurns runtime")
}

/// The tokio peers: no drivers (cheapest), and all drivers (like taketurns, owns an epoll).
fn tokio_rts() -> [(&'static str, tokio::runtime::Runtime); 2] {
    let bare = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("create a tokio runtime");
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("create a tokio runtime with drivers");
    [
        ("tokio_current_thread", bare),
        ("tokio_current_thread_io", io),
    ]
}

// ---------------------------------------------------------------------------------------------
// spawn_one

fn spawn_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_one");
    group.throughput(Throughput::Elements(1));

    let rt = taketurns_rt();
    group.bench_function("taketurns", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let out = taketurns::spawn(async move { black_box(i) }).await;
                    black_box(out.expect("task completes"));
                }
                start.elapsed()
            })
        })
    });

    for (name, rt) in tokio_rts() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters {
                        let out = tokio::spawn(async move { black_box(i) }).await;
                        black_box(out.expect("task completes"));
                    }
                    start.elapsed()
                })
            })
        });
    }

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    group.bench_function("futures_local_pool", |b| {
        b.iter_custom(|iters| {
            pool.run_until(async {
                let start = Instant::now();
                for i in 0..iters {
                    let handle = spawner
                        .spawn_local_with_handle(async move { black_box(i) })
                        .expect("spawn on the pool");
                    black_box(handle.await);
                }
                start.elapsed()
            })
        })
    });

    group.finish();
}

// ---------------------------------------------------------------------------------------------
// spawn_many

fn spawn_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many");
    group.throughput(Throughput::Elements(SPAWN_MANY));

    let rt = taketurns_rt();
    group.bench_function("taketurns", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut handles = Vec::with_capacity(SPAWN_MANY as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    handles.extend((0..SPAWN_MANY).map(|i| taketurns::spawn(async move { i })));
                    let mut sum = 0;
                    for handle in handles.drain(..) {
                        sum += handle.await.expect("task completes");
                    }
                    black_box(sum);
                }
                start.elapsed()
            })
        })
    });

    for (name, rt) in tokio_rts() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut handles = Vec::with_capacity(SPAWN_MANY as usize);
                    let start = Instant::now();
                    for _ in 0..iters {
                        handles.extend((0..SPAWN_MANY).map(|i| tokio::spawn(async move { i })));
                        let mut sum = 0;
                        for handle in handles.drain(..) {
                            sum += handle.await.expect("task completes");
                        }
                        black_box(sum);
                    }
                    start.elapsed()
                })
            })
        });
    }

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    group.bench_function("futures_local_pool", |b| {
        b.iter_custom(|iters| {
            pool.run_until(async {
                let mut handles = Vec::with_capacity(SPAWN_MANY as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    handles.extend((0..SPAWN_MANY).map(|i| {
                        spawner
                            .spawn_local_with_handle(async move { i })
                            .expect("spawn on the pool")
                    }));
                    let mut sum = 0;
                    for handle in handles.drain(..) {
                        sum += handle.await;
                    }
                    black_box(sum);
                }
                start.elapsed()
            })
        })
    });

    group.finish();
}

// ---------------------------------------------------------------------------------------------
// yield_now

/// A yield for executors that have none: wake ourselves, return `Pending` once (the same thing
/// `taketurns::yield_now` does).
struct YieldOnce {
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

fn yield_now(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_now");
    group.throughput(Throughput::Elements(2 * YIELDS_PER_TASK));

    let rt = taketurns_rt();
    group.bench_function("taketurns", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let yielder = || async {
                        for _ in 0..YIELDS_PER_TASK {
                            taketurns::yield_now().await;
                        }
                    };
                    let a = taketurns::spawn(yielder());
                    let b = taketurns::spawn(yielder());
                    a.await.expect("task completes");
                    b.await.expect("task completes");
                }
                start.elapsed()
            })
        })
    });

    for (name, rt) in tokio_rts() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let yielder = || async {
                            for _ in 0..YIELDS_PER_TASK {
                                tokio::task::yield_now().await;
                            }
                        };
                        let a = tokio::spawn(yielder());
                        let b = tokio::spawn(yielder());
                        a.await.expect("task completes");
                        b.await.expect("task completes");
                    }
                    start.elapsed()
                })
            })
        });
    }

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    group.bench_function("futures_local_pool", |b| {
        b.iter_custom(|iters| {
            pool.run_until(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let yielder = || async {
                        for _ in 0..YIELDS_PER_TASK {
                            YieldOnce { yielded: false }.await;
                        }
                    };
                    let a = spawner.spawn_local_with_handle(yielder()).expect("spawn");
                    let b = spawner.spawn_local_with_handle(yielder()).expect("spawn");
                    a.await;
                    b.await;
                }
                start.elapsed()
            })
        })
    });

    group.finish();
}

// ---------------------------------------------------------------------------------------------
// wake_from_thread

/// A persistent OS thread that completes every oneshot it is handed.
struct Helper {
    requests: Option<mpsc::Sender<oneshot::Sender<u64>>>,
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

    let rt = taketurns_rt();
    group.bench_function("taketurns", |b| {
        b.iter_custom(|iters| {
            let task = round_trips(helper.requests(), iters);
            rt.block_on(async { taketurns::spawn(task).await.expect("task completes") })
        })
    });

    for (name, rt) in tokio_rts() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let task = round_trips(helper.requests(), iters);
                rt.block_on(async { tokio::spawn(task).await.expect("task completes") })
            })
        });
    }

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    group.bench_function("futures_local_pool", |b| {
        b.iter_custom(|iters| {
            let task = round_trips(helper.requests(), iters);
            let handle = spawner.spawn_local_with_handle(task).expect("spawn");
            pool.run_until(handle)
        })
    });

    group.finish();
}

fn config() -> Criterion {
    // 4 groups x 4 members x (0.5 s warm-up + 3 s measurement): `cargo bench` takes about a minute.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_one, spawn_many, yield_now, wake_from_thread
}
criterion_main!(benches);
