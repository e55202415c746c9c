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

use std::fs;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use clap::Parser;
use futures::channel::oneshot;
use taketurns::threaded::ThreadPerTask;

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

// ANCHOR: park
/// What the kernel says about this process's memory at one moment.
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    /// Pages in RAM (`VmRSS`), in KiB.
    rss_kib: u64,
    /// Address space reserved, touched or not (`VmSize`), in KiB.
    virtual_kib: u64,
    /// Memory mappings (lines of `/proc/self/maps`); `vm.max_map_count` caps them.
    maps: u64,
    /// Kernel stacks of every thread on the machine (`KernelStack` in `/proc/meminfo`), in KiB.
    kernel_stack_kib: u64,
}

fn memory_now() -> io::Result<Memory> {
    let field = |file: &str, name: &str| -> io::Result<u64> {
        fs::read_to_string(file)?
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no `{name}` line in {file}")))
    };
    Ok(Memory {
        rss_kib: field("/proc/self/status", "VmRSS:")?,
        virtual_kib: field("/proc/self/status", "VmSize:")?,
        maps: fs::read_to_string("/proc/self/maps")?.lines().count() as u64,
        kernel_stack_kib: field("/proc/meminfo", "KernelStack:")?,
    })
}

/// The size in KiB of the mapping of `/proc/self/maps` that holds `address`.
fn mapping_kib(address: usize) -> io::Result<u64> {
    for line in fs::read_to_string("/proc/self/maps")?.lines() {
        let range = line.split_whitespace().next().unwrap_or("");
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        if (start..end).contains(&address) {
            return Ok(((end - start) / 1024) as u64);
        }
    }
    Err(io::Error::other("no mapping holds the thread's stack"))
}

/// Memory before and while `created` threads waited at once, and the size of one thread's stack
/// mapping.
struct Parked {
    created: usize,
    before: Memory,
    parked: Memory,
    stack_mapping_kib: u64,
    /// Why fewer than the requested number were started, if they were.
    stopped: Option<String>,
}

impl Parked {
    /// What one waiting thread added to a figure: (parked - before) / created.
    fn per_thread(&self, figure: impl Fn(&Memory) -> u64) -> f64 {
        (figure(&self.parked) as f64 - figure(&self.before) as f64) / self.created.max(1) as f64
    }
}

/// Mappings one thread adds on glibc with Rust's std: its stack, the guard page below it, the
/// signal stack std gives each thread, and that one's guard page.
const MAPS_PER_THREAD: u64 = 4;

/// How many more threads fit under `vm.max_map_count`, keeping 64 mappings spare. A thread
/// started past it may abort the whole process (std cannot map its signal stack), so we stop.
fn threads_below_map_limit(maps_now: u64) -> usize {
    match fs::read_to_string("/proc/sys/vm/max_map_count").map(|s| s.trim().parse::<u64>()) {
        Ok(Ok(max)) => (max.saturating_sub(maps_now + 64) / MAPS_PER_THREAD) as usize,
        _ => usize::MAX,
    }
}

/// Start up to `n` threads with `stack` bytes of stack (or Rust's default), each waiting on a
/// barrier of its own kind (a mutex and a condvar); measure while all of them wait, then release
/// and join them. A refused spawn, or the map limit, stops the starting; what was started is
/// measured and joined all the same.
fn park_threads(n: usize, stack: Option<usize>) -> io::Result<Parked> {
    let gate = Arc::new((Mutex::new((0usize, false)), Condvar::new()));
    let mut handles = Vec::with_capacity(n); // allocated before the first reading
    let (address_tx, address_rx) = mpsc::channel();
    let before = memory_now()?;
    let room = threads_below_map_limit(before.maps);
    let mut stopped = None;
    for k in 0..n {
        if k == room {
            stopped = Some("the next one could pass vm.max_map_count".to_string());
            break;
        }
        let (gate, address_tx) = (Arc::clone(&gate), address_tx.clone());
        let mut builder = ThreadPerTask::new();
        if let Some(bytes) = stack {
            builder = builder.stack_size(bytes);
        }
        let spawned = builder.spawn(move || {
            // Where this thread's stack is: the address of a local variable (no unsafe needed).
            let marker = 0u8;
            let _ = address_tx.send(std::hint::black_box(&marker) as *const u8 as usize);
            let (state, changed) = &*gate;
            let mut state = state.lock().unwrap();
            state.0 += 1;
            changed.notify_all();
            while !state.1 {
                state = changed.wait(state).unwrap();
            }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                stopped = Some(format!("{e} (kind: {:?})", e.kind()));
                break;
            }
        }
    }
    let (state, changed) = &*gate;
    let mut waiting = state.lock().unwrap();
    while waiting.0 < handles.len() {
        waiting = changed.wait(waiting).unwrap();
    }
    drop(waiting);
    let parked = memory_now()?;
    let stack_mapping_kib = match address_rx.try_recv() {
        Ok(address) => mapping_kib(address)?,
        Err(_) => 0,
    };
    state.lock().unwrap().1 = true;
    changed.notify_all();
    let created = handles.len();
    for handle in handles {
        handle.join().expect("a parked thread panicked");
    }
    Ok(Parked {
        created,
        before,
        parked,
        stack_mapping_kib,
        stopped,
    })
}
// ANCHOR_END: park

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
