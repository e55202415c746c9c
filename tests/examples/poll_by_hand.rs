//! `examples/poll_by_hand.rs`, run small: a hand-written future answers `Pending` exactly as
//! often as written, waking itself each time; the timer is ready after it fired, parked or spun;
//! an `async fn` keeps a buffer that lives across an `.await` and drops one that does not.

use crate::support::run_example::{row, run_ok};

#[test]
fn countdown_is_pending_n_times_then_ready() {
    let stdout = run_ok("poll_by_hand", &["--countdown", "2", "--timer-ms", "5"]);
    assert!(
        stdout.contains("  poll 1: Pending  (wakes so far: 1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  poll 2: Pending  (wakes so far: 2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  poll 3: Ready    (wakes so far: 2)"),
        "{stdout}"
    );
    assert!(stdout.contains("-> \"liftoff\" after 3 polls"), "{stdout}");
    // Both ways of waiting for the timer end, each after at least one poll.
    for name in ["park:", "spin:"] {
        let cells = row(&stdout, name);
        assert_eq!(cells[0..2], ["ready", "after"], "{stdout}");
        let polls: u64 = cells[2].parse().unwrap();
        assert!(polls >= 1);
    }
    // countdown (2 Pending) then the timer (at least 1 Pending), then Ready.
    let after = stdout
        .lines()
        .filter(|l| l.contains("-> \"liftoff\" after"))
        .nth(1)
        .expect("scene 3 ends with liftoff");
    let polls: u64 = after.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(polls >= 4, "{after}");
}

#[test]
fn a_buffer_kept_across_an_await_is_part_of_the_future() {
    let stdout = run_ok("poll_by_hand", &["--countdown", "0", "--timer-ms", "0"]);
    let size = |name: &str| -> usize { row(&stdout, name)[0].parse().unwrap() };
    assert!(size("keeps_a_buffer(..)") >= 1024);
    assert!(size("drops_the_buffer(..)") < 1024);
    assert_eq!(size("Countdown"), 4);
}
