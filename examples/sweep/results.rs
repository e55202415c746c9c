//! Writing the results: `results.csv` (one row per count and client, the medians),
//! `results.json` (the same plus every run's full report, the machine and the command), the
//! three charts, and `README.md` (which machine, command, date and load made them, how to read
//! them, and the table of medians); then copying what the book wants into `--img`, the README
//! as `README.txt` because every `.md` file under `book/src` is a page of the book. The table of
//! medians for the terminal is here too.
//!
//! pandas' `to_csv` and `json.dumps` would do this in Python; here the CSV and the JSON are
//! written by hand, which keeps the columns and their precision in one place.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use taketurns::workload::{Client, Report};

use crate::charts::draw_charts;
use crate::machine::{clock, seconds};
use crate::plan::Plan;
use crate::points::Point;
use crate::{BODY_SIZE, CHARTS, Cli, Context, IMG_README};

/// Write the CSV, the JSON, the charts and the README into `out`, then copy what the book wants
/// into `--img`. Returns each directory written with the names of the files besides the charts.
pub fn write_results(
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
        // The README goes in as README.txt: under book/src every `.md` file is a page of the
        // book, which tests/book_includes.rs requires to be in SUMMARY.md and src/book.rs.
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

/// Write `text` to `path`, or say which file could not be written.
fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The CSV's first line: the columns of [`to_csv`].
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
pub fn table(points: &[Point]) -> String {
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

/// `s` as a JSON string, quotes and escapes included.
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

/// `results.json`: the run's facts, the plan, every point's medians and runs, the failures.
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
        "Generated by `examples/sweep/`; a new run replaces this file, the charts and \
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
