//! One command for every number the book and the README quote: it runs each experiment on this
//! machine and writes one Markdown table per question into `book/src/measured/`, each with a
//! caption line naming the machine, the date and the exact command, so that the chapters can
//! include the files whole and never type a measured figure by hand.
//!
//! ```console
//! $ cargo run --release --example measure                      # everything, several minutes
//! $ cargo run --release --example measure -- --quick           # everything, under a minute
//! $ cargo run --release --example measure -- --only fetch,http # some experiments
//! $ cargo run --release --example measure -- --quick --out /tmp/m
//! $ cargo run --release --features hyper --example measure -- --only hyper
//! ```
//!
//! | file | experiment (`--only`) | how |
//! |---|---|---|
//! | `fetch_1000.md` | `fetch` | `fetch_many --json --python`, the default plan, read back |
//! | `fetch_scale.md` | `scale` | `fetch_many --json` at 100, 1,000 (and 10,000) fetches |
//! | `http_server.md` | `http` | the keep-alive server in a child process, loaded from here |
//! | `hyper.md` | `hyper` | four servers side by side, the same way (`--features hyper` only) |
//! | `scheduler.md` | `scheduler` | timing loops in this process, median of several batches |
//! | `threads.md` | `threads` | thread start + join timed here; memory in child processes |
//! | `timers.md` | `timers` | 100,000 sleeps timed here; memory per idle task in children |
//!
//! What needs a process of its own gets one, because CPU time and peak memory (`getrusage`,
//! `VmHWM`) are process-wide: `fetch_many` already runs every client in a child of its own and
//! prints its reports with `--json`; the HTTP server and the memory measurements run as hidden
//! subcommands of this binary. The timing loops run here: they measure nanoseconds, which a
//! child's start-up would drown. Nothing waits for the machine to be idle: each caption says the
//! load average seen when the run started, so a reader can judge the noise.
//!
//! The counterpart elsewhere is a benchmark harness (criterion, `hyperfine`, `wrk`); this program
//! is smaller on purpose: one run, medians of a few batches, no statistics beyond that. The
//! criterion benches (`benches/`) remain the place for careful comparisons. Linux only (`/proc`).
//!
//! Exit codes: 0 when every experiment wrote its file, 1 when one could not run (the others
//! still write theirs), 2 for a bad flag.

use std::cell::RefCell;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand, ValueEnum};
use futures::channel::oneshot;
use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;
use taketurns::workload::http_server::{self, Flavor, HttpOptions, HttpServer};
use taketurns::workload::{Report, machine, raise_fd_limit};

/// Live heap bytes and their high-water mark, for the server children's "peak heap" column.
///
/// Peak RSS counts pages the process touched, so where the allocator happened to place a
/// connection's small allocations between hyper's large buffers moves it by a page here and
/// there; the heap's high-water mark counts the bytes the program asked for, which a run repeats
/// closely. Counting is switched on only in `child-http`, before it allocates anything of its
/// own, so the timing loops in the parent pay nothing but a relaxed load per allocation.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

    /// The system allocator, counting while [`ON`] is set.
    pub struct Counting;

    /// Count from now on (set once, at the start of a server child).
    pub static ON: AtomicBool = AtomicBool::new(false);
    /// Bytes allocated minus bytes freed since counting started (memory allocated before then
    /// and freed after makes it start slightly below zero).
    static LIVE: AtomicIsize = AtomicIsize::new(0);
    /// The highest `LIVE` seen.
    static PEAK: AtomicIsize = AtomicIsize::new(0);

    fn grew(bytes: usize) {
        if ON.load(Relaxed) {
            let now = LIVE.fetch_add(bytes as isize, Relaxed) + bytes as isize;
            PEAK.fetch_max(now, Relaxed);
        }
    }

    fn shrank(bytes: usize) {
        if ON.load(Relaxed) {
            LIVE.fetch_sub(bytes as isize, Relaxed);
        }
    }

    /// The high-water mark of live heap bytes since counting started, in KiB.
    pub fn peak_kib() -> u64 {
        (PEAK.load(Relaxed).max(0) / 1024) as u64
    }

    // SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract for `alloc`, passed on.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                grew(layout.size());
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                grew(layout.size());
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract for `dealloc`, passed on.
            unsafe { System.dealloc(ptr, layout) };
            shrank(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller's contract for `realloc`, passed on.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                grew(new_size);
                shrank(layout.size());
            }
            new
        }
    }
}

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

/// Measure everything the book and the README quote, on this machine, and write the tables.
#[derive(Parser, Debug)]
#[command(name = "measure", version)]
struct Cli {
    /// Internal: the child processes this program starts.
    #[command(subcommand)]
    child: Option<Child>,

    /// Smaller runs that finish in under a minute on two cores (fewer batches, fewer fetches at
    /// scale, one connection count for the HTTP server).
    #[arg(long)]
    quick: bool,

    /// Run only these experiments, e.g. `--only fetch,http` [default: all of them].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Experiment>,

    /// Where to write the tables [default: book/src/measured in the source tree]. The README's
    /// measured block is rewritten only when writing there.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The experiments, each writing one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Experiment {
    /// fetch_1000.md: fetch_many's default plan, every client.
    Fetch,
    /// fetch_scale.md: the plan at several fetch counts.
    Scale,
    /// http_server.md: the keep-alive server under load.
    Http,
    /// hyper.md: hyper on taketurns and on tokio next to the hand-written servers (built with
    /// `--features hyper`; skipped with a note otherwise).
    Hyper,
    /// scheduler.md: spawn + await, and a yield, on four executors.
    Scheduler,
    /// threads.md: what a thread costs next to a task.
    Threads,
    /// timers.md: 100,000 sleeps, and memory per idle task.
    Timers,
}

impl Experiment {
    /// Every experiment, in the order they run.
    const ALL: [Experiment; 7] = [
        Experiment::Fetch,
        Experiment::Scale,
        Experiment::Http,
        Experiment::Hyper,
        Experiment::Scheduler,
        Experiment::Threads,
        Experiment::Timers,
    ];

    /// The file it writes.
    fn file(self) -> &'static str {
        match self {
            Experiment::Fetch => "fetch_1000.md",
            Experiment::Scale => "fetch_scale.md",
            Experiment::Http => "http_server.md",
            Experiment::Hyper => "hyper.md",
            Experiment::Scheduler => "scheduler.md",
            Experiment::Threads => "threads.md",
            Experiment::Timers => "timers.md",
        }
    }
}

/// The child processes' subcommands (hidden from --help).
#[derive(Subcommand, Debug)]
enum Child {
    /// Serve HTTP; print the address, then one JSON line of counters per line read on stdin;
    /// stop when stdin closes.
    #[command(hide = true)]
    ChildHttp {
        /// One thread per connection instead of the event loop.
        #[arg(long)]
        threads: bool,
        /// hyper's HTTP/1.1 server on this runtime instead of the hand-written server (needs
        /// `--features hyper`).
        #[arg(long, value_enum)]
        hyper: Option<HyperOn>,
    },
    /// Measure the resident memory of COUNT waiting things and print one JSON line.
    #[command(hide = true)]
    ChildMemory {
        /// What waits.
        #[arg(long, value_enum)]
        what: Waiter,
        /// How many.
        #[arg(long)]
        count: usize,
    },
}

/// The runtime under hyper's server in `child-http --hyper`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HyperOn {
    /// taketurns, through `taketurns::hyper_rt`.
    Taketurns,
    /// tokio's current_thread runtime with a `LocalSet`.
    Tokio,
}

/// What a memory child parks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Waiter {
    /// OS threads blocked on a channel.
    Threads,
    /// taketurns tasks parked on a oneshot.
    Taketurns,
    /// tokio current_thread tasks parked on a oneshot.
    Tokio,
}

