//! `examples/combinators.rs`, run small: what chapter 9 claims about join, select and
//! cancellation by drop must show in its output.
//!
//! The example's binary is run with short sleeps (an integration test cannot import an
//! example's functions). The checks are on counts the runtime reports (tasks, waiting entries,
//! timers, sockets) and on one timing claim with a wide margin: three sleeps joined take about
//! the longest of them, not the sum, so the joined run must beat the sequential one.

use std::sync::OnceLock;
use std::time::Duration;

use crate::support::run_example::{self, text};

/// Run the example with `args`; its exit code, standard output and standard error.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = run_example::run("combinators", args);
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// The first line of `stdout` that contains `needle`.
fn line<'a>(stdout: &'a str, needle: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stdout}"))
}

/// The duration printed first on `line`, such as `600.9ms` or `1.2s`.
fn first_duration(line: &str) -> Duration {
    let seconds = line
        .split_whitespace()
        .map(|w| w.trim_end_matches([';', ':', ',', ')']))
        .find_map(|w| {
            let (number, scale) = if let Some(n) = w.strip_suffix("ms") {
                (n, 1e-3)
            } else if let Some(n) = w.strip_suffix("µs") {
                (n, 1e-6)
            } else {
                (w.strip_suffix('s')?, 1.0)
            };
            number.parse::<f64>().ok().map(|n| n * scale)
        })
        .unwrap_or_else(|| panic!("no duration on {line:?}"));
    Duration::from_secs_f64(seconds)
}

/// The number that follows `label` on `line`.
fn number_after(line: &str, label: &str) -> u64 {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} on {line:?}"))
        + label.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} on {line:?}"))
}

fn small_run() -> &'static str {
    static OUT: OnceLock<String> = OnceLock::new();
    OUT.get_or_init(|| {
        let (code, stdout, stderr) = run(&[
            "--sleeps-ms",
            "100,200,300",
            "--fetch-delay-ms",
            "5000",
            "--deadline-ms",
            "30",
        ]);
        assert_eq!(
            code, 0,
            "the example failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        stdout
    })
}

#[test]
fn joined_sleeps_take_the_longest_not_the_sum() {
    let out = small_run();
    let sequential = first_duration(line(out, "one after another:"));
    let joined = first_duration(line(out, "futures::join!:"));
    // Never early: each sleep is a lower bound.
    assert!(sequential >= Duration::from_millis(600), "{sequential:?}");
    assert!(joined >= Duration::from_millis(300), "{joined:?}");
    // 600 ms of sleeps against 300 ms: a margin of 300 ms for a busy machine.
    assert!(
        joined < sequential,
        "joined {joined:?}, sequential {sequential:?}"
    );
}

#[test]
fn hand_written_join_polls_only_unfinished_children() {
    let out = small_run();
    let l = line(out, "Join2 finished");
    assert!(first_duration(l) >= Duration::from_millis(200), "{l}");
    let outer = number_after(l, "polled ");
    let short = number_after(l, "sleep 100ms ");
    let long = number_after(l, "sleep 200ms ");
    // The first poll, then one per wake. The short sleep is not polled after it finished, and
    // neither child is polled more often than the join itself.
    assert!(outer >= 2, "{l}");
    assert!(short <= long && long <= outer, "{l}");
}

#[test]
fn join_is_one_task_and_spawn_is_two() {
    let out = small_run();
    assert!(out.contains("join:  ready [] | waiting [#1]\n"), "{out}");
    assert!(out.contains("spawn: ready [] | waiting [#1 #2]\n"), "{out}");
    let after_join = &out[out.find("join:  ready").unwrap()..];
    assert_eq!(number_after(after_join, "timers pending "), 2);
    // One task: polled to park, then once per wake (both timers usually fire in one look, but
    // deadlines microseconds apart may straddle one). Two tasks: polled twice each, always.
    let joined = line(out, ", 1 task, ");
    assert!(
        (2..=3).contains(&number_after(joined, "task, ")),
        "{joined}"
    );
    assert!(out.contains(", 2 tasks, 4 polls\n"), "{out}");
}

#[test]
fn the_loser_of_a_select_is_dropped_with_its_socket_and_timer() {
    let out = small_run();
    let won = line(out, "the deadline won after");
    assert!(first_duration(won) >= Duration::from_millis(30), "{won}");
    // While the loser is still alive, its socket and its own 30 s timeout are registered.
    assert_eq!(number_after(won, "sockets registered "), 1, "{won}");
    assert_eq!(number_after(won, "timers pending "), 1, "{won}");
    let dropped = line(out, "drop:  the fetch dropped");
    let after = line(out, "after: sockets registered");
    assert_eq!(number_after(after, "sockets registered "), 0, "{after}");
    assert_eq!(number_after(after, "timers pending "), 0, "{after}");
    // The destructor ran before `drop(loser)` returned: its line comes first.
    assert!(out.find(dropped).unwrap() < out.find(after).unwrap());
    assert!(
        out.contains("drop:  the fetch inside timeout dropped"),
        "{out}"
    );
    assert!(
        out.contains("timeout(..) returned Err(Elapsed(()))"),
        "{out}"
    );
    let end = line(out, "runtime at the end");
    assert_eq!(number_after(end, "sockets registered "), 0, "{end}");
    assert_eq!(number_after(end, "timers pending "), 0, "{end}");
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let (code, _, stderr) = run(&["--sleeps-ms", "1,2"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("three durations"), "{stderr}");
    let (code, _, stderr) = run(&["--deadline-ms", "100", "--fetch-delay-ms", "50"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("must be shorter"), "{stderr}");
}
