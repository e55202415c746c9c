//! Chapter 8's exercises (`examples/exercises/exercise_08_M.rs`): each is a variant of build-track
//! step 7 (`examples/course/step_07_timers.rs`), run against a delay server the test starts, and
//! each test reads what it prints: which lines come in which order, and counts that hold on any
//! machine. No test asserts a speed or a time.

use crate::delay_server::DelayServer;

/// Where `line` first appears in `out`, a line of its own; fails the test if it is missing.
fn position(out: &str, line: &str) -> usize {
    out.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?} in:\n{out}"))
}

/// The number at the end of the line that starts with `label`.
fn count_after(out: &str, label: &str) -> u64 {
    let line = out
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting {label:?} in:\n{out}"));
    line[label.len()..]
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn exercise_08_1_a_heap_keeps_cancelled_keys_until_a_rebuild() {
    let server = DelayServer::start();
    let out = server.run_ok("exercise_08_1", &["--quiet"]);
    assert!(
        out.contains("chef: 1000 timers set and cancelled; the heap holds 1000 keys, 0 live"),
        "{out}"
    );
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    // The dead keys left at the top after the roast must not make the loop wait for them.
    assert!(out.contains("main returned \"dinner is over\""), "{out}");

    let out = server.run_ok("exercise_08_1", &["--quiet", "--rebuild"]);
    // Rebuilt every time the heap passes 100 keys, all dead: 1000 = 9 × 101 + 91.
    let left = 1000 % 101;
    assert!(
        out.contains(&format!(
            "chef: 1000 timers set and cancelled; the heap holds {left} keys, 0 live"
        )),
        "{out}"
    );
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
}

#[test]
fn exercise_08_2_a_radio_in_step_7_holds_back_sockets_and_timers() {
    let out = DelayServer::start().run_ok("exercise_08_2", &["--quiet"]);
    let radio_off = position(&out, "radio: off after 5000 songs");
    // Step 7 looks at epoll and the timers only when no task is ready: nothing gets through
    // while the radio plays, however early the paper and the deadline came.
    let paper = position(&out, "guest: reads the paper: HTTP/1.1 200 OK, 1084 bytes");
    let roast = position(&out, "chef: the roast is out, early: false");
    assert!(radio_off < paper && radio_off < roast, "{out}");
    // One poll per song, and one more to finish.
    assert!(out.contains("task 5: 5001 polls, finished: true"), "{out}");
}

#[test]
fn exercise_08_3_rounding_down_never_fires_early() {
    let out = DelayServer::start().run_ok("exercise_08_3", &[]);
    assert!(
        out.contains("chef: the roast is out, early: false"),
        "{out}"
    );
    // Ten bastes, each fired once, whatever the number of empty waits in between.
    let fired: u64 = out
        .lines()
        .filter_map(|line| line.strip_prefix("epoll: woke "))
        .map(|rest| {
            let (_, timers) = rest
                .split_once(" by sockets, ")
                .expect("epoll: woke S by sockets, T by timers");
            let n = timers.trim_end_matches(" by timers");
            n.parse::<u64>().expect("a count of timers")
        })
        .sum();
    assert_eq!(fired, 10, "{out}");
    // The empty waits are counted (how many depends on how promptly the thread wakes).
    count_after(&out, "epoll waits that found nothing:");
    // The chef: one poll per step and per baste, and one to finish.
    assert!(out.contains("task 2: 14 polls, finished: true"), "{out}");
}
