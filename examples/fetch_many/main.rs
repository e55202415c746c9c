//! The project's main job: fetch many responses four ways (one after another, a thread per
//! fetch, a pool of threads, the event loop) from the same slow server, and measure each.
//!
//! ```console
//! $ cargo run --release --example fetch_many                          # 1,000 fetches, 50 ms each
//! $ cargo run --release --example fetch_many -- --count 10000
//! $ cargo run --release --example fetch_many -- --runner event-loop --json
//! $ cargo run --release --example fetch_many -- --python             # and Python's, same plan
//! $ python3 -m http.server 8000 &                                      # any HTTP server will do
//! $ cargo run --release --example fetch_many -- --target http://127.0.0.1:8000/ --count 2000
//! $ cargo run --release --example fetch_many -- --target 127.0.0.1:8080/ --concurrency 50
//! $ cargo run --release --example fetch_many -- --runner event-loop --count 10 --timeline
//! $ cargo run --release --example fetch_many -- --runner event-loop --trace out.json
//! $ cargo run --release --features uring --example fetch_many -- --runner uring --count 10000
//! ```
//!
//! `--runner uring` (with `--features uring`) runs the event loop on io_uring: the same tasks,
//! with sockets whose connect, send and receive are operations on the ring. It is not part of
//! `all`; where io_uring is missing or forbidden it fails with a message that says so.
//!
//! `--concurrency N` caps the fetches in flight for every client (see `FetchPlan::limit`): none
//! against our delay server, whose comparison is "everything at once", and 5 with `--target`,
//! which fits the listen backlog of `python3 -m http.server`. `--python` runs
//! `examples/fetch_many.py`, the same plan with Python's asyncio and threads, one `python3`
//! process per runner, and adds its rows (named `py-…`) to the table.
//!
//! `--trace FILE` and `--timeline` fetch the plan once more, after the measured runs, on a traced
//! event loop in this process (one task per fetch, named `fetch N`), and write its Chrome trace
//! (open it at ui.perfetto.dev) or draw its timeline. That extra run is not in the table.
//!
//! How it stays honest. The delay server runs in a **child process** (this same binary, run with
//! the hidden `serve` subcommand), so its CPU and memory are not the client's. Each client also
//! runs in a child process of its own (`run-client`), because peak memory (`ru_maxrss`) is a
//! process-wide high-water mark: measured in one process, the second client would inherit the
//! first one's peak. A child prints its [`Report`] as one JSON line, which this parent reads back.
//! Limits are checked before anything starts: the open-file limit is raised toward the hard
//! limit (children inherit it), and if it or the thread or port limit is still too low, the
//! message names the limit and how to raise it. A run never fails half-way for want of a limit.
//!
//! Children end with the parent: Ctrl-C reaches the whole process group, and each child also
//! watches its stdin, a pipe the parent holds, and exits when the pipe closes (the parent died
//! some other way). The server child is killed and reaped by a guard on every way out.
//!
//! Exit codes: 0 when every client ran and every fetch succeeded; 1 when a limit was too low, a
//! client could not run, or some fetches failed (the table is still printed); 2 for a bad flag
//! (clap's message). `--count 0` is a bad flag: there is nothing to measure.
//!
//! The program is a folder: this file holds the flags and sends each process to its part;
//! `parent` runs the show (plan, limits, children), `child` is what the children run, `python`
//! runs `fetch_many.py` for `--python`, `traced` is the extra traced run of `--trace` and
//! `--timeline`, and `output` prints the table or the JSON.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use taketurns::workload::{Client, FetchPlan};

mod child;
mod output;
mod parent;
mod python;
mod traced;

/// Fetch many HTTP responses four ways (sequential, a thread per fetch, a thread pool, the
/// event loop) from a server that answers after a delay, and compare wall time, CPU and memory.
#[derive(Parser, Debug)]
#[command(name = "fetch_many", version, after_help = AFTER_HELP)]
struct Cli {
    /// Internal: the child processes this program starts.
    #[command(subcommand)]
    internal: Option<Internal>,