/// How big each experiment is: `--quick` or the full run.
#[derive(Clone, Copy, Debug)]
struct Size {
    /// Whether this is the quick run.
    quick: bool,
    /// Batches per timing loop (the median is reported).
    batches: usize,
    /// Operations per batch of a scheduler timing loop.
    ops: usize,
    /// Fetch counts of the scale table.
    scale_counts: &'static [u64],
    /// Connection counts of the HTTP table.
    connections: &'static [usize],
    /// How long the load generator runs per HTTP row.
    http_secs: f64,
    /// Threads parked for the memory per thread.
    parked_threads: usize,
    /// Tasks parked for the memory per task.
    idle_tasks: usize,
}

impl Size {
    fn new(quick: bool) -> Size {
        if quick {
            Size {
                quick,
                batches: 5,
                ops: 20_000,
                scale_counts: &[100, 1000],
                connections: &[100],
                http_secs: 1.0,
                parked_threads: 1000,
                idle_tasks: 100_000,
            }
        } else {
            Size {
                quick,
                batches: 15,
                ops: 200_000,
                scale_counts: &[100, 1000, 10_000],
                connections: &[100, 1000],
                http_secs: 5.0,
                parked_threads: 10_000,
                idle_tasks: 1_000_000,
            }
        }
    }
}

/// One generated file: a Markdown table and what follows its caption.
#[derive(Debug, Default)]
struct Table {
    /// Column titles.
    header: Vec<String>,
    /// Cells, row by row, as many as `header`.
    rows: Vec<Vec<String>>,
    /// Sentences computed from the numbers, appended to the caption line.
    sentences: Vec<String>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            ..Table::default()
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// The file's text: the table, a blank line, the caption in italics and the sentences.
    fn render(&self, caption: &str) -> String {
        let mut out = String::new();
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line(&self.header));
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out.push('\n');
        out.push_str(&format!("*{caption}*"));
        for sentence in &self.sentences {
            out.push(' ');
            out.push_str(sentence);
        }
        out.push('\n');
        out
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.child {
        Some(Child::ChildHttp {
            hyper: Some(on), ..
        }) => return child_hyper(*on),
        Some(Child::ChildHttp { threads, .. }) => return child_http(*threads),
        Some(Child::ChildMemory { what, count }) => return child_memory(*what, *count),
        None => {}
    }
    let size = Size::new(cli.quick);
    let mut only = if cli.only.is_empty() {
        Experiment::ALL.to_vec()
    } else {
        cli.only.clone()
    };
    only.sort();
    only.dedup();
    let default_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/measured");
    let out = cli.out.clone().unwrap_or_else(|| default_out.clone());
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("measure: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let writes_the_book =
        std::fs::canonicalize(&out).ok() == std::fs::canonicalize(&default_out).ok();
    let caption = caption();
    let mut failed = false;
    let mut fetch_1000: Option<Vec<Report>> = None;
    for (i, experiment) in only.iter().enumerate() {
        if *experiment == Experiment::Hyper && !cfg!(feature = "hyper") {
            eprintln!(
                "measure [{}/{}] hyper.md skipped: this binary was built without the hyper \
                 feature (add `--features hyper` to measure hyper on taketurns)",
                i + 1,
                only.len()
            );
            continue;
        }
        eprintln!("measure [{}/{}] {} …", i + 1, only.len(), experiment.file());
        let started = Instant::now();
        let table = match experiment {
            Experiment::Fetch => fetch_table().map(|(table, reports)| {
                fetch_1000 = Some(reports);
                table
            }),
            Experiment::Scale => scale_table(size, fetch_1000.as_deref()),
            Experiment::Http => http_table(size),
            Experiment::Hyper => hyper_table(size),
            Experiment::Scheduler => scheduler_table(size),
            Experiment::Threads => threads_table(size),
            Experiment::Timers => timers_table(size),
        };
        match table {
            Ok(table) => {
                let path = out.join(experiment.file());
                let text = table.render(&caption);
                if let Err(e) = std::fs::write(&path, &text) {
                    eprintln!("measure: cannot write {}: {e}", path.display());
                    failed = true;
                    continue;
                }
                eprintln!(
                    "measure [{}/{}] wrote {} in {:.1} s",
                    i + 1,
                    only.len(),
                    path.display(),
                    started.elapsed().as_secs_f64()
                );
                if *experiment == Experiment::Fetch
                    && writes_the_book
                    && let Err(e) = update_readme(&text)
                {
                    eprintln!("measure: {e}");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("measure: {} was not written: {e}", experiment.file());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// The caption and the README
// ---------------------------------------------------------------------------------------------

/// The caption line every file ends with: the command, the machine, the date, the load.
fn caption() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    let features = if cfg!(feature = "hyper") {
        " --features hyper"
    } else {
        ""
    };
    let mut command = format!("cargo run{release}{features} --example measure");
    if !args.is_empty() {
        command.push_str(" -- ");
        command.push_str(&args.join(" "));
    }
    let cores = machine::cpus();
    let linux = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| {
            let parts: Vec<&str> = r.trim().split(['.', '-']).take(2).collect();
            format!("Linux {}", parts.join("."))
        })
        .unwrap_or_else(|_| "an unknown kernel".to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());
    format!(
        "Measured by `{command}` on {cores} cores ({}), {linux}, {}; load average {load} when \
         it started.",
        machine::cpu_model(),
        today()
    )
}

/// Today's date in UTC, `YYYY-MM-DD` (the civil-from-days algorithm; no time zone database).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The README's measured block opens with this line, naming the file it holds.
const README_OPEN: &str = "<!-- measured: fetch_1000.md -->\n";
/// And closes with this one.
const README_CLOSE: &str = "<!-- /measured -->";

/// Put `text` (the fetch table) between the README's markers.
fn update_readme(text: &str) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (Some(open), Some(close)) = (readme.find(README_OPEN), readme.find(README_CLOSE)) else {
        return Err(format!(
            "{} has no measured block: put the lines `{}` and `{README_CLOSE}` where the fetch \
             table goes",
            path.display(),
            README_OPEN.trim_end()
        ));
    };
    let start = open + README_OPEN.len();
    if close < start {
        return Err(format!(
            "{}: `{README_CLOSE}` comes before its opening marker",
            path.display()
        ));
    }
    let updated = format!("{}{text}{}", &readme[..start], &readme[close..]);
    std::fs::write(&path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// A time in the unit that suits it, three significant digits (whole nanoseconds): `143 ns`,
/// `1.52 µs`, `2.54 s`.
fn time(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if unit == "ns" {
        // Nanoseconds are the clock's resolution: no decimals to show.
        return format!("{value:.0} ns");
    }
    format!("{} {unit}", sig3(value))
}

/// A size in KiB in the unit that suits it: `0.84 KiB`, `13.7 KiB`, `2.10 MiB`.
fn kib(kib: f64) -> String {
    if kib >= 1024.0 {
        format!("{} MiB", sig3(kib / 1024.0))
    } else {
        format!("{} KiB", sig3(kib))
    }
}

/// A number with three significant digits (no fewer than its integer digits).
fn sig3(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.decimals$}")
}

/// A whole number with thousands separators: `100,000`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a ÷ b` as `3.1×`, or `–` when it means nothing.
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && a > 0.0 {
        format!("{}×", sig2(a / b))
    } else {
        "–".to_string()
    }
}

/// Two significant digits, for ratios.
fn sig2(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The median of some durations (the upper one of an even count).
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// fetch_1000.md and fetch_scale.md: fetch_many --json
// ---------------------------------------------------------------------------------------------

/// Build `fetch_many` (a no-op when it is up to date) with this binary's profile, and return its
/// path: it lives beside this binary in `target/<profile>/examples/`.
fn fetch_many_binary() -> Result<PathBuf, String> {
    let mut build = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    build
        .args(["build", "--quiet", "--example", "fetch_many"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo to build fetch_many: {e}"))?;
    if !status.success() {
        return Err("`cargo build --example fetch_many` failed (its errors are above)".into());
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let binary = me.with_file_name("fetch_many");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("no fetch_many binary at {}", binary.display()))
    }
}

/// Run `fetch_many --json ARGS` and read back its reports and failures.
fn fetch_many(args: &[&str]) -> Result<(Vec<Report>, Vec<String>), String> {
    let binary = fetch_many_binary()?;
    let output = Command::new(&binary)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "fetch_many {args:?} printed no JSON ({e}); it exited with {}",
            output.status
        )
    })?;
    let mut reports = Vec::new();
    for report in value["reports"].as_array().into_iter().flatten() {
        reports.push(serde_json::from_value::<Report>(report.clone()).map_err(|e| e.to_string())?);
    }
    let failures = value["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{}: {}",
                f["client"].as_str().unwrap_or("?"),
                f["message"].as_str().unwrap_or("?")
            )
        })
        .collect();
    Ok((reports, failures))
}

