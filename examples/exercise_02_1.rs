//! Exercise 2.1, "Small stacks, and the limit": what does a thread with a 16 KiB stack really
//! reserve, and what limits how many threads a process can start?
//!
//! This uses only std and taketurns' public API, so it runs directly. It starts `--threads`
//! threads with Rust's default stack and then with `--stack-kib`, each waiting at a gate, and
//! reads `/proc` while they all wait: address space (`VmSize`), resident memory (`VmRSS`) and
//! mappings per thread, the size of one thread's stack mapping (found in `/proc/self/maps` from
//! the address of a local variable), and kernel stacks (`KernelStack`, machine-wide). Then it
//! prints the limits: `vm.max_map_count` and how many threads fit under it from here,
//! `kernel.pid_max`, `kernel.threads-max`. Like `examples/thread_cost.rs`, it stops before
//! `vm.max_map_count`, because a thread started past it can abort the whole process;
//! `cargo run --release --example thread_cost -- --threads 17000 --no-map-guard` shows that abort.
//! Python's `threading.stack_size()` sets the same pthread attribute; tokio's
//! `Builder::thread_stack_size` too (its default is 2 MiB, like std's).
//!
//! ```console
//! $ cargo run --release --example exercise_02_1 -- --threads 20000 --stack-kib 16
//! ```

use std::fs;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use clap::Parser;
use taketurns::threaded::ThreadPerTask;

/// Start many waiting threads with the default stack and with a small one; print what each
/// costs, the size of one stack mapping, and the limits that stop them.
#[derive(Parser, Debug)]
#[command(name = "exercise_02_1")]
struct Args {
    /// Threads to start and keep waiting at once, per column.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// The small stack to ask for, in KiB.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    stack_kib: u32,
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

fn sysctl(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string())
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let columns = [
        ("default stack".to_string(), None),
        (
            format!("{} KiB stack", args.stack_kib),
            Some(args.stack_kib as usize * 1024),
        ),
    ];
    for (name, stack) in columns {
        let p = park_threads(args.threads as usize, stack)?;
        println!(
            "{name}: requested={} created={} stack_mapping_kib={} vmsize_per_thread_kib={:.1} rss_per_thread_kib={:.1} maps_per_thread={:.2} kernel_stack_per_thread_kib={:.1}",
            args.threads,
            p.created,
            p.stack_mapping_kib,
            p.per_thread(|m| m.virtual_kib),
            p.per_thread(|m| m.rss_kib),
            p.per_thread(|m| m.maps),
            p.per_thread(|m| m.kernel_stack_kib),
        );
        if let Some(why) = p.stopped {
            println!("  {name}: stopped after {} threads: {why}", p.created);
        }
    }
    let maps_now = memory_now()?.maps;
    let fit = threads_below_map_limit(maps_now);
    println!(
        "limits: vm.max_map_count={} maps_now={maps_now} threads_that_fit_now={fit} kernel.pid_max={} kernel.threads-max={}",
        sysctl("/proc/sys/vm/max_map_count"),
        sysctl("/proc/sys/kernel/pid_max"),
        sysctl("/proc/sys/kernel/threads-max"),
    );
    Ok(())
}
