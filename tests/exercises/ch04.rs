//! Chapter 4's exercises (`examples/exercises/exercise_04_M.rs`), run small: `Both` waits for both
//! futures, a future's size follows what it keeps across an `.await`, and two futures polled in
//! turn (a variant of build-track step 1) each run until `Ready` and never after. Pinned where it
//! is deterministic; nothing about timing.

use crate::output::{after, first_line};
use crate::support::run_example::run_ok;

#[test]
fn exercise_04_1_both_waits_for_both() {
    let stdout = run_ok("exercise_04_1", &["--first-ms", "5", "--second-ms", "10"]);
    assert!(first_line(&stdout, "one after the other:").contains("first, second in"));
    let both = first_line(&stdout, "both at once:");
    assert!(both.contains("first, second in"), "{stdout}");
    // At least one poll per timer's wake, plus the first.
    assert!(after(both, "ms,") >= 2, "{stdout}");
}

#[test]
fn exercise_04_2_sizes_follow_what_is_kept_across_an_await() {
    let stdout = run_ok("exercise_04_2", &[]);
    let size = |name: &str| -> u64 {
        first_line(&stdout, name)
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size for {name} in:\n{stdout}"))
    };
    let one = size("with_buffer()");
    assert!(one >= 4096);
    assert!(size("with_boxed_buffer()") < 64);
    // One after the other: the two states never live at once, so they share their bytes.
    assert!(size("one_after_the_other()") < 2 * 4096);
    // At once: both buffers are alive together.
    assert!(size("both_at_once()") >= 2 * 4096);
    assert_eq!(size("Box::pin(with_buffer())"), 8);
    assert!(stdout.contains("sum of the last bytes: 5"));
}

#[test]
fn exercise_04_3_two_futures_take_turns_until_both_are_ready() {
    let out = run_ok("exercise_04_3", &[]);
    let said: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("chef:") || line.starts_with("guest:"))
        .collect();
    assert_eq!(
        said,
        [
            "chef: chop",
            "guest: sits",
            "chef: stir",
            "guest: reads",
            "chef: taste"
        ]
    );
    let running: Vec<&str> = out
        .lines()
        .filter(|line| line.contains("| ready:"))
        .collect();
    assert_eq!(
        running.len(),
        7,
        "four polls of the chef, three of the guest:\n{out}"
    );
    assert!(out.contains("poll 6: task 2 returned Ready"), "{out}");
    assert!(
        out.contains("poll 7: running 1 | ready: [] | waiting: []"),
        "{out}"
    );
    assert!(out.ends_with("poll 7: task 1 returned Ready\n"), "{out}");
}