/// A report's row name in the fetch table, and its place in the table's order.
fn fetch_row_name(report: &Report) -> (usize, String) {
    let n = report.fetches;
    match report.client.as_str() {
        "event-loop" => (0, "event loop (taketurns)".into()),
        "thread-per-task" => (1, "thread per fetch".into()),
        "sequential" => (3, format!("one after another ({n} fetches)")),
        "py-asyncio" => (4, "Python asyncio".into()),
        "py-thread-per-task" => (5, "Python, a thread per fetch".into()),
        "py-sequential" => (7, format!("Python, one after another ({n} fetches)")),
        other => {
            if let Some(size) = other.strip_prefix("py-thread-pool(") {
                (
                    6,
                    format!("Python, a pool of {}", size.trim_end_matches(')')),
                )
            } else if let Some(size) = other.strip_prefix("thread-pool(") {
                (2, format!("thread pool ({size}"))
            } else {
                (8, other.to_string())
            }
        }
    }
}

/// A report's CPU per fetch, in seconds.
fn cpu_per_fetch(report: &Report) -> f64 {
    report.cpu_per_fetch().as_secs_f64()
}

/// The report of `client` among `reports`.
fn find<'a>(reports: &'a [Report], client: &str) -> Option<&'a Report> {
    reports.iter().find(|r| r.client == client)
}

/// fetch_1000.md: the default plan, every client, Python's too when `python3` is there.
fn fetch_table() -> Result<(Table, Vec<Report>), String> {
    let (mut reports, failures) = fetch_many(&["--python"])?;
    if find(&reports, "event-loop").is_none() {
        return Err(format!(
            "the event loop client did not run: {}",
            failures.join("; ")
        ));
    }
    reports.sort_by_key(|r| fetch_row_name(r).0);
    let mut table = Table::new(&[
        "client",
        "wall time",
        "CPU per fetch",
        "peak memory per fetch",
        "errors",
    ]);
    for r in &reports {
        table.row(vec![
            fetch_row_name(r).1,
            time(r.wall),
            time(r.cpu_per_fetch()),
            kib(r.kib_per_fetch()),
            r.errors.total().to_string(),
        ]);
    }
    if let (Some(event), Some(threads)) = (
        find(&reports, "event-loop"),
        find(&reports, "thread-per-task"),
    ) {
        table.sentences.push(format!(
            "On this run thread per fetch used {} the CPU per fetch of the event loop and {} its \
             memory per fetch.",
            ratio(cpu_per_fetch(threads), cpu_per_fetch(event)),
            ratio(threads.kib_per_fetch(), event.kib_per_fetch()),
        ));
    }
    for failure in failures {
        eprintln!("measure:   {failure}");
        table
            .sentences
            .push(format!("A client could not run ({failure})."));
    }
    Ok((table, reports))
}

