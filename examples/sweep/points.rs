//! The sweep's points, one per client and count, each with the reports of its runs and the
//! medians the charts and the tables show; and the loop that runs every measurement of the plan
//! with a progress line each on stderr (an estimate of the time left included).
//!
//! The median of a few runs, as `statistics.median` would give it in Python; a failed run adds
//! no report, and a run with failed fetches keeps its report and is listed as a failure. No
//! spread is drawn: three runs give a median, not a spread worth drawing.

use std::path::Path;
use std::time::Instant;

use taketurns::workload::{Client, Report};

use crate::Context;
use crate::fetch_many::measure;
use crate::machine::clock;
use crate::plan::Plan;

/// One client at one count: every run's report and the medians of what the charts show.
pub struct Point {
    /// Fetches per run.
    pub count: u64,
    /// The client, as the sweep asked for it.
    pub client: Client,
    /// The reports of the runs that produced one (a run that failed outright has none).
    pub reports: Vec<Report>,
}

impl Point {
    /// The median over the runs of `figure`.
    fn median(&self, figure: impl Fn(&Report) -> f64) -> f64 {
        median(self.reports.iter().map(figure).collect())
    }

    /// The median wall time, in seconds.
    pub fn wall_s(&self) -> f64 {
        self.median(|r| r.wall.as_secs_f64())
    }

    /// The median wall time minus the server's delay, in milliseconds.
    pub fn wall_minus_delay_ms(&self) -> f64 {
        self.median(|r| r.wall_minus_delay().unwrap_or_default().as_secs_f64() * 1e3)
    }

    /// The median CPU time (user + system) per fetch, in microseconds.
    pub fn cpu_per_fetch_us(&self) -> f64 {
        self.median(|r| r.cpu_per_fetch().as_secs_f64() * 1e6)
    }

    /// The median user CPU time, in milliseconds.
    pub fn cpu_user_ms(&self) -> f64 {
        self.median(|r| r.cpu_user.as_secs_f64() * 1e3)
    }

    /// The median system CPU time, in milliseconds.
    pub fn cpu_system_ms(&self) -> f64 {
        self.median(|r| r.cpu_system.as_secs_f64() * 1e3)
    }

    /// The median growth of peak RSS during a run, in KiB.
    pub fn rss_growth_kib(&self) -> f64 {
        self.median(|r| r.rss_growth_kib() as f64)
    }

    /// The median peak RSS growth per fetch, in KiB.
    pub fn kib_per_fetch(&self) -> f64 {
        self.median(Report::kib_per_fetch)
    }

    /// Fetches made, summed over the runs.
    pub fn fetches(&self) -> u64 {
        self.reports.iter().map(|r| r.fetches).sum()
    }

    /// Fetches that succeeded, summed over the runs.
    pub fn ok(&self) -> u64 {
        self.reports.iter().map(|r| r.ok).sum()
    }

    /// Fetches that failed, summed over the runs.
    pub fn failed(&self) -> u64 {
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
/// Run every measurement of the plan, interleaved, with a progress line each on stderr. Returns
/// one point per count and client with its reports, and a line per failed measurement or fetch.
pub fn measure_all(plan: &Plan, context: &Context, fetch_many: &Path) -> (Vec<Point>, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}
