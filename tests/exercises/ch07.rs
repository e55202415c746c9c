//! Chapter 7's exercises (`examples/exercises/exercise_07_M.rs`): reading until `WouldBlock` and
//! closing against deregistering (variants of build-track step 6,
//! `examples/course/step_06_reactor.rs`, run against a delay server the test starts), one event
//! per `epoll_wait` and a full listen backlog (on taketurns, with the clients they start
//! themselves). They check what was read, counted and whether the loop finished, never speed.

use crate::delay_server::DelayServer;
use crate::output::{get, line};
use crate::support::run_example::{run, run_ok};

#[test]
fn exercise_07_1_reading_until_would_block_gets_the_whole_answer() {
    let out = DelayServer::start().run_ok("exercise_07_1", &["--quiet"]);
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
    let output = DelayServer::start().run(
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
    let guest = out.lines().find(|l| l.starts_with("task 4: "));
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
    let server = DelayServer::start();
    let out = server.run_ok("exercise_07_2", &["--quiet", "--guests", "20"]);
    assert!(out.contains("guests: 20, papers read: 20"), "{out}");
    assert_eq!(epoll_ctl_counts(&out), (20, 0), "{out}");

    let out = server.run_ok(
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

#[test]
fn exercise_07_3_one_event_per_epoll_wait() {
    let out = run_ok(
        "exercise_07_3",
        &[
            "--clients",
            "50",
            "--rounds",
            "50",
            "--capacities",
            "1024,1",
        ],
    );
    for shape in ["50 clients x 1 rounds", "1 clients x 50 rounds"] {
        for capacity in [1024u64, 1] {
            let run = format!("{shape}, capacity {capacity}:");
            let echoed: u64 = get(&out, &run, "echoed");
            assert_eq!(echoed, 50 * 100, "{run}");
            let (events, waits): (u64, u64) = (
                get(&out, &run, "socket_events"),
                get(&out, &run, "epoll_waits"),
            );
            assert!(
                events <= waits * capacity,
                "{run}: {events} events in {waits} looks"
            );
        }
    }
}

#[test]
fn exercise_07_4_a_full_backlog_holds_backlog_plus_one() {
    let small = "backlog 8:";
    // The queue holds backlog + 1 handshakes; the dropped SYNs are sent again after one second,
    // after the deadline. A run stalled for most of a second (a loaded CI machine) could let the
    // resent SYNs in, so such a run does not count: run again, up to three times.
    let mut out = String::new();
    for _ in 0..3 {
        out = run_ok(
            "exercise_07_4",
            &[
                "--backlogs",
                "8,4096",
                "--clients",
                "50",
                "--deadline-ms",
                "500",
            ],
        );
        let took = line(&out, small)
            .split("took=")
            .nth(1)
            .expect("a took= field")
            .trim()
            .to_string();
        // Debug format of a Duration: "512.3ms" under a second, "1.2s" from a second on.
        if took.ends_with("ms") || took.ends_with("µs") {
            break;
        }
    }
    let echoed: u32 = get(&out, small, "echoed");
    assert!((1..=9).contains(&echoed), "echoed={echoed}");
    assert!(line(&out, small).contains(&format!("timed_out:{}", 50 - echoed)));
    assert_eq!(get::<u32>(&out, "backlog 4096:", "echoed"), 50);
}
