//! Chapter 13's exercises (`examples/exercises/exercise_13_M.rs`), run as a reader would run them,
//! with small parameters. No test asserts a speed: only that each program measured what it says,
//! in the shape it says.

use std::process::Output;

use crate::support::run_example::run;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every number on the line that starts with `label`, in order.
fn numbers(text: &str, label: &str) -> Vec<f64> {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{text}"));
    line[label.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn exercise_13_1_times_zeroing_and_both_reads() {
    let out = run("exercise_13_1", &["--iterations", "2000"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{:?}", out.stderr);
    for label in [
        "fresh zeroed 4 KiB array:",
        "read that would block:",
        "read of 1 KiB waiting:",
    ] {
        let ns = numbers(&text, label)[0];
        assert!(ns > 0.0, "{label} measured nothing:\n{text}");
    }
    assert!(text.contains("zeroing is"), "{text}");
}

#[test]
fn exercise_13_1_refuses_zero_iterations() {
    let out = run("exercise_13_1", &["--iterations", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--iterations"));
}

#[test]
fn exercise_13_2_compares_both_structures_and_checks_the_order() {
    let out = run("exercise_13_2", &["--timers", "3000", "--rounds", "1"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{:?}", out.stderr);
    for label in [
        "timeouts (insert, refresh, cancel)",
        "sleeps, deadlines in creation order",
        "sleeps, deadlines scrambled",
    ] {
        let ns = numbers(&text, label);
        assert_eq!(ns.len(), 2, "btree and heap on {label:?}:\n{text}");
        assert!(ns.iter().all(|&x| x > 0.0), "{text}");
    }
    assert!(text.contains("in order: yes"), "{text}");
}

#[test]
fn exercise_13_3_prints_a_spread_in_order() {
    let out = run("exercise_13_3", &["--batches", "8", "--batch-size", "500"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{:?}", out.stderr);
    let sorted = numbers(&text, "ns per task, sorted:");
    assert_eq!(sorted.len(), 8, "{text}");
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "{text}");
    let summary = numbers(&text, "quickest");
    let (quickest, median, mean, slowest) = (summary[0], summary[1], summary[2], summary[3]);
    assert!(quickest <= median && median <= slowest, "{text}");
    assert!(quickest <= mean && mean <= slowest, "{text}");
    assert!(text.contains("outliers"), "{text}");
}
