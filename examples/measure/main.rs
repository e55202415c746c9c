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
//! $ cargo run --release --features uring --example measure -- --only uring
//! ```
//!
//! | file | experiment (`--only`) | how |
//! |---|---|---|
//! | `fetch_1000.md` | `fetch` | `fetch_many --json --python`, the default plan, read back |
//! | `fetch_scale.md` | `scale` | `fetch_many --json` at 100, 1,000 (and 10,000) fetches |
//! | `fetch_peers.md` | `peers` | taketurns, raw mio, tokio, each alone in a `child-fetch` |
//! | `fetch_uring.md` | `uring` | the loop on epoll and on io_uring, `strace -f -c` (`--features uring` only) |
//! | `http_server.md` | `http` | the keep-alive server in a child process, loaded from here |
//! | `hyper.md` | `hyper` | four servers side by side, the same way (`--features hyper` only) |
//! | `hyper_wrk.md` | `wrk` | hyper on taketurns and on tokio under `wrk` (`--features hyper` only) |
//! | `scheduler.md` | `scheduler` | timing loops in this process, median of several batches |
//! | `threads.md` | `threads` | thread start + join timed here; memory in child processes |
//! | `timers.md` | `timers` | 100,000 sleeps timed here; memory per idle task in children |
//! | `cpu_bound.md` | `cpu` | the CPU job six ways here (processes: `child-chunk`), Python's five |
//! | `blocking_the_loop.md` | `blocking` | a ticker beside a job on the loop and off it, here |
//! | `mixed_job.md` | `mixed` | fetch then compute, against a `child-http` server; Python's too |
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
//!
//! The program is a folder, one module per table and a few shared ones:
//!
//! - one module per generated file, named after it: `fetch_1000`, `fetch_scale`, `fetch_peers`,
//!   `http_server`, `hyper`, `scheduler`, `threads`, `timers`, `cpu_bound`, `blocking_the_loop`,
//!   `mixed_job`. Each measures, builds its [`Table`] and ends in an `EXPERIMENT`: its `--only`
//!   word, its file, its line of `--help`, and the function that measures;
//! - `output` (the table, its caption, the README's measured block), `format` (numbers as the
//!   tables show them, medians), `children` (running `fetch_many` and the server child), `load`
//!   (the HTTP load generator), `memory` (memory per waiting thing, in a child), `heap` (the
//!   counting allocator), `hyper_servers` (hyper on taketurns and on tokio), `peers` (the fetch
//!   bench's tokio and raw mio clients, `benches/peers/mod.rs`, included with `#[path]`);
//! - this file: the flags, the list of experiments ([`EXPERIMENTS`]) and the loop that runs them
//!   and writes their files.
//!
//! To add a table, write `examples/measure/NAME.rs` with a `pub const EXPERIMENT: Experiment`
//! (see `scheduler.rs` for a table measured in this process, `threads.rs` for one that also
//! starts children), declare it below with `mod NAME;` and put `&NAME::EXPERIMENT` in
//! [`EXPERIMENTS`] where it should run. `--only`, `--help`, the progress lines, the caption and
//! the file follow from the list. A table that needs a process of its own adds a hidden
//! subcommand to [`Child`], as `child-memory` does. Then add a row to the table above, the file
//! and its columns to `tests/measured.rs`, and include the file in the chapter that quotes it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Parser, Subcommand};
use taketurns::workload::Report;

use crate::hyper::HyperOn;
use crate::memory::Waiter;
use crate::output::Table;

mod children;
mod format;
mod heap;
#[cfg(feature = "hyper")]
mod hyper_servers;
mod load;
mod memory;
mod output;
#[path = "../../benches/peers/mod.rs"]
mod peers;

mod fetch_1000;
mod fetch_peers;
mod fetch_scale;
mod fetch_uring;
mod http_server;
mod hyper;
mod hyper_wrk;
mod scheduler;
mod threads;
mod timers;

mod blocking_the_loop;
mod cpu_bound;
mod mixed_job;

/// Every experiment, in the order they run (whatever the order of `--only`'s list).
const EXPERIMENTS: &[&Experiment] = &[
    &fetch_1000::EXPERIMENT,
    &fetch_scale::EXPERIMENT,
    &fetch_peers::EXPERIMENT,
    &fetch_uring::EXPERIMENT,
    &http_server::EXPERIMENT,
    &hyper::EXPERIMENT,
    &hyper_wrk::EXPERIMENT,
    &scheduler::EXPERIMENT,
    &threads::EXPERIMENT,
    &timers::EXPERIMENT,
    &cpu_bound::EXPERIMENT,
    &blocking_the_loop::EXPERIMENT,
    &mixed_job::EXPERIMENT,
];

