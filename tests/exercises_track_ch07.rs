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
        .find_map(|l| l.strip_prefix("guest: ")?.strip_suffix(" reads of at most 64 bytes"))
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
