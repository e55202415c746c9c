//! The solutions of chapter 7's exercises that change the small loop of the build track
//! (`examples/exercises/exercise_07_1.rs`, a variant of `examples/step_06_reactor.rs`), run as
//! binaries against the delay server they start on a helper thread. They check what was read and
//! whether the loop finished, never speed.

#![cfg(feature = "workload")] // the solutions fetch from the crate's delay server

mod run_example;

use run_example::{run, run_ok};

#[test]
fn exercise_07_1_reading_until_would_block_gets_the_whole_answer() {
    let out = run_ok("exercise_07_1", &["--quiet"]);
    assert!(
        out.contains("guest: reads the paper: HTTP/1.1 200 OK, 1084 bytes"),
        "{out}"
    );
    // 1,084 bytes in chunks of at most 64 need at least 17 reads, and one more for the end.
    let reads: u64 = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("guest: ")?
                .strip_suffix(" reads of at most 64 bytes")
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no read count in:\n{out}"));
    assert!(reads >= 18, "{out}");
    assert!(out.contains("main returned \"dinner is over\""), "{out}");
}

#[test]
fn exercise_07_1_one_read_per_event_waits_for_an_edge_that_never_comes() {
    let output = run(
        "exercise_07_1",
        &["--quiet", "--one-read-per-event", "--give-up-ms", "1000"],
    );
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("guest: has 64 bytes, waits for the next event"),
        "{out}"
    );
    assert!(out.contains("giving up"), "{out}");
    assert!(!out.contains("reads the paper"), "{out}");
    let guest = out.lines().find(|l| l.starts_with("task 3: "));
    assert!(
        guest.is_some_and(|l| l.ends_with("finished: false")),
        "the guest never finishes:\n{out}"
    );
}

#[test]
fn exercise_07_1_rejects_a_bad_give_up() {
    let output = run("exercise_07_1", &["--give-up-ms", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--give-up-ms wants"), "{err}");
}

/// The `ADD` and `DEL` counts of the line `epoll_ctl ADD: a, DEL: d`.
fn epoll_ctl_counts(out: &str) -> (u64, u64) {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("epoll_ctl ADD: "))
        .unwrap_or_else(|| panic!("no epoll_ctl line in:\n{out}"));
    let (adds, dels) = line
        .split_once(", DEL: ")
        .unwrap_or_else(|| panic!("bad epoll_ctl line: {line}"));
    (adds.parse().unwrap(), dels.parse().unwrap())
}

#[test]
fn exercise_07_2_closing_is_enough_and_deregister_is_one_more_call_per_socket() {
    let out = run_ok("exercise_07_2", &["--quiet", "--guests", "20"]);
    assert!(out.contains("guests: 20, papers read: 20"), "{out}");
    assert_eq!(epoll_ctl_counts(&out), (20, 0), "{out}");

    let out = run_ok(
        "exercise_07_2",
        &["--quiet", "--guests", "20", "--deregister"],
    );
    assert!(out.contains("guests: 20, papers read: 20"), "{out}");
    assert_eq!(epoll_ctl_counts(&out), (20, 20), "{out}");
}

#[test]
fn exercise_07_2_rejects_too_many_guests() {
    let output = run("exercise_07_2", &["--guests", "1001"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--guests wants a number from 1 to 1000"),
        "{err}"
    );
}
