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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use taketurns::workload::{Client, Report, check_local_ports, check_thread_limit, raise_fd_limit};

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
  sweep --img DIR                    and copy the charts, the CSV and the README into DIR
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

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

/// What the sweep measures, settled from the flags before anything runs.
struct Plan {
    /// Fetch counts, ascending, without duplicates.
    counts: Vec<u64>,
    /// Runs per measurement.
    runs: u64,
    /// The server's delay per fetch.
    delay_ms: u64,
    /// The largest count the sequential client runs.
    sequential_max: u64,
    /// Every client the sweep knows, in the order of the legend.
    clients: Vec<Client>,
}

impl Plan {
    fn from_cli(cli: &Cli) -> Plan {
        let mut counts = if !cli.counts.is_empty() {
            cli.counts.clone()
        } else if cli.quick {
            QUICK_COUNTS.to_vec()
        } else {
            DEFAULT_COUNTS.to_vec()
        };
        counts.sort_unstable();
        counts.dedup();
        let runs = cli.runs.unwrap_or(if cli.quick { 1 } else { DEFAULT_RUNS });
        Plan {
            counts,
            runs,
            delay_ms: cli.delay_ms,
            sequential_max: cli.sequential_max,
            clients: vec![
                Client::Sequential,
                Client::ThreadPerTask,
                Client::ThreadPool(cli.pool_size as usize),
                Client::EventLoop,
            ],
        }
    }

    /// Whether `client` runs at `count` (the sequential client only up to `sequential_max`).
    fn includes(&self, client: Client, count: u64) -> bool {
        client != Client::Sequential || count <= self.sequential_max
    }

    /// Every measurement in the order they run: count by count, run by run, client by client.
    fn measurements(&self) -> Vec<(u64, u64, Client)> {
        let mut all = Vec::new();
        for &count in &self.counts {
            for run in 1..=self.runs {
                for &client in &self.clients {
                    if self.includes(client, count) {
                        all.push((count, run, client));
                    }
                }
            }
        }
        all
    }

    /// A guess at how long one measurement takes, in seconds, used only to weigh the estimate of
    /// the time left: two process starts, the rounds of server delay the client must wait, and a
    /// little CPU per fetch. The real elapsed time rescales it as the sweep goes.
    fn guess_seconds(&self, client: Client, count: u64) -> f64 {
        let rounds = count.div_ceil(client.concurrency(count as usize).max(1) as u64);
        0.1 + rounds as f64 * self.delay_ms as f64 / 1e3 + count as f64 * 100e-6
    }

