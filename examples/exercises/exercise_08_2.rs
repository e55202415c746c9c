//! Exercise 8.2, "How late, with the loop busy?": how late do 10 ms sleeps end on an idle loop,
//! and next to a task that always has work, for several values of `event_interval`? And on
//! tokio's current-thread runtime?
//!
//! Everything here is public API, so this runs taketurns and tokio as they are. A hundred sleeps
//! of `--sleep-ms`, one after another, each measured from its deadline: first on an idle
//! runtime, then next to a task that spins for `--spin-ms` and yields, for ever, with each
//! `event_interval` of `--intervals`; then the same two runs on tokio's current-thread runtime
//! with `tokio::task::yield_now`. It prints the least, the median and the largest lateness of
//! each run, and counts sleeps that ended *before* their deadline (there must be none). asyncio
//! has no `event_interval`: its `_run_once` looks at the selector and the timer heap once per
//! iteration, whatever is ready, like taketurns with an interval of about the ready queue's length.
//!
//! ```console
//! $ cargo run --release --example exercise_08_2
//! ```

use std::time::{Duration, Instant};

use clap::Parser;

/// Measure how late sleeps end on an idle loop and next to a busy task, on taketurns (with
/// several event intervals) and on tokio's current-thread runtime.
#[derive(Parser, Debug)]
#[command(name = "exercise_08_2")]
struct Args {
    /// Sleeps per run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    sleeps: u32,
    /// The length of each sleep, in milliseconds.
    #[arg(long, default_value_t = 10)]
    sleep_ms: u64,
    /// How long the busy task spins between two yields, in milliseconds.
    #[arg(long, default_value_t = 1)]
    spin_ms: u64,
    /// The `event_interval`s to try next to the busy task.
    #[arg(long, value_delimiter = ',', default_value = "61,7,1", value_parser = clap::value_parser!(u32).range(1..))]
    intervals: Vec<u32>,
}

// ANCHOR: measure
/// Keep the CPU busy for `d` without giving the thread back.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// How late each of `n` sleeps ended, sorted; `None` for a sleep that ended early.
async fn lateness(
    n: u32,
    length: Duration,
    sleep_until: impl AsyncFn(Instant),
) -> Vec<Option<Duration>> {
    let mut late = Vec::new();
    for _ in 0..n {
        let deadline = Instant::now() + length;
        sleep_until(deadline).await;
        late.push(Instant::now().checked_duration_since(deadline));
    }
    late.sort();
    late
}

fn show(name: &str, late: &[Option<Duration>]) {
    let early = late.iter().filter(|l| l.is_none()).count();
    let ms = |d: Option<Duration>| d.unwrap_or_default().as_secs_f64() * 1e3;
    println!(
        "{name:<34} sleeps={} early={early} min_ms={:.3} median_ms={:.3} max_ms={:.3}",
        late.len(),
        ms(late[0]),
        ms(late[late.len() / 2]),
        ms(late[late.len() - 1])
    );
}
// ANCHOR_END: measure

// ANCHOR: runs
fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let (n, length, busy_for) = (
        args.sleeps,
        Duration::from_millis(args.sleep_ms),
        Duration::from_millis(args.spin_ms),
    );
    let ours = async |deadline| taketurns::time::sleep_until(deadline).await;
    let theirs = async |deadline: Instant| tokio::time::sleep_until(deadline.into()).await;

    let rt = taketurns::Runtime::new()?;
    show("taketurns, idle", &rt.block_on(lateness(n, length, ours)));
    for &interval in &args.intervals {
        let rt = taketurns::Runtime::builder()
            .event_interval(interval)
            .build()?;
        let late = rt.block_on(async {
            let busy = taketurns::spawn(async move {
                loop {
                    spin(busy_for);
                    taketurns::yield_now().await;
                }
            });
            let late = lateness(n, length, ours).await;
            busy.abort();
            late
        });
        show(&format!("taketurns, busy, interval {interval}"), &late);
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    show(
        "tokio current_thread, idle",
        &rt.block_on(lateness(n, length, theirs)),
    );
    let late = rt.block_on(async {
        let busy = tokio::spawn(async move {
            loop {
                spin(busy_for);
                tokio::task::yield_now().await;
            }
        });
        let late = lateness(n, length, theirs).await;
        busy.abort();
        late
    });
    show("tokio current_thread, busy", &late);
    Ok(())
}
// ANCHOR_END: runs