/// fetch_scale.md: the plan at each fetch count, reusing the fetch table's run for 1,000.
fn scale_table(size: Size, fetch_1000: Option<&[Report]>) -> Result<Table, String> {
    let mut table = Table::new(&[
        "fetches",
        "CPU per fetch: event loop",
        "CPU per fetch: thread per fetch",
        "CPU per fetch: pool (64)",
        "memory per fetch: event loop",
        "memory per fetch: thread per fetch",
        "threads ÷ loop, CPU",
        "threads ÷ loop, memory",
    ]);
    for &fetches in size.scale_counts {
        let reports = match fetch_1000 {
            Some(reports) if fetches == 1000 => reports.to_vec(),
            _ => {
                eprintln!("measure:   fetch_many at {fetches} fetches …");
                let arg = fetches.to_string();
                let (reports, failures) =
                    fetch_many(&["--count", &arg, "--sequential-count", "1"])?;
                for failure in failures {
                    eprintln!("measure:   {failure}");
                }
                reports
            }
        };
        let cell = |client: &str, f: &dyn Fn(&Report) -> String| {
            find(&reports, client).map_or_else(|| "did not run".to_string(), f)
        };
        let event = find(&reports, "event-loop");
        let threads = find(&reports, "thread-per-task");
        let (cpu_ratio, mem_ratio) = match (event, threads) {
            (Some(e), Some(t)) => (
                ratio(cpu_per_fetch(t), cpu_per_fetch(e)),
                ratio(t.kib_per_fetch(), e.kib_per_fetch()),
            ),
            _ => ("–".to_string(), "–".to_string()),
        };
        table.row(vec![
            count(fetches),
            cell("event-loop", &|r| time(r.cpu_per_fetch())),
            cell("thread-per-task", &|r| time(r.cpu_per_fetch())),
            cell("thread-pool(64)", &|r| time(r.cpu_per_fetch())),
            cell("event-loop", &|r| kib(r.kib_per_fetch())),
            cell("thread-per-task", &|r| kib(r.kib_per_fetch())),
            cpu_ratio,
            mem_ratio,
        ]);
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// http_server.md: the keep-alive server in a child, a load generator here
// ---------------------------------------------------------------------------------------------

/// The child's counters, one JSON line per request on its stdin.
#[derive(Debug, Clone, Copy)]
struct ServerCounters {
    /// Requests answered so far.
    requests: u64,
    /// CPU time (user + system) of the whole server process so far.
    cpu: Duration,
    /// Peak resident memory (`VmHWM`), in KiB.
    peak_kib: u64,
    /// The high-water mark of live heap bytes, in KiB.
    heap_peak_kib: u64,
}

/// The `child-http` subcommand.
fn child_http(threads: bool) -> ExitCode {
    heap::ON.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = raise_fd_limit(65_536);
    let flavor = if threads {
        Flavor::ThreadPerConnection
    } else {
        Flavor::EventLoop
    };
    let server = match HttpServer::start("127.0.0.1:0", flavor, HttpOptions::default()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("measure child-http: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", server.local_addr());
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        println!(
            "{{\"requests\":{},\"cpu_us\":{},\"peak_kib\":{},\"heap_peak_kib\":{}}}",
            server.stats().requests(),
            machine::cpu_time().as_micros(),
            machine::status_kib("VmHWM:").unwrap_or(0),
            heap::peak_kib()
        );
        let _ = std::io::stdout().flush();
    }
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("measure child-http: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A running `child-http`, killed and reaped on drop.
struct ServerChild {
    /// The process.
    process: std::process::Child,
    /// Its stdin: a line asks for counters, closing it stops the server.
    stdin: Option<std::process::ChildStdin>,
    /// Its stdout, line by line.
    stdout: BufReader<std::process::ChildStdout>,
    /// Where it listens.
    addr: std::net::SocketAddr,
}

impl ServerChild {
    fn start(threads: bool) -> Result<ServerChild, String> {
        ServerChild::start_with(if threads { &["--threads"] } else { &[] })
    }

    /// Start `child-http` with these flags.
    fn start_with(flags: &[&str]) -> Result<ServerChild, String> {
        let me = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let mut command = Command::new(me);
        command.arg("child-http").args(flags);
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server child: {e}"))?;
        let stdin = process.stdin.take();
        let stdout = BufReader::new(process.stdout.take().expect("stdout is piped"));
        let mut child = ServerChild {
            process,
            stdin,
            stdout,
            addr: "127.0.0.1:0".parse().expect("a valid address"),
        };
        let line = child.line()?;
        child.addr = line
            .trim()
            .parse()
            .map_err(|_| format!("the server child printed {line:?}, not its address"))?;
        Ok(child)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the server child exited early (its stderr is above)".into()),
            Ok(_) => Ok(line),
            Err(e) => Err(format!("cannot read from the server child: {e}")),
        }
    }

    fn counters(&mut self) -> Result<ServerCounters, String> {
        let stdin = self.stdin.as_mut().expect("stdin is open until drop");
        writeln!(stdin).map_err(|e| format!("the server child is gone: {e}"))?;
        stdin
            .flush()
            .map_err(|e| format!("the server child is gone: {e}"))?;
        let line = self.line()?;
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("unreadable counters from the server child ({e}): {line:?}"))?;
        Ok(ServerCounters {
            requests: v["requests"].as_u64().unwrap_or(0),
            cpu: Duration::from_micros(v["cpu_us"].as_u64().unwrap_or(0)),
            peak_kib: v["peak_kib"].as_u64().unwrap_or(0),
            heap_peak_kib: v["heap_peak_kib"].as_u64().unwrap_or(0),
        })
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// What the load generator saw: every request's latency inside the measured window.
struct Load {
    /// Latencies of the responses that arrived inside the window, in microseconds.
    latencies_us: Vec<u32>,
    /// Requests that failed (I/O error or a status other than 200).
    errors: u64,
    /// The window's length.
    window: Duration,
}

/// Load generator threads: one event loop each, the connections shared out between them.
const LOAD_THREADS: usize = 2;

/// Open `connections` keep-alive connections to `addr` and send `GET {route}` on each, one request
/// after the other, for `secs` seconds; the window starts once every connection is open.
fn generate_load(
    addr: std::net::SocketAddr,
    connections: usize,
    secs: f64,
    route: &'static str,
) -> Result<Load, String> {
    // Every connection has to be open before the window starts: a shared instant, far enough
    // ahead for a thousand connects, after which each task starts sending.
    let start = Instant::now()
        + Duration::from_millis(500)
        + Duration::from_micros(500) * connections as u32;
    let end = start + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..LOAD_THREADS)
        .map(|w| {
            let mine = connections / LOAD_THREADS + usize::from(w < connections % LOAD_THREADS);
            std::thread::spawn(move || load_thread(addr, mine, start, end, route))
        })
        .collect();
    let mut load = Load {
        latencies_us: Vec::new(),
        errors: 0,
        window: end - start,
    };
    for worker in workers {
        let (latencies, errors) = worker
            .join()
            .map_err(|_| "a load generator thread panicked".to_string())??;
        load.latencies_us.extend(latencies);
        load.errors += errors;
    }
    Ok(load)
}

/// One load generator thread: `connections` tasks on a taketurns event loop.
fn load_thread(
    addr: std::net::SocketAddr,
    connections: usize,
    start: Instant,
    end: Instant,
    route: &'static str,
) -> Result<(Vec<u32>, u64), String> {
    let rt = taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let errors = Rc::new(RefCell::new(0u64));
    let connect_errors = rt.block_on(async {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                let latencies = latencies.clone();
                let errors = errors.clone();
                taketurns::spawn(async move {
                    let stream = taketurns::net::TcpStream::connect(addr).await?;
                    let now = Instant::now();
                    if now < start {
                        taketurns::time::sleep(start - now).await;
                    }
                    while Instant::now() < end {
                        let sent = Instant::now();
                        match http_server::get(&stream, route).await {
                            Ok(reply) if reply.status == 200 && !reply.closes => {
                                if Instant::now() <= end {
                                    let us = sent.elapsed().as_micros();
                                    latencies
                                        .borrow_mut()
                                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                                }
                            }
                            _ => {
                                *errors.borrow_mut() += 1;
                                break;
                            }
                        }
                    }
                    std::io::Result::Ok(())
                })
            })
            .collect();
        let mut failed = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed.push(e.to_string()),
                Err(e) => failed.push(e.to_string()),
            }
        }
        failed
    });
    if let Some(first) = connect_errors.first() {
        return Err(format!(
            "{} of {connections} connections failed, the first with: {first}",
            connect_errors.len()
        ));
    }
    let latencies = latencies.take();
    let errors = *errors.borrow();
    Ok((latencies, errors))
}

/// The latency below which `fraction` of the sorted samples lie, in microseconds.
fn percentile(sorted: &[u32], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    Duration::from_micros(u64::from(sorted[i]))
}

