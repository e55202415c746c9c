//! The book's build track (`examples/course/`): every step runs and does what its header says,
//! every wrong version shows its failure, every starting point compiles and stops at its first
//! `todo!()`, and no step is far from the one before it.
//!
//! The checks read what the steps print: the order of the tasks' lines, the lists on the poll
//! lines, and the counts in the summaries; never a time. Steps 5 to 9 fetch from a delay server
//! that each test starts on a thread of its own (`--server`). The diff between two files is a line
//! diff computed here (longest common subsequence), counting changed lines that are not blank, as
//! `diff -u a b | grep -c '^[-+][^-+]'` does.

#[path = "steps/check.rs"]
mod check;
mod support;

use support::run_example::{run, run_ok};
use taketurns::workload::{ShutdownHandle, spawn_server_thread};

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

/// Each step's starting point, in the same order.
const STARTS: [&str; 9] = [
    "start_01_poll_by_hand",
    "start_02_ready_queue",
    "start_03_wakers",
    "start_04_spawn",
    "start_05_nonblocking",
    "start_06_reactor",
    "start_07_timers",
    "start_08_fairness",
    "start_09_fetch_many",
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

/// The most lines of code (not blank, not comments) a reader writes to fill a starting point's
/// gaps: the part of a step that is left to think about.
const MAX_TO_WRITE: usize = 30;

/// The text of `examples/course/<name>.rs`.
fn source(name: &str) -> String {
    let path = format!("{}/examples/course/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// What a reader types of `examples/course/<name>.rs`: the file from `mod show;` on, without the
/// `//!` header that names the step.
fn typed(name: &str) -> String {
    let text = source(name);
    let start = text
        .find("\nmod show;\n")
        .unwrap_or_else(|| panic!("{name}: no `mod show;`"));
    text[start..].to_string()
}

/// The lines of a longest-common-subsequence diff of `a` into `b` that are removed (`false`)
/// or added (`true`).
fn diff_lines<'a>(a: &'a str, b: &'a str) -> Vec<(bool, &'a str)> {
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
    let (mut i, mut j, mut changed) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            changed.push((false, a[i]));
            i += 1;
        } else {
            changed.push((true, b[j]));
            j += 1;
        }
    }
    changed
}

/// Lines in `a` or `b` that a line diff marks as removed or added, blank lines left out.
fn changed_lines(a: &str, b: &str) -> usize {
    let changed = diff_lines(a, b);
    changed.iter().filter(|(_, l)| !l.trim().is_empty()).count()
}

/// Lines of code (not blank, not a comment) that `b` adds to `a`.
fn code_added(a: &str, b: &str) -> usize {
    let code = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with("//");
    diff_lines(a, b)
        .iter()
        .filter(|(added, l)| *added && code(l))
        .count()
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

/// The lines the tasks print (not the poll, epoll or summary lines), in order.
fn said(stdout: &str) -> Vec<&str> {
    let speakers = ["chef:", "waiter:", "guest:", "main:"];
    stdout
        .lines()
        .filter(|line| speakers.iter().any(|speaker| line.starts_with(speaker)))
        .collect()
}

/// A delay server on a thread of its own, for steps 5 to 9; `--server` and its address.
struct Server {
    /// Stops the server when the test is done.
    handle: Option<ShutdownHandle>,
    /// Its address, as the steps' `--server` flag takes it.
    addr: String,
}

impl Server {
    fn start() -> Server {
        let (addr, handle) = spawn_server_thread("127.0.0.1:0").expect("a delay server");
        Server {
            handle: Some(handle),
            addr: addr.to_string(),
        }
    }

    /// Run example `name` against this server with `args`; its standard output.
    fn run_ok(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["--server", self.addr.as_str()];
        all.extend_from_slice(args);
        run_ok(name, &all)
    }

    /// Connections the server has accepted so far.
    fn accepted(&self) -> u64 {
        self.handle.as_ref().unwrap().connections_accepted()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.shutdown();
        }
    }
}

