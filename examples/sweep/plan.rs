//! The plan: which counts, how many runs, which clients, settled from the flags before anything
//! runs, and the order of the measurements (count by count, run by run, client by client, so
//! that a change in the machine's load spreads over every client). It also guesses how long each
//! measurement takes, only to weigh the estimate of the time left.
//!
//! A parameter grid as `pytest.mark.parametrize` or criterion's `BenchmarkGroup` would make one;
//! unlike those, the order is interleaved on purpose. The sequential client runs only at small
//! counts: it needs count × delay of wall time.

use taketurns::workload::Client;

use crate::{BODY_SIZE, Cli, DEFAULT_COUNTS, DEFAULT_RUNS, QUICK_COUNTS};

/// What the sweep measures, settled from the flags before anything runs.
pub struct Plan {
    /// Fetch counts, ascending, without duplicates.
    pub counts: Vec<u64>,
    /// Runs per measurement.
    pub runs: u64,
    /// The server's delay per fetch.
    pub delay_ms: u64,
    /// The largest count the sequential client runs.
    pub sequential_max: u64,
    /// Every client the sweep knows, in the order of the legend.
    pub clients: Vec<Client>,
}

impl Plan {
    /// The plan the flags ask for, with the defaults filled in.
    pub fn from_cli(cli: &Cli) -> Plan {
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
    pub fn includes(&self, client: Client, count: u64) -> bool {
        client != Client::Sequential || count <= self.sequential_max
    }

    /// Every measurement in the order they run: count by count, run by run, client by client.
    pub fn measurements(&self) -> Vec<(u64, u64, Client)> {
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
    pub fn guess_seconds(&self, client: Client, count: u64) -> f64 {
        let rounds = count.div_ceil(client.concurrency(count as usize).max(1) as u64);
        0.1 + rounds as f64 * self.delay_ms as f64 / 1e3 + count as f64 * 100e-6
    }

    /// The sentence that says what the sweep does, for the captions and the README.
    pub fn describe(&self) -> String {
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