/// http_server.md: both servers at each connection count.
fn http_table(size: Size) -> Result<Table, String> {
    let wanted = size.connections.iter().max().copied().unwrap_or(0) as u64 * 2 + 256;
    let _ = raise_fd_limit(wanted);
    let mut table = Table::new(&[
        "server",
        "connections",
        "requests/s",
        "p50",
        "p99",
        "CPU per request",
        "peak memory",
    ]);
    let mut rates = Vec::new();
    for &connections in size.connections {
        for threads in [false, true] {
            let name = if threads {
                "thread per connection"
            } else {
                "event loop"
            };
            eprintln!("measure:   {name}, {connections} connections …");
            let mut server = ServerChild::start(threads)?;
            let before = server.counters()?;
            let mut load = generate_load(server.addr, connections, size.http_secs, "/")?;
            let after = server.counters()?;
            load.latencies_us.sort_unstable();
            let answered = load.latencies_us.len() as f64;
            let per_second = answered / load.window.as_secs_f64();
            let served = after.requests.saturating_sub(before.requests).max(1);
            let cpu_per_request = (after.cpu.saturating_sub(before.cpu)) / served as u32;
            if load.errors > 0 {
                eprintln!("measure:   {} requests failed", load.errors);
            }
            rates.push((name, connections, per_second));
            table.row(vec![
                name.to_string(),
                count(connections as u64),
                count(per_second.round() as u64),
                time(percentile(&load.latencies_us, 0.50)),
                time(percentile(&load.latencies_us, 0.99)),
                time(cpu_per_request),
                kib(after.peak_kib as f64),
            ]);
        }
    }
    for &connections in size.connections {
        let rate = |name: &str| {
            rates
                .iter()
                .find(|(n, c, _)| *n == name && *c == connections)
                .map_or(0.0, |r| r.2)
        };
        table.sentences.push(format!(
            "At {} connections the event loop answered {} the requests per second of \
             the threads on this run.",
            count(connections as u64),
            ratio(rate("event loop"), rate("thread per connection"))
        ));
    }
    table.sentences.push(format!(
        "The load generator (two threads, one event loop each, part of `measure`) shares the \
         machine with the server; each row ran for {} s.",
        size.http_secs
    ));
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// hyper.md: hyper on taketurns and on tokio next to the hand-written servers
// ---------------------------------------------------------------------------------------------

/// The servers of the hyper table, in row order: the name shown and the `child-http` flags.
const HYPER_SERVERS: [(&str, &[&str]); 4] = [
    ("http_server on taketurns", &[]),
    ("hyper on taketurns", &["--hyper", "taketurns"]),
    ("hyper on tokio current_thread", &["--hyper", "tokio"]),
    ("thread per connection", &["--threads"]),
];

/// One row's measurements.
struct ServerRow {
    /// Responses inside the window, per second.
    per_second: f64,
    /// Median latency.
    p50: Duration,
    /// 99th percentile latency.
    p99: Duration,
    /// The server's CPU time over the window, per request it answered.
    cpu_per_request: Duration,
    /// The server's peak resident memory, in KiB.
    peak_kib: u64,
    /// The high-water mark of the server's live heap bytes, in KiB.
    heap_peak_kib: u64,
}

/// Start a server child with `flags`, load it on `route` and read its counters around the load.
fn measure_server(
    flags: &[&str],
    connections: usize,
    secs: f64,
    route: &'static str,
) -> Result<ServerRow, String> {
    let mut server = ServerChild::start_with(flags)?;
    let before = server.counters()?;
    let mut load = generate_load(server.addr, connections, secs, route)?;
    let after = server.counters()?;
    if load.errors > 0 {
        eprintln!("measure:   {} requests failed", load.errors);
    }
    load.latencies_us.sort_unstable();
    let served = after.requests.saturating_sub(before.requests).max(1);
    Ok(ServerRow {
        per_second: load.latencies_us.len() as f64 / load.window.as_secs_f64(),
        p50: percentile(&load.latencies_us, 0.50),
        p99: percentile(&load.latencies_us, 0.99),
        cpu_per_request: after.cpu.saturating_sub(before.cpu) / served as u32,
        peak_kib: after.peak_kib,
        heap_peak_kib: after.heap_peak_kib,
    })
}

/// One row of the hyper table, kept for the sentences under it.
struct Seen {
    /// The server's name, as in [`HYPER_SERVERS`].
    name: &'static str,
    /// Concurrent connections.
    connections: usize,
    /// The route requested.
    route: &'static str,
    /// Responses per second.
    per_second: f64,
    /// CPU per request, in seconds.
    cpu: f64,
    /// Peak resident memory, in KiB.
    rss_kib: f64,
    /// Peak live heap, in KiB.
    heap_kib: f64,
}

/// hyper.md: four servers at each connection count and route, one run each.
fn hyper_table(size: Size) -> Result<Table, String> {
    let wanted = size.connections.iter().max().copied().unwrap_or(0) as u64 * 2 + 256;
    let _ = raise_fd_limit(wanted);
    let routes: &[&'static str] = if size.quick {
        &["/"]
    } else {
        &["/", "/delay?ms=50"]
    };
    let mut table = Table::new(&[
        "server",
        "connections",
        "route",
        "requests/s",
        "p50",
        "p99",
        "CPU per request",
        "peak memory",
        "peak heap",
    ]);
    let mut seen: Vec<Seen> = Vec::new();
    for &connections in size.connections {
        for &route in routes {
            for (name, flags) in HYPER_SERVERS {
                eprintln!("measure:   {name}, {connections} connections, {route} …");
                let row = measure_server(flags, connections, size.http_secs, route)?;
                seen.push(Seen {
                    name,
                    connections,
                    route,
                    per_second: row.per_second,
                    cpu: row.cpu_per_request.as_secs_f64(),
                    rss_kib: row.peak_kib as f64,
                    heap_kib: row.heap_peak_kib as f64,
                });
                table.row(vec![
                    name.to_string(),
                    count(connections as u64),
                    format!("`{route}`"),
                    count(row.per_second.round() as u64),
                    time(row.p50),
                    time(row.p99),
                    time(row.cpu_per_request),
                    kib(row.peak_kib as f64),
                    kib(row.heap_peak_kib as f64),
                ]);
            }
        }
    }
    // The headline: the largest connection count on `/`, where the runtime's own cost shows.
    let connections = size.connections.iter().max().copied().unwrap_or(0);
    let find = |name: &str| {
        seen.iter()
            .find(|s| s.name == name && s.connections == connections && s.route == "/")
    };
    if let (Some(ours), Some(tokio)) = (
        find("hyper on taketurns"),
        find("hyper on tokio current_thread"),
    ) {
        table.sentences.push(format!(
            "At {} connections on `/`, on this run hyper on taketurns served {} the requests per \
             second of hyper on tokio, with {} its CPU per request.",
            count(connections as u64),
            ratio(ours.per_second, tokio.per_second),
            ratio(ours.cpu, tokio.cpu)
        ));
        let less = ours.heap_kib <= tokio.heap_kib;
        let per_connection = (ours.heap_kib - tokio.heap_kib).abs() * 1024.0 / connections as f64;
        table.sentences.push(format!(
            "Its peak heap was {} {} than tokio's ({} bytes per connection), its peak memory {} \
             tokio's.",
            kib((ours.heap_kib - tokio.heap_kib).abs()),
            if less { "less" } else { "more" },
            count(per_connection.round() as u64),
            ratio(ours.rss_kib, tokio.rss_kib),
        ));
    }
    table.sentences.push(format!(
        "Each server ran alone in a child process, loaded by `measure`'s own keep-alive \
         generator (two threads, one event loop each) on the same machine; each row ran for {} s.",
        size.http_secs
    ));
    Ok(table)
}

/// The `child-http --hyper` subcommand: hyper's HTTP/1.1 server on a thread of its own, on
/// taketurns or on tokio, while this thread answers the counter requests as `child_http` does.
/// The process ends when stdin closes, and the server thread with it.
#[cfg(feature = "hyper")]
fn child_hyper(on: HyperOn) -> ExitCode {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    heap::ON.store(true, Ordering::Relaxed);
    let _ = raise_fd_limit(65_536);
    let listener = match hyper_servers::listen() {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("measure child-http: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("measure child-http: the listener has no address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&requests);
    let spawned = std::thread::Builder::new()
        .name("hyper server".into())
        .spawn(move || {
            let result = match on {
                HyperOn::Taketurns => hyper_servers::on_taketurns(listener, counted),
                HyperOn::Tokio => hyper_servers::on_tokio(listener, counted),
            };
            if let Err(e) = result {
                eprintln!("measure child-http --hyper: {e}");
                std::process::exit(1);
            }
        });
    if let Err(e) = spawned {
        eprintln!("measure child-http: cannot start the server thread: {e}");
        return ExitCode::FAILURE;
    }
    println!("{addr}");
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        println!(
            "{{\"requests\":{},\"cpu_us\":{},\"peak_kib\":{},\"heap_peak_kib\":{}}}",
            requests.load(Ordering::Relaxed),
            machine::cpu_time().as_micros(),
            machine::status_kib("VmHWM:").unwrap_or(0),
            heap::peak_kib()
        );
        let _ = std::io::stdout().flush();
    }
    ExitCode::SUCCESS
}

/// Without the hyper feature there is no hyper server to run.
#[cfg(not(feature = "hyper"))]
fn child_hyper(_on: HyperOn) -> ExitCode {
    eprintln!(
        "measure child-http --hyper: this binary was built without the hyper feature (build it \
         with `--features hyper`)"
    );
    ExitCode::FAILURE
}

/// hyper's HTTP/1.1 server twice, with the same routes and the same `header_read_timeout`: on
/// taketurns through `taketurns::hyper_rt`, and on tokio's current_thread runtime with a
/// `LocalSet` through the small `TokioStream`/`TokioTimer` adapters below (hyper-util's `TokioIo`
/// and `TokioTimer` do the same; this crate does not depend on hyper-util). The routes are
/// `examples/hyper_server.rs`'s: `/` says hello, `/delay?ms=N` answers after N ms.
#[cfg(feature = "hyper")]
mod hyper_servers {
    use std::convert::Infallible;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper::{Request, Response, StatusCode};
    use socket2::{Domain, Socket, Type};
    use taketurns::hyper_rt::{HyperStream, TaketurnsTimer};

    /// How long a client may take to send a request head: hyper's `header_read_timeout`, which
    /// keeps one timer per connection busy on both runtimes.
    const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

    /// The longest `/delay` honoured; a longer one gets `400`.
    const MAX_DELAY_MS: u64 = 60_000;

    /// A listener on a free local port with the hand-written server's backlog
    /// (`taketurns::net::LISTEN_BACKLOG`), so that every server gets the same kernel queue.
    pub fn listen() -> std::io::Result<std::net::TcpListener> {
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(taketurns::net::LISTEN_BACKLOG)?;
        Ok(socket.into())
    }

    /// The answer to a request: how long to wait first, the status and the body.
    fn route(request: &Request<Incoming>) -> (Option<Duration>, StatusCode, String) {
        match request.uri().path() {
            "/" => (None, StatusCode::OK, "hello\n".to_owned()),
            "/delay" => {
                let ms = request
                    .uri()
                    .query()
                    .and_then(|q| q.strip_prefix("ms="))
                    .and_then(|n| n.parse::<u64>().ok());
                match ms {
                    Some(ms) if ms <= MAX_DELAY_MS => (
                        Some(Duration::from_millis(ms)),
                        StatusCode::OK,
                        format!("waited {ms} ms\n"),
                    ),
                    _ => (
                        None,
                        StatusCode::BAD_REQUEST,
                        format!("expected /delay?ms=N with N from 0 to {MAX_DELAY_MS}\n"),
                    ),
                }
            }
            _ => (
                None,
                StatusCode::NOT_FOUND,
                "not found: try / or /delay?ms=50\n".to_owned(),
            ),
        }
    }

    /// A response with `status` and `body`.
    fn response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    }

    /// Serve forever on a taketurns runtime on this thread.
    pub fn on_taketurns(
        listener: std::net::TcpListener,
        requests: Arc<AtomicU64>,
    ) -> Result<(), String> {
        let rt = taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
        rt.block_on(async move {
            let listener = taketurns::net::TcpListener::from_std(listener)
                .map_err(|e| format!("cannot register the listener: {e}"))?;
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    // Out of descriptors or a connection reset before accept: wait it out.
                    Err(_) => {
                        taketurns::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let requests = Arc::clone(&requests);
                drop(taketurns::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        requests.fetch_add(1, Ordering::Relaxed);
                        let (wait, status, body) = route(&request);
                        async move {
                            if let Some(wait) = wait {
                                taketurns::time::sleep(wait).await;
                            }
                            Ok::<_, Infallible>(response(status, body))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TaketurnsTimer)
                        .header_read_timeout(HEADER_TIMEOUT)
                        .serve_connection(HyperStream::new(stream), service)
                        .await;
                }));
            }
        })
    }

    /// Serve forever on tokio's current_thread runtime with a `LocalSet` on this thread.
    pub fn on_tokio(
        listener: std::net::TcpListener,
        requests: Arc<AtomicU64>,
    ) -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| format!("cannot register the listener: {e}"))?;
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let requests = Arc::clone(&requests);
                drop(tokio::task::spawn_local(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        requests.fetch_add(1, Ordering::Relaxed);
                        let (wait, status, body) = route(&request);
                        async move {
                            if let Some(wait) = wait {
                                tokio::time::sleep(wait).await;
                            }
                            Ok::<_, Infallible>(response(status, body))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer)
                        .header_read_timeout(HEADER_TIMEOUT)
                        .serve_connection(TokioStream(stream), service)
                        .await;
                }));
            }
        })
    }

    /// tokio's `TcpStream` as hyper's connection type, with the same safe copy through a
    /// per-thread scratch buffer of the same size as `HyperStream`'s (hyper-util's `TokioIo`
    /// skips the copy with `unsafe`).
    struct TokioStream(tokio::net::TcpStream);

    /// The largest read [`TokioStream`] makes at once, as `HyperStream`'s.
    const SCRATCH_BYTES: usize = 64 * 1024;

    thread_local! {
        /// Where [`TokioStream`] reads before copying into hyper's buffer, zeroed once.
        static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH_BYTES]);
    }

    impl hyper::rt::Read for TokioStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            mut buf: hyper::rt::ReadBufCursor<'_>,
        ) -> Poll<std::io::Result<()>> {
            let want = buf.remaining().min(SCRATCH_BYTES);
            let stream = &mut self.get_mut().0;
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let mut read = tokio::io::ReadBuf::new(&mut scratch[..want]);
                match tokio::io::AsyncRead::poll_read(Pin::new(stream), cx, &mut read) {
                    Poll::Ready(Ok(())) => {
                        buf.put_slice(read.filled());
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            })
        }
    }

    impl hyper::rt::Write for TokioStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().0), cx, bufs)
        }

        /// As hyper-util's `TokioIo`: tokio's socket writes with `writev`, so hyper queues a
        /// response's head and body instead of copying them into one buffer (as it does on
        /// `HyperStream`).
        fn is_write_vectored(&self) -> bool {
            tokio::io::AsyncWrite::is_write_vectored(&self.0)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().0), cx)
        }
    }

    /// tokio's timer wheel as hyper's `Timer`, as hyper-util's `TokioTimer`: a sleep is reset
    /// in place rather than replaced.
    #[derive(Clone, Copy)]
    struct TokioTimer;

    pin_project_lite::pin_project! {
        /// A `tokio::time::Sleep` as hyper's `Sleep` (it is `Send + Sync` already).
        struct TokioSleep {
            // The tokio sleep, registered in the runtime's timer wheel at its first poll.
            #[pin]
            inner: tokio::time::Sleep,
        }
    }

    impl Future for TokioSleep {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.project().inner.poll(cx)
        }
    }

    impl hyper::rt::Sleep for TokioSleep {}

    impl hyper::rt::Timer for TokioTimer {
        fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
            Box::pin(TokioSleep {
                inner: tokio::time::sleep(duration),
            })
        }

        fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
            Box::pin(TokioSleep {
                inner: tokio::time::sleep_until(deadline.into()),
            })
        }

        fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
            match sleep.as_mut().downcast_mut_pin::<TokioSleep>() {
                Some(ours) => ours.project().inner.reset(new_deadline.into()),
                None => *sleep = self.sleep_until(new_deadline),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scheduler.md: timing loops on four executors
// ---------------------------------------------------------------------------------------------

/// What the timing loops need from an executor: its own block_on, spawn and yield.
trait Executor {
    /// What `spawn` hands back; awaiting it gives the task's output.
    type Handle: Future;
    /// Run `future` to completion on this executor.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
    /// Spawn a task that returns a number.
    fn spawn_number(&self) -> Self::Handle;
    /// Spawn a task that yields `n` times.
    fn spawn_yielder(&self, n: usize) -> Self::Handle;
}

impl Executor for taketurns::Runtime {
    type Handle = taketurns::JoinHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        taketurns::Runtime::block_on(self, future)
    }
    fn spawn_number(&self) -> Self::Handle {
        taketurns::spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        taketurns::spawn(async move {
            for _ in 0..n {
                taketurns::yield_now().await;
            }
            1
        })
    }
}

