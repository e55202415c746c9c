//! Chapter 11, exercise 1: give the loop its turn without a thread. The heavy job is cut into
//! chunks with `taketurns::yield_now().await` between them, and the heartbeat of
//! `blocking_the_loop` measures how late it gets, with the loop's `event_interval` at its default
//! (61) and at 1.
//!
//! ```console
//! $ cargo run --release --example exercise_11_1
//! $ cargo run --release --example exercise_11_1 -- --work-ms 200 --chunks 1000
//! ```
//!
//! What it shows: a yield lets the *ready* tasks run, but a timer only moves its task to the
//! ready queue when the loop checks the clock, and a loop that always has a ready task checks
//! only every `event_interval` polls. So with 100 chunks of 2 ms, the heartbeat can wait for 61
//! of them. asyncio checks its timers on every turn of `_run_once`; tokio's `yield_now` defers the
//! task until the driver has been polled, so there too a yield lets timers fire.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::{Runtime, time};

/// A heartbeat beside a heavy job cut into chunks with yield_now between them.
#[derive(Parser, Debug)]
#[command(name = "exercise_11_1", version)]
struct Cli {
    /// How long the whole heavy job should take, in milliseconds (calibrated on this machine).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    work_ms: u64,
    /// The heartbeat's period, in milliseconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    period_ms: u64,
    /// How many chunks to cut the job into (the first row always uses 1).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    chunks: u64,
}

#[inline(never)] // one copy of the machine code for every caller, so timings compare
fn heavy(range: std::ops::Range<u64>) -> u64 {
    black_box(range).map(|i| i * i % 1_000_003).sum()
}

fn calibrate(target: Duration) -> u64 {
    let trial = 1_000_000;
    let fastest = (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(heavy(0..trial));
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    ((target.as_secs_f64() / fastest.as_secs_f64().max(1e-9)) * trial as f64) as u64
}

/// Wake every `period` until `stop`; record (time of wake, lateness). Deadlines already passed
/// are skipped, as in `blocking_the_loop`.
async fn heartbeat(
    period: Duration,
    stop: Rc<Cell<bool>>,
    wakes: Rc<RefCell<Vec<(Instant, Duration)>>>,
) {
    let mut deadline = Instant::now() + period;
    while !stop.get() {
        time::sleep_until(deadline).await;
        let now = Instant::now();
        wakes.borrow_mut().push((now, now - deadline));
        while deadline <= now {
            deadline += period;
        }
    }
}

// ANCHOR: chunked
/// The heavy job in `chunks` pieces, handing the loop a turn between two pieces.
async fn chunked(n: u64, chunks: u64) -> u64 {
    let mut total = 0;
    for k in 0..chunks {
        total += heavy((n * k / chunks)..(n * (k + 1) / chunks));
        taketurns::yield_now().await; // asyncio: `await asyncio.sleep(0)`
    }
    total
}
// ANCHOR_END: chunked

/// Worst lateness, beats during the work, and the work's duration, for one configuration.
fn run(n: u64, chunks: u64, event_interval: u32, period: Duration) -> (Duration, usize, Duration) {
    // ANCHOR: builder
    let rt = Runtime::builder()
        .event_interval(event_interval)
        .build()
        .expect("a runtime");
    // ANCHOR_END: builder
    let stop = Rc::new(Cell::new(false));
    let wakes = Rc::new(RefCell::new(Vec::new()));
    let (started, ended) = rt.block_on(async {
        let beat = taketurns::spawn(heartbeat(period, stop.clone(), wakes.clone()));
        time::sleep(period * 3).await;
        let work = taketurns::spawn(async move {
            let started = Instant::now();
            black_box(chunked(n, chunks).await);
            (started, Instant::now())
        });
        let span = work.await.unwrap();
        time::sleep(period * 3).await;
        stop.set(true);
        beat.await.unwrap();
        span
    });
    let wakes = wakes.borrow();
    let worst = wakes.iter().map(|w| w.1).max().unwrap_or_default();
    let during = wakes
        .iter()
        .filter(|w| w.0 > started && w.0 < ended)
        .count();
    (worst, during, ended - started)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cli = Cli::parse();
    let period = Duration::from_millis(cli.period_ms);
    let n = calibrate(Duration::from_millis(cli.work_ms));
    println!(
        "exercise_11_1: a heartbeat every {} beside {} ms of work cut into chunks, on {}",
        ms(period),
        cli.work_ms,
        taketurns::workload::machine::describe()
    );
    println!();
    println!(
        "{:<12}{:>10}{:>16}{:>10}{:>16}{:>14}",
        "chunks", "chunk", "event_interval", "work", "worst lateness", "beats during"
    );
    for (chunks, interval) in [(1, 61), (cli.chunks, 61), (cli.chunks, 1)] {
        let (worst, during, work) = run(n, chunks, interval, period);
        println!(
            "{chunks:<12}{:>10}{interval:>16}{:>10}{:>16}{during:>14}",
            ms(work / chunks as u32),
            ms(work),
            ms(worst)
        );
    }
}
