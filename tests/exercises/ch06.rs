//! Chapter 6's exercises (`examples/exercises/exercise_06_M.rs`): a waker stored once per waiter,
//! and two variants of build-track step 4 (`examples/course/step_04_spawn.rs`), a loop that sleeps
//! until another thread wakes it and `abort`. They check orders and counts, never speed.

use crate::output::get;
use crate::support::run_example::{run, run_ok};

/// The lines of `out` that the tasks say (not the `poll` lines).
fn said(out: &str) -> Vec<&str> {
    out.lines().filter(|l| !l.starts_with("poll ")).collect()
}

#[test]
fn exercise_06_1_every_waiter_is_woken_and_stored_once() {
    let out = run_ok("exercise_06_1", &["--waiters", "5"]);
    let one = "one waker:";
    assert_eq!(get::<u64>(&out, one, "stored"), 1);
    assert_eq!(get::<u64>(&out, one, "woken"), 1);
    assert_eq!(get::<u64>(&out, one, "still_waiting"), 4);
    let many = "many wakers:";
    // Each waiter polled twice, and is stored once.
    assert_eq!(get::<u64>(&out, many, "stored"), 5);
    assert_eq!(get::<u64>(&out, many, "woken"), 5);
    assert_eq!(get::<u64>(&out, many, "still_waiting"), 0);
}

#[test]
fn exercise_06_2_a_loop_that_sleeps_gets_the_wake_from_another_thread() {
    let out = run_ok("exercise_06_2", &["--delay-ms", "200"]);
    let said = said(&out);
    let sent = said.iter().position(|l| l.contains("sends the wine"));
    let served = said
        .iter()
        .position(|l| *l == "waiter: serves roast and wine");
    assert!(
        matches!((sent, served), (Some(s), Some(v)) if s < v),
        "the wine is sent, then served:\n{out}"
    );
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
    // The loop sleeps at most once: when only the wine is missing.
    let slept = out
        .lines()
        .find_map(|l| l.strip_prefix("times the loop slept: "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(matches!(slept, Some(0 | 1)), "{out}");
}

#[test]
fn exercise_06_2_a_loop_that_stops_when_idle_never_finishes_main() {
    // The wine comes long after the loop has run out of ready tasks.
    let output = run("exercise_06_2", &["--stop-when-idle", "--delay-ms", "5000"]);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("end: ready: [] | waiting: [3, 1]"), "{out}");
    assert!(!out.contains("serves"), "{out}");
    assert!(err.contains("main never finished"), "{err}");
}

#[test]
fn exercise_06_2_rejects_a_bad_delay() {
    let output = run("exercise_06_2", &["--delay-ms", "soon"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--delay-ms wants a number"), "{err}");
}

#[test]
fn exercise_06_3_abort_wakes_the_waiting_task_and_drops_it() {
    let out = run_ok("exercise_06_3", &[]);
    assert!(
        out.contains("main: aborts the late guest\npoll 13: running 5 | ready: [] | waiting: [1]"),
        "the aborted task leaves the waiting list for one last poll:\n{out}"
    );
    assert!(
        out.contains("main: the late guest's handle gives None"),
        "{out}"
    );
    assert!(
        out.contains("task 5: 2 polls, finished: true"),
        "one poll to wait, one to be dropped:\n{out}"
    );
    assert!(
        !out.contains("no taxi came"),
        "the aborted future is not polled again:\n{out}"
    );
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
}

#[test]
fn exercise_06_3_without_abort_main_waits_for_ever() {
    let output = run("exercise_06_3", &["--no-abort"]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("end: ready: [] | waiting: [5, 1]"), "{out}");
    assert!(out.contains("task 5: 1 polls, finished: false"), "{out}");
}
