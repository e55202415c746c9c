//! Blocking the loop, measured: a heartbeat task that should wake every 10 ms, and one task that
//! computes for 200 ms, first inline on the loop, then in `taketurns::spawn_blocking`.
//!
//! ```console
//! $ cargo run --release --example blocking_the_loop
//! $ cargo run --release --example blocking_the_loop -- --work-ms 500 --period-ms 5
//! ```
//!
//! The heartbeat records, at each wake, how late it is against the deadline it asked for. A
//! computation that never reaches an `.await` keeps the loop's only thread, so no timer fires
//! until it ends: the heartbeat's worst lateness is about the whole computation. In
//! `spawn_blocking` the same computation runs on a helper thread, the loop stays free, and the
//! heartbeat keeps its beat. asyncio's debug mode reports the first case as "Executing <Task …>
//! took 0.200 seconds"; its fix is `await asyncio.to_thread(work)`, tokio's is
//! `tokio::task::spawn_blocking(work).await`.
//!
//! Nothing here is a speed target; the numbers depend on the machine and its load. On one
//! thread, though, one fact holds on any machine: the inline heartbeat is late by at least the
//! work's duration minus one period, because its next deadline falls inside the work.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use taketurns::{Runtime, spawn_blocking, time};

/// A heartbeat task that should wake every --period-ms, and a CPU-heavy task of --work-ms, run
/// inline on the loop and then in spawn_blocking: how late does the heartbeat get?
#[derive(Parser, Debug)]
#[command(name = "blocking_the_loop", version)]
struct Cli {
    /// How long the heavy computation should take, in milliseconds (calibrated on this machine).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    work_ms: u64,

    /// The heartbeat's period, in milliseconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    period_ms: u64,

    /// Which way(s) to run the heavy task.
    #[arg(long, value_enum, default_value_t = Mode::Both)]
    mode: Mode,
}

/// Where the heavy computation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Inline, then spawn_blocking.
    Both,
    /// Inside a task on the loop's thread, with no `.await`.
    Inline,
    /// On the blocking pool, awaited from a task.
    SpawnBlocking,
}

// ANCHOR: heavy
/// The CPU-heavy job: a sum of squares modulo a prime, over `0..n`. The modulo keeps the compiler
/// from replacing the loop with a formula; `black_box` keeps it from skipping it.
#[inline(never)] // one copy of the machine code for every caller, so timings compare
fn heavy(n: u64) -> u64 {
    (0..black_box(n)).map(|i| i * i % 1_000_003).sum()
}

