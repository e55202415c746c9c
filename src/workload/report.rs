//! What one run of a plan cost: wall time, CPU time, memory, and how many fetches failed and why.
//!
//! [`Report::measure`] runs a client between two readings of `getrusage(RUSAGE_SELF)` and the
//! clock. **CPU** is user plus system time of the whole process (every thread, finished threads
//! included) over the run: the work of the client and of the kernel on its behalf. **Peak
//! memory** is `ru_maxrss`, the high-water mark of the process's resident set in KiB. It is
//! process-wide and never goes down, so it only tells the truth about one client if that client
//! is the only thing the process ever ran: `examples/fetch_many/` runs each client in a fresh
//! child process for that reason. **Wall time minus delay** subtracts the time the server was
//! *asked* to wait, which no client can beat: each fetch waits `delay`, and a client with `c`
//! fetches in flight needs at least `ceil(fetches / c)` rounds of it (one round for thread per
//! task and the event loop, `fetches` rounds for the sequential client, `fetches / n` for a pool
//! of `n`). What remains is the client's own overhead: connecting, scheduling, queueing.
//!
//! One caveat about CPU on loopback: the kernel does the receiving side's TCP work inside the
//! sender's system call, so part of the server's kernel work is billed to the client and part of
//! the client's to the server. Every client is billed the same way, so comparisons hold; the
//! absolute numbers are "client plus its share of loopback".
//!
//! Python's counterparts are `time.perf_counter()` and `resource.getrusage(RUSAGE_SELF)`
//! (`ru_utime`, `ru_stime`, `ru_maxrss`); tokio has no built-in equivalent. Left out: latency
//! percentiles, and the server's own costs (it runs in another process).

use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

use super::client::{Client, ClientError, ErrorCounts};
use super::json;
use super::machine::from_timeval;
use super::plan::FetchPlan;
use crate::observe::stats::short_duration as format_duration;

/// The measurements of one client running one plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The client's name ([`Client::name`]).
    pub client: String,
    /// Fetches made.
    pub fetches: u64,
    /// Fetches that got a whole 2xx response.
    pub ok: u64,
    /// Body bytes received by the successful fetches.
    pub bytes: u64,
    /// Fetches in flight at once ([`Client::in_flight`]).
    pub concurrency: u64,
    /// Failed fetches by kind.
    pub errors: ErrorCounts,
    /// The message of the first failure, if any.
    pub first_error: Option<String>,
    /// From the first fetch started to the last one finished.
    pub wall: Duration,
    /// The delay each fetch asked the server for; `None` when unknown (another server).
    pub server_delay: Option<Duration>,
    /// User CPU time of the process during the run.
    pub cpu_user: Duration,
    /// System (kernel) CPU time of the process during the run.
    pub cpu_system: Duration,
    /// `ru_maxrss` just before the run: the process's high-water mark so far, in KiB.
    pub rss_before_kib: u64,
    /// `ru_maxrss` just after the run, in KiB.
    pub peak_rss_kib: u64,
    /// The io_uring driver's counters over the run (`io_uring_enter` calls, entries submitted,
    /// completions), for the client that runs on it; `None` for the others.
    #[cfg(feature = "uring")]
    pub ring: Option<crate::uring::RingStats>,
}

/// One `getrusage(RUSAGE_SELF)` reading, taken by [`Report::measure`] before and after a run.
struct Usage {
    /// CPU time spent in user mode by every thread of the process so far.
    user: Duration,
    /// CPU time spent in the kernel on the process's behalf so far.
    system: Duration,
    /// `ru_maxrss`: the largest resident set the process has had so far, in KiB.
    max_rss_kib: u64,
}

impl Usage {
    fn now() -> Usage {
        // getrusage fails only for a bad `who` or a bad pointer; nix rules both out.
        let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF) cannot fail");
        Usage {
            user: from_timeval(usage.user_time()),
            system: from_timeval(usage.system_time()),
            max_rss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
        }
    }
}

impl Report {
    // ANCHOR: measure
    /// Run `client` on `plan` and measure it. `server_delay` is the delay each fetch asked the
    /// server for, if known.
    ///
    /// # Errors
    /// The client's [`ClientError`] if the run could not happen.
    pub fn measure(
        client: Client,
        plan: &FetchPlan,
        server_delay: Option<Duration>,
    ) -> Result<Report, ClientError> {
        let before = Usage::now();
        let start = Instant::now();
        let tally = client.run(plan)?;
        let wall = start.elapsed();
        let after = Usage::now();
        Ok(Report {
            client: client.name(),
            fetches: tally.fetches(),
            ok: tally.ok,
            bytes: tally.bytes,
            concurrency: client.in_flight(plan) as u64,
            errors: tally.errors,
            first_error: tally.first_error.map(|e| e.to_string()),
            wall,
            server_delay,
            cpu_user: after.user.saturating_sub(before.user),
            cpu_system: after.system.saturating_sub(before.system),
            rss_before_kib: before.max_rss_kib,
            peak_rss_kib: after.max_rss_kib,
            #[cfg(feature = "uring")]
            ring: tally.ring,
        })
    }
    // ANCHOR_END: measure

