//! Chapter 1's exercises (`examples/exercises/exercise_01_M.rs`), run small: waiting jobs overlap
//! on one thread and computing jobs do not, and the checker tells a waiting program from a
//! computing one. Each test checks lower bounds that follow from how the work is scheduled, never
//! speed.

use std::process::Output;

use crate::output::{millis, run_succeeding};
use crate::support::run_example;

#[test]
fn exercise_01_1_waiting_jobs_overlap_on_one_thread_and_computing_jobs_do_not() {
    let out = run_succeeding("exercise_01_1", &["--jobs", "6", "--ms", "30"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wait = millis(&stdout, "waiting (a roast)");
    let cpu = millis(&stdout, "computing (a sandwich)");
    assert_eq!((wait.len(), cpu.len()), (3, 3), "{stdout}");
    // One after another, six 30 ms sleeps take at least 180 ms; on the loop, at least one sleep,
    // and (generously) less than all six in a row.
    assert!(wait[0] >= 180.0, "{stdout}");
    assert!(wait[1] >= 30.0 && wait[1] < 180.0, "{stdout}");
    assert!(wait[2] >= 30.0, "{stdout}");
    assert!(cpu.iter().all(|&t| t > 0.0), "{stdout}");
}

#[test]
fn exercise_01_2_tells_waiting_from_computing() {
    let cores = |out: &Output| -> f64 {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let at = stderr
            .find("cores busy ")
            .unwrap_or_else(|| panic!("{stderr}"));
        stderr[at + 11..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let sleeping = run_succeeding("exercise_01_2", &["sleep", "0.3"]);
    assert!(
        String::from_utf8_lossy(&sleeping.stderr).contains("I/O-bound"),
        "{}",
        String::from_utf8_lossy(&sleeping.stderr)
    );
    let busy = run_succeeding(
        "exercise_01_2",
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
        ],
    );
    assert!(
        cores(&busy) > 10.0 * cores(&sleeping).max(0.005),
        "a busy shell loop keeps a core far busier than sleep\n{}\n{}",
        String::from_utf8_lossy(&sleeping.stderr),
        String::from_utf8_lossy(&busy.stderr)
    );
    let missing = run_example::run("exercise_01_2", &["no-such-program-here"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("could not run"));
}