    /// The sentence that says what the sweep does, for the captions and the README.
    fn describe(&self) -> String {
        format!(
            "median of {} run{} per point, {} ms server delay, {BODY_SIZE}-byte bodies; \
             sequential only up to {} fetches",
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.delay_ms,
            self.sequential_max
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------------------

/// One client at one count: every run's report and the medians of what the charts show.
struct Point {
    /// Fetches per run.
    count: u64,
    /// The client, as the sweep asked for it.
    client: Client,
    /// The reports of the runs that produced one (a run that failed outright has none).
    reports: Vec<Report>,
}

impl Point {
    fn median(&self, figure: impl Fn(&Report) -> f64) -> f64 {
        median(self.reports.iter().map(figure).collect())
    }

    fn wall_s(&self) -> f64 {
        self.median(|r| r.wall.as_secs_f64())
    }

    fn wall_minus_delay_ms(&self) -> f64 {
        self.median(|r| r.wall_minus_delay().unwrap_or_default().as_secs_f64() * 1e3)
    }

    fn cpu_per_fetch_us(&self) -> f64 {
        self.median(|r| r.cpu_per_fetch().as_secs_f64() * 1e6)
    }

    fn cpu_user_ms(&self) -> f64 {
        self.median(|r| r.cpu_user.as_secs_f64() * 1e3)
    }

    fn cpu_system_ms(&self) -> f64 {
        self.median(|r| r.cpu_system.as_secs_f64() * 1e3)
    }

    fn rss_growth_kib(&self) -> f64 {
        self.median(|r| r.rss_growth_kib() as f64)
    }

    fn kib_per_fetch(&self) -> f64 {
        self.median(Report::kib_per_fetch)
    }

    fn fetches(&self) -> u64 {
        self.reports.iter().map(|r| r.fetches).sum()
    }

    fn ok(&self) -> u64 {
        self.reports.iter().map(|r| r.ok).sum()
    }

    fn failed(&self) -> u64 {
        self.reports.iter().map(|r| r.errors.total()).sum()
    }
}

/// The middle value (the mean of the two middle ones for an even number); NaN for none.
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
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

/// Run every measurement of the plan, interleaved, with a progress line each on stderr. Returns
/// one point per count and client with its reports, and a line per failed measurement or fetch.
fn measure_all(plan: &Plan, context: &Context, fetch_many: &Path) -> (Vec<Point>, Vec<String>) {
    let measurements = plan.measurements();
    let total_guess: f64 = measurements
        .iter()
        .map(|&(count, _, client)| plan.guess_seconds(client, count))
        .sum();
    eprintln!(
        "sweep: {} measurements ({} count{} × up to {} clients × {} run{}; {}) on {}; \
         about {} if the guess is right",
        measurements.len(),
        plan.counts.len(),
        if plan.counts.len() == 1 { "" } else { "s" },
        plan.clients.len(),
        plan.runs,
        if plan.runs == 1 { "" } else { "s" },
        plan.describe(),
        context.machine,
        clock(total_guess),
    );

    let mut points: Vec<Point> = Vec::new();
    for &count in &plan.counts {
        for &client in &plan.clients {
            if plan.includes(client, count) {
                points.push(Point {
                    count,
                    client,
                    reports: Vec::new(),
                });
            }
        }
    }
    let mut failures: Vec<String> = Vec::new();
    let start = Instant::now();
    let mut done_guess = 0.0;
    for (i, &(count, run, client)) in measurements.iter().enumerate() {
        eprint!(
            "sweep: [{:>width$}/{}] {count:>7} fetches  {:<16} run {run}/{} ... ",
            i + 1,
            measurements.len(),
            client.name(),
            plan.runs,
            width = measurements.len().to_string().len(),
        );
        let outcome = measure(fetch_many, client, count, plan.delay_ms);
        done_guess += plan.guess_seconds(client, count);
        let elapsed = start.elapsed().as_secs_f64();
        let left = (total_guess - done_guess) * elapsed / done_guess;
        let timing = format!("elapsed {}, about {} left", clock(elapsed), clock(left));
        let what = format!("{count} fetches, {}, run {run}", client.name());
        let point = points
            .iter_mut()
            .find(|p| p.count == count && p.client == client)
            .expect("every measurement has its point");
        if let Some(failure) = record(outcome, point, &what, &timing) {
            failures.push(failure);
        }
    }
    (points, failures)
}

/// Finish one measurement's progress line and keep its report in `point`. Returns what went
/// wrong, if anything: the measurement itself, or some of its fetches.
fn record(
    outcome: Result<Report, String>,
    point: &mut Point,
    what: &str,
    timing: &str,
) -> Option<String> {
    match outcome {
        Ok(report) => {
            eprintln!(
                "{:>8}  {}/{} ok   {timing}",
                format!("{:.3} s", report.wall.as_secs_f64()),
                report.ok,
                report.fetches
            );
            let failure = (!report.all_ok()).then(|| {
                format!(
                    "{what}: {} failed ({}){}",
                    report.errors.total(),
                    report.errors,
                    report
                        .first_error
                        .as_deref()
                        .map_or(String::new(), |e| format!("; first: {e}"))
                )
            });
            point.reports.push(report);
            failure
        }
        Err(e) => {
            eprintln!("failed   {timing}");
            eprintln!("sweep:   {e}");
            Some(format!("{what}: {e}"))
        }
    }
}

/// Write the CSV, the JSON, the charts and the README into `out`, then copy what the book wants
/// into `--img`. Returns each directory written with the names of the files besides the charts.
fn write_results(
    cli: &Cli,
    out: &Path,
    plan: &Plan,
    context: &Context,
    points: &[Point],
    failures: &[String],
) -> Result<Vec<(PathBuf, String)>, String> {
    write(&out.join("results.csv"), &to_csv(points))?;
    write(
        &out.join("results.json"),
        &to_json(plan, context, points, failures),
    )?;
    let svgs = draw_charts(plan, context, points)?;
    for (name, svg) in CHARTS.iter().zip(&svgs) {
        write(&out.join(name), svg)?;
    }
    write(
        &out.join("README.md"),
        &readme(plan, context, points, failures),
    )?;
    let mut written = vec![(
        out.to_path_buf(),
        ["results.csv", "results.json", "README.md"].join(", "),
    )];
    if let Some(img) = &cli.img {
        // The README goes in as README.txt: in an mdBook source folder (such as book/src) every
        // `.md` file is a page, which tests/book_includes.rs requires to be in SUMMARY.md.
        let copies = CHARTS
            .iter()
            .map(|name| (*name, *name))
            .chain([("results.csv", "results.csv"), ("README.md", IMG_README)]);
        for (from, to) in copies {
            std::fs::copy(out.join(from), img.join(to))
                .map_err(|e| format!("cannot copy {from} into {}: {e}", img.display()))?;
        }
        written.push((img.clone(), ["results.csv", IMG_README].join(", ")));
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// fetch_many: finding it, building it, running it
// ---------------------------------------------------------------------------------------------

/// Where this program sits in cargo's target directory: `<target>/<profile>/examples/sweep`.
struct Layout {
    /// The target directory (`target/`, or `$CARGO_TARGET_DIR`).
    target: PathBuf,
    /// The profile directory's name: `release`, `debug`, or a custom profile's.
    profile: String,
    /// This program's directory, where cargo puts fetch_many too.
    examples: PathBuf,
}

impl Layout {
    fn of(exe: &Path) -> Result<Layout, String> {
        let examples = exe.parent();
        let profile_dir = examples.and_then(Path::parent);
        let target = profile_dir.and_then(Path::parent);
        match (examples, profile_dir, target) {
            (Some(examples), Some(profile_dir), Some(target)) => Ok(Layout {
                target: target.to_path_buf(),
                profile: profile_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                examples: examples.to_path_buf(),
            }),
            _ => Err(format!(
                "{} is not in cargo's target/<profile>/examples/; run it with \
                 `cargo run --release --example sweep`",
                exe.display()
            )),
        }
    }

    /// The fetch_many binary, brought up to date by cargo when we were started by cargo (or
    /// when it is missing), used as it is otherwise.
    fn fetch_many(&self, no_build: bool) -> Result<PathBuf, String> {
        let binary = self
            .examples
            .join(format!("fetch_many{}", std::env::consts::EXE_SUFFIX));
        // `cargo run` sets CARGO for the program it runs; its absence means we were started by
        // hand, and then a binary that is there is taken as it is.
        let under_cargo = std::env::var_os("CARGO").is_some();
        let build = !no_build && (under_cargo || !binary.is_file());
        if build {
            self.build_fetch_many()?;
        }
        if binary.is_file() {
            Ok(binary)
        } else {
            Err(format!(
                "{} is missing: build it with `cargo build --release --examples` (or \
                 `cargo build --release --example fetch_many`), then run the sweep again",
                binary.display()
            ))
        }
    }

    /// `cargo build --example fetch_many` in this profile and target directory.
    fn build_fetch_many(&self) -> Result<(), String> {
        let cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .or_else(|| option_env!("CARGO").map(PathBuf::from))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from("cargo"));
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut command = Command::new(&cargo);
        command
            .args(["build", "--example", "fetch_many", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&self.target);
        match self.profile.as_str() {
            "debug" => {}
            "release" => {
                command.arg("--release");
            }
            other => {
                command.args(["--profile", other]);
            }
        }
        eprintln!(
            "sweep: building fetch_many, which makes each measurement ({} profile)...",
            self.profile
        );
        // cargo's own progress goes straight to the terminal.
        let status = command
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| {
                format!(
                    "cannot run {} to build fetch_many ({e}); build it yourself with \
                     `cargo build --release --examples` and run the sweep again",
                    cargo.display()
                )
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "building fetch_many failed ({status}); its errors are above. Fix them, or run \
                 `cargo build --release --examples` yourself"
            ))
        }
    }
}

/// The flag fetch_many's `--runner` takes for `client`.
fn runner_flag(client: Client) -> &'static str {
    match client {
        Client::Sequential => "sequential",
        Client::ThreadPerTask => "thread-per-task",
        Client::ThreadPool(_) => "thread-pool",
        Client::EventLoop => "event-loop",
    }
}

/// One measurement: run fetch_many for one client and count, and read the report it prints.
fn measure(fetch_many: &Path, client: Client, count: u64, delay_ms: u64) -> Result<Report, String> {
    let mut command = Command::new(fetch_many);
    command
        .args(["--runner", runner_flag(client), "--json"])
        .args(["--count", &count.to_string()])
        .args(["--delay-ms", &delay_ms.to_string()])
        .args(["--size", &BODY_SIZE.to_string()]);
    if let Client::ThreadPool(n) = client {
        command.args(["--pool-size", &n.to_string()]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", fetch_many.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // fetch_many exits 1 when some fetches failed but still prints its JSON: take the report
    // whenever there is one, and let the caller count the failures.
    if let Some(report) = first_report(&stdout) {
        return Report::from_json(report).map_err(|e| format!("fetch_many's report: {e}"));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "fetch_many printed no report ({}): {why}",
        output.status
    ))
}

/// The first object of the `"reports":[...]` array in fetch_many's JSON, as text for
/// [`Report::from_json`]: the braces are matched, skipping those inside strings.
fn first_report(json: &str) -> Option<&str> {
    let after = json.find("\"reports\":[")? + "\"reports\":[".len();
    let rest = &json[after..];
    if !rest.trim_start().starts_with('{') {
        return None;
    }
    let open = rest.find('{')?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in rest[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[open..=open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The machine, the command, the date
// ---------------------------------------------------------------------------------------------

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or(String::new(), |k| format!(", Linux {}", k.trim()));
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: f64 = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!(", {:.1} GiB RAM", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}{kernel}{memory}")
}

/// `cargo run --release --example sweep -- <our arguments>`.
fn command_line(profile: &str) -> String {
    let profile_flag = match profile {
        "release" => " --release".to_string(),
        "debug" => String::new(),
        other => format!(" --profile {other}"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = format!("cargo run{profile_flag} --example sweep");
    if !args.is_empty() {
        line.push_str(" -- ");
        line.push_str(&args.join(" "));
    }
    line
}

/// `/proc/loadavg`'s 1, 5 and 15 minute load averages: `0.52, 1.10, 3.04`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The date and time now, UTC, without a date crate: days since 1970 to a civil date (Howard
/// Hinnant's `civil_from_days`).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// `1.25 s`, or `41 ms` under a second.
fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// `1:05` (minutes and seconds), `1:02:05` past an hour; `?` for nonsense.
fn clock(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_string();
    }
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

// ---------------------------------------------------------------------------------------------
// Writing the results
// ---------------------------------------------------------------------------------------------

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

const CSV_HEADER: &str = "count,client,runs,fetches,ok,failed,wall_s,wall_minus_delay_ms,\
                          cpu_per_fetch_us,cpu_user_ms,cpu_system_ms,rss_growth_kib,kib_per_fetch";

/// One row per point: `fetches`, `ok` and `failed` are summed over the runs, the rest are medians.
fn to_csv(points: &[Point]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for p in points.iter().filter(|p| !p.reports.is_empty()) {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{:.4},{:.1},{:.1},{:.1},{:.1},{:.0},{:.2}",
            p.count,
            p.client.name(),
            p.reports.len(),
            p.fetches(),
            p.ok(),
            p.failed(),
            p.wall_s(),
            p.wall_minus_delay_ms(),
            p.cpu_per_fetch_us(),
            p.cpu_user_ms(),
            p.cpu_system_ms(),
            p.rss_growth_kib(),
            p.kib_per_fetch(),
        );
    }
    csv
}

/// The medians as an aligned table for the terminal.
fn table(points: &[Point]) -> String {
    let mut out = format!(
        "{:>6}  {:<16}  {:>11}  {:>9}  {:>10}  {:>10}  {:>10}\n",
        "count", "client", "ok", "wall", "wall−delay", "CPU/fetch", "RSS growth"
    );
    for p in points.iter().filter(|p| !p.reports.is_empty()) {
        let _ = writeln!(
            out,
            "{:>6}  {:<16}  {:>11}  {:>9}  {:>10}  {:>10}  {:>10}",
            p.count,
            p.client.name(),
            format!("{}/{}", p.ok(), p.fetches()),
            format!("{:.3} s", p.wall_s()),
            format!("{:.1} ms", p.wall_minus_delay_ms()),
            format!("{:.1} µs", p.cpu_per_fetch_us()),
            format!("{:.0} KiB", p.rss_growth_kib()),
        );
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number, or `null` for a median of no runs.
fn json_number(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "null".to_string()
    }
}

fn to_json(plan: &Plan, context: &Context, points: &[Point], failures: &[String]) -> String {
    let results: Vec<String> = points
        .iter()
        .map(|p| {
            let runs: Vec<String> = p.reports.iter().map(Report::to_json).collect();
            format!(
                "{{\"count\":{},\"client\":{},\"fetches\":{},\"ok\":{},\"failed\":{},\
                 \"median\":{{\"wall_s\":{},\"wall_minus_delay_ms\":{},\"cpu_per_fetch_us\":{},\
                 \"cpu_user_ms\":{},\"cpu_system_ms\":{},\"rss_growth_kib\":{},\
                 \"kib_per_fetch\":{}}},\"runs\":[{}]}}",
                p.count,
                json_string(&p.client.name()),
                p.fetches(),
                p.ok(),
                p.failed(),
                json_number(p.wall_s(), 6),
                json_number(p.wall_minus_delay_ms(), 3),
                json_number(p.cpu_per_fetch_us(), 2),
                json_number(p.cpu_user_ms(), 3),
                json_number(p.cpu_system_ms(), 3),
                json_number(p.rss_growth_kib(), 0),
                json_number(p.kib_per_fetch(), 3),
                runs.join(","),
            )
        })
        .collect();
    let counts: Vec<String> = plan.counts.iter().map(u64::to_string).collect();
    let failures: Vec<String> = failures.iter().map(|f| json_string(f)).collect();
    format!(
        "{{\"machine\":{},\"command\":{},\"date\":{},\"load_before\":{},\"load_after\":{},\
         \"took_s\":{:.1},\"delay_ms\":{},\"size\":{BODY_SIZE},\"runs\":{},\"counts\":[{}],\
         \"sequential_max\":{},\"results\":[{}],\"failures\":[{}]}}\n",
        json_string(&context.machine),
        json_string(&context.command),
        json_string(&context.date),
        json_string(&context.load_before),
        json_string(&context.load_after),
        context.took.as_secs_f64(),
        plan.delay_ms,
        plan.runs,
        counts.join(","),
        plan.sequential_max,
        results.join(","),
        failures.join(","),
    )
}

/// The README next to the charts: how they were made ([`readme_header`]), how to read them, the
/// charts, the table of medians and any failures.
fn readme(plan: &Plan, context: &Context, points: &[Point], failures: &[String]) -> String {
    let mut md = readme_header(plan, context);
    let _ = writeln!(
        md,
        "How to read them. **Wall time**: a client that starts every fetch at once (a thread per \
         fetch, the event loop) can finish no sooner than one server delay, the dashed line; \
         what it needs above that line is its own cost of starting and finishing that many \
         fetches on this machine's CPUs, shared with the server. The pool waits \
         `ceil(N / pool size)` delays, the sequential client `N`. **CPU per fetch**: the work \
         each fetch costs the client, whatever the waiting; a flat line means the total grows in \
         proportion to N. **Peak memory**: how much a run of N fetches raised the process's \
         peak; for the clients with every fetch in flight at once, that is what N fetches in \
         flight cost. On its log axes a line with slope 1 is a fixed cost per fetch, a flat one \
         a fixed cost per run.\n"
    );
    if let Some(summary) = summary(points) {
        let _ = writeln!(md, "{summary}\n");
    }
    for (what, file) in ["Wall time", "CPU per fetch", "Peak memory growth"]
        .iter()
        .zip(CHARTS)
    {
        let _ = writeln!(md, "![{what} against the fetch count]({file})\n");
    }
    md.push_str(&medians_table(points));
    if !failures.is_empty() {
        let _ = writeln!(md, "\nFailures:\n");
        for f in failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    md
}

/// The README's title and the facts of the run: command, machine, date, load, time taken, and
/// how each measurement was made.
fn readme_header(plan: &Plan, context: &Context) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# The sweep's charts\n");
    let _ = writeln!(
        md,
        "Generated by `examples/sweep.rs`; a new run replaces this file, the charts and \
         `results.csv`.\n"
    );
    let _ = writeln!(md, "- **Command**: `{}`", context.command);
    let _ = writeln!(md, "- **Machine**: {}", context.machine);
    let _ = writeln!(md, "- **Date**: {}", context.date);
    let _ = writeln!(
        md,
        "- **Load** (1, 5, 15 min averages, `uptime`): {} before, {} after",
        context.load_before, context.load_after
    );
    if let Some(busy) = busy_note(&context.load_before) {
        let _ = writeln!(md, "- **Note**: {busy}");
    }
    let _ = writeln!(
        md,
        "- **Took**: {} of measuring, {} measurements",
        clock(context.took.as_secs_f64()),
        plan.measurements().len()
    );
    let _ = writeln!(md, "- **What**: {}\n", plan.describe());
    let _ = writeln!(
        md,
        "Each measurement is one run of `fetch_many --runner <client> --count <N> --delay-ms {} \
         --json`: the delay server in one child process, the client in another, so the figures \
         are the client's alone. CPU is user + system time of the client's process over the run \
         (the kernel's total is exact; its split between user and system is sampled at timer \
         ticks, so read the two columns of the CSV together); memory is how much the process's \
         peak resident set (`ru_maxrss`) grew during the run. On loopback the kernel bills part \
         of the server's TCP work to the client and the other way round, the same for every \
         client.\n",
        plan.delay_ms
    );
    md
}

/// The README's table of medians, one row per count and client that has a report.
fn medians_table(points: &[Point]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "The medians (also in [`results.csv`](results.csv)):\n");
    let _ = writeln!(
        md,
        "| count | client | ok | wall | wall − delay | CPU/fetch | RSS growth |\n\
         |---:|---|---:|---:|---:|---:|---:|"
    );
    for p in points.iter().filter(|p| !p.reports.is_empty()) {
        let _ = writeln!(
            md,
            "| {} | {} | {}/{} | {:.3} s | {:.1} ms | {:.1} µs | {:.0} KiB |",
            p.count,
            p.client.name(),
            p.ok(),
            p.fetches(),
            p.wall_s(),
            p.wall_minus_delay_ms(),
            p.cpu_per_fetch_us(),
            p.rss_growth_kib(),
        );
    }
    md
}

/// A warning when the load average at the start was above the number of CPUs: other work was
/// competing with the measurements, so expect noise.
fn busy_note(load: &str) -> Option<String> {
    let one_minute: f64 = load.split(',').next()?.trim().parse().ok()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (one_minute > cpus as f64).then(|| {
        format!(
            "the machine was busy with other work (a load of {one_minute:.1} on {cpus} CPUs when \
             the sweep started), which the figures include: expect noise, most in wall time"
        )
    })
}

/// One sentence comparing the clients at the largest count the event loop ran.
fn summary(points: &[Point]) -> Option<String> {
    let largest = points
        .iter()
        .filter(|p| p.client == Client::EventLoop && !p.reports.is_empty())
        .map(|p| p.count)
        .max()?;
    let at: Vec<&Point> = points
        .iter()
        .filter(|p| p.count == largest && !p.reports.is_empty())
        .collect();
    let parts: Vec<String> = at
        .iter()
        .map(|p| {
            format!(
                "{} took {}, with {:.0} µs of CPU and {:.1} KiB of peak memory per fetch",
                p.client.name(),
                seconds(p.wall_s()),
                p.cpu_per_fetch_us(),
                p.kib_per_fetch()
            )
        })
        .collect();
    Some(format!("At {largest} fetches: {}.", parts.join("; ")))
}

// ---------------------------------------------------------------------------------------------
// The charts
// ---------------------------------------------------------------------------------------------

/// A client's colour, the same in every chart.
fn colour(client: Client) -> RGBColor {
    match client {
        Client::Sequential => RGBColor(120, 120, 120),
        Client::ThreadPerTask => RGBColor(214, 39, 40),
        Client::ThreadPool(_) => RGBColor(255, 127, 14),
        Client::EventLoop => RGBColor(31, 119, 180),
    }
}

/// What differs between the three charts.
struct ChartSpec {
    /// The title at the top.
    title: String,
    /// The y axis's description, with its unit.
    y_desc: &'static str,
    /// The figure plotted for a point.
    y: fn(&Point) -> f64,
    /// Values below this are drawn at it (a log axis has no zero); a reference line marks it.
    y_floor: Option<f64>,
    /// A dashed horizontal reference line and its legend entry.
    reference: Option<(f64, String)>,
    /// The y axis's tick labels.
    y_label: fn(&f64) -> String,
    /// A logarithmic y axis (for figures that span decades), or a linear one from zero.
    log_y: bool,
}

fn draw_charts(plan: &Plan, context: &Context, points: &[Point]) -> Result<Vec<String>, String> {
    let specs = [
        ChartSpec {
            title: format!(
                "Wall time to make N fetches ({} ms server delay each)",
                plan.delay_ms
            ),
            y_desc: "wall time, seconds (log scale)",
            y: Point::wall_s,
            y_floor: None,
            reference: (plan.delay_ms > 0).then(|| {
                (
                    plan.delay_ms as f64 / 1e3,
                    format!("server delay ({} ms)", plan.delay_ms),
                )
            }),
            y_label: |v| trim_number(*v),
            log_y: true,
        },
        ChartSpec {
            title: "CPU time per fetch (user + system, client process)".to_string(),
            y_desc: "CPU per fetch, µs",
            y: Point::cpu_per_fetch_us,
            y_floor: None,
            reference: None,
            y_label: |v| trim_number(*v),
            log_y: false,
        },
        ChartSpec {
            title: "Peak memory growth during the run (ru_maxrss)".to_string(),
            y_desc: "peak RSS growth, MiB (log scale)",
            y: |p| p.rss_growth_kib() / 1024.0,
            y_floor: Some(4.0 / 1024.0),
            reference: Some((4.0 / 1024.0, "no growth, drawn at 4 KiB".to_string())),
            y_label: |v| trim_number(*v),
            log_y: true,
        },
    ];
    specs
        .iter()
        .map(|spec| draw_chart(spec, plan, context, points).map_err(|e| format!("drawing: {e}")))
        .collect()
}

/// `0.05`, `1`, `300`, `10000`: enough digits to tell log ticks apart, no trailing zeros.
fn trim_number(v: f64) -> String {
    let text = if v.abs() < 1e-9 {
        "0".to_string()
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let decimals = (-v.log10()).ceil().max(1.0) as usize + 1;
        format!("{v:.decimals$}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn draw_chart(
    spec: &ChartSpec,
    plan: &Plan,
    context: &Context,
    points: &[Point],
) -> Result<String, Box<dyn std::error::Error>> {
    // One line per client: its points that have a finite value, in count order.
    let floor = spec.y_floor.unwrap_or(0.0);
    let lines: Vec<(Client, Vec<(f64, f64)>)> = plan
        .clients
        .iter()
        .map(|&client| {
            let line = points
                .iter()
                .filter(|p| p.client == client && !p.reports.is_empty())
                .map(|p| (p.count as f64, (spec.y)(p).max(floor)))
                .filter(|&(_, y)| y.is_finite() && y > 0.0)
                .collect();
            (client, line)
        })
        .collect();
    let ys = lines
        .iter()
        .flat_map(|(_, line)| line.iter().map(|&(_, y)| y))
        .chain(spec.reference.iter().map(|(y, _)| *y));
    let (y_min, y_max) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (y_min, y_max) = if y_min.is_finite() && y_max > 0.0 {
        (y_min, y_max)
    } else {
        (0.1, 10.0)
    };
    let x_min = *plan.counts.first().unwrap_or(&10) as f64 / 1.5;
    let x_max = *plan.counts.last().unwrap_or(&10_000) as f64 * 1.5;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 640)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = root.titled(&spec.title, ("sans-serif", 24))?;
        let (top, bottom) = body.split_vertically(530);
        // The legend gets a column of its own, so that it never hides a line.
        let (plot, side) = top.split_horizontally(750);
        let x_range = (x_min, x_max);
        if spec.log_y {
            let y_range = (y_min / 2.0..y_max * 3.0).log_scale();
            plot_lines(&plot, &side, x_range, y_range, spec, plan, &lines)?;
        } else {
            plot_lines(&plot, &side, x_range, 0.0..y_max * 1.15, spec, plan, &lines)?;
        }

        // The caption: what was measured, on which machine, by which command.
        let small = ("sans-serif", 13).into_font().color(&BLACK.mix(0.75));
        let caption = [
            format!("{}; {}", plan.describe(), context.date),
            format!(
                "{}; load average {} at the start",
                context.machine, context.load_before
            ),
            context.command.clone(),
        ];
        for (i, line) in caption.iter().enumerate() {
            bottom.draw_text(line, &small, (16, 6 + 19 * i as i32))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The axes, the mesh, one line per client and the legend beside them. Generic over the y axis,
/// which is logarithmic or linear.
fn plot_lines<Y>(
    plot: &DrawingArea<SVGBackend<'_>, Shift>,
    side: &DrawingArea<SVGBackend<'_>, Shift>,
    (x_min, x_max): (f64, f64),
    y_range: Y,
    spec: &ChartSpec,
    plan: &Plan,
    lines: &[(Client, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(plot)
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max).log_scale(), y_range)?;
    chart
        .configure_mesh()
        .x_desc("fetches per run (log scale)")
        .y_desc(spec.y_desc)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .x_label_formatter(&|x| trim_number(*x))
        .y_label_formatter(&spec.y_label)
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    let label_font = ("sans-serif", 15).into_font().color(&BLACK);
    let mut legend_y = 40;
    for (client, line) in lines {
        if line.is_empty() {
            continue;
        }
        let colour = colour(*client);
        chart.draw_series(LineSeries::new(
            line.iter().copied(),
            colour.stroke_width(2),
        ))?;
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, colour.filled())),
        )?;
        let label = if *client == Client::Sequential {
            format!("{} (≤ {} fetches)", client.name(), plan.sequential_max)
        } else {
            client.name()
        };
        side.draw(&PathElement::new(
            [(8, legend_y), (38, legend_y)],
            colour.stroke_width(2),
        ))?;
        side.draw(&Circle::new((23, legend_y), 4, colour.filled()))?;
        side.draw_text(&label, &label_font, (46, legend_y - 8))?;
        legend_y += 26;
    }
    if let Some((y, label)) = &spec.reference {
        let style = BLACK.mix(0.5).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(
            [(x_min, *y), (x_max, *y)],
            6,
            4,
            style,
        ))?;
        for dash in [8, 20, 32] {
            side.draw(&PathElement::new(
                [(dash, legend_y), (dash + 6, legend_y)],
                style,
            ))?;
        }
        side.draw_text(label, &label_font, (46, legend_y - 8))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_report_is_cut_out_with_braces_in_strings_skipped() {
        let json = r#"{"plan":{"count":1},"reports":[{"client":"a","first_error":"x } {","errors":{"refused":0}}],"failures":[]}"#;
        assert_eq!(
            first_report(json),
            Some(r#"{"client":"a","first_error":"x } {","errors":{"refused":0}}"#)
        );
        assert_eq!(first_report(r#"{"reports":[],"failures":[]}"#), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn tick_labels() {
        assert_eq!(trim_number(10000.0), "10000");
        assert_eq!(trim_number(0.05), "0.05");
        assert_eq!(trim_number(0.1), "0.1");
        assert_eq!(trim_number(0.001), "0.001");
        assert_eq!(trim_number(0.0), "0");
        assert_eq!(trim_number(250.0), "250");
    }
}
