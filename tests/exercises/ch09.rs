//! Chapter 9's exercises (`examples/exercises/exercise_09_M.rs`), run small: each prints what
//! appendix B says it shows. The checks are on counts (polls, messages, turns), never on speed.

use crate::output::{num, row};
use crate::support::run_example::run_ok;

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_09_1_a_naive_join_polls_every_child_on_every_wake() {
    let out = run_ok("exercise_09_1", &["--n", "10,200", "--spread-ms", "50"]);
    // Rows: N, way, leaf polls, polls per leaf, wall, CPU.
    let naive = row(&out, "200  naive join");
    let join_all = row(&out, "200  join_all");
    let unordered = row(&out, "200  FuturesUnordered");
    let spawn = row(&out, "200  spawn");
    // Each sleep is polled at most twice (park, fire) when only the woken child is polled ...
    assert!(num(&join_all, 0) <= 400.0, "{join_all:?}");
    assert!(num(&unordered, 0) <= 400.0, "{unordered:?}");
    // (the spawn row has "(N polls)" in its name, so its leaf polls are cell 2)
    assert!(num(&spawn, 2) <= 400.0, "{spawn:?}");
    // ... and many more times when every wake polls every unfinished child: 200 sleeps woken
    // over 50 ms give dozens of wakes, each polling up to 200 children.
    assert!(
        num(&naive, 0) > 2.0 * num(&join_all, 0),
        "naive {naive:?}, join_all {join_all:?}"
    );
    // With 10 children, join_all is the naive join (futures switches to FuturesOrdered above 30):
    // ten deadlines 5 ms apart fire in several looks, and each look polls every child left.
    assert!(num(&row(&out, "10  join_all"), 0) > 20.0, "{out}");
}

#[test]
fn exercise_09_2_a_dropped_read_exact_loses_bytes_and_a_kept_one_does_not() {
    let out = run_ok(
        "exercise_09_2",
        &["--messages", "20", "--gap-ms", "6", "--tick-ms", "2"],
    );
    // Rows: intact N garbled N missing N ticks N.
    let naive = row(&out, "new read_exact each turn");
    let careful = row(&out, "keep the losing read");
    assert_eq!(
        (careful[1].as_str(), careful[3].as_str()),
        ("20", "0"),
        "{careful:?}"
    );
    assert!(
        num(&careful, 7) >= 20.0,
        "the tick must win mid-message: {careful:?}"
    );
    // The naive loop drops a half message whenever the tick wins between the halves.
    assert!(num(&naive, 1) < 20.0, "{naive:?}");
    assert!(num(&naive, 3) + num(&naive, 5) > 0.0, "{naive:?}");
}

#[test]
fn exercise_09_3_a_biased_select_never_sees_the_deadline_and_an_alternating_one_does() {
    let out = run_ok(
        "exercise_09_3",
        &["--deadline-ms", "5", "--give-up-ms", "100"],
    );
    let biased = row(&out, "biased (a first)");
    let alternating = row(&out, "alternating");
    // "never noticed; gave up after 100ms; N turns after the deadline; ..."
    assert_eq!(biased[0], "never", "{biased:?}");
    assert!(num(&biased, 6) > 0.0, "{biased:?}");
    // "noticed after N turns; M turns after the deadline; ...": within two turns of it, since
    // every other select polls the deadline first.
    assert_eq!(alternating[0], "noticed", "{alternating:?}");
    assert!(num(&alternating, 4) <= 2.0, "{alternating:?}");
}
