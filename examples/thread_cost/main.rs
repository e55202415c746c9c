//! What does an OS thread cost on this machine? The time to start and join one, the memory to keep
//! one waiting, the time for two threads to take turns, and the limits on how many the kernel will
//! give you. Chapter 2 of the book runs it and reads the output line by line:
//!
//! ```console
//! $ cargo run --release --example thread_cost
//! $ cargo run --release --example thread_cost -- --threads 10000 --stack-kib 16
//! ```
//!
//! Every thread is started with `taketurns::threaded::ThreadPerTask`, the book's thread-per-task
//! runner (Python: `threading.Thread`; tokio adds nothing to `std::thread` here). Beside each
//! thread figure the example prints the same figure for a taketurns task, for contrast.
//!
//! Linux only: memory, context switches and limits are read from `/proc` and `getrusage`.
//! Deliberately left out: pinning threads to cores (run the example under `taskset -c 0` for
//! that), and finding the thread limit by exhausting the machine. The example stops short of
//! `vm.max_map_count`, because a thread started past it can abort the whole process
//! (`--no-map-guard` shows it). The one failure it provokes on purpose is a thread whose stack
//! cannot exist, which `spawn` reports as an `io::Error`.
//!
//! One module per section of the output: `timing`, `memory` and `limits`, with `format` for the
//! figures; this file holds the flags and the order in which the sections run. The book
//! includes code from `timing.rs` (chapter 2), `memory.rs` and `limits.rs` (chapter 2 and
//! appendix D) by their anchors.

use std::io;

use clap::Parser;
use taketurns::threaded::ThreadPerTask;

mod format;
mod limits;
mod memory;
mod timing;

/// Measure what an OS thread costs here: spawn + join time, memory per parked thread, the time
/// of a round trip between two threads, and the machine's thread limits. Each figure is shown
/// beside the same figure for a taketurns task.
#[derive(Parser, Debug)]
#[command(name = "thread_cost", version)]
struct Args {
    /// Threads to start and park at once for the memory measurement (and tasks, for contrast).
    #[arg(long, default_value_t = 1000)]
    threads: usize,
    /// The small stack, in KiB, measured beside Rust's default stack (2 MiB).
    #[arg(long, default_value_t = 64)]
    stack_kib: usize,
    /// Threads to spawn and join one after another for the timing (the median is shown).
    #[arg(long, default_value_t = 2000)]
    spawns: usize,
    /// Round trips between two threads (and between two tasks) to time.
    #[arg(long, default_value_t = 20_000)]
    round_trips: usize,
    /// Keep starting threads past vm.max_map_count. A thread started there can abort the whole
    /// process (std cannot map its signal stack); by default the example stops just before.
    #[arg(long)]
    no_map_guard: bool,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("thread_cost: {e}");
        std::process::exit(1);
    }
}

/// Measure and print the sections in order: time, memory, limits.
fn run(args: &Args) -> io::Result<()> {
    let small = ThreadPerTask::new().stack_size(args.stack_kib.saturating_mul(1024));
    let default = ThreadPerTask::new();
    let small_name = format!("{} KiB stack", args.stack_kib);
    let spawners = [("default stack", default), (small_name.as_str(), small)];

    // The tasks' memory is measured first, while the heap has no free space left over from the
    // other measurements: a task is a few hundred bytes of heap, and reusing freed heap adds no RSS.
    let tasks = memory::park_tasks(args.threads)?;

    println!("thread_cost: what an OS thread costs on this machine");
    println!("  {}", format::machine());
    println!();
    timing::print_times(args, spawners)?;
    println!();
    let (maps_per_thread, kib_per_thread) = memory::print_parked(args, spawners, tasks)?;
    println!();
    limits::print_sections(maps_per_thread, kib_per_thread);
    Ok(())
}
