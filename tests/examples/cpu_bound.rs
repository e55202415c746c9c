//! `examples/cpu_bound.rs`, run small: every mode (one thread, threads, event-loop tasks,
//! spawn_blocking, child processes) must give the same sum, and the right one. Never speed: the
//! speed-ups depend on the machine's cores and load, and belong in the book, measured.

use crate::support::run_example::run;

/// The job computed here, independently: a plain loop in u128.
fn expected(n: u64) -> u64 {
    let mut total: u128 = 0;
    for i in 0..n as u128 {
        total += i * i % 1_000_003;
    }
    total as u64
}

#[test]
fn every_mode_gives_the_same_correct_sum() {
    // 3 workers and an n that 3 does not divide: the chunks must still cover 0..n exactly once.
    let n = 1_000_001u64;
    let n_arg = n.to_string();
    let output = run(
        "cpu_bound",
        &["--n", &n_arg, "--workers", "3", "--runs", "2"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("available_parallelism() = "), "{stdout}");
    let want = expected(n).to_string();
    for mode in [
        "sequential (1 thread)",
        "threads × 3",
        "event loop (tasks) × 3",
        "spawn_blocking × 3",
        "processes × 3",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(mode))
            .unwrap_or_else(|| panic!("no row {mode:?} in:\n{stdout}"));
        assert_eq!(
            line.split_whitespace().last(),
            Some(want.as_str()),
            "{mode}: wrong sum\n{stdout}"
        );
    }
    assert!(
        stdout.contains("results: every run of all five modes gave the same sum"),
        "{stdout}"
    );
}

#[test]
fn the_hidden_chunk_subcommand_sums_one_range_and_refuses_a_backwards_one() {
    let output = run("cpu_bound", &["chunk", "--start", "10", "--end", "20"]);
    assert!(output.status.success());
    let got: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(got, (10..20u64).map(|i| i * i).sum::<u64>());

    let output = run("cpu_bound", &["chunk", "--start", "20", "--end", "10"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is after --end"));
}