impl Executor for tokio::runtime::Runtime {
    type Handle = tokio::task::JoinHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, future)
    }
    fn spawn_number(&self) -> Self::Handle {
        tokio::spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        tokio::spawn(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
            1
        })
    }
}

/// `futures::executor::LocalPool` with its spawner.
struct Pool {
    /// The pool; `run_until` needs it mutably.
    pool: RefCell<LocalPool>,
    /// Spawns onto `pool` from inside a scenario.
    spawner: LocalSpawner,
}

impl Executor for Pool {
    type Handle = futures::future::RemoteHandle<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.pool.borrow_mut().run_until(future)
    }
    fn spawn_number(&self) -> Self::Handle {
        self.spawner
            .spawn_local_with_handle(async { 1 })
            .expect("the pool is alive")
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        self.spawner
            .spawn_local_with_handle(async move {
                for _ in 0..n {
                    YieldOnce(false).await;
                }
                1
            })
            .expect("the pool is alive")
    }
}

impl Executor for async_executor::LocalExecutor<'static> {
    type Handle = async_executor::Task<u64>;
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(self.run(future))
    }
    fn spawn_number(&self) -> Self::Handle {
        self.spawn(async { 1 })
    }
    fn spawn_yielder(&self, n: usize) -> Self::Handle {
        self.spawn(async move {
            for _ in 0..n {
                YieldOnce(false).await;
            }
            1
        })
    }
}