#[test]
fn the_diff_counts_changed_lines() {
    assert_eq!(changed_lines("a\nb\nc\n", "a\nb\nc\n"), 0);
    assert_eq!(changed_lines("a\nb\nc\n", "a\nx\nc\n"), 2);
    assert_eq!(changed_lines("a\nc\n", "a\nb\n\nc\n"), 1);
    assert_eq!(changed_lines("", "a\nb\n"), 2);
    assert_eq!(code_added("a\n", "a\n// note\nb\n\n"), 1);
}

#[test]
fn each_step_is_a_small_diff_from_the_last() {
    let mut pairs: Vec<(&str, &str)> = TRACK.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.extend(WRONG);
    let too_big: Vec<String> = pairs
        .iter()
        .map(|(a, b)| (a, b, changed_lines(&typed(a), &typed(b))))
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
fn each_starting_point_leaves_a_few_dozen_lines_to_write() {
    for (start, step) in STARTS.iter().zip(TRACK) {
        let to_write = code_added(&typed(start), &typed(step));
        assert!(
            (1..=MAX_TO_WRITE).contains(&to_write),
            "{start} leaves {to_write} lines of code to write; the limit is {MAX_TO_WRITE}"
        );
    }
}

#[test]
fn every_file_opens_with_its_header_and_command() {
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
        assert!(text.contains("\nmod show;\n"), "{name}: no `mod show;`");
    }
    for (number, start) in STARTS.iter().enumerate() {
        let text = source(start);
        let step = number + 1;
        assert!(
            text.starts_with(&format!(
                "//! Build track, step {step}, your starting point"
            )),
            "{start}: no //! header"
        );
        assert!(
            text.contains(&format!("$ check {step} --bin step_{step:02}")),
            "{start}: the header does not say how to check it"
        );
    }
}

#[test]
fn every_starting_point_compiles_and_stops_at_a_todo() {
    let server = Server::start();
    for start in STARTS {
        let output = run(start, &["--server", &server.addr]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(101), "{start}: {stderr}");
        assert!(
            stderr.contains("not yet implemented: write "),
            "{start} did not stop at one of its todo!()s: {stderr}"
        );
    }
}

#[test]
fn step_01_polls_one_future_until_it_is_ready() {
    let out = run_ok("step_01_poll_by_hand", &[]);
    assert_eq!(said(&out), ["chef: chop", "chef: stir", "chef: taste"]);
    assert_eq!(out.matches("returned Pending").count(), 3, "{out}");
    assert!(out.contains("poll 4: task 1 returned Ready"), "{out}");
    assert!(
        out.contains("poll 1: running 1 | ready: [] | waiting: []"),
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--count needs a number"), "{stderr}");
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
        out.contains("poll 2: running 2 | ready: [3, 1] | waiting: []"),
        "{out}"
    );
    // No waiting list yet: the waiter is polled on every turn.
    assert_eq!(count(&out, "task 2: "), 4, "{out}");
    assert!(out.contains("task 1: 4 polls, finished: true"), "{out}");
    assert!(out.contains("task 3: 3 polls, finished: true"), "{out}");
}

#[test]
fn step_02b_lifo_starves_the_chef() {
    let out = run_ok("step_02b_lifo_starves", &["--quiet"]);
    assert!(out.contains("task 1: 0 polls, finished: false"), "{out}");
    assert!(out.contains("gave up after 20 polls"), "{out}");
    assert!(!out.contains("chef:"), "the chef ran: {out}");
}

#[test]
fn step_03_parks_the_waiter_until_the_chef_wakes_it() {
    let out = run_ok("step_03_wakers", &[]);
    assert!(
        out.contains("poll 3: running 3 | ready: [1] | waiting: [2]"),
        "{out}"
    );
    assert_eq!(
        count(&out, "task 2: "),
        2,
        "the waiter: a poll to wait, one to serve"
    );
    // Two sends wake the waiter twice; it is queued once.
    assert!(
        out.contains("poll 9: running 2 | ready: [] | waiting: []"),
        "{out}"
    );
    assert_eq!(said(&out).last(), Some(&"waiter: serves roast and wine"));
}

