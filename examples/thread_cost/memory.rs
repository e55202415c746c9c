//! Memory: `--threads` threads started and parked at a gate, with Rust's default stack and with
//! a small one, beside as many taketurns tasks parked on a channel each; the process's memory is
//! read from `/proc` before, while all of them wait, and after. Per waiting thread or task:
//! resident memory (RSS), address space (VmSize), memory mappings, and the kernel stack each
//! thread costs outside the process.
//!
//! Python's threads cost the same OS thread plus the interpreter's thread state; an asyncio task
//! is a coroutine object on the heap, as a taketurns task is a future. Left out: exhausting the
//! machine. The map guard stops before `vm.max_map_count`, past which a new thread can abort the
//! whole process.

use std::fs;
use std::io;
use std::sync::{Arc, Condvar, Mutex};

use futures::channel::oneshot;
use taketurns::threaded::ThreadPerTask;

use crate::Args;
use crate::format::size;
use crate::limits::sysctl;

/// The "Memory" section: `--threads` threads parked with each of `spawners`, beside `tasks`
/// (parked first, by `main`), in one table. Returns what one thread of the first spawner added:
/// memory mappings, and KiB of RAM (RSS plus kernel stack), for the limits.
pub fn print_parked(
    args: &Args,
    spawners: [(&str, ThreadPerTask); 2],
    tasks: Parked,
) -> io::Result<(f64, f64)> {
    let n = args.threads;
    println!("Memory: {n} threads, or {n} tasks, all waiting at once");
    let [(first_name, first), (second_name, second)] = spawners;
    let columns = [
        (first_name, park_threads(first, n, !args.no_map_guard)?),
        (second_name, park_threads(second, n, !args.no_map_guard)?),
        ("tasks", tasks),
    ];
    print_memory(&columns);
    let maps_per_thread = columns[0].1.per_item(|m| m.maps);
    let rss_per_thread = columns[0].1.per_item(|m| m.rss_kib);
    let kernel_per_thread = columns[0].1.per_item(|m| m.kernel_stack_kib);
    Ok((maps_per_thread, rss_per_thread + kernel_per_thread))
}

// ANCHOR: memory_now
/// What the kernel says about this process's memory at one moment.
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    /// Memory actually in RAM: pages this process has touched (`VmRSS`), in KiB.
    rss_kib: u64,
    /// Address space reserved, touched or not (`VmSize`), in KiB.
    virtual_kib: u64,
    /// Threads in this process, the main one included (`Threads`).
    threads: u64,
    /// Memory mappings (lines of `/proc/self/maps`); `vm.max_map_count` caps them.
    maps: u64,
    /// Kernel stacks of every thread on the machine (`KernelStack` in `/proc/meminfo`), in KiB.
    kernel_stack_kib: u64,
}

fn memory_now() -> io::Result<Memory> {
    let status = fs::read_to_string("/proc/self/status")?;
    let meminfo = fs::read_to_string("/proc/meminfo")?;
    Ok(Memory {
        rss_kib: field(&status, "VmRSS:")?,
        virtual_kib: field(&status, "VmSize:")?,
        threads: field(&status, "Threads:")?,
        maps: fs::read_to_string("/proc/self/maps")?.lines().count() as u64,
        kernel_stack_kib: field(&meminfo, "KernelStack:")?,
    })
}

/// The number after `name` in a `/proc` file made of `Name:   value [kB]` lines.
pub fn field(text: &str, name: &str) -> io::Result<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no `{name}` line in /proc")))
}
// ANCHOR_END: memory_now

// ANCHOR: gate
/// Where the parked threads wait: they check in, then sleep until the gate opens.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    /// Threads sleep here until the gate opens; the main thread sleeps here until all checked in.
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// Threads that have checked in. Only they increment it.
    checked_in: usize,
    /// Set once, by the main thread, to let every thread go.
    open: bool,
}

impl Gate {
    /// Called by each parked thread: check in, then sleep until the gate opens.
    fn check_in_and_wait(&self) {
        let mut state = self.state.lock().unwrap();
        state.checked_in += 1;
        self.changed.notify_all();
        while !state.open {
            state = self.changed.wait(state).unwrap();
        }
    }

    /// Called by the main thread: sleep until `n` threads have checked in.
    fn wait_for(&self, n: usize) {
        let mut state = self.state.lock().unwrap();
        while state.checked_in < n {
            state = self.changed.wait(state).unwrap();
        }
    }

    /// Called by the main thread: let every thread go.
    fn open(&self) {
        self.state.lock().unwrap().open = true;
        self.changed.notify_all();
    }
}
// ANCHOR_END: gate

/// Memory before, while and after `created` threads (or tasks) waited at once.
pub struct Parked {
    requested: usize,
    created: usize,
    before: Memory,
    parked: Memory,
    after: Memory,
    /// Why fewer than the requested number were created, if they were.
    error: Option<io::Error>,
}

impl Parked {
    /// What one waiting thread or task added to a figure: (parked - before) / created.
    fn per_item(&self, figure: impl Fn(&Memory) -> u64) -> f64 {
        let added = figure(&self.parked) as f64 - figure(&self.before) as f64;
        added / self.created.max(1) as f64
    }
}