/// How many numbers `heavy` gets through in `target` on this machine: the fastest of five short
/// trial runs (the fastest is the one least disturbed by other programs).
fn calibrate(target: Duration) -> u64 {
    let trial = 1_000_000;
    let fastest = (0..5)
        .map(|_| {
            let started = Instant::now();
            black_box(heavy(trial));
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    let per_number = fastest.as_secs_f64().max(1e-9) / trial as f64;
    ((target.as_secs_f64() / per_number) as u64).max(1)
}
// ANCHOR_END: heavy

// ANCHOR: heartbeat
/// What the heartbeat saw: when each wake happened and how late it was.
#[derive(Default)]
struct Beats {
    /// (time of the wake, lateness against its deadline), in order.
    wakes: Vec<(Instant, Duration)>,
    /// Deadlines that had already passed when the heartbeat woke, and were skipped.
    missed: u32,
}

/// Wake every `period` until `stop` is set, and record each wake's lateness. After a late wake,
/// deadlines already in the past are skipped (tokio's `MissedTickBehavior::Skip`), so one long
/// stall shows as one late wake and some missed ones, not as a burst of catch-up wakes.
async fn heartbeat(period: Duration, stop: Rc<Cell<bool>>, beats: Rc<RefCell<Beats>>) {
    let mut deadline = Instant::now() + period;
    while !stop.get() {
        time::sleep_until(deadline).await;
        let now = Instant::now();
        beats.borrow_mut().wakes.push((now, now - deadline));
        deadline += period;
        while deadline <= now {
            deadline += period;
            beats.borrow_mut().missed += 1;
        }
    }
}
// ANCHOR_END: heartbeat

/// One run's findings.
struct Outcome {
    /// How long the heavy computation took, measured around the computation itself.
    work: Duration,
    /// The heartbeat's worst lateness over the whole run.
    worst: Duration,
    /// Heartbeat wakes while the computation ran (between its start and its end).
    beats_during_work: usize,
    /// Deadlines skipped because the heartbeat woke too late for them.
    missed: u32,
    /// Wakes that reached the loop from another thread.
    remote_wakes: u64,
}

// ANCHOR: run
/// Start the heartbeat, let it beat three times, run the heavy task in `mode`, let it beat three
/// more times, and report.
fn run(mode: Mode, n: u64, period: Duration) -> Outcome {
    let rt = Runtime::new().expect("a runtime (is the file descriptor limit reached?)");
    let stop = Rc::new(Cell::new(false));
    let beats = Rc::new(RefCell::new(Beats::default()));
    let (started, ended) = rt.block_on(async {
        let beat = taketurns::spawn(heartbeat(period, stop.clone(), beats.clone()));
        time::sleep(period * 3).await;
        let (started, ended) = match mode {
            // The task computes without an `.await`: the loop's thread is busy until it returns.
            Mode::Inline => taketurns::spawn(async move { timed(n) }).await.unwrap(),
            // The task awaits a helper thread: the loop is free meanwhile.
            Mode::SpawnBlocking => spawn_blocking(move || timed(n)).await.unwrap(),
            Mode::Both => unreachable!("run() takes one mode"),
        };
        time::sleep(period * 3).await;
        stop.set(true);
        beat.await.unwrap();
        (started, ended)
    });
    let beats = beats.borrow();
    Outcome {
        work: ended - started,
        worst: beats
            .wakes
            .iter()
            .map(|&(_, late)| late)
            .max()
            .unwrap_or_default(),
        beats_during_work: beats
            .wakes
            .iter()
            .filter(|&&(at, _)| at > started && at < ended)
            .count(),
        missed: beats.missed,
        remote_wakes: rt.stats().remote_wakes,
    }
}

/// Run the heavy job and note when it started and ended.
fn timed(n: u64) -> (Instant, Instant) {
    let started = Instant::now();
    black_box(heavy(n));
    (started, Instant::now())
}
// ANCHOR_END: run

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cli = Cli::parse();
    let period = Duration::from_millis(cli.period_ms);
    let n = calibrate(Duration::from_millis(cli.work_ms));
    println!(
        "blocking_the_loop: a heartbeat every {} beside {} ms of computation ({n} numbers) on {}",
        ms(period),
        cli.work_ms,
        taketurns::workload::machine::describe()
    );
    println!();
    println!(
        "{:<16}{:>10}{:>16}{:>14}{:>14}{:>14}",
        "heavy task", "work", "worst lateness", "beats during", "missed beats", "remote wakes"
    );
    let modes: &[Mode] = match cli.mode {
        Mode::Both => &[Mode::Inline, Mode::SpawnBlocking],
        one => std::slice::from_ref(match one {
            Mode::Inline => &Mode::Inline,
            _ => &Mode::SpawnBlocking,
        }),
    };
    for &mode in modes {
        let out = run(mode, n, period);
        let name = match mode {
            Mode::Inline => "inline",
            _ => "spawn_blocking",
        };
        println!(
            "{name:<16}{:>10}{:>16}{:>14}{:>14}{:>14}",
            ms(out.work),
            ms(out.worst),
            out.beats_during_work,
            out.missed,
            out.remote_wakes
        );
    }
    println!();
    println!(
        "note: lateness = when the heartbeat woke minus the deadline it asked for; with the loop \
         free it stays near 1 ms (epoll_wait's timeout is rounded up to whole milliseconds)"
    );
}
