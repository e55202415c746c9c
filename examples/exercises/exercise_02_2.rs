//! Exercise 2.2, "Ten thousand": which per-thread costs stay the same from 1,000 waiting threads
//! to 10,000, which fall, and what do 10,000 waiting threads cost in all, against 10,000 tasks?
//!
//! This uses only std and taketurns' public API, so it runs directly. It starts `--small` and
//! then `--large` threads with Rust's default stack, each waiting at a gate, and reads `/proc`
//! while they all wait: address space (`VmSize`), resident memory (`VmRSS`), mappings and kernel
//! stacks (`KernelStack`, machine-wide) per thread. Each count runs in a fresh child process. Then it parks `--large` taketurns tasks, each
//! waiting on a oneshot channel, and prints the whole cost of each. Part of `VmSize` is not per
//! thread: glibc's malloc creates up to 8 × cores arenas of 64 MiB of address space, once, for
//! the first threads that allocate at the same time, so spread over more threads it weighs less.
//! An asyncio task is a Python object plus its coroutine's frame; a tokio task, like ours, is one
//! heap allocation: a header and the future.
//!
//! ```console
//! $ cargo run --release --example exercise_02_2 -- --small 1000 --large 10000
//! ```

use std::io;

use clap::Parser;
use futures::channel::oneshot;

/// Park threads at two counts and tasks at the larger one; print the cost of each per thread
/// and in all.
#[derive(Parser, Debug)]
#[command(name = "exercise_02_2")]
struct Args {
    /// The smaller number of waiting threads.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    small: u32,
    /// The larger number of waiting threads (and of tasks).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    large: u32,
    /// Park this many threads in this process and print one line (used by the example itself:
    /// each count runs in a fresh child process, so the second does not inherit the first one's
    /// malloc arenas).
    #[arg(long, hide = true)]
    only_threads: Option<u32>,
}

#[path = "support/park.rs"]
mod park;
use park::{Parked, memory_now, park_threads};

// ANCHOR: park_tasks
/// `n` taketurns tasks, each waiting on its own oneshot channel: memory before and while they
/// wait, as a `Parked` (no stack mapping: tasks have none).
fn park_tasks(n: usize) -> io::Result<Parked> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let mut senders = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let before = memory_now()?;
        for _ in 0..n {
            let (sender, receiver) = oneshot::channel::<()>();
            senders.push(sender);
            handles.push(taketurns::spawn(async move {
                let _ = receiver.await;
            }));
        }
        taketurns::yield_now().await; // one tick: every task polls once and waits
        let parked = memory_now()?;
        drop(senders); // every receiver ends with `Canceled`, which wakes its task
        let created = handles.len();
        for handle in handles {
            handle.await.expect("a parked task panicked");
        }
        Ok(Parked {
            created,
            before,
            parked,
            stack_mapping_kib: 0,
            stopped: None,
        })
    })
}
// ANCHOR_END: park_tasks

/// Park `n` threads and print their line, and the whole cost.
fn threads_line(n: u32) -> io::Result<()> {
    let p = park_threads(n as usize, None)?;
    println!(
        "{n} threads: created={} stack_mapping_kib={} rss_per_thread_kib={:.1} vmsize_per_thread_kib={:.1} maps_per_thread={:.2} kernel_stack_per_thread_kib={:.1}",
        p.created,
        p.stack_mapping_kib,
        p.per_thread(|m| m.rss_kib),
        p.per_thread(|m| m.virtual_kib),
        p.per_thread(|m| m.maps),
        p.per_thread(|m| m.kernel_stack_kib),
    );
    if let Some(why) = &p.stopped {
        println!("  stopped after {} threads: {why}", p.created);
    }
    let mib = |kib: f64| kib / 1024.0;
    let rss = p.parked.rss_kib as f64 - p.before.rss_kib as f64;
    let kernel = p.parked.kernel_stack_kib as f64 - p.before.kernel_stack_kib as f64;
    let space = p.parked.virtual_kib as f64 - p.before.virtual_kib as f64;
    println!(
        "{} waiting threads in all: rss_mib={:.1} kernel_stacks_mib={:.1} ram_mib={:.1} address_space_gib={:.1}",
        p.created,
        mib(rss),
        mib(kernel),
        mib(rss + kernel),
        mib(space) / 1024.0
    );
    Ok(())
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    if let Some(n) = args.only_threads {
        return threads_line(n);
    }
    let me = std::env::current_exe()?;
    for n in [args.small, args.large] {
        let status = std::process::Command::new(&me)
            .args(["--only-threads", &n.to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "the run with {n} threads failed ({status})"
            )));
        }
    }
    let tasks = park_tasks(args.large as usize)?;
    let task_rss = tasks.parked.rss_kib as f64 - tasks.before.rss_kib as f64;
    println!(
        "{} waiting tasks in all: created={} rss_mib={:.1} rss_per_task_bytes={:.0}",
        args.large,
        tasks.created,
        task_rss / 1024.0,
        tasks.per_thread(|m| m.rss_kib) * 1024.0
    );
    Ok(())
}
