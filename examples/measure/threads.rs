//! `threads.md`: chapter 2's question, what a thread costs next to a task: the time to start and
//! join a thread that does nothing beside the time to spawn and await a task, and the memory of a
//! parked thread beside that of an idle task (its future included). Times are timing loops in
//! this process; memory comes from `child-memory` children (`memory.rs`), one per count.
//!
//! Python's `threading.Thread(...).start(); join()` against `asyncio.create_task` is the same
//! comparison. `examples/thread_cost` goes further (context switches, the kernel's limits); this
//! table keeps the two figures chapter 2 quotes.

use std::time::{Duration, Instant};

use crate::format::{count, kib, median, ratio, time};
use crate::memory::{Waiter, memory_child};
use crate::output::Table;
use crate::scheduler::taketurns_spawn_await;
use crate::{Experiment, Size};

/// `--only threads`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "threads",
    file: "threads.md",
    about: "what a thread costs next to a task",
    skip: None,
    run: |run| threads_table(run.size),
};

/// Time to start and join one thread that does nothing: the median over the batches.
fn thread_start_join(size: Size) -> Result<Duration, String> {
    let per_batch = if size.quick { 200 } else { 1000 };
    let mut samples = Vec::new();
    for batch in 0..=size.batches {
        let start = Instant::now();
        for _ in 0..per_batch {
            std::thread::Builder::new()
                .spawn(|| std::hint::black_box(1))
                .map_err(|e| format!("cannot start a thread: {e}"))?
                .join()
                .map_err(|_| "an empty thread panicked".to_string())?;
        }
        if batch > 0 {
            samples.push(start.elapsed() / per_batch);
        }
    }
    Ok(median(samples))
}

/// threads.md: start + join next to spawn + await; memory per parked thread and per idle task.
fn threads_table(size: Size) -> Result<Table, String> {
    let thread = thread_start_join(size)?;
    let task = taketurns_spawn_await(size)?;
    let parked = memory_child(Waiter::Threads, size.parked_threads)?;
    let idle = memory_child(Waiter::Taketurns, size.idle_tasks)?;
    let idle_whole = idle.bytes_each + idle.future_bytes as f64;
    let mut table = Table::new(&["what", "thread", "task"]);
    table.row(vec![
        "start and join (a task: spawn and await)".into(),
        time(thread),
        time(task),
    ]);
    table.row(vec![
        "memory per parked thread".into(),
        kib(parked.bytes_each / 1024.0),
        "–".into(),
    ]);
    table.row(vec![
        "memory per idle task (its future included)".into(),
        "–".into(),
        format!("{idle_whole:.0} B"),
    ]);
    table.sentences.push(format!(
        "On this run a thread took {} the time of a task to start and finish, and a parked \
         thread {} the memory of an idle task ({} threads and {} tasks parked, each count in a \
         process of its own).",
        ratio(thread.as_secs_f64(), task.as_secs_f64()),
        ratio(parked.bytes_each, idle_whole),
        count(size.parked_threads as u64),
        count(size.idle_tasks as u64)
    ));
    Ok(table)
}
