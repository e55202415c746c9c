//! Chapter 14's exercises (`examples/exercises/exercise_14_M.rs`), run small: both runtimes wake
//! every sleeper and never early, and tokio's channels spend its coop budget while futures'
//! channels do not. Counts, never speed.

use crate::output::{num, row};
use crate::support::run_example::run_ok;

#[test]
fn exercise_14_1_both_runtimes_wake_every_sleeper_never_early() {
    let out = run_ok(
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
fn exercise_14_2_tokio_channels_spend_the_coop_budget_and_futures_channels_do_not() {
    let out = run_ok("exercise_14_2", &["--messages", "10000", "--budgeted"]);
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
