//! The solutions of chapters 9 and 14's exercises, run small: each prints what appendix B says
//! it shows.
//!
//! Each solution is an example binary (`examples/exercises/exercise_09_*.rs`, `exercise_14_*.rs`); this test
//! runs it with small parameters and reads its table. The checks are on counts (polls, messages,
//! turns), never on speed, except where a count is the claim itself.

mod run_example;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// An example's binary, built once per test binary with this test's cargo and profile.
fn example_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    built
        .entry(name.to_string())
        .or_insert_with(|| run_example::binary(name))
        .clone()
}

/// Run example `name` with `args`, check it exited with 0, and return its standard output.
fn run(name: &str, args: &[&str]) -> String {
    let output = Command::new(example_binary(name))
        .args(args)
        .output()
        .expect("could not start the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} {args:?} exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The whitespace-separated cells of the first line of `stdout` that starts with `prefix`
/// (after leading spaces), with the prefix's own words removed.
fn row(stdout: &str, prefix: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix:?} in:\n{stdout}"));
    line[prefix.len()..]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Cell `i` of a row, as a number.
fn num(cells: &[String], i: usize) -> f64 {
    cells[i]
        .parse()
        .unwrap_or_else(|_| panic!("cell {i} of {cells:?} is not a number"))
}

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_09_1_a_naive_join_polls_every_child_on_every_wake() {
    let out = run("exercise_09_1", &["--n", "10,200", "--spread-ms", "50"]);
    // Rows: N, way, leaf polls, polls per leaf, wall, CPU.
    let naive = row(&out, "200  naive join");
    let join_all = row(&out, "200  join_all");
    let unordered = row(&out, "200  FuturesUnordered");
    let spawn = row(&out, "200  spawn");
    // Each sleep is polled at most twice (park, fire) when only the woken child is polled ...
    assert!(num(&join_all, 0) <= 400.0, "{join_all:?}");
    assert!(num(&unordered, 0) <= 400.0, "{unordered:?}");
    // (the spawn row has "(N polls)" in its name, so its leaf polls are cell 2)
    assert!(num(&spawn, 2) <= 400.0, "{spawn:?}");
    // ... and many more times when every wake polls every unfinished child: 200 sleeps woken
    // over 50 ms give dozens of wakes, each polling up to 200 children.
    assert!(
        num(&naive, 0) > 2.0 * num(&join_all, 0),
        "naive {naive:?}, join_all {join_all:?}"
    );
    // With 10 children, join_all is the naive join (futures switches to FuturesOrdered above 30):
    // ten deadlines 5 ms apart fire in several looks, and each look polls every child left.
    assert!(num(&row(&out, "10  join_all"), 0) > 20.0, "{out}");
}

#[test]
fn exercise_09_2_a_dropped_read_exact_loses_bytes_and_a_kept_one_does_not() {
    let out = run(
        "exercise_09_2",
        &["--messages", "20", "--gap-ms", "6", "--tick-ms", "2"],
    );
    // Rows: intact N garbled N missing N ticks N.
    let naive = row(&out, "new read_exact each turn");
    let careful = row(&out, "keep the losing read");
    assert_eq!(
        (careful[1].as_str(), careful[3].as_str()),
        ("20", "0"),
        "{careful:?}"
    );
    assert!(
        num(&careful, 7) >= 20.0,
        "the tick must win mid-message: {careful:?}"
    );
    // The naive loop drops a half message whenever the tick wins between the halves.
    assert!(num(&naive, 1) < 20.0, "{naive:?}");
    assert!(num(&naive, 3) + num(&naive, 5) > 0.0, "{naive:?}");
}

#[test]
fn exercise_09_3_a_biased_select_never_sees_the_deadline_and_an_alternating_one_does() {
    let out = run(
        "exercise_09_3",
        &["--deadline-ms", "5", "--give-up-ms", "100"],
    );
    let biased = row(&out, "biased (a first)");
    let alternating = row(&out, "alternating");
    // "never noticed; gave up after 100ms; N turns after the deadline; ..."
    assert_eq!(biased[0], "never", "{biased:?}");
    assert!(num(&biased, 6) > 0.0, "{biased:?}");
    // "noticed after N turns; M turns after the deadline; ...": within two turns of it, since
    // every other select polls the deadline first.
    assert_eq!(alternating[0], "noticed", "{alternating:?}");
    assert!(num(&alternating, 4) <= 2.0, "{alternating:?}");
}

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_14_1_both_runtimes_wake_every_sleeper_never_early() {
    let out = run(
        "exercise_14_1",
        &["--tasks", "200", "--spread-ms", "50", "--lead-ms", "20"],
    );
    for runtime in ["taketurns", "tokio"] {
        let cells = row(&out, &format!("200  {runtime}"));
        // wall, CPU, CPU/task, late p50, p99, max, early.
        assert_eq!(cells.len(), 7, "{cells:?}");
        assert!(cells[..6].iter().all(|c| c.ends_with('s')), "{cells:?}");
        assert_eq!(
            cells[6], "0",
            "a sleep ended before its deadline: {cells:?}"
        );
    }
}

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_14_2_tokio_channels_spend_the_coop_budget_and_futures_channels_do_not() {
    let out = run("exercise_14_2", &["--messages", "10000", "--budgeted"]);
    // Rows: received, polls, msgs/poll, p50 poll, max poll, ticker, wall.
    let tokio_mpsc = row(&out, "tokio, tokio::sync::mpsc");
    let futures_on_tokio = row(&out, "tokio, futures::channel::mpsc");
    let ours = row(&out, "taketurns, futures::channel::mpsc");
    for cells in [&tokio_mpsc, &futures_on_tokio, &ours] {
        assert_eq!(cells[0], "10000", "{cells:?}");
    }
    // 128 units per poll, one per message: ceil(10000 / 128) = 79 polls.
    assert_eq!(num(&tokio_mpsc, 1), 79.0, "{tokio_mpsc:?}");
    assert!(
        num(&tokio_mpsc, 5) >= 78.0,
        "the ticker ran between budgets: {tokio_mpsc:?}"
    );
    // No budget: one poll drains everything, and the ticker waits it out.
    assert_eq!(num(&futures_on_tokio, 1), 1.0, "{futures_on_tokio:?}");
    assert_eq!(num(&ours, 1), 1.0, "{ours:?}");
    // Exercise 2's `Budgeted` wrapper gives taketurns the same rhythm as tokio's mpsc.
    let budgeted = row(&out, "taketurns, mpsc + Budgeted(128)");
    assert_eq!(budgeted[0], "10000", "{budgeted:?}");
    assert_eq!(num(&budgeted, 1), 79.0, "{budgeted:?}");
    assert!(num(&budgeted, 5) >= 78.0, "{budgeted:?}");
}