    /// Which client to run; `all` runs the four one after another, each in its own process.
    #[arg(long, value_enum, default_value_t = Runner::All)]
    runner: Runner,

    /// Fetches per client (the sequential client runs at most --sequential-count of them when
    /// --runner is all).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    count: u64,

    /// How long the server waits before each answer, in milliseconds [default: 50].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    delay_ms: Option<u64>,

    /// Body size of each answer, in bytes [default: 1024].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=268_435_456))]
    size: Option<u64>,

    /// Worker threads of the thread-pool client.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pool_size: u64,

    /// Fetches the sequential client makes when --runner is all (it would take count × delay).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    sequential_count: u64,

    /// How long one fetch may take, connect to last byte, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,

    /// Print one JSON object (plan, reports, notes, verdict) instead of the table.
    #[arg(long)]
    json: bool,

    /// Fetch from an existing HTTP server instead of starting the delay server: HOST:PORT/PATH
    /// or a pasted URL, e.g. http://127.0.0.1:8000/ for `python3 -m http.server 8000`. Its
    /// delay is unknown. No https (there is no TLS here).
    #[arg(long, value_name = "URL")]
    target: Option<String>,

    /// At most N fetches in flight at once, for every client (a thread pool is never bigger
    /// than N) [default: no cap against the delay server; 5 with --target, which fits the listen
    /// backlog of `python3 -m http.server`].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    concurrency: Option<u64>,

    /// Also run examples/fetch_many.py (Python's asyncio and threads on the same plan, each
    /// runner in its own python3 process) and add its rows to the table.
    #[arg(long)]
    python: bool,

    /// After the measured runs, fetch once more on a traced event loop in this process and write
    /// its Chrome trace (JSON; open it at ui.perfetto.dev) to FILE. Not part of the table.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// After the measured runs, fetch once more on a traced event loop and draw its timeline:
    /// one row per fetch, so at most 40 fetches.
    #[arg(long, conflicts_with = "json")]
    timeline: bool,
}

/// The most fetches `--timeline` draws (one row each).
const TIMELINE_MAX_ROWS: u64 = 40;

/// The cap on fetches in flight with --target unless --concurrency says otherwise. A server's
/// listen backlog bounds the connections waiting to be accepted (Linux queues backlog + 1), and
/// a connection beyond it waits for a retransmission 1, 3, 7, 15 s later. `python3 -m
/// http.server`, the server people try first, listens with socketserver's backlog of 5, so 5
/// in flight can never overflow it. Load tools such as hey and oha start 50 at once, which suits
/// servers with a backlog of 128 or more (nginx, Go's net/http): give them `--concurrency 50`.
const DEFAULT_TARGET_CONCURRENCY: usize = 5;

const AFTER_HELP: &str = "\
Examples:
  fetch_many                                  all four clients, 1,000 fetches, 50 ms delay
  fetch_many --count 10000 --runner event-loop
  fetch_many --python                         the same plan in Python too: asyncio and threads
  fetch_many --target http://127.0.0.1:8000/ --count 2000   (e.g. python3 -m http.server 8000)
  fetch_many --target 127.0.0.1:8080/ --concurrency 50     (a server with a bigger backlog)";

/// Which client(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Runner {
    /// All four, one after another.
    All,
    /// One fetch after another.
    Sequential,
    /// One OS thread per fetch.
    ThreadPerTask,
    /// A fixed pool of --pool-size threads.
    ThreadPool,
    /// One task per fetch on the taketurns event loop.
    EventLoop,
    /// One task per fetch on the same loop waiting on io_uring: connect, send and receive as
    /// operations on the ring (needs `--features uring` and Linux 5.11 or later).
    Uring,
}

