//! `examples/scan_loop.rs`, run small: the three loops (the literal scan after each task, the
//! scan when idle, and taketurns with wakers and epoll) all complete every fetch from the same
//! delay server. What is pinned is what holds by construction, not speed: a scan-loop fetch is
//! polled at least twice (its socket cannot be connected *and* answered on the first try, since
//! the server waits before answering); the epoll loop polls a fetch a handful of times however
//! long it waits; every pass over the waiting list is counted.

use crate::support::run_example::{row, run, run_ok};

/// The cells of one row: tasks, loop, done, waiting, polls, polls/fetch, checks, CPU, CPU/fetch,
/// wall.
fn cells<'a>(stdout: &'a str, tasks: &str, loop_name: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .map(str::split_whitespace)
        .map(Iterator::collect::<Vec<_>>)
        .find(|c| c.len() == 10 && c[0] == tasks && c[1] == loop_name)
        .unwrap_or_else(|| panic!("no row {tasks} {loop_name} in:\n{stdout}"))
}

#[test]
fn every_loop_completes_every_fetch() {
    let stdout = run_ok("scan_loop", &["--tasks", "10,40", "--delay-ms", "20"]);
    for tasks in ["10", "40"] {
        let n: u64 = tasks.parse().unwrap();
        for name in ["scan", "idle", "epoll"] {
            let c = cells(&stdout, tasks, name);
            let done: u64 = c[2].parse().unwrap();
            let polls: u64 = c[4].parse().unwrap();
            let checks: u64 = c[6].parse().unwrap();
            assert_eq!(done, n, "{name} {tasks}:\n{stdout}");
            assert!(polls >= 2 * n, "{name} {tasks}: {polls} polls:\n{stdout}");
            if name == "epoll" {
                // Woken only when its socket is ready: connect, request, answer; a spare wake
                // or two at most, never one poll per check of the others.
                assert!(polls <= 6 * n, "epoll {tasks}: {polls} polls:\n{stdout}");
                assert_eq!(c[3], tasks);
            } else {
                assert!(checks >= 1, "{name} {tasks}:\n{stdout}");
                let waiting: u64 = c[3].parse().unwrap();
                assert!((1..=n).contains(&waiting), "{name} {tasks}:\n{stdout}");
            }
        }
    }
    assert!(!stdout.contains("failed"), "{stdout}");
    let _ = row(&stdout, "tasks"); // the header is there
}

#[test]
fn only_runs_one_loop() {
    let stdout = run_ok(
        "scan_loop",
        &["--tasks", "5", "--delay-ms", "1", "--only", "idle"],
    );
    let _ = cells(&stdout, "5", "idle");
    let rows = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("5 "))
        .count();
    assert_eq!(rows, 1, "{stdout}");
}

/// Chapter 4, exercise 3: with a nap longer than the whole wait, a scan loop makes at most a few
/// passes while the server waits, and still completes every fetch.
#[test]
fn a_napping_scan_loop_still_finishes() {
    let stdout = run_ok(
        "scan_loop",
        &[
            "--tasks",
            "20",
            "--delay-ms",
            "50",
            "--nap-us",
            "200000",
            "--only",
            "idle",
        ],
    );
    assert!(stdout.contains("nap 200ms"), "{stdout}");
    let c = cells(&stdout, "20", "idle");
    assert_eq!(c[2], "20", "{stdout}");
    // A pass that finishes something is not followed by a nap: at most 20 of those. A pass that
    // finishes nothing is followed by 200 ms of sleep, four times the server's delay, so only a
    // server stalled for seconds could need more than a few. Without the nap, the loop makes
    // thousands of passes in 50 ms. (A generous bound on a count, not a speed target.)
    let checks: u64 = c[6].parse().unwrap();
    assert!(checks <= 40, "{checks} passes:\n{stdout}");
}

#[test]
fn zero_tasks_is_a_usage_error() {
    let output = run("scan_loop", &["--tasks", "0"]);
    assert_eq!(output.status.code(), Some(2));
}
