//! The book's build track (`examples/step_*.rs`): every step runs and does what its header says,
//! every wrong version shows its failure, and no step is more than 120 changed lines away from
//! the one before it.
//!
//! The checks read what the steps print: the order of the tasks' lines, the lists on the tick
//! lines, and the counts in the summaries; never a time. The diff between two steps is a line
//! diff computed here (longest common subsequence), counting changed lines that are not blank,
//! as `diff -u a b | grep -c '^[-+][^-+]'` does.

mod run_example;

use run_example::{run, run_ok};

/// The build track in order; each step is diffed against the one before it.
const TRACK: [&str; 9] = [
    "step_01_poll_by_hand",
    "step_02_ready_queue",
    "step_03_wakers",
    "step_04_spawn",
    "step_05_nonblocking",
    "step_06_reactor",
    "step_07_timers",
    "step_08_fairness",
    "step_09_fetch_many",
];

/// Each wrong version, with the step it varies.
const WRONG: [(&str, &str); 4] = [
    ("step_02_ready_queue", "step_02b_lifo_starves"),
    ("step_03_wakers", "step_03b_queued_twice"),
    ("step_07_timers", "step_07b_busy_loop"),
    ("step_07_timers", "step_07c_timer_early"),
];

/// The most changed lines allowed between a step and the one it grows from.
const MAX_CHANGED: usize = 120;

/// The text of `examples/<name>.rs`.
fn source(name: &str) -> String {
    let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Lines in `a` or `b` that a line diff marks as removed or added, blank lines left out.
fn changed_lines(a: &str, b: &str) -> usize {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut changed) = (0, 0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            changed += usize::from(!a[i].trim().is_empty());
            i += 1;
        } else {
            changed += usize::from(!b[j].trim().is_empty());
            j += 1;
        }
    }
    changed
}

