//! `fetch_scale.md`: how the costs per fetch move as the number of fetches grows (100, 1,000,
//! and 10,000 in the full run), and whether the ratio between a thread per fetch and a task per
//! fetch holds as the count grows. Each count is one `fetch_many --json` run without Python; the
//! row of 1,000 reuses `fetch_1000`'s run when both ran.
//!
//! Only the event loop, a thread per fetch and the pool of 64 are shown: the sequential client
//! would take count × delay and says nothing about concurrency.

use taketurns::workload::Report;

use crate::children::fetch_many;
use crate::fetch_1000::{cpu_per_fetch, find};
use crate::format::{count, kib, ratio, time};
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only scale`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "scale",
    file: "fetch_scale.md",
    about: "the plan at several fetch counts",
    skip: None,
    run: |run| scale_table(run.size, run.fetch_1000.as_deref()),
};

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