    /// The least wall time any client with this concurrency needs just for the server's delay:
    /// `delay × ceil(fetches / concurrency)`. `None` if the delay is unknown.
    pub fn delay_floor(&self) -> Option<Duration> {
        let delay = self.server_delay?;
        let rounds = self.fetches.div_ceil(self.concurrency.max(1));
        Some(delay.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX)))
    }

    /// Wall time minus [`Report::delay_floor`]: the time the client itself added.
    pub fn wall_minus_delay(&self) -> Option<Duration> {
        Some(self.wall.saturating_sub(self.delay_floor()?))
    }

    /// User plus system CPU time.
    pub fn cpu(&self) -> Duration {
        self.cpu_user + self.cpu_system
    }

    /// CPU time per fetch (zero for a run of no fetches).
    pub fn cpu_per_fetch(&self) -> Duration {
        match u32::try_from(self.fetches) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.cpu() / n,
            Err(_) => Duration::from_secs_f64(self.cpu().as_secs_f64() / self.fetches as f64),
        }
    }

    /// How much the peak resident set grew during the run, in KiB.
    pub fn rss_growth_kib(&self) -> u64 {
        self.peak_rss_kib.saturating_sub(self.rss_before_kib)
    }

    /// [`Report::rss_growth_kib`] per fetch. For clients that start every fetch at once (thread
    /// per task, event loop) that is the memory one fetch in flight costs.
    pub fn kib_per_fetch(&self) -> f64 {
        if self.fetches == 0 {
            return 0.0;
        }
        self.rss_growth_kib() as f64 / self.fetches as f64
    }

    /// Whether every fetch succeeded.
    pub fn all_ok(&self) -> bool {
        self.ok == self.fetches && self.errors.total() == 0
    }

    /// The report as one line of JSON (see the `json` module), with the derived numbers
    /// included for whoever reads it: `delay_floor_us`, `wall_minus_delay_us`,
    /// `cpu_per_fetch_us`, `rss_growth_kib`, `kib_per_fetch`. Read it back with any JSON library
    /// through `serde` (`Report` implements `Deserialize`): `serde_json::from_str::<Report>(line)`.
    pub fn to_json(&self) -> String {
        json::to_json(self)
    }

    /// The table's column titles.
    const HEADER: [&'static str; 9] = [
        "client",
        "ok/fetches",
        "errors",
        "wall",
        "wall−delay",
        "CPU user+sys",
        "CPU/fetch",
        "peak RSS",
        "RSS/fetch",
    ];

    /// This report's cells, in the order of [`Report::HEADER`].
    fn cells(&self) -> [String; 9] {
        [
            self.client.clone(),
            format!("{}/{}", self.ok, self.fetches),
            self.errors.total().to_string(),
            format_duration(self.wall),
            self.wall_minus_delay()
                .map_or("?".to_string(), format_duration),
            format_duration(self.cpu()),
            format_duration(self.cpu_per_fetch()),
            format_kib(self.peak_rss_kib),
            format!("{:.2} KiB", self.kib_per_fetch()),
        ]
    }

    /// Reports as an aligned table: a header, one row per report, and a line per report with
    /// failures saying which kinds and the first message.
    pub fn table(reports: &[Report]) -> String {
        let rows: Vec<[String; 9]> = reports.iter().map(Report::cells).collect();
        let mut widths = Report::HEADER.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header = Report::HEADER.map(str::to_string);
        for row in std::iter::once(&header).chain(&rows) {
            out.push_str(&format_row(row, &widths));
            out.push('\n');
        }
        for report in reports.iter().filter(|r| r.errors.total() > 0) {
            out.push_str(&format!(
                "{}: failed fetches: {}",
                report.client, report.errors
            ));
            if let Some(first) = &report.first_error {
                out.push_str(&format!("; first: {first}"));
            }
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Report {
    /// One table row, with the columns as wide as [`Report::table`]'s usual ones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const WIDTHS: [usize; 9] = [16, 11, 6, 9, 10, 12, 9, 9, 9];
        f.write_str(&format_row(&self.cells(), &WIDTHS))
    }
}

/// The client name left-aligned, numbers right-aligned, two spaces between columns.
fn format_row(cells: &[String; 9], widths: &[usize; 9]) -> String {
    let mut line = String::new();
    for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if i == 0 {
            line.push_str(&format!("{cell:<width$}"));
        } else {
            line.push_str(&format!("  {cell:>width$}"));
        }
    }
    line.trim_end().to_string()
}

/// `900 KiB`, `12.5 MiB`.
fn format_kib(kib: u64) -> String {
    if kib < 1024 {
        format!("{kib} KiB")
    } else {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    }
}

/// A report line that could not be read back (a missing error kind), as `Report`'s `Deserialize`
/// says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseReportError(
    /// What is missing or malformed, for the message.
    String,
);

impl ParseReportError {
    /// An error that says `what` is missing or malformed.
    pub(crate) fn new(what: impl Into<String>) -> ParseReportError {
        ParseReportError(what.into())
    }
}

impl fmt::Display for ParseReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a report: {}", self.0)
    }
}

impl std::error::Error for ParseReportError {}
