//! `examples/sweep/` from the outside: run the built example with a quick sweep into a
//! temporary directory and check the CSV, the JSON and the three charts it writes, its exit code
//! for a bad flag, and that a count beyond the machine's limits is refused before anything runs.
//!
//! The sweep runs `fetch_many` (found next to its own binary) for each measurement, so both are
//! built through the shared helper first, and the sweep is given `--no-build`: it must not start
//! a cargo build of its own while `cargo test` is running.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::run_example::{self, text};

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("taketurns-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the sweep with `args` and `--no-build`, after building `fetch_many`, which it runs.
fn run(args: &[&str]) -> Output {
    run_example::binary("fetch_many");
    run_example::command("sweep")
        .args(args)
        .arg("--no-build")
        .output()
        .expect("could not start the sweep")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const CLIENTS: [&str; 4] = [
    "sequential",
    "thread-per-task",
    "thread-pool(64)",
    "event-loop",
];

#[test]
fn a_quick_sweep_writes_the_csv_the_json_and_three_charts() {
    let out = TempDir::new("sweep-quick");
    let out_dir = out.0.to_str().unwrap();
    // --quick is counts 10 and 100, one run; a 5 ms delay keeps the sequential client's 100
    // fetches to half a second.
    let output = run(&["--quick", "--delay-ms", "5", "--out", out_dir]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    // A progress line per measurement, each with the time left.
    let progress: Vec<&str> = stderr.lines().filter(|l| l.contains("] ")).collect();
    assert_eq!(progress.len(), 8, "{stderr}");
    assert!(progress.iter().all(|l| l.contains("left")), "{stderr}");

    let csv = read(&out.0.join("results.csv"));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (count, client, runs, fetches, ok, failed) = (
        column("count"),
        column("client"),
        column("runs"),
        column("fetches"),
        column("ok"),
        column("failed"),
    );
    for name in ["wall_s", "cpu_per_fetch_us", "rss_growth_kib"] {
        column(name);
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let mut expected = Vec::new();
    for n in ["10", "100"] {
        for c in CLIENTS {
            expected.push((n, c));
        }
    }
    let found: Vec<(&str, &str)> = rows.iter().map(|r| (r[count], r[client])).collect();
    assert_eq!(found, expected, "{csv}");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{csv}");
        assert_eq!(row[runs], "1", "--quick is one run: {csv}");
        assert_eq!(row[fetches], row[count], "{csv}");
        assert_eq!(row[ok], row[fetches], "every fetch succeeded: {csv}");
        assert_eq!(row[failed], "0", "{csv}");
    }

    let json = read(&out.0.join("results.json"));
    assert!(json.trim_start().starts_with('{'), "{json}");
    for key in [
        "\"machine\":",
        "\"command\":",
        "\"results\":[",
        "\"runs\":[",
    ] {
        assert!(json.contains(key), "{key} missing from {json}");
    }

    for chart in [
        "sweep_wall_time.svg",
        "sweep_cpu_per_fetch.svg",
        "sweep_peak_memory.svg",
    ] {
        let svg = read(&out.0.join(chart));
        assert!(
            svg.starts_with("<svg"),
            "{chart}: {}",
            &svg[..80.min(svg.len())]
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{chart}");
        assert!(svg.contains("(log scale)"), "{chart} has labelled axes");
        for client in CLIENTS {
            assert!(
                svg.contains(client),
                "{chart} has no {client} in its legend"
            );
        }
    }
    assert!(read(&out.0.join("README.md")).contains("Machine"));
}

#[test]
fn img_copies_the_charts_beside_the_results() {
    let (out, img) = (TempDir::new("sweep-out"), TempDir::new("sweep-img"));
    let output = run(&[
        "--counts",
        "10",
        "--runs",
        "1",
        "--delay-ms",
        "1",
        "--out",
        out.0.to_str().unwrap(),
        "--img",
        img.0.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for name in ["sweep_wall_time.svg", "results.csv"] {
        assert_eq!(read(&img.0.join(name)), read(&out.0.join(name)), "{name}");
    }
    // Not README.md: every .md file under book/src is a page of the book.
    assert_eq!(
        read(&img.0.join("README.txt")),
        read(&out.0.join("README.md"))
    );
    assert!(!img.0.join("README.md").exists());
}

#[test]
fn a_bad_flag_is_clap_s_message_and_exit_code_2() {
    let output = run(&["--bogus"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--bogus"),
        "{}",
        text(&output.stderr)
    );
    let output = run(&["--counts", "10,0"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a count of 0 measures nothing"
    );
}

#[test]
fn a_count_beyond_the_limits_is_refused_before_anything_runs() {
    let out = TempDir::new("sweep-limits");
    run_example::binary("fetch_many"); // both built before the clock starts
    run_example::binary("sweep");
    let start = Instant::now();
    // A million connections at once is more local ports than Linux has (at most 64,512), and
    // usually more open files than the hard limit allows.
    let output = run(&[
        "--counts",
        "10,1000000",
        "--out",
        out.0.join("results").to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("limit") && (stderr.contains("ulimit") || stderr.contains("sysctl")),
        "{stderr}"
    );
    assert!(!stderr.contains("] "), "no measurement ran: {stderr}");
    assert!(!out.0.join("results").exists(), "nothing was written");
    assert!(start.elapsed() < Duration::from_secs(10));
}
