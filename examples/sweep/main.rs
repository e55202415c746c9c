//! The sweep: how each way of fetching scales from 10 to 10,000 fetches, measured and drawn.
//!
//! ```console
//! $ cargo run --release --example sweep                          # the full sweep, a few minutes
//! $ cargo run --release --example sweep -- --img DIR            # and copy the charts into DIR
//! $ cargo run --release --example sweep -- --counts 10,100,1000 --runs 5 --delay-ms 20
//! $ cargo run --release --example sweep -- --quick               # 10 and 100 fetches, one run
//! ```
//!
//! For every fetch count (10, 30, 100, 300, 1,000, 3,000 and 10,000 by default) and every client
//! (a thread per fetch, a pool of 64 threads, the event loop, and the sequential client up to 100
//! fetches only, since it needs `count × delay` of wall time), it runs the measurement `--runs`
//! times (3 by default) and keeps the median of each figure. It writes, into `target/sweep/` (or
//! `--out DIR`):
//!
//! - `results.csv`: one row per count and client, the medians;
//! - `results.json`: the same, plus every run's full report and the machine and command;
//! - `sweep_wall_time.svg`, `sweep_cpu_per_fetch.svg`, `sweep_peak_memory.svg`: one line per
//!   client against the count (a log axis; the y axis is logarithmic too for wall time and
//!   memory, which span decades), with the machine, load and command under each;
//! - `README.md`: which machine, command, date and load made them, and the table.
//!
//! `--img DIR` copies the charts, the CSV and the README there as well, for a page or a report
//! that shows them (no chapter of the book does: its tables come from `measure`); the README as
//! `README.txt`, because in an mdBook source folder every `.md` file is a page. Progress goes to stderr, one line per measurement with an estimate of the
//! time left; the table of medians goes to stdout at the end.
//!
//! How it stays honest: every measurement is one run of the `fetch_many` example (`--runner X
//! --count N --json`), which starts the delay server in a child process and the client in
//! another, so neither the server's costs nor an earlier client's peak memory are in the figures.
//! This program only schedules those runs and reads back their JSON reports; it does no fetching
//! itself. Runs are interleaved (count by count, run by run, client by client) so that a change in
//! the machine's load during the sweep spreads over every client instead of landing on one.
//! Before anything runs, the limits the largest count needs are checked (open files, raised
//! toward the hard limit and inherited by every child; threads; local ports), so a sweep never
//! fails half-way for want of a limit, and the output directories are created.
//!
//! Which `fetch_many`: the one next to this program (`target/<profile>/examples/`). Under
//! `cargo run` it is first brought up to date with `cargo build --example fetch_many` in the same
//! profile (a no-op when nothing changed), so that the measurements are of the library this sweep
//! was built with; `--no-build` skips that.
//!
//! Exit codes: 0 when every measurement ran and every fetch succeeded; 1 when a limit was too low,
//! `fetch_many` could not be built or run, or some fetches failed (the results are still written);
//! 2 for a bad flag (clap's message).
//!
//! Left out: tokio and the raw mio loop (they live in `benches/fetch.rs`), confidence intervals
//! (three runs give a median, not a spread worth drawing), and other operating systems.
//!
//! The program is a folder: this file holds the flags, the run's facts ([`Context`]) and the
//! order of things (prepare, measure, write); `plan` settles what to measure, `points` measures
//! it, `fetch_many` finds, builds and runs that example, `machine` describes the machine and the
//! date, `results` writes the CSV, the JSON and the README, and `charts` draws the SVGs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::workload::{Client, check_local_ports, check_thread_limit, raise_fd_limit};

use crate::fetch_many::Layout;
use crate::machine::{clock, command_line, load_average, machine, utc_now};
use crate::plan::Plan;
use crate::points::measure_all;
use crate::results::{table, write_results};

mod charts;
mod fetch_many;
mod machine;
mod plan;
mod points;
mod results;

/// Run fetch_many's clients at fetch counts from 10 to 10,000, three times each, and write the
/// medians as CSV, JSON and SVG charts (wall time, CPU per fetch, peak memory against count).
#[derive(Parser, Debug)]
#[command(name = "sweep", version, after_help = AFTER_HELP)]
struct Cli {
    /// Fetch counts to measure, comma-separated [default: 10,30,100,300,1000,3000,10000].
    #[arg(long, value_delimiter = ',', value_name = "N,N,...",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    counts: Vec<u64>,

    /// Runs of each measurement; the charts and the CSV show their median [default: 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: Option<u64>,

    /// How long the server waits before each answer, in milliseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    delay_ms: u64,

    /// The sequential client runs only at counts up to this (it needs count × delay of wall time).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..))]
    sequential_max: u64,

    /// Worker threads of the thread-pool client.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pool_size: u64,

    /// Where to write results.csv, results.json, the SVGs and README.md [default: target/sweep].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also copy the SVGs, the CSV and the README (as README.txt) here.
    #[arg(long, value_name = "DIR")]
    img: Option<PathBuf>,

