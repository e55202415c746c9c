//! Chapter 15's steps, `examples/uring_step_1.rs` and `uring_step_2.rs` (`--features uring`):
//! one read on a ring, then a completion loop over three connections. Where io_uring is
//! unavailable both exit 1 with a message, and these tests skip.

use crate::support::run_example::{run, text};

/// Run `name`; its stdout, or `None` (after printing why) where io_uring is unavailable.
fn run_or_skip(name: &str) -> Option<String> {
    if taketurns::uring::skip_without_io_uring() {
        return None;
    }
    let out = run(name, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{name}: {stdout}\n{stderr}");
    Some(stdout)
}

#[test]
fn step_1_reads_what_the_peer_sent_through_one_completion() {
    let Some(stdout) = run_or_skip("uring_step_1") else {
        return;
    };
    assert_eq!(stdout.trim(), r#"operation 7 completed: 5 bytes, "hello""#);
}

#[test]
fn step_2_takes_every_message_of_three_connections_in_each_one_s_order() {
    let Some(stdout) = run_or_skip("uring_step_2") else {
        return;
    };
    for peer in 0..3 {
        let prefix = format!("connection {peer}: ");
        let lines: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect();
        // Two messages that arrive before the next read is queued come in one completion, so
        // compare what the connection received, in order, not how it was cut.
        let (closed, received) = lines.split_last().expect("lines for every connection");
        assert_eq!(*closed, "closed", "{stdout}");
        let expected: String = (0..3)
            .map(|i| format!("message {i} from peer {peer}"))
            .collect();
        assert_eq!(received.concat(), expected, "{stdout}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains(" completions in ") && last.ends_with(" calls to io_uring_enter"),
        "{stdout}"
    );
}
