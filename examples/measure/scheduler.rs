//! `scheduler.md`: chapter 13's deep dive, how close the hand-built loop comes to tokio and to
//! two other single-threaded executors on the scheduler's two basic operations alone: spawning a
//! task and awaiting it, and one yield while two tasks take turns. Timing loops in this process (a
//! child's start-up would drown nanoseconds), the median of several batches after a warm-up.
//!
//! The executors are taketurns, tokio's current_thread runtime with its I/O and time drivers and
//! without them, `futures`' `LocalPool` and smol's `LocalExecutor`; asyncio's equivalents
//! (`create_task` + `await`, `await asyncio.sleep(0)`) are not timed here. Left out: I/O and timers (the timers table has
//! those), and the criterion benches' statistics (`benches/`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;

use crate::format::{count, median, time};
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only scheduler`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "scheduler",
    file: "scheduler.md",
    about: "spawn + await, and a yield, on four executors",
    skip: None,
    run: |run| scheduler_table(run.size),
};

/// What the timing loops need from an executor: its own block_on, spawn and yield.
pub trait Executor {
    /// What `spawn` hands back; awaiting it gives the task's output.
    type Handle: Future;
    /// Run `future` to completion on this executor.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawn a task that returns a number.
    fn spawn_number(&self) -> Self::Handle;
    /// Spawn a task that yields `n` times.
    fn spawn_yielder(&self, n: usize) -> Self::Handle;
}

impl Executor for taketurns::Runtime {
    type Handle = taketurns::JoinHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        taketurns::Runtime::block_on(self, future)
    }
    fn spawn_number(&self) -> Self::Handle {
        taketurns::spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        taketurns::spawn(async move {
            for _ in 0..n {
                taketurns::yield_now().await;
            }
            1
        })
    }
}

impl Executor for tokio::runtime::Runtime {
    type Handle = tokio::task::JoinHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, future)
    }
    fn spawn_number(&self) -> Self::Handle {
        tokio::spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        tokio::spawn(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
            1
        })
    }
}

/// `futures::executor::LocalPool` with its spawner.
struct Pool {
    /// The pool; `run_until` needs it mutably.
    pool: RefCell<LocalPool>,
    /// Spawns onto `pool` from inside a scenario.
    spawner: LocalSpawner,
}

impl Executor for Pool {
    type Handle = futures::future::RemoteHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.pool.borrow_mut().run_until(future)
    }
    fn spawn_number(&self) -> Self::Handle {
        self.spawner
            .spawn_local_with_handle(async { 1 })
            .expect("the pool is alive")
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        self.spawner
            .spawn_local_with_handle(async move {
                for _ in 0..n {
                    YieldOnce(false).await;
                }
                1
            })
            .expect("the pool is alive")
    }
}

impl Executor for async_executor::LocalExecutor<'static> {
    type Handle = async_executor::Task<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(self.run(future))
    }
    fn spawn_number(&self) -> Self::Handle {
        self.spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        self.spawn(async move {
            for _ in 0..n {
                YieldOnce(false).await;
            }
            1
        })
    }
}

/// A yield for executors that have none: wake ourselves and return `Pending` once, as
/// `taketurns::yield_now` does. The flag says whether it has yielded already.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Time per spawn + await: the median over `batches` batches of `ops` (plus one warm-up batch).
pub fn spawn_await<E: Executor>(ex: &E, size: Size) -> Duration {
    ex.block_on(async {
        let mut samples = Vec::new();
        for batch in 0..=size.batches {
            let start = Instant::now();
            for _ in 0..size.ops {
                std::hint::black_box(ex.spawn_number().await);
            }
            if batch > 0 {
                samples.push(start.elapsed() / size.ops as u32);
            }
        }
        median(samples)
    })
}

/// Time per yield, two tasks taking turns: the median over `batches` batches.
fn yield_turns<E: Executor>(ex: &E, size: Size) -> Duration {
    ex.block_on(async {
        let mut samples = Vec::new();
        let per_task = size.ops / 2;
        for batch in 0..=size.batches {
            let start = Instant::now();
            let a = ex.spawn_yielder(per_task);
            let b = ex.spawn_yielder(per_task);
            std::hint::black_box(a.await);
            std::hint::black_box(b.await);
            if batch > 0 {
                samples.push(start.elapsed() / (2 * per_task) as u32);
            }
        }
        median(samples)
    })
}

/// A tokio current_thread runtime with no drivers: the cheapest tokio setup, which cannot wait
/// for a socket or a timer.
pub fn tokio_bare() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))
}

/// A tokio current_thread runtime with its I/O and time drivers (`enable_all`): what a program
/// that uses sockets and timers runs on, as every taketurns runtime has its reactor and timers.
pub fn tokio_with_drivers() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))
}

/// Spawn + await on taketurns, measured once per run of `measure` and reused by every table that
/// shows it (`scheduler.md`, `threads.md`), so that the book gives one figure for it.
pub fn taketurns_spawn_await(size: Size) -> Result<Duration, String> {
    static MEASURED: Mutex<Option<Duration>> = Mutex::new(None);
    let mut measured = MEASURED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(time) = *measured {
        return Ok(time);
    }
    let time = spawn_await(&taketurns_rt()?, size);
    *measured = Some(time);
    Ok(time)
}

/// A taketurns runtime.
pub fn taketurns_rt() -> Result<taketurns::Runtime, String> {
    taketurns::Runtime::new().map_err(|e| format!("cannot create a taketurns runtime: {e}"))
}

/// scheduler.md: spawn + await and a yield on taketurns, tokio, LocalPool and smol.
fn scheduler_table(size: Size) -> Result<Table, String> {
    let taketurns = taketurns_rt()?;
    let tokio = tokio_with_drivers()?;
    let tokio_bare = tokio_bare()?;
    let pool = {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        Pool {
            pool: RefCell::new(pool),
            spawner,
        }
    };
    let smol = async_executor::LocalExecutor::new();
    let mut table = Table::new(&[
        "operation",
        "taketurns",
        "tokio current_thread",
        "tokio, no drivers",
        "futures LocalPool",
        "smol LocalExecutor",
    ]);
    let spawn = [
        taketurns_spawn_await(size)?,
        spawn_await(&tokio, size),
        spawn_await(&tokio_bare, size),
        spawn_await(&pool, size),
        spawn_await(&smol, size),
    ];
    let turns = [
        yield_turns(&taketurns, size),
        yield_turns(&tokio, size),
        yield_turns(&tokio_bare, size),
        yield_turns(&pool, size),
        yield_turns(&smol, size),
    ];
    let mut row = |what: &str, times: &[Duration; 5]| {
        let mut cells = vec![what.to_string()];
        cells.extend(times.iter().map(|&t| time(t)));
        table.row(cells);
    };
    row("spawn + await one task", &spawn);
    row("one yield (two tasks taking turns)", &turns);
    table.sentences.push(format!(
        "Time per operation, the median of {} batches of {} operations each, after one warm-up \
         batch. \"tokio current_thread\" is built with its I/O and time drivers \
         (`enable_all`), as a program with sockets and timers runs it and as taketurns always \
         runs; \"no drivers\" is the same runtime without them, which can wait for neither.",
        size.batches,
        count(size.ops as u64)
    ));
    Ok(table)
}
