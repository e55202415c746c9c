//! Parking many threads and reading what they cost, shared by the solutions of exercises 2.1 and
//! 2.2 (`#[path = "support/park.rs"] mod park;` in each). Not an example of its own: cargo builds
//! only `examples/*.rs` and `examples/*/main.rs` as examples.

use std::fs;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use taketurns::threaded::ThreadPerTask;
use taketurns::workload::machine::status_kib;

// ANCHOR: park
/// What the kernel says about this process's memory at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Pages in RAM (`VmRSS`), in KiB.
    pub rss_kib: u64,
    /// Address space reserved, touched or not (`VmSize`), in KiB.
    pub virtual_kib: u64,
    /// Memory mappings (lines of `/proc/self/maps`); `vm.max_map_count` caps them.
    pub maps: u64,
    /// Kernel stacks of every thread on the machine (`KernelStack` in `/proc/meminfo`), in KiB.
    pub kernel_stack_kib: u64,
}

pub fn memory_now() -> io::Result<Memory> {
    let status = |name: &str| {
        status_kib(name)
            .ok_or_else(|| io::Error::other(format!("no `{name}` in /proc/self/status")))
    };
    let kernel_stack_kib = fs::read_to_string("/proc/meminfo")?
        .lines()
        .find_map(|line| line.strip_prefix("KernelStack:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other("no `KernelStack:` line in /proc/meminfo"))?;
    Ok(Memory {
        rss_kib: status("VmRSS:")?,
        virtual_kib: status("VmSize:")?,
        maps: fs::read_to_string("/proc/self/maps")?.lines().count() as u64,
        kernel_stack_kib,
    })
}

/// The size in KiB of the mapping of `/proc/self/maps` that holds `address`.
pub fn mapping_kib(address: usize) -> io::Result<u64> {
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
pub struct Parked {
    pub created: usize,
    pub before: Memory,
    pub parked: Memory,
    pub stack_mapping_kib: u64,
    /// Why fewer than the requested number were started, if they were.
    pub stopped: Option<String>,
}

impl Parked {
    /// What one waiting thread added to a figure: (parked - before) / created.
    pub fn per_thread(&self, figure: impl Fn(&Memory) -> u64) -> f64 {
        (figure(&self.parked) as f64 - figure(&self.before) as f64) / self.created.max(1) as f64
    }
}

/// Mappings one thread adds on glibc with Rust's std: its stack, the guard page below it, the
/// signal stack std gives each thread, and that one's guard page.
pub const MAPS_PER_THREAD: u64 = 4;

/// How many more threads fit under `vm.max_map_count`, keeping 64 mappings spare. A thread
/// started past it may abort the whole process (std cannot map its signal stack), so we stop.
pub fn threads_below_map_limit(maps_now: u64) -> usize {
    match fs::read_to_string("/proc/sys/vm/max_map_count").map(|s| s.trim().parse::<u64>()) {
        Ok(Ok(max)) => (max.saturating_sub(maps_now + 64) / MAPS_PER_THREAD) as usize,
        _ => usize::MAX,
    }
}

/// Start up to `n` threads with `stack` bytes of stack (or Rust's default), each waiting on a
/// barrier of its own kind (a mutex and a condvar); measure while all of them wait, then release
/// and join them. A refused spawn, or the map limit, stops the starting; what was started is
/// measured and joined all the same.
pub fn park_threads(n: usize, stack: Option<usize>) -> io::Result<Parked> {
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
