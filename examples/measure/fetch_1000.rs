//! `fetch_1000.md`: the question of chapters 1 and 10, how a thousand slow fetches compare when
//! each gets a thread, a pool thread, a task on the event loop, or none (one after another), and
//! the same plan in Python (asyncio, threads, a pool) when `python3` is there. It runs
//! `fetch_many --json --python` (every client in a child process of its own) and reads the
//! reports back; the README's measured block holds a copy of this table.
//!
//! The table shows wall time, CPU per fetch and peak memory per fetch, the three costs the book
//! compares; the trace and the timeline of one run are `fetch_many`'s own (`--trace`,
//! `--timeline`).

use taketurns::workload::Report;

use crate::children::fetch_many;
use crate::format::{kib, ratio, time};
use crate::output::Table;
use crate::{Experiment, Run};

/// `--only fetch`: the table, and the reports kept for the scale table.
pub const EXPERIMENT: Experiment = Experiment {
    name: "fetch",
    file: "fetch_1000.md",
    about: "fetch_many's default plan, every client",
    skip: None,
    run,
};

/// Measure, and keep the reports for `fetch_scale`'s row of 1,000.
fn run(run: &mut Run) -> Result<Table, String> {
    let (table, reports) = fetch_table()?;
    run.fetch_1000 = Some(reports);
    Ok(table)
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
pub fn cpu_per_fetch(report: &Report) -> f64 {
    report.cpu_per_fetch().as_secs_f64()
}

/// The report of `client` among `reports`.
pub fn find<'a>(reports: &'a [Report], client: &str) -> Option<&'a Report> {
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
    if let (Some(asyncio), Some(threads)) = (
        find(&reports, "py-asyncio"),
        find(&reports, "py-thread-per-task"),
    ) {
        let memory = if asyncio.kib_per_fetch() <= threads.kib_per_fetch() {
            "less"
        } else {
            "more"
        };
        table.sentences.push(format!(
            "In Python, asyncio used {} the CPU per fetch of a thread per fetch, and {memory} \
             memory per fetch ({}).",
            ratio(cpu_per_fetch(asyncio), cpu_per_fetch(threads)),
            ratio(asyncio.kib_per_fetch(), threads.kib_per_fetch()),
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
