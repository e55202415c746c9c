//! Exercise 2.1, "Small stacks, and the limit": what does a thread with a 16 KiB stack really
//! reserve, and what limits how many threads a process can start?
//!
//! This uses only std and taketurns' public API, so it runs directly. It starts `--threads`
//! threads with Rust's default stack and then with `--stack-kib`, each waiting at a gate, and
//! reads `/proc` while they all wait: address space (`VmSize`), resident memory (`VmRSS`) and
//! mappings per thread, the size of one thread's stack mapping (found in `/proc/self/maps` from
//! the address of a local variable), and kernel stacks (`KernelStack`, machine-wide). Then it
//! prints the limits: `vm.max_map_count` and how many threads fit under it from here,
//! `kernel.pid_max`, `kernel.threads-max`. Like `examples/thread_cost/`, it stops before
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

use clap::Parser;

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

#[path = "support/park.rs"]
mod park;
use park::{memory_now, park_threads, threads_below_map_limit};

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