impl Runner {
    fn client(self, pool_size: usize) -> Option<Client> {
        match self {
            Runner::All => None,
            Runner::Sequential => Some(Client::Sequential),
            Runner::ThreadPerTask => Some(Client::ThreadPerTask),
            Runner::ThreadPool => Some(Client::ThreadPool(pool_size)),
            Runner::EventLoop => Some(Client::EventLoop),
            #[cfg(feature = "uring")]
            Runner::Uring => Some(Client::Uring),
            // Refused in `main` before anything runs (see `unbuilt`).
            #[cfg(not(feature = "uring"))]
            Runner::Uring => None,
        }
    }

    /// Why this build cannot run this runner, if it cannot.
    fn unbuilt(self) -> Option<String> {
        (self == Runner::Uring && !cfg!(feature = "uring")).then(|| {
            "--runner uring needs the `uring` feature: cargo run --release --features uring \
             --example fetch_many -- --runner uring"
                .to_string()
        })
    }

    fn of(client: Client) -> Runner {
        match client {
            Client::Sequential => Runner::Sequential,
            Client::ThreadPerTask => Runner::ThreadPerTask,
            Client::ThreadPool(_) => Runner::ThreadPool,
            Client::EventLoop => Runner::EventLoop,
            #[cfg(feature = "uring")]
            Client::Uring => Runner::Uring,
        }
    }

    fn flag(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// The child processes' subcommands (hidden from --help).
#[derive(Subcommand, Debug)]
enum Internal {
    /// Run the delay server; print its address as the first line of stdout.
    #[command(hide = true)]
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        /// Exit when stdin closes (the parent holds the other end).
        #[arg(long)]
        watch_stdin: bool,
    },
    /// Run one client on one plan; print its report as one JSON line.
    #[command(hide = true)]
    RunClient {
        /// Which client.
        #[arg(long, value_enum)]
        client: Runner,
        /// Threads of the pool client.
        #[arg(long, default_value_t = 64)]
        pool_size: usize,
        /// Fetches.
        #[arg(long)]
        count: usize,
        /// Server address.
        #[arg(long)]
        addr: SocketAddr,
        /// Host header.
        #[arg(long)]
        host: String,
        /// Request target.
        #[arg(long)]
        path: String,
        /// Per-fetch timeout.
        #[arg(long)]
        timeout_ms: u64,
        /// At most this many fetches in flight.
        #[arg(long)]
        limit: Option<usize>,
        /// The delay the server was asked for, if known (for the report).
        #[arg(long)]
        delay_ms: Option<u64>,
        /// Exit when stdin closes (the parent holds the other end).
        #[arg(long)]
        watch_stdin: bool,
    },
}

/// Descriptors a process needs beyond one per connection: std streams, epoll, eventfd, pipes.
const FD_MARGIN: u64 = 64;
/// Threads a process needs beyond one per fetch: main thread, stdin watcher, and slack for the
/// user's other processes, which RLIMIT_NPROC also counts.
const THREAD_MARGIN: u64 = 64;
const DEFAULT_DELAY_MS: u64 = 50;
const DEFAULT_SIZE: u64 = 1024;

fn main() {
    let cli = Cli::parse();
    let asked = match &cli.internal {
        Some(Internal::RunClient { client, .. }) => *client,
        _ => cli.runner,
    };
    if let Some(why) = asked.unbuilt() {
        eprintln!("fetch_many: {why}");
        std::process::exit(2);
    }
    let code = match &cli.internal {
        Some(Internal::Serve { addr, watch_stdin }) => child::child_serve(addr, *watch_stdin),
        Some(Internal::RunClient {
            client,
            pool_size,
            count,
            addr,
            host,
            path,
            timeout_ms,
            limit,
            delay_ms,
            watch_stdin,
        }) => {
            let plan = FetchPlan {
                count: *count,
                limit: limit.filter(|&n| n > 0),
                addr: *addr,
                host: host.clone(),
                path: path.clone(),
                timeout: Duration::from_millis(*timeout_ms),
            };
            let delay = delay_ms.map(Duration::from_millis);
            child::child_run_client(*client, *pool_size, &plan, delay, *watch_stdin)
        }
        None => parent::parent(&cli),
    };
    std::process::exit(code);
}
