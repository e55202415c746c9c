//! `timers.md`: chapter 8's timer list, measured against tokio's timer wheel: 100,000 sleeping
//! tasks with distinct deadlines a few milliseconds away, fired and awaited, after one run that
//! checks they woke in deadline order; and the memory each idle task costs the runtime beyond
//! its own future, from `child-memory` children (`memory.rs`). Chapters 13 and 14 include it.
//!
//! taketurns keeps its timers in a `BTreeMap` ordered by deadline, asyncio in a binary heap
//! (`loop._scheduled`), tokio in a hierarchical timing wheel. Left out: cancelling and resetting
//! timers, and sleeps long enough for a wheel's coarser levels to matter.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::format::{count, median, time};
use crate::memory::{Waiter, memory_child};
use crate::output::Table;
use crate::scheduler::taketurns_rt;
use crate::{Experiment, Size};

/// `--only timers`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "timers",
    file: "timers.md",
    about: "100,000 sleeps, and memory per idle task",
    skip: None,
    run: |run| timers_table(run.size),
};

/// Sleeping tasks in the timers row.
const TIMERS: u64 = 100_000;

/// How long task `i` sleeps: `lead` plus 10 ns per task before it, so every deadline is distinct
/// and grows with `i`.
fn timer_delay(lead: Duration, i: u64) -> Duration {
    lead + Duration::from_nanos(10 * i)
}

/// The measured lead: a few milliseconds.
const TIMER_LEAD: Duration = Duration::from_millis(3);

/// The lead of the order check: long enough that every sleep is registered before it is due,
/// even when the machine takes the CPU away for a while.
const CHECK_LEAD: Duration = Duration::from_millis(100);

thread_local! {
    /// The order in which the sleeping tasks of the order check woke.
    static WOKE: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Something that can spawn a sleeping task and await it.
trait Sleeper {
    /// Run `future` to completion.
    fn run<F: Future>(&self, future: F) -> F::Output;
    /// Spawn a task that sleeps for `delay`, then logs `i` if `log`.
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>>;
}

impl Sleeper for taketurns::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>> {
        let handle = taketurns::spawn(async move {
            taketurns::time::sleep(delay).await;
            if log {
                WOKE.with(|w| w.borrow_mut().push(i));
            }
        });
        Box::pin(async move {
            let _ = handle.await;
        })
    }
}

impl Sleeper for tokio::runtime::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>> {
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if log {
                WOKE.with(|w| w.borrow_mut().push(i));
            }
        });
        Box::pin(async move {
            let _ = handle.await;
        })
    }
}

/// Spawn [`TIMERS`] sleeping tasks with leads `lead`, await them all, and return how long that
/// took; with `log`, check that they woke in deadline order.
fn sleeps<S: Sleeper>(rt: &S, lead: Duration, log: bool) -> Result<Duration, String> {
    WOKE.with(|w| w.borrow_mut().clear());
    let elapsed = rt.run(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..TIMERS)
            .map(|i| rt.spawn_sleep(timer_delay(lead, i), i, log))
            .collect();
        for handle in handles {
            handle.await;
        }
        start.elapsed()
    });
    if log {
        let woke = WOKE.with(|w| w.take());
        if woke.len() as u64 != TIMERS || !woke.windows(2).all(|w| w[0] < w[1]) {
            return Err("the sleeping tasks did not wake in deadline order".into());
        }
    }
    Ok(elapsed)
}

/// The median time of 100,000 sleeps after an order check.
fn timers_on<S: Sleeper>(rt: &S, size: Size) -> Result<Duration, String> {
    sleeps(rt, CHECK_LEAD, true)?;
    let runs = if size.quick { 3 } else { size.batches };
    let mut samples = Vec::new();
    for _ in 0..runs {
        samples.push(sleeps(rt, TIMER_LEAD, false)?);
    }
    Ok(median(samples))
}

/// timers.md: 100,000 sleeps in deadline order; memory per idle task beyond its future.
fn timers_table(size: Size) -> Result<Table, String> {
    let taketurns = timers_on(&taketurns_rt()?, size)?;
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
    let tokio = timers_on(&tokio_rt, size)?;
    let idle_taketurns = memory_child(Waiter::Taketurns, size.idle_tasks)?;
    let idle_tokio = memory_child(Waiter::Tokio, size.idle_tasks)?;
    let mut table = Table::new(&["what", "taketurns", "tokio current_thread"]);
    table.row(vec![
        "100,000 sleeps fired in deadline order".into(),
        time(taketurns),
        time(tokio),
    ]);
    table.row(vec![
        "memory per idle task beyond its future".into(),
        format!("{:.0} B", idle_taketurns.bytes_each),
        format!("{:.0} B", idle_tokio.bytes_each),
    ]);
    table.sentences.push(format!(
        "Each sleep's deadline lies a few milliseconds after its first poll, all distinct; the \
         time is the median of {} runs, after a run that checks the order. Memory: {} idle tasks \
         in a process of their own per runtime.",
        if size.quick { 3 } else { size.batches },
        count(size.idle_tasks as u64)
    ));
    Ok(table)
}