/// A yield for executors that have none: wake ourselves and return `Pending` once, as
/// `taketurns::yield_now` does. The flag says whether it has yielded already.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Time per spawn + await: the median over `batches` batches of `ops` (plus one warm-up batch).
fn spawn_await<E: Executor>(ex: &E, size: Size) -> Duration {
    ex.block_on(async {
        let mut samples = Vec::new();
        for batch in 0..=size.batches {
            let start = Instant::now();
            for _ in 0..size.ops {
                std::hint::black_box(ex.spawn_number().await);
            }
            if batch > 0 {
                samples.push(start.elapsed() / size.ops as u32);
            }
        }
        median(samples)
    })
}

/// Time per yield, two tasks taking turns: the median over `batches` batches.
fn yield_turns<E: Executor>(ex: &E, size: Size) -> Duration {
    ex.block_on(async {
        let mut samples = Vec::new();
        let per_task = size.ops / 2;
        for batch in 0..=size.batches {
            let start = Instant::now();
            let a = ex.spawn_yielder(per_task);
            let b = ex.spawn_yielder(per_task);
            std::hint::black_box(a.await);
            std::hint::black_box(b.await);
            if batch > 0 {
                samples.push(start.elapsed() / (2 * per_task) as u32);
            }
        }
        median(samples)
    })
}

/// A tokio current_thread runtime with no drivers: the cheapest fair tokio setup.
fn tokio_bare() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))
}

/// A taketurns runtime.
fn taketurns_rt() -> Result<taketurns::Runtime, String> {
    taketurns::Runtime::new().map_err(|e| format!("cannot create a taketurns runtime: {e}"))
}

/// scheduler.md: spawn + await and a yield on taketurns, tokio, LocalPool and smol.
fn scheduler_table(size: Size) -> Result<Table, String> {
    let taketurns = taketurns_rt()?;
    let tokio = tokio_bare()?;
    let pool = {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        Pool {
            pool: RefCell::new(pool),
            spawner,
        }
    };
    let smol = async_executor::LocalExecutor::new();
    let mut table = Table::new(&[
        "operation",
        "taketurns",
        "tokio current_thread",
        "futures LocalPool",
        "smol LocalExecutor",
    ]);
    let spawn = [
        spawn_await(&taketurns, size),
        spawn_await(&tokio, size),
        spawn_await(&pool, size),
        spawn_await(&smol, size),
    ];
    let turns = [
        yield_turns(&taketurns, size),
        yield_turns(&tokio, size),
        yield_turns(&pool, size),
        yield_turns(&smol, size),
    ];
    let mut row = |what: &str, times: &[Duration; 4]| {
        let mut cells = vec![what.to_string()];
        cells.extend(times.iter().map(|&t| time(t)));
        table.row(cells);
    };
    row("spawn + await one task", &spawn);
    row("one yield (two tasks taking turns)", &turns);
    table.sentences.push(format!(
        "Time per operation, the median of {} batches of {} operations each, after one warm-up \
         batch; tokio's runtime has no I/O or time driver.",
        size.batches,
        count(size.ops as u64)
    ));
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// threads.md and timers.md: a thread next to a task; timers; memory per waiting thing
// ---------------------------------------------------------------------------------------------

/// What a memory child found.
#[derive(Debug, Clone, Copy)]
struct MemoryReport {
    /// Resident memory added per waiting thing, in bytes (for tasks: beyond the future).
    bytes_each: f64,
    /// `size_of_val` of one task's future (0 for threads).
    future_bytes: u64,
}

/// Run `child-memory` in a fresh process and read its report.
fn memory_child(what: Waiter, count: usize) -> Result<MemoryReport, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let what_flag = what
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let output = Command::new(me)
        .args([
            "child-memory",
            "--what",
            &what_flag,
            "--count",
            &count.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start the memory child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "the memory child ({what_flag}, {count}) printed no report ({e}); it exited with {}",
            output.status
        )
    })?;
    Ok(MemoryReport {
        bytes_each: v["bytes_each"].as_f64().unwrap_or(0.0),
        future_bytes: v["future_bytes"].as_u64().unwrap_or(0),
    })
}

/// The `child-memory` subcommand: print `{"bytes_each":…,"future_bytes":…}`.
fn child_memory(what: Waiter, count: usize) -> ExitCode {
    let result = match what {
        Waiter::Threads => parked_threads(count),
        Waiter::Taketurns => taketurns_rt().and_then(|rt| idle_tasks(&rt, count)),
        Waiter::Tokio => tokio_bare().and_then(|rt| idle_tasks(&rt, count)),
    };
    match result {
        Ok(report) => {
            println!(
                "{{\"bytes_each\":{},\"future_bytes\":{}}}",
                report.bytes_each, report.future_bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("measure child-memory: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This process's resident memory now, in bytes.
fn rss_bytes() -> Result<u64, String> {
    machine::resident_kib()
        .map(|kib| kib * 1024)
        .ok_or_else(|| "cannot read VmRSS from /proc/self/status (Linux only)".to_string())
}

/// Park `count` threads on a channel each, with the default stack, and read the memory growth.
fn parked_threads(count: usize) -> Result<MemoryReport, String> {
    let before = rss_bytes()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let mut releases = Vec::with_capacity(count);
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let ready = ready_tx.clone();
        let handle = std::thread::Builder::new()
            .spawn(move || {
                let _ = ready.send(());
                let _ = release_rx.recv();
            })
            .map_err(|e| format!("cannot start thread {} of {count}: {e}", handles.len() + 1))?;
        releases.push(release_tx);
        handles.push(handle);
    }
    for _ in 0..count {
        ready_rx
            .recv()
            .map_err(|_| "a parked thread ended early".to_string())?;
    }
    let after = rss_bytes()?;
    drop(releases);
    for handle in handles {
        let _ = handle.join();
    }
    Ok(MemoryReport {
        bytes_each: after.saturating_sub(before) as f64 / count as f64,
        future_bytes: 0,
    })
}

thread_local! {
    /// Idle tasks of the memory child that have been polled once (and so are parked).
    static PARKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The measured idle task: count itself as parked, then wait on its own channel.
async fn idle_task(wake: oneshot::Receiver<()>) {
    PARKED.set(PARKED.get() + 1);
    let _ = wake.await;
}

/// What the memory child needs from a runtime: block_on, a detached spawn, a yield.
trait Spawner {
    /// Run `future` to completion.
    fn run<F: Future>(&self, future: F) -> F::Output;
    /// Spawn and drop the handle.
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F);
    /// Let the other tasks run.
    fn pause(&self) -> impl Future<Output = ()>;
}

impl Spawner for taketurns::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(taketurns::spawn(future));
    }
    fn pause(&self) -> impl Future<Output = ()> {
        taketurns::yield_now()
    }
}

impl Spawner for tokio::runtime::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(tokio::spawn(future));
    }
    fn pause(&self) -> impl Future<Output = ()> {
        tokio::task::yield_now()
    }
}

