//! `examples/race_condition.rs`, run small. What is deterministic is pinned exactly: `fetch_add`
//! and the `Mutex` count every increment; the event loop counts every increment when no `.await`
//! sits inside one, and exactly `increments` (one per round of every task) when an `.await` sits
//! between the read and the write. The racy threaded version is only held to what is guaranteed:
//! it never counts *more* than expected. Whether threads lose an update on a given run is up to
//! the scheduler, so no test asks for a loss.

use crate::support::run_example::{row, run, run_ok};

/// `(expected, counted, lost)` of the row that starts with `label`.
fn counts(stdout: &str, label: &str) -> (u64, u64, u64) {
    let cells = row(stdout, label);
    let n = |i: usize| -> u64 {
        cells[i]
            .parse()
            .unwrap_or_else(|_| panic!("cell {i} of {label:?} is not a number: {cells:?}"))
    };
    (n(0), n(1), n(2))
}

#[test]
fn only_the_racy_version_may_lose_and_the_await_version_loses_exactly() {
    let (workers, increments) = (50u64, 100u64);
    let expected = workers * increments;
    let stdout = run_ok(
        "race_condition",
        &["--workers", "50", "--increments", "100", "--runs", "3"],
    );
    for run in 1..=3 {
        let (exp, counted, lost) = counts(&stdout, &format!("threads, load then store, run {run}"));
        assert_eq!(exp, expected);
        assert!(
            counted <= expected,
            "a lost-update race cannot add: {counted}"
        );
        assert_eq!(counted + lost, expected);
    }
    assert_eq!(
        counts(&stdout, "threads, fetch_add"),
        (expected, expected, 0)
    );
    assert_eq!(
        counts(&stdout, "threads, Mutex<u64>"),
        (expected, expected, 0)
    );
    assert_eq!(
        counts(&stdout, "event loop, Rc<Cell<u64>>"),
        (expected, expected, 0)
    );
    // FIFO turns: all tasks read v, all yield, all write v + 1. Each round adds one.
    assert_eq!(
        counts(&stdout, "event loop, .await between read and write"),
        (expected, increments, expected - increments)
    );
}

#[test]
fn start_together_runs_too() {
    let stdout = run_ok(
        "race_condition",
        &[
            "--workers",
            "8",
            "--increments",
            "1000",
            "--runs",
            "1",
            "--start-together",
        ],
    );
    let (_, counted, _) = counts(&stdout, "threads, load then store, together, run 1");
    assert!(counted <= 8000);
}

#[test]
fn zero_workers_is_a_usage_error() {
    let output = run("race_condition", &["--workers", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--workers"));
}
