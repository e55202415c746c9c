//! The solutions of chapters 3 and 4's exercises, run small: what each one claims, pinned where it
//! is deterministic (compare_exchange loses nothing; `Both` returns both outputs; future
//! sizes follow from what is kept across an `.await`), and nothing about timing.

mod run_example;

use run_example::run_ok;

/// The number right after `word` in `line`, e.g. `after("counted 5 of 6", "counted") == 5`.
fn after(line: &str, word: &str) -> u64 {
    let mut words = line.split_whitespace();
    words
        .by_ref()
        .find(|w| *w == word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    words
        .next()
        .and_then(|w| w.trim_end_matches([',', ')']).parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in {line:?}"))
}

fn line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{stdout}"))
}

#[test]
fn exercise_03_1_compare_exchange_counts_everything() {
    let stdout = run_ok(
        "exercise_03_1",
        &["--threads", "4", "--increments", "20000"],
    );
    let cas = line(&stdout, "compare_exchange:");
    assert_eq!(after(cas, "counted"), 80_000, "{stdout}");
    assert_eq!(after(cas, "lost"), 0);
    let racy = line(&stdout, "load then store:");
    assert!(after(racy, "counted") <= 80_000);
}

#[test]
fn exercise_04_1_both_waits_for_both() {
    let stdout = run_ok("exercise_04_1", &["--first-ms", "5", "--second-ms", "10"]);
    assert!(line(&stdout, "one after the other:").contains("first, second in"));
    let both = line(&stdout, "both at once:");
    assert!(both.contains("first, second in"), "{stdout}");
    // At least one poll per timer's wake, plus the first.
    assert!(after(both, "ms,") >= 2, "{stdout}");
}

#[test]
fn exercise_04_2_sizes_follow_what_is_kept_across_an_await() {
    let stdout = run_ok("exercise_04_2", &[]);
    let size = |name: &str| -> u64 {
        line(&stdout, name)
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
