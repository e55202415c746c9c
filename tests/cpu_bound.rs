//! `examples/cpu_bound.rs`, run small: every mode (one thread, threads, event-loop tasks,
//! spawn_blocking, child processes) must give the same sum, and the right one. Never speed: the
//! speed-ups depend on the machine's cores and load, and belong in the book, measured.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The example's binary, built with the same cargo and profile if `cargo test` has not built it.
fn example_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test_binary = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = test_binary
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test binary lives in target/<profile>/deps");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--example", "cpu_bound"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().expect("could not run cargo").success());
        profile_dir.join("examples").join("cpu_bound")
    })
}

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
    let output = Command::new(example_binary())
        .args(["--n", &n.to_string(), "--workers", "3", "--runs", "2"])
        .output()
        .unwrap();
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
    let output = Command::new(example_binary())
        .args(["chunk", "--start", "10", "--end", "20"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let got: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(got, (10..20u64).map(|i| i * i).sum::<u64>());

    let output = Command::new(example_binary())
        .args(["chunk", "--start", "20", "--end", "10"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is after --end"));
}
