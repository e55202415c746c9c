//! `examples/blocking_the_loop.rs`, run small: the facts that hold on any machine, no speed.
//!
//! On one thread, a computation with no `.await` keeps every timer from firing until it ends, so
//! the inline heartbeat is late by at least the work's duration minus one period, and never wakes
//! during the work. In `spawn_blocking` the loop is free: the heartbeat wakes during the work, and
//! the result comes back through one remote wake.

use crate::support::run_example::{run, run_ok};

/// One table row: (work ms, worst lateness ms, beats during work, missed, remote wakes).
fn row(stdout: &str, name: &str) -> (f64, f64, u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{stdout}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    // name, work, "ms", worst, "ms", during, missed, remote
    assert_eq!(cells.len(), 8, "{line}");
    (
        cells[1].parse().unwrap(),
        cells[3].parse().unwrap(),
        cells[5].parse().unwrap(),
        cells[6].parse().unwrap(),
        cells[7].parse().unwrap(),
    )
}

#[test]
fn inline_work_stalls_the_heartbeat_and_spawn_blocking_does_not() {
    let period = 5.0;
    let out = run_ok(
        "blocking_the_loop",
        &["--work-ms", "80", "--period-ms", "5"],
    );

    let (work, worst, during, missed, remote) = row(&out, "inline");
    assert!(work > 0.0, "{out}");
    // The heartbeat's next deadline was at most one period after the work began, and it could
    // not wake before the work ended (0.2 ms for the rounding of the printed numbers).
    assert!(
        worst >= work - period - 0.2,
        "inline: worst lateness {worst} ms < work {work} ms - period {period} ms\n{out}"
    );
    assert_eq!(
        during, 0,
        "nothing runs on the loop during inline work\n{out}"
    );
    assert!(
        missed as f64 >= (work / period).floor() - 2.0, // -1, and one for rounding
        "a stall of {work} ms skips most of its {period} ms beats\n{out}"
    );
    assert_eq!(remote, 0, "inline work involves no other thread\n{out}");

    let (work, _worst, during, _missed, remote) = row(&out, "spawn_blocking");
    assert!(work > 0.0, "{out}");
    assert!(
        during >= 1,
        "the heartbeat keeps beating while a helper thread computes\n{out}"
    );
    assert!(
        remote >= 1,
        "the helper thread's wake is a remote wake\n{out}"
    );
}

#[test]
fn a_bad_flag_is_refused_with_a_message() {
    let output = run("blocking_the_loop", &["--period-ms", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--period-ms"));
}