/// The number after `label` on the line that starts with `label`.
fn count(stdout: &str, label: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"));
    let digits: String = line[label.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

/// The lines the tasks print (not the tick, epoll or summary lines), in order.
fn said(stdout: &str) -> Vec<&str> {
    let speakers = ["chef:", "waiter:", "guest:", "main:"];
    stdout
        .lines()
        .filter(|line| speakers.iter().any(|speaker| line.starts_with(speaker)))
        .collect()
}

#[test]
fn the_diff_counts_changed_lines() {
    assert_eq!(changed_lines("a\nb\nc\n", "a\nb\nc\n"), 0);
    assert_eq!(changed_lines("a\nb\nc\n", "a\nx\nc\n"), 2);
    assert_eq!(changed_lines("a\nc\n", "a\nb\n\nc\n"), 1);
    assert_eq!(changed_lines("", "a\nb\n"), 2);
}

#[test]
fn each_step_is_a_small_diff_from_the_last() {
    let mut pairs: Vec<(&str, &str)> = TRACK.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.extend(WRONG);
    let too_big: Vec<String> = pairs
        .iter()
        .map(|(a, b)| (a, b, changed_lines(&source(a), &source(b))))
        .filter(|(_, _, changed)| *changed > MAX_CHANGED)
        .map(|(a, b, changed)| format!("{a} -> {b}: {changed} changed lines"))
        .collect();
    assert!(
        too_big.is_empty(),
        "steps more than {MAX_CHANGED} changed lines apart:\n{}",
        too_big.join("\n")
    );
}

#[test]
fn every_step_file_opens_with_its_header_and_command() {
    for name in TRACK.iter().chain(WRONG.iter().map(|(_, wrong)| wrong)) {
        let text = source(name);
        assert!(
            text.starts_with("//! Build track, step "),
            "{name}: no //! header"
        );
        assert!(
            text.contains(&format!("$ cargo run --example {name}")),
            "{name}: the header does not say how to run it"
        );
    }
}

#[test]
fn step_01_polls_one_future_until_it_is_ready() {
    let out = run_ok("step_01_poll_by_hand", &[]);
    assert_eq!(said(&out), ["chef: chop", "chef: stir", "chef: taste"]);
    assert_eq!(out.matches("returned Pending").count(), 3, "{out}");
    assert!(out.contains("tick 4: task 0 returned Ready"), "{out}");
    assert!(
        out.contains("tick 1: running 0 | ready: [] | waiting: []"),
        "{out}"
    );
}

#[test]
fn a_bad_flag_is_an_error_with_exit_code_2() {
    let output = run("step_01_poll_by_hand", &["--fast"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown argument \"--fast\""), "{stderr}");
    let output = run("step_09_fetch_many", &["--count", "many"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn step_02_takes_turns_first_in_first_out() {
    let out = run_ok("step_02_ready_queue", &[]);
    let expected = [
        "chef: chop",
        "waiter: waits",
        "guest: sits",
        "chef: stir",
        "guest: reads",
        "chef: taste",
        "waiter: serves roast and wine",
    ];
    assert_eq!(said(&out), expected);
    assert!(
        out.contains("tick 2: running 1 | ready: [2, 0] | waiting: []"),
        "{out}"
    );
    // No waiting list yet: the waiter is polled on every turn.
    assert_eq!(count(&out, "task 1: "), 4, "{out}");
    assert!(out.contains("task 0: 4 polls, finished: true"), "{out}");
    assert!(out.contains("task 2: 3 polls, finished: true"), "{out}");
}

#[test]
fn step_02b_lifo_starves_the_chef() {
    let out = run_ok("step_02b_lifo_starves", &["--quiet"]);
    assert!(out.contains("task 0: 0 polls, finished: false"), "{out}");
    assert!(out.contains("gave up after 20 ticks"), "{out}");
    assert!(!out.contains("chef:"), "the chef ran: {out}");
}

#[test]
fn step_03_parks_the_waiter_until_the_chef_wakes_it() {
    let out = run_ok("step_03_wakers", &[]);
    assert!(
        out.contains("tick 3: running 2 | ready: [0] | waiting: [1]"),
        "{out}"
    );
    assert_eq!(
        count(&out, "task 1: "),
        2,
        "the waiter: a poll to wait, one to serve"
    );
    // Two sends wake the waiter twice; it is queued once.
    assert!(
        out.contains("tick 9: running 1 | ready: [] | waiting: []"),
        "{out}"
    );
    assert_eq!(said(&out).last(), Some(&"waiter: serves roast and wine"));
}

#[test]
fn step_03b_queues_the_waiter_twice() {
    let out = run_ok("step_03b_queued_twice", &[]);
    assert!(
        out.contains("tick 9: running 1 | ready: [1] | waiting: []"),
        "{out}"
    );
    assert!(out.contains("task 1 is queued twice"), "{out}");
}

#[test]
fn step_04_spawns_from_a_task_and_joins() {
    let out = run_ok("step_04_spawn", &[]);
    assert!(
        out.contains("tick 1: running 0 | ready: [] | waiting: []"),
        "{out}"
    );
    assert!(
        out.contains("tick 2: running 1 | ready: [2, 3] | waiting: [0]"),
        "{out}"
    );
    assert_eq!(said(&out).last(), Some(&"main: the chef is done"));
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
    assert_eq!(
        count(&out, "task 0: "),
        2,
        "main: a poll to spawn, one to finish"
    );
}

#[test]
fn step_05_polls_a_waiting_socket_again_and_again() {
    let out = run_ok("step_05_nonblocking", &["--quiet"]);
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    // With a reactor (step 6) the guest needs 4 polls; polling blind takes more.
    assert!(count(&out, "task 3: ") > 4, "{out}");
}

#[test]
fn step_06_polls_the_guest_only_when_epoll_says() {
    let out = run_ok("step_06_reactor", &[]);
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(out.contains("epoll: "), "{out}");
    assert!(count(&out, "task 3: ") <= 6, "{out}");
}

#[test]
fn step_07_sleeps_until_the_next_deadline() {
    let out = run_ok("step_07_timers", &[]);
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    assert!(out.contains("1 timers fired"), "{out}");
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(
        count(&out, "epoll waits that found nothing: ") <= 2,
        "{out}"
    );
}

#[test]
fn step_07b_spins_while_it_waits() {
    let out = run_ok("step_07b_busy_loop", &["--quiet"]);
    assert!(
        count(&out, "epoll waits that found nothing: ") > 100,
        "{out}"
    );
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
}

#[test]
fn step_07c_fires_the_roast_early() {
    let out = run_ok("step_07c_timer_early", &["--quiet"]);
    assert!(out.contains("chef: the roast is out, early: true"), "{out}");
}

#[test]
fn step_08_lets_sockets_and_timers_through_a_task_that_never_waits() {
    let out = run_ok("step_08_fairness", &[]);
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(out.contains("task 4: "), "{out}");
    assert!(
        out.contains("finished: false"),
        "the radio never ends: {out}"
    );
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
    // The radio's turns repeat one line; it is printed once per change, not once per turn.
    let radio_alone = out
        .lines()
        .filter(|line| line.contains("running 4 | ready: [] |"));
    assert!(radio_alone.count() < 10, "{out}");
}

#[test]
fn step_09_fetches_a_thousand_sockets_at_once() {
    let out = run_ok("step_09_fetch_many", &["--quiet", "--count", "1000"]);
    assert!(
        out.contains("main: 1000 of 1000 guests read a paper"),
        "{out}"
    );
    assert!(
        out.contains("the server accepted 1000 connections"),
        "{out}"
    );
    assert!(out.contains("tasks: 1004, finished: 1003"), "{out}");
}

#[test]
fn step_09_shortens_long_lists() {
    let out = run_ok("step_09_fetch_many", &["--count", "20"]);
    assert!(out.contains(", ...,"), "{out}");
    assert!(
        out.contains("(20 tasks)") || out.contains("tasks)"),
        "{out}"
    );
    assert!(out.contains("main: 20 of 20 guests read a paper"), "{out}");
}
