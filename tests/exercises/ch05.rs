//! Chapter 5's exercises (`examples/exercises/exercise_05_M.rs`), each a variant of build-track
//! step 3: the order of the polls, the polls per task, and which tasks finish.

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
    assert_eq!(summary(&out, 1), "task 1: 4 polls, finished: true");
    assert!(
        !out.contains("waiting: [1"),
        "the scan empties the waiting list before every tick line:\n{out}"
    );
}

#[test]
fn exercise_05_2_forgetting_rewoken_leaves_every_yielding_task_waiting() {
    let out = run_ok("exercise_05_2", &[]);
    assert_eq!(said(&out), ["chef: chop", "waiter: waits", "guest: sits"]);
    assert!(
        out.contains("no task is ready; still waiting: [0, 1, 2]"),
        "{out}"
    );
    for task in 0..3 {
        assert_eq!(
            summary(&out, task),
            format!("task {task}: 1 polls, finished: false")
        );
    }
}

#[test]
fn exercise_05_3_a_budget_groups_the_same_polls_into_five_ticks() {
    let out = run_ok("exercise_05_3", &[]);
    assert_eq!(said(&out), DINNER);
    let ticks: Vec<u64> = out
        .lines()
        .filter_map(|line| line.strip_prefix("tick "))
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ticks, [1, 1, 1, 2, 2, 3, 3, 4, 5]);
    assert_eq!(summary(&out, 1), "task 1: 2 polls, finished: true");
}
