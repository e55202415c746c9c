//! The solution of chapter 4's exercise 3 (`examples/exercises/exercise_04_3.rs`), a variant of
//! build-track step 1 that polls two futures in turn: the order of the polls, and that each future
//! is polled until `Ready` and never after. Exercises 4.1 and 4.2 are tested in
//! `tests/exercises_03_04.rs`.

mod run_example;

use run_example::run_ok;

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
    assert!(out.contains("tick 6: task 1 returned Ready"), "{out}");
    assert!(
        out.contains("tick 7: running 0 | ready: [] | waiting: []"),
        "{out}"
    );
    assert!(out.ends_with("tick 7: task 0 returned Ready\n"), "{out}");
}
