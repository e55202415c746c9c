//! What tracing costs: spawn+join and yield, timed with tracing off and on.
//!
//! ```console
//! $ cargo run --release --example trace_cost
//! $ cargo run --release --example trace_cost -- --what yield --count 200000 --trace off
//! ```
//!
//! The second form runs one measurement and nothing else, so that a tool such as
//! `valgrind --tool=callgrind` can count its instructions. Counting them for two builds of this
//! program, one against a runtime with the recorder compiled out (and the `.trace(..)` call
//! removed), gives what tracing costs when it is off; the book's appendix on measuring gives the
//! commands.

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// Time spawn+join and yield on a runtime with tracing off and on.
#[derive(Parser)]
struct Cli {
    /// Which operation; both if not given.
    #[arg(long, value_enum)]
    what: Option<What>,
    /// Operations per measurement.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000_000))]
    count: u64,
    /// Tracing off or on; both if not given.
    #[arg(long, value_enum)]
    trace: Option<Switch>,
    /// Measurements of each; the quickest and the median are printed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    repeat: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum What {
    /// Two tasks taking turns with yield_now (count = total yields).
    Yield,
    /// Spawn a task and await it, one after another.
    Spawn,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Switch {
    Off,
    On,
}

// ANCHOR: measure
/// Time `count` operations on a fresh runtime; nanoseconds per operation.
fn measure(what: What, count: u64, trace: bool) -> f64 {
    let rt = taketurns::Runtime::builder()
        .trace(trace)
        .build()
        .expect("create the runtime");
    let start = Instant::now();
    match what {
        What::Yield => rt.block_on(async {
            let turns = |n: u64| async move {
                for _ in 0..n {
                    taketurns::yield_now().await;
                }
            };
            let a = taketurns::spawn(turns(count / 2));
            let b = taketurns::spawn(turns(count - count / 2));
            a.await.unwrap();
            b.await.unwrap();
        }),
        What::Spawn => rt.block_on(async {
            for i in 0..count {
                let task = taketurns::spawn(async move { i });
                assert_eq!(task.await.unwrap(), i);
            }
        }),
    }
    let elapsed: Duration = start.elapsed();
    elapsed.as_nanos() as f64 / count.max(1) as f64
}
// ANCHOR_END: measure

fn main() {
    let cli = Cli::parse();
    let whats = match cli.what {
        Some(w) => vec![w],
        None => vec![What::Yield, What::Spawn],
    };
    let switches = match cli.trace {
        Some(s) => vec![s],
        None => vec![Switch::Off, Switch::On],
    };
    println!(
        "{:<14} {:>5}  {:>12}  {:>12}",
        "operation", "trace", "quickest", "median"
    );
    for what in whats {
        for &switch in &switches {
            let mut runs: Vec<f64> = (0..cli.repeat)
                .map(|_| measure(what, cli.count, switch == Switch::On))
                .collect();
            runs.sort_by(f64::total_cmp);
            let name = match what {
                What::Yield => "yield",
                What::Spawn => "spawn + join",
            };
            let trace = if switch == Switch::On { "on" } else { "off" };
            println!(
                "{name:<14} {trace:>5}  {:>9.1} ns  {:>9.1} ns",
                runs[0],
                runs[runs.len() / 2]
            );
        }
    }
}
