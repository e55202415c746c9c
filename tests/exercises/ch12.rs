//! Chapter 12's exercises, run with small parameters: `examples/exercises/exercise_12_1.rs` (find
//! the blocker, slice it, check the timers more often) and `examples/exercises/exercise_12_2.rs`
//! (time in the ready queue against the number of tasks). Orders between measured durations of
//! the same run, never a speed.

use std::time::Duration;

use crate::support::run_example::run_ok;

/// A duration as `Debug` prints it: `850ns`, `12.3µs`, `4.5ms`, `1.2s`.
fn duration(text: &str) -> Duration {
    let text = text.trim().trim_end_matches(',');
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| panic!("no unit in {text:?}"));
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap();
    let seconds = match unit {
        "ns" => number / 1e9,
        "µs" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        other => panic!("unit {other:?} in {text:?}"),
    };
    Duration::from_secs_f64(seconds)
}

/// The two durations on the summary line that starts with `label`.
fn summary(stdout: &str, label: &str) -> (Duration, Duration) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{stdout}"));
    let longest = line.split("longest poll").nth(1).unwrap();
    let longest = longest.split(',').next().unwrap();
    let late = line.split("late by").nth(1).unwrap();
    (duration(longest), duration(late))
}

#[test]
fn slicing_the_blocker_shortens_its_polls_and_a_short_interval_keeps_timers_on_time() {
    let stdout = run_ok("exercise_12_1", &["--work-ms", "100", "--slice-ms", "1"]);
    let (one_poll_longest, one_poll_late) = summary(&stdout, "one poll:");
    let (sliced_longest, _) = summary(&stdout, "sliced:  ");
    let (_, checked_late) = summary(&stdout, "sliced, interval 1:");
    // All the work in one poll: the poll lasts at least the work, and the reporter's first sleep
    // (due 5 ms in) ends after it.
    assert!(one_poll_longest >= Duration::from_millis(100), "{stdout}");
    assert!(one_poll_late >= Duration::from_millis(90), "{stdout}");
    // Sliced: no poll holds the whole work (a slice preempted on a busy machine may still be
    // long, so the bound is the one long poll, not a number of milliseconds).
    assert!(sliced_longest < one_poll_longest, "{stdout}");
    // Sliced and checked after every poll: far less late than behind the one long poll.
    assert!(checked_late < one_poll_late, "{stdout}");
    // The stats tables named the cruncher.
    assert!(stdout.matches("cruncher").count() >= 3, "{stdout}");
}

#[test]
fn the_wait_in_the_ready_queue_grows_with_the_number_of_ready_tasks() {
    let stdout = run_ok(
        "exercise_12_2",
        &["--tasks", "10", "--tasks", "200", "--rounds", "10"],
    );
    let median = |tasks: &str| {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(tasks))
            .unwrap_or_else(|| panic!("no row for {tasks} in:\n{stdout}"));
        duration(row.split_whitespace().nth(1).unwrap())
    };
    // A median over 2,000 waits is robust to a few preemptions.
    assert!(median("200") > median("10"), "{stdout}");
}