// ANCHOR: park_threads
/// Starts `n` threads that each check in at a gate and sleep there, reads the process's memory
/// while all of them sleep, then opens the gate and joins them. A failed spawn stops the
/// starting; the threads already started are measured and joined all the same. With
/// `map_guard`, it also stops before the threads would pass `vm.max_map_count`.
fn park_threads(spawner: ThreadPerTask, n: usize, map_guard: bool) -> io::Result<Parked> {
    let gate = Arc::new(Gate::default());
    let mut handles = Vec::with_capacity(n); // allocated before the first reading
    let mut error = None;
    let before = memory_now()?;
    let room = if map_guard {
        threads_below_map_limit(before.maps)
    } else {
        usize::MAX
    };
    for k in 0..n {
        if k == room {
            error = Some(io::Error::other(
                "the next one could pass vm.max_map_count, and then the whole process \
                 may abort (pass --no-map-guard to see it)",
            ));
            break;
        }
        let gate = Arc::clone(&gate);
        match spawner.spawn(move || gate.check_in_and_wait()) {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    gate.wait_for(handles.len());
    let parked = memory_now()?;
    gate.open();
    let created = handles.len();
    for handle in handles {
        handle.join().expect("a parked thread panicked");
    }
    let after = memory_now()?;
    Ok(Parked {
        requested: n,
        created,
        before,
        parked,
        after,
        error,
    })
}
// ANCHOR_END: park_threads

// ANCHOR: map_guard
/// Mappings one thread adds, as measured: its stack and the guard page below it (made by
/// glibc), and the small stack Rust's std gives each thread for signal handlers, with its own
/// guard page.
const MAPS_PER_THREAD: u64 = 4;

/// Mappings kept spare for everything else that maps memory meanwhile (malloc's arenas).
const SPARE_MAPS: u64 = 64;

/// How many more threads fit under `vm.max_map_count`, counting from `maps_now` mappings.
///
/// Past that limit, starting a thread fails in one of two ways. If glibc cannot map the stack,
/// `spawn` returns `Err`, as it should. But if the stack fits and the signal stack does not,
/// only the new thread finds out, while std is still setting it up: it panics outside any code of
/// ours, and the whole process aborts. So we stop before.
fn threads_below_map_limit(maps_now: u64) -> usize {
    match sysctl("/proc/sys/vm/max_map_count").parse::<u64>() {
        Ok(max) => (max.saturating_sub(maps_now + SPARE_MAPS) / MAPS_PER_THREAD) as usize,
        Err(_) => usize::MAX,
    }
}
// ANCHOR_END: map_guard

// ANCHOR: park_tasks
/// The same with taketurns tasks: `n` tasks each wait for a message on their own oneshot
/// channel, all on this one thread.
pub fn park_tasks(n: usize) -> io::Result<Parked> {
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
        // One tick runs every task once; each finds its channel empty and goes to the waiting
        // list.
        taketurns::yield_now().await;
        let parked = memory_now()?;
        drop(senders); // each receiver now ends with `Canceled`, which wakes its task
        let created = handles.len();
        for handle in handles {
            handle.await.expect("a parked task panicked");
        }
        let after = memory_now()?;
        Ok(Parked {
            requested: n,
            created,
            before,
            parked,
            after,
            error: None,
        })
    })
}
// ANCHOR_END: park_tasks

fn print_memory(columns: &[(&str, Parked)]) {
    let row = |what: &str, cell: &dyn Fn(&Parked) -> String| {
        print!("  {what:<34}");
        for (_, parked) in columns {
            print!(" {:>17}", cell(parked));
        }
        println!();
    };
    print!("  {:<34}", "");
    for (name, _) in columns {
        print!(" {name:>17}");
    }
    println!();
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    row("created", &|p| p.created.to_string());
    row("threads in the process, waiting", &|p| {
        p.parked.threads.to_string()
    });
    row("RSS before/waiting/after (MiB)", &|p| {
        format!(
            "{:.1}/{:.1}/{:.1}",
            p.before.rss_kib as f64 / 1024.0,
            p.parked.rss_kib as f64 / 1024.0,
            p.after.rss_kib as f64 / 1024.0
        )
    });
    row("RSS per waiting one", &|p| size(p.per_item(|m| m.rss_kib)));
    row("VmSize before/waiting/after (MiB)", &|p| {
        format!(
            "{}/{}/{}",
            mib(p.before.virtual_kib),
            mib(p.parked.virtual_kib),
            mib(p.after.virtual_kib)
        )
    });
    row("VmSize per waiting one", &|p| {
        size(p.per_item(|m| m.virtual_kib))
    });
    row("memory maps per waiting one", &|p| {
        format!("{:.2}", p.per_item(|m| m.maps))
    });
    row("kernel stack per waiting one", &|p| {
        size(p.per_item(|m| m.kernel_stack_kib))
    });
    for (name, parked) in columns {
        if let Some(e) = &parked.error {
            println!(
                "  {name}: thread {} of {} was not started: {e} (kind: {:?})",
                parked.created + 1,
                parked.requested,
                e.kind()
            );
        }
    }
}