#[test]
fn step_03b_queues_the_waiter_twice() {
    let out = run_ok("step_03b_queued_twice", &[]);
    assert!(
        out.contains("poll 9: running 2 | ready: [2] | waiting: []"),
        "{out}"
    );
    assert!(out.contains("task 2 is queued twice"), "{out}");
}

#[test]
fn step_04_spawns_from_a_task_and_joins() {
    let out = run_ok("step_04_spawn", &[]);
    assert!(
        out.contains("poll 1: running 1 | ready: [] | waiting: []"),
        "{out}"
    );
    assert!(
        out.contains("poll 2: running 2 | ready: [3, 4] | waiting: [1]"),
        "{out}"
    );
    assert_eq!(said(&out).last(), Some(&"main: the chef is done"));
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
    assert_eq!(
        count(&out, "task 1: "),
        2,
        "main: a poll to spawn, one to finish"
    );
}

#[test]
fn step_05_polls_a_waiting_socket_again_and_again() {
    let server = Server::start();
    let out = server.run_ok("step_05_nonblocking", &["--quiet"]);
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    // With a reactor (step 6) the guest needs 4 or 5 polls; polling blind takes more.
    assert!(count(&out, "task 4: ") > 6, "{out}");
}

#[test]
fn step_06_polls_the_guest_only_when_epoll_says() {
    let server = Server::start();
    let out = server.run_ok("step_06_reactor", &[]);
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(out.contains("epoll: woke 1 by sockets"), "{out}");
    assert!((3..=6).contains(&count(&out, "task 4: ")), "{out}");
}

#[test]
fn step_07_sleeps_until_the_next_deadline() {
    let server = Server::start();
    let out = server.run_ok("step_07_timers", &[]);
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    assert!(out.contains("0 by sockets, 1 by timers"), "{out}");
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
    let server = Server::start();
    let out = server.run_ok("step_07b_busy_loop", &["--quiet"]);
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
    let server = Server::start();
    let out = server.run_ok("step_07c_timer_early", &["--quiet"]);
    assert!(out.contains("chef: the roast is out, early: true"), "{out}");
}

#[test]
fn step_08_lets_sockets_and_timers_through_a_task_that_never_waits() {
    let server = Server::start();
    let out = server.run_ok("step_08_fairness", &[]);
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(out.contains("task 5: "), "{out}");
    assert!(
        out.contains("task 5: ") && out.contains("finished: false"),
        "the radio never ends: {out}"
    );
    assert!(out.contains("end: ready: [5] | waiting: []"), "{out}");
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
    // Tick 2 polls the four tasks main spawned, and the chef, who yields, waits for tick 3.
    assert!(
        out.contains("tick 2, poll 5: running 5 | ready: [2, 4] | waiting: [1, 3]"),
        "{out}"
    );
    // The radio's turns repeat one line; it is printed once per change, not once per turn.
    let radio_alone = out
        .lines()
        .filter(|line| line.contains("running 5 | ready: [] |"));
    assert!(radio_alone.count() < 10, "{out}");
}

#[test]
fn step_09_fetches_a_thousand_sockets_at_once() {
    let server = Server::start();
    // A thousand sockets here and a thousand in the server, which runs in this process.
    taketurns::workload::raise_fd_limit(4096).expect("an open-file limit of 4096");
    let out = server.run_ok("step_09_fetch_many", &["--quiet", "--count", "1000"]);
    assert!(
        out.contains("main: 1000 of 1000 guests read a paper"),
        "{out}"
    );
    assert_eq!(server.accepted(), 1000, "{out}");
    assert!(out.contains("tasks: 1004, finished: 1003"), "{out}");
}

#[test]
fn step_09_shortens_long_lists() {
    let server = Server::start();
    let out = server.run_ok("step_09_fetch_many", &["--count", "20"]);
    assert!(out.contains(", ...,"), "{out}");
    assert!(out.contains("(22 tasks)"), "{out}");
    assert!(out.contains("main: 20 of 20 guests read a paper"), "{out}");
}
