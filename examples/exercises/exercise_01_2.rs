//! Chapter 1, exercise 2: is a program I/O-bound or CPU-bound? Run it and compare its CPU time
//! with its wall time.
//!
//! ```console
//! $ cargo run --release --example exercise_01_2 -- sleep 1
//! $ cargo run --release --example exercise_01_2 -- target/release/examples/cpu_bound --runs 1
//! $ cargo run --release --example exercise_01_2 -- target/release/examples/fetch_many --runner sequential --count 20
//! ```
//!
//! A program that waits (on the network, a disk, a timer) uses little CPU for its wall time: its
//! *cores busy* figure, CPU time over wall time, is near 0. A program that computes on one
//! thread is near 1; one that computes on several threads or processes goes above 1, up to the
//! number of cores. Unix's `time` prints the same three numbers (`real`, `user`, `sys`); Python's
//! counterpart is `resource.getrusage(resource.RUSAGE_CHILDREN)` around `subprocess.run`.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};

/// Run a command and say whether it spent its time waiting or computing.
#[derive(Parser, Debug)]
#[command(name = "exercise_01_2", version)]
struct Cli {
    /// The command to run, and its arguments (put `--` before it if it has flags).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

// ANCHOR: classify
/// User and system CPU time of the children this process has waited for.
fn children_cpu() -> (Duration, Duration) {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage(RUSAGE_CHILDREN)");
    let d = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
    };
    (d(usage.user_time()), d(usage.system_time()))
}

/// What CPU time over wall time says about a program.
fn verdict(cores_busy: f64) -> &'static str {
    match cores_busy {
        x if x < 0.2 => "I/O-bound: it mostly waited. More concurrency helps; more cores do not.",
        x if x < 0.8 => "mixed: it computed part of the time and waited the rest.",
        x if x < 1.2 => "CPU-bound on one core: more cores help only if the work is split.",
        _ => "CPU-bound and already parallel: it kept more than one core busy.",
    }
}
// ANCHOR_END: classify

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (program, args) = cli.command.split_first().expect("clap requires a command");
    let (user0, sys0) = children_cpu();
    let start = Instant::now();
    let status = match Command::new(program).args(args).status() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("exercise_01_2: could not run {program:?}: {e}");
            return ExitCode::from(2);
        }
    };
    let wall = start.elapsed();
    let (user1, sys1) = children_cpu();
    let (user, sys) = (user1 - user0, sys1 - sys0);
    let cores_busy = (user + sys).as_secs_f64() / wall.as_secs_f64().max(1e-9);
    eprintln!();
    eprintln!(
        "exercise_01_2: {program} ran {:.3} s wall, {:.3} s user + {:.3} s system CPU ({status})",
        wall.as_secs_f64(),
        user.as_secs_f64(),
        sys.as_secs_f64()
    );
    eprintln!(
        "exercise_01_2: cores busy {cores_busy:.2} of {}: {}",
        taketurns::workload::machine::cpus(),
        verdict(cores_busy)
    );
    ExitCode::SUCCESS
}