    /// A quick check: counts 10 and 100, one run (unless --counts or --runs say otherwise).
    #[arg(long)]
    quick: bool,

    /// Use the fetch_many binary next to this one as it is, without asking cargo to rebuild it.
    #[arg(long)]
    no_build: bool,
}

const AFTER_HELP: &str = "\
Examples:
  sweep                              the full sweep (a few minutes), charts in target/sweep/
  sweep --img DIR                    and copy the charts into DIR
  sweep --counts 10,100,1000 --runs 5
  sweep --quick                      10 and 100 fetches, one run";

const DEFAULT_COUNTS: [u64; 7] = [10, 30, 100, 300, 1_000, 3_000, 10_000];
const QUICK_COUNTS: [u64; 2] = [10, 100];
const DEFAULT_RUNS: u64 = 3;
/// The body size each fetch asks for, passed to fetch_many explicitly so the caption is true.
const BODY_SIZE: u64 = 1024;
/// Descriptors a process needs beyond one per connection (as in fetch_many).
const FD_MARGIN: u64 = 64;
/// Threads beyond one per fetch: main thread, watcher, the user's other processes.
const THREAD_MARGIN: u64 = 64;

/// The README's name in the `--img` directory (see where it is copied for why not `.md`).
const IMG_README: &str = "README.txt";

/// The file names of the three charts, in the order they are drawn.
const CHARTS: [&str; 3] = [
    "sweep_wall_time.svg",
    "sweep_cpu_per_fetch.svg",
    "sweep_peak_memory.svg",
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    match sweep(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sweep: {e}");
            ExitCode::from(1)
        }
    }
}

/// Everything about the run that the captions, the README and the JSON repeat.
struct Context {
    /// `2 CPUs, AMD EPYC, Linux 6.1.0, 23.5 GiB RAM`.
    machine: String,
    /// The command line that reproduces this sweep.
    command: String,
    /// The UTC date and time the sweep started, `2026-04-01 11:47 UTC`.
    date: String,
    /// `/proc/loadavg`'s three load averages when the sweep started.
    load_before: String,
    /// The same when it ended (filled in at the end).
    load_after: String,
    /// How long the whole sweep took (filled in at the end).
    took: Duration,
}

/// Returns whether everything ran and every fetch succeeded.
fn sweep(cli: &Cli) -> Result<bool, String> {
    let plan = Plan::from_cli(cli);
    let Prepared {
        layout,
        out,
        fetch_many,
    } = prepare(cli, &plan)?;
    let mut context = Context {
        machine: machine(),
        command: command_line(&layout.profile),
        date: utc_now(),
        load_before: load_average(),
        load_after: String::new(),
        took: Duration::ZERO,
    };
    let start = Instant::now();
    let (points, failures) = measure_all(&plan, &context, &fetch_many);
    context.took = start.elapsed();
    context.load_after = load_average();
    eprintln!("sweep: done in {}", clock(context.took.as_secs_f64()));

    let written = write_results(cli, &out, &plan, &context, &points, &failures)?;
    print!("{}", table(&points));
    println!();
    for (dir, files) in written {
        println!("wrote {}: {files}, {}", dir.display(), CHARTS.join(", "));
    }
    for failure in &failures {
        println!("failed: {failure}");
    }
    Ok(failures.is_empty())
}

/// What [`prepare`] found and made ready before anything is measured.
struct Prepared {
    /// Where this program sits in cargo's target directory.
    layout: Layout,
    /// The directory the results go to (`--out`, or `target/sweep`), created.
    out: PathBuf,
    /// The `fetch_many` binary that every measurement runs, built if asked.
    fetch_many: PathBuf,
}

/// Everything that can fail before the first measurement, checked first: the limits the largest
/// count needs, the output directories, and the `fetch_many` binary.
fn prepare(cli: &Cli, plan: &Plan) -> Result<Prepared, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find my own executable to locate fetch_many: {e}"))?;
    let layout = Layout::of(&exe)?;

    // Limits first, for the largest count: nothing runs unless all of it can.
    let largest = *plan.counts.last().expect("counts are never empty");
    check_local_ports(largest).map_err(|e| e.to_string())?;
    raise_fd_limit(largest + FD_MARGIN).map_err(|e| e.to_string())?;
    if plan.includes(Client::ThreadPerTask, largest) {
        check_thread_limit(largest + THREAD_MARGIN).map_err(|e| e.to_string())?;
    }

    // Then the places the results go, so that minutes of measuring never end in "cannot write".
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| layout.target.join("sweep"));
    for dir in std::iter::once(&out).chain(&cli.img) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    let fetch_many = layout.fetch_many(cli.no_build)?;
    if layout.profile != "release" {
        eprintln!(
            "sweep: note: measuring a `{}` build; run with `cargo run --release --example sweep` \
             for figures worth comparing",
            layout.profile
        );
    }
    Ok(Prepared {
        layout,
        out,
        fetch_many,
    })
}
