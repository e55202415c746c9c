//! Chapter 5's exercises (`examples/exercises/exercise_05_M.rs`), each a variant of build-track
//! step 3 (`examples/course/step_03_wakers.rs`): the order of the polls, the polls per task, and
//! which tasks finish.

use crate::support::run_example::run_ok;

/// The summary line of `task`: `task N: P polls, finished: B`.
fn summary(out: &str, task: usize) -> &str {
    let prefix = format!("task {task}: ");
    out.lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no summary for task {task} in:\n{out}"))
}

/// What the tasks said, in order (the lines that are not the loop's).
fn said(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|line| {
            ["chef:", "waiter:", "guest:"]
                .iter()
                .any(|who| line.starts_with(who))
        })
        .collect()
}

/// The order in which step 3 runs the dinner; every variant that finishes keeps it.
const DINNER: [&str; 7] = [
    "chef: chop",
    "waiter: waits",
    "guest: sits",
    "chef: stir",
    "guest: reads",
    "chef: taste",
    "waiter: serves roast and wine",
];

#[test]
fn exercise_05_1_scanning_the_waiting_list_polls_the_waiter_as_often_as_step_2() {
    let out = run_ok("exercise_05_1", &[]);
    assert_eq!(said(&out), DINNER);
    assert_eq!(summary(&out, 2), "task 2: 4 polls, finished: true");
    let polls: Vec<&str> = out.lines().filter(|l| l.starts_with("poll ")).collect();
    assert_eq!(polls.len(), 11, "{out}");
    assert!(
        polls.iter().all(|l| l.ends_with("| waiting: []")),
        "the scan empties the waiting list before every poll:\n{out}"
    );
}

#[test]
fn exercise_05_2_forgetting_rewoken_leaves_every_yielding_task_waiting() {
    let out = run_ok("exercise_05_2", &[]);
    assert_eq!(said(&out), ["chef: chop", "waiter: waits", "guest: sits"]);
    assert!(out.contains("end: ready: [] | waiting: [1, 2, 3]"), "{out}");
    for task in 1..=3 {
        assert_eq!(
            summary(&out, task),
            format!("task {task}: 1 polls, finished: false")
        );
    }
}

#[test]
fn exercise_05_3_ticks_group_the_same_polls_into_five_ticks() {
    let out = run_ok("exercise_05_3", &[]);
    assert_eq!(said(&out), DINNER);
    // `tick T, poll N: ...`: the ticks, and the polls numbered in order as in step 3.
    let (ticks, polls): (Vec<u64>, Vec<u64>) = out
        .lines()
        .filter_map(|line| line.strip_prefix("tick "))
        .map(|rest| {
            let (tick, rest) = rest.split_once(", poll ").expect("tick T, poll N:");
            let poll = rest.split(':').next().unwrap();
            (tick.parse::<u64>().unwrap(), poll.parse::<u64>().unwrap())
        })
        .unzip();
    assert_eq!(ticks, [1, 1, 1, 2, 2, 3, 3, 4, 5], "{out}");
    assert_eq!(polls, (1..=9).collect::<Vec<u64>>(), "{out}");
    assert!(
        out.contains("tick 5, poll 9: running 2 | ready: [] | waiting: []"),
        "{out}"
    );
    assert_eq!(summary(&out, 2), "task 2: 2 polls, finished: true");
}
