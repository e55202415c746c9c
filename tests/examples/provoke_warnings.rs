//! `examples/provoke_warnings.rs`, run as a reader runs it: each mistake it makes on purpose is
//! reported on stderr by default (no `on_warning` hook set), and its healthy program prints
//! nothing there. How each warning is raised, and when it is not, is tested in `tests/warnings.rs`.

use crate::support::run_example::run;

#[test]
fn by_default_each_warning_is_printed_to_stderr() {
    for (mistake, expected) in [
        ("slow-poll", "slow poll: task #1 \"blocker\""),
        ("lost-waker", "lost waker: task #1 \"forgetful\""),
        (
            "pending-at-shutdown",
            "pending at shutdown: task #1 \"slow cooker\"",
        ),
    ] {
        let out = run("provoke_warnings", &[mistake]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("taketurns warning: {expected}")),
            "{mistake}: {stderr}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("warning"));
    }
}

#[test]
fn the_healthy_example_prints_nothing_to_stderr() {
    // A generous threshold: this checks the lost-waker and shutdown checks, not the machine's load.
    let out = run("provoke_warnings", &["healthy"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let without_slow: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("slow poll"))
        .collect();
    assert!(without_slow.is_empty(), "{stderr}");
}
