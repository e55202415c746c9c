//! Chapter 3's exercises (`examples/exercises/exercise_03_M.rs`), run small: `compare_exchange`
//! loses no increment, and buyers taking turns on one thread oversell by exactly
//! `buyers - tickets` when a turn ends between the check and the take (the ready queue is
//! first-in, first-out, so every buyer checks before any takes), while the fix sells exactly the
//! tickets there are. Counts only, never timing.

use crate::output::{after, first_line};
use crate::support::run_example::run_ok;

/// The number right after `sold` on the line that starts with `start`.
fn sold(stdout: &str, start: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{stdout}"));
    let mut words = line.split_whitespace();
    words
        .by_ref()
        .find(|w| *w == "sold")
        .unwrap_or_else(|| panic!("no \"sold\" in {line:?}"));
    words
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after \"sold\" in {line:?}"))
}

#[test]
fn exercise_03_1_compare_exchange_counts_everything() {
    let stdout = run_ok(
        "exercise_03_1",
        &["--threads", "4", "--increments", "20000"],
    );
    let cas = first_line(&stdout, "compare_exchange:");
    assert_eq!(after(cas, "counted"), 80_000, "{stdout}");
    assert_eq!(after(cas, "lost"), 0);
    let racy = first_line(&stdout, "load then store:");
    assert!(after(racy, "counted") <= 80_000);
}

#[test]
fn exercise_03_2_check_then_take_across_a_turn_oversells_and_reserving_first_does_not() {
    let stdout = run_ok("exercise_03_2", &["--tickets", "10", "--buyers", "100"]);
    assert_eq!(sold(&stdout, "check, pay, take:"), 100, "{stdout}");
    assert_eq!(sold(&stdout, "take, then pay:"), 10, "{stdout}");
}

#[test]
fn exercise_03_2_fewer_buyers_than_tickets_cannot_oversell() {
    let stdout = run_ok("exercise_03_2", &["--tickets", "10", "--buyers", "7"]);
    assert_eq!(sold(&stdout, "check, pay, take:"), 7, "{stdout}");
    assert_eq!(sold(&stdout, "take, then pay:"), 7, "{stdout}");
}

#[test]
fn exercise_03_2_no_tickets_sells_nothing_either_way() {
    let stdout = run_ok("exercise_03_2", &["--tickets", "0", "--buyers", "5"]);
    assert_eq!(sold(&stdout, "check, pay, take:"), 0, "{stdout}");
    assert_eq!(sold(&stdout, "take, then pay:"), 0, "{stdout}");
}