/// Make `count` idle futures (channels and senders included), read the memory, spawn them all
/// and let each park once, read it again: the growth per task is what the runtime adds beyond
/// the future (task header, waker, table slot, queue entry, allocator overhead).
fn idle_tasks<R: Spawner>(rt: &R, count: usize) -> Result<MemoryReport, String> {
    let mut senders = Vec::with_capacity(count);
    let mut futures = Vec::with_capacity(count);
    for _ in 0..count {
        let (tx, rx) = oneshot::channel();
        senders.push(tx);
        futures.push(idle_task(rx));
    }
    let future_bytes = futures
        .first()
        .map_or(0, |f| std::mem::size_of_val(f) as u64);
    let before = rss_bytes()?;
    rt.run(async {
        for future in futures.drain(..) {
            rt.detach(future);
        }
        while PARKED.get() < count {
            rt.pause().await;
        }
    });
    drop(futures);
    let after = rss_bytes()?;
    drop(senders);
    Ok(MemoryReport {
        bytes_each: after as f64 / count as f64 - before as f64 / count as f64,
        future_bytes,
    })
}

/// Time to start and join one thread that does nothing: the median over the batches.
fn thread_start_join(size: Size) -> Result<Duration, String> {
    let per_batch = if size.quick { 200 } else { 1000 };
    let mut samples = Vec::new();
    for batch in 0..=size.batches {
        let start = Instant::now();
        for _ in 0..per_batch {
            std::thread::Builder::new()
                .spawn(|| std::hint::black_box(1))
                .map_err(|e| format!("cannot start a thread: {e}"))?
                .join()
                .map_err(|_| "an empty thread panicked".to_string())?;
        }
        if batch > 0 {
            samples.push(start.elapsed() / per_batch);
        }
    }
    Ok(median(samples))
}

/// threads.md: start + join next to spawn + await; memory per parked thread and per idle task.
fn threads_table(size: Size) -> Result<Table, String> {
    let thread = thread_start_join(size)?;
    let task = spawn_await(&taketurns_rt()?, size);
    let parked = memory_child(Waiter::Threads, size.parked_threads)?;
    let idle = memory_child(Waiter::Taketurns, size.idle_tasks)?;
    let idle_whole = idle.bytes_each + idle.future_bytes as f64;
    let mut table = Table::new(&["what", "thread", "task"]);
    table.row(vec![
        "start and join (a task: spawn and await)".into(),
        time(thread),
        time(task),
    ]);
    table.row(vec![
        "memory per parked thread".into(),
        kib(parked.bytes_each / 1024.0),
        "–".into(),
    ]);
    table.row(vec![
        "memory per idle task (its future included)".into(),
        "–".into(),
        format!("{idle_whole:.0} B"),
    ]);
    table.sentences.push(format!(
        "On this run a thread took {} the time of a task to start and finish, and a parked \
         thread {} the memory of an idle task ({} threads and {} tasks parked, each count in a \
         process of its own).",
        ratio(thread.as_secs_f64(), task.as_secs_f64()),
        ratio(parked.bytes_each, idle_whole),
        count(size.parked_threads as u64),
        count(size.idle_tasks as u64)
    ));
    Ok(table)
}

/// Sleeping tasks in the timers row.
const TIMERS: u64 = 100_000;

/// How long task `i` sleeps: `lead` plus 10 ns per task before it, so every deadline is distinct
/// and grows with `i`.
fn timer_delay(lead: Duration, i: u64) -> Duration {
    lead + Duration::from_nanos(10 * i)
}

/// The measured lead: a few milliseconds.
const TIMER_LEAD: Duration = Duration::from_millis(3);

/// The lead of the order check: long enough that every sleep is registered before it is due,
/// even when the machine takes the CPU away for a while.
const CHECK_LEAD: Duration = Duration::from_millis(100);

thread_local! {
    /// The order in which the sleeping tasks of the order check woke.
    static WOKE: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Something that can spawn a sleeping task and await it.
trait Sleeper {
    /// Run `future` to completion.
    fn run<F: Future>(&self, future: F) -> F::Output;
    /// Spawn a task that sleeps for `delay`, then logs `i` if `log`.
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>>;
}

impl Sleeper for taketurns::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>> {
        let handle = taketurns::spawn(async move {
            taketurns::time::sleep(delay).await;
            if log {
                WOKE.with(|w| w.borrow_mut().push(i));
            }
        });
        Box::pin(async move {
            let _ = handle.await;
        })
    }
}

impl Sleeper for tokio::runtime::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn spawn_sleep(&self, delay: Duration, i: u64, log: bool) -> Pin<Box<dyn Future<Output = ()>>> {
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if log {
                WOKE.with(|w| w.borrow_mut().push(i));
            }
        });
        Box::pin(async move {
            let _ = handle.await;
        })
    }
}

/// Spawn [`TIMERS`] sleeping tasks with leads `lead`, await them all, and return how long that
/// took; with `log`, check that they woke in deadline order.
fn sleeps<S: Sleeper>(rt: &S, lead: Duration, log: bool) -> Result<Duration, String> {
    WOKE.with(|w| w.borrow_mut().clear());
    let elapsed = rt.run(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..TIMERS)
            .map(|i| rt.spawn_sleep(timer_delay(lead, i), i, log))
            .collect();
        for handle in handles {
            handle.await;
        }
        start.elapsed()
    });
    if log {
        let woke = WOKE.with(|w| w.take());
        if woke.len() as u64 != TIMERS || !woke.windows(2).all(|w| w[0] < w[1]) {
            return Err("the sleeping tasks did not wake in deadline order".into());
        }
    }
    Ok(elapsed)
}

/// The median time of 100,000 sleeps after an order check.
fn timers_on<S: Sleeper>(rt: &S, size: Size) -> Result<Duration, String> {
    sleeps(rt, CHECK_LEAD, true)?;
    let runs = if size.quick { 3 } else { size.batches };
    let mut samples = Vec::new();
    for _ in 0..runs {
        samples.push(sleeps(rt, TIMER_LEAD, false)?);
    }
    Ok(median(samples))
}

/// timers.md: 100,000 sleeps in deadline order; memory per idle task beyond its future.
fn timers_table(size: Size) -> Result<Table, String> {
    let taketurns = timers_on(&taketurns_rt()?, size)?;
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
    let tokio = timers_on(&tokio_rt, size)?;
    let idle_taketurns = memory_child(Waiter::Taketurns, size.idle_tasks)?;
    let idle_tokio = memory_child(Waiter::Tokio, size.idle_tasks)?;
    let mut table = Table::new(&["what", "taketurns", "tokio current_thread"]);
    table.row(vec![
        "100,000 sleeps fired in deadline order".into(),
        time(taketurns),
        time(tokio),
    ]);
    table.row(vec![
        "memory per idle task beyond its future".into(),
        format!("{:.0} B", idle_taketurns.bytes_each),
        format!("{:.0} B", idle_tokio.bytes_each),
    ]);
    table.sentences.push(format!(
        "Each sleep's deadline lies a few milliseconds after its first poll, all distinct; the \
         time is the median of {} runs, after a run that checks the order. Memory: {} idle tasks \
         in a process of their own per runtime.",
        if size.quick { 3 } else { size.batches },
        count(size.idle_tasks as u64)
    ));
    Ok(table)
}