/// One experiment: what a table's module puts in [`EXPERIMENTS`].
pub struct Experiment {
    /// Its word for `--only`.
    pub name: &'static str,
    /// The file it writes in the output folder.
    pub file: &'static str,
    /// What `--help` says of it, after the file's name.
    pub about: &'static str,
    /// Why this build cannot run it, if it cannot: the run skips it with this note.
    pub skip: Option<&'static str>,
    /// Measure, and build the table.
    pub run: fn(&mut Run) -> Result<Table, String>,
}

/// One run of this program: how big, and what one experiment leaves for a later one.
pub struct Run {
    /// `--quick` or the full sizes.
    pub size: Size,
    /// The fetch table's reports, which the scale table reuses for its row of 1,000 fetches.
    pub fetch_1000: Option<Vec<Report>>,
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
    #[arg(long, value_delimiter = ',', value_parser = experiment_names())]
    only: Vec<String>,

    /// Where to write the tables [default: book/src/measured in the source tree]. The README's
    /// measured block is rewritten only when writing there.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The words `--only` takes, with their help, from [`EXPERIMENTS`].
fn experiment_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        EXPERIMENTS
            .iter()
            .map(|e| PossibleValue::new(e.name).help(format!("{}: {}", e.file, e.about))),
    )
}

/// The child processes' subcommands (hidden from --help).
#[derive(Subcommand, Debug)]
// Each variant is named after its subcommand (`child-http`, ...), which says it is internal.
#[allow(clippy::enum_variant_names)]
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
    /// Run one fetch client of `benches/peers` alone on COUNT fetches of the delay server at
    /// ADDR; print one line of what it cost (`fetch_peers.md`).
    #[command(hide = true)]
    ChildFetch {
        /// The client's name in `benches/peers`.
        #[arg(long)]
        client: String,
        /// The delay server's address.
        #[arg(long)]
        addr: std::net::SocketAddr,
        /// How many fetches, all at once.
        #[arg(long)]
        count: usize,
    },
    /// Print the CPU job's sum over START..END (the processes of `cpu_bound.md`).
    #[command(hide = true)]
    ChildChunk {
        /// First number.
        #[arg(long)]
        start: u64,
        /// One past the last number.
        #[arg(long)]
        end: u64,
    },
}

/// How big each experiment is: `--quick` or the full run.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Whether this is the quick run.
    pub quick: bool,
    /// Batches per timing loop (the median is reported).
    pub batches: usize,
    /// Operations per batch of a scheduler timing loop.
    pub ops: usize,
    /// Fetch counts of the scale table.
    pub scale_counts: &'static [u64],
    /// Connection counts of the HTTP table.
    pub connections: &'static [usize],
    /// How long the load generator runs per HTTP row.
    pub http_secs: f64,
    /// Threads parked for the memory per thread.
    pub parked_threads: usize,
    /// Tasks parked for the memory per task.
    pub idle_tasks: usize,
    /// Fetches per run of the peers table.
    pub peer_fetches: usize,
    /// Runs of each client in the peers table (the median is reported).
    pub peer_rounds: usize,
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
                peer_fetches: 1000,
                peer_rounds: 1,
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
                peer_fetches: 10_000,
                peer_rounds: 5,
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.child {
        Some(Child::ChildHttp {
            hyper: Some(on), ..
        }) => return hyper::child_hyper(*on),
        Some(Child::ChildHttp { threads, .. }) => return http_server::child_http(*threads),
        Some(Child::ChildMemory { what, count }) => return memory::child_memory(*what, *count),
        Some(Child::ChildFetch {
            client,
            addr,
            count,
        }) => return fetch_peers::child_fetch(client, *addr, *count),
        Some(Child::ChildChunk { start, end }) => return cpu_bound::child_chunk(*start, *end),
        None => {}
    }
    let only: Vec<&Experiment> = EXPERIMENTS
        .iter()
        .copied()
        .filter(|e| cli.only.is_empty() || cli.only.iter().any(|name| name == e.name))
        .collect();
    let default_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/measured");
    let out = cli.out.clone().unwrap_or_else(|| default_out.clone());
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("measure: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let writes_the_book =
        std::fs::canonicalize(&out).ok() == std::fs::canonicalize(&default_out).ok();
    let caption = output::caption();
    let mut failed = false;
    let mut run = Run {
        size: Size::new(cli.quick),
        fetch_1000: None,
    };
    for (i, experiment) in only.iter().enumerate() {
        if let Some(why) = experiment.skip {
            eprintln!(
                "measure [{}/{}] {} skipped: {why}",
                i + 1,
                only.len(),
                experiment.file
            );
            continue;
        }
        eprintln!("measure [{}/{}] {} …", i + 1, only.len(), experiment.file);
        let started = Instant::now();
        match (experiment.run)(&mut run) {
            Ok(table) => {
                let path = out.join(experiment.file);
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
                if experiment.file == output::README_TABLE
                    && writes_the_book
                    && let Err(e) = output::update_readme(&text)
                {
                    eprintln!("measure: {e}");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("measure: {} was not written: {e}", experiment.file);
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
