//! `hyper_wrk.md`: the hyper table's question asked with a load generator we did not write.
//! `measure`'s own generator (`load.rs`) could flatter the runtime it was written beside, so hyper
//! on taketurns and hyper on tokio are loaded again by `wrk` (`wrk -t2 -cN -dS --latency`), each
//! server alone in a `child-http --hyper` child as in `hyper.md`, on `/`, the two alternating
//! over several rounds; each figure is the median of its rounds. The server's CPU per request
//! comes from its own counters, as in the other HTTP tables.
//!
//! Python's counterpart is pointing `wrk` at an asyncio server and at a threaded one. Without
//! `wrk` on the PATH the rows say "–" and a sentence says how to install it; without the hyper
//! feature the experiment is skipped, as `hyper.md` is.

use std::process::Command;
use std::time::Duration;

use taketurns::workload::raise_fd_limit;

use crate::children::ServerChild;
use crate::format::{count, time};
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only wrk`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "wrk",
    file: "hyper_wrk.md",
    about: "hyper on taketurns and on tokio under wrk, a load generator of someone else's \
            (built with `--features hyper`; skipped with a note otherwise)",
    skip: if cfg!(feature = "hyper") {
        None
    } else {
        Some(
            "this binary was built without the hyper feature (add `--features hyper` to measure \
             hyper on taketurns)",
        )
    },
    run: |run| wrk_table(run.size),
};

/// The two servers, in row order: the name shown and the `child-http` flags.
const SERVERS: [(&str, &[&str]); 2] = [
    ("hyper on taketurns", &["--hyper", "taketurns"]),
    ("hyper on tokio current_thread", &["--hyper", "tokio"]),
];

/// What one `wrk` run against one server gave.
#[derive(Clone, Copy, Debug)]
struct WrkRun {
    /// Requests per second, as wrk reports them.
    per_second: f64,
    /// Median latency.
    p50: Duration,
    /// 99th percentile latency.
    p99: Duration,
    /// The server's CPU time per request it answered during the run.
    cpu_per_request: Duration,
}

/// Whether `wrk` runs here.
fn wrk_present() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
}

/// A latency as wrk prints it (`812.00us`, `4.36ms`, `1.02s`).
fn wrk_time(text: &str) -> Option<Duration> {
    let (number, unit) = text
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|at| text.split_at(at))?;
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

/// One server child, loaded by wrk for `secs` seconds with `connections` connections on `/`.
fn run_wrk(flags: &[&str], connections: usize, secs: f64) -> Result<WrkRun, String> {
    let mut server = ServerChild::start(flags)?;
    let before = server.counters()?;
    let output = Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", secs.ceil() as u64))
        .arg("--latency")
        .arg(format!("http://{}/", server.addr))
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let after = server.counters()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("wrk exited with {}: {text}", output.status));
    }
    let field = |label: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find(|line| line.starts_with(label))
            .and_then(|line| line[label.len()..].split_whitespace().next())
    };
    let parsed = (|| {
        Some(WrkRun {
            per_second: field("Requests/sec:")?.parse().ok()?,
            p50: wrk_time(field("50%")?)?,
            p99: wrk_time(field("99%")?)?,
            cpu_per_request: after.cpu.saturating_sub(before.cpu)
                / after.requests.saturating_sub(before.requests).max(1) as u32,
        })
    })();
    parsed.ok_or_else(|| format!("could not read wrk's report:\n{text}"))
}

/// The median of `values` by `key`.
fn median_by(runs: &[WrkRun], key: impl Fn(&WrkRun) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(key).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// hyper_wrk.md: both hyper servers under wrk at each connection count, alternating rounds.
fn wrk_table(size: Size) -> Result<Table, String> {
    let wanted = size.connections.iter().max().copied().unwrap_or(0) as u64 * 2 + 256;
    let _ = raise_fd_limit(wanted);
    let mut table = Table::new(&[
        "server",
        "connections",
        "requests/s",
        "p50",
        "p99",
        "CPU per request",
    ]);
    let rounds = if size.quick { 1 } else { 5 };
    if !wrk_present() {
        for &connections in size.connections {
            for (name, _) in SERVERS {
                let mut row = vec![name.to_string(), count(connections as u64)];
                row.extend(["–"; 4].map(String::from));
                table.row(row);
            }
        }
        table.sentences.push(
            "`wrk` is not on the PATH, so nothing was measured: install it (`apt-get install \
             wrk` on Debian and Ubuntu, `brew install wrk` on macOS) and run this table again \
             with `--only wrk`."
                .to_string(),
        );
        return Ok(table);
    }
    for &connections in size.connections {
        let mut runs: [Vec<WrkRun>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            // Alternate which server goes first, so that neither always meets a warmer machine.
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let (name, flags) = SERVERS[i];
                eprintln!(
                    "measure:   wrk on {name}, {connections} connections, round {} …",
                    round + 1
                );
                let run = run_wrk(flags, connections, size.http_secs)?;
                eprintln!("measure:     {:.0} requests/s", run.per_second);
                runs[i].push(run);
            }
        }
        let medians: Vec<f64> = runs
            .iter()
            .map(|r| median_by(r, |run| run.per_second))
            .collect();
        for (i, (name, _)) in SERVERS.iter().enumerate() {
            let r = &runs[i];
            table.row(vec![
                name.to_string(),
                count(connections as u64),
                count(medians[i].round() as u64),
                time(Duration::from_secs_f64(median_by(r, |run| {
                    run.p50.as_secs_f64()
                }))),
                time(Duration::from_secs_f64(median_by(r, |run| {
                    run.p99.as_secs_f64()
                }))),
                time(Duration::from_secs_f64(median_by(r, |run| {
                    run.cpu_per_request.as_secs_f64()
                }))),
            ]);
        }
        table.sentences.push(format!(
            "At {} connections hyper on taketurns served {:.2}× the requests per second of hyper \
             on tokio under wrk (medians of {rounds} rounds each).",
            count(connections as u64),
            medians[0] / medians[1],
        ));
    }
    table.sentences.push(format!(
        "Loaded by `wrk -t2 -cN -d{}s --latency` on `/`, the two servers alternating, each alone \
         in a child process on the same machine as wrk; the servers are configured as in \
         `hyper.md`.",
        size.http_secs.ceil() as u64
    ));
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_latencies_are_read_in_their_units() {
        assert_eq!(wrk_time("812.00us"), Some(Duration::from_micros(812)));
        assert_eq!(wrk_time("4.36ms"), Some(Duration::from_micros(4_360)));
        assert_eq!(wrk_time("1.50s"), Some(Duration::from_millis(1_500)));
        assert_eq!(wrk_time("3"), None);
    }
}
