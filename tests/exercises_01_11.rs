//! The solutions to the exercises of chapters 1 and 11, run small. Each test checks what holds on
//! any machine: lower bounds that follow from how the work is scheduled, never speed.

// Every solution here measures with the lab bench (`taketurns::workload`).
#![cfg(feature = "workload")]

mod run_example;

use std::path::PathBuf;
use std::process::{Command, Output};

/// An example's binary, built with the same cargo and profile if `cargo test` has not built it.
fn example(name: &str) -> PathBuf {
    run_example::binary(name)
}

fn run(name: &str, args: &[&str]) -> Output {
    let output = Command::new(example(name)).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{name} {args:?}: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The numbers (in ms) of the table row that starts with `label`.
fn millis(stdout: &str, label: &str) -> Vec<f64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"));
    let words: Vec<&str> = line[label.len()..].split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[1] == "ms")
        .map(|w| w[0].parse().unwrap())
        .collect()
}

#[test]
fn exercise_01_1_waiting_jobs_overlap_on_one_thread_and_computing_jobs_do_not() {
    let out = run("exercise_01_1", &["--jobs", "6", "--ms", "30"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wait = millis(&stdout, "waiting (a roast)");
    let cpu = millis(&stdout, "computing (a sandwich)");
    assert_eq!((wait.len(), cpu.len()), (3, 3), "{stdout}");
    // One after another, six 30 ms sleeps take at least 180 ms; on the loop, at least one sleep,
    // and (generously) less than all six in a row.
    assert!(wait[0] >= 180.0, "{stdout}");
    assert!(wait[1] >= 30.0 && wait[1] < 180.0, "{stdout}");
    assert!(wait[2] >= 30.0, "{stdout}");
    assert!(cpu.iter().all(|&t| t > 0.0), "{stdout}");
}

#[test]
fn exercise_01_2_tells_waiting_from_computing() {
    let cores = |out: &Output| -> f64 {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let at = stderr
            .find("cores busy ")
            .unwrap_or_else(|| panic!("{stderr}"));
        stderr[at + 11..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let sleeping = run("exercise_01_2", &["sleep", "0.3"]);
    assert!(
        String::from_utf8_lossy(&sleeping.stderr).contains("I/O-bound"),
        "{}",
        String::from_utf8_lossy(&sleeping.stderr)
    );
    let busy = run(
        "exercise_01_2",
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
        ],
    );
    assert!(
        cores(&busy) > 10.0 * cores(&sleeping).max(0.005),
        "a busy shell loop keeps a core far busier than sleep\n{}\n{}",
        String::from_utf8_lossy(&sleeping.stderr),
        String::from_utf8_lossy(&busy.stderr)
    );
    let missing = Command::new(example("exercise_01_2"))
        .arg("no-such-program-here")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("could not run"));
}

#[test]
fn exercise_11_1_yield_alone_does_not_fire_timers_but_a_short_event_interval_does() {
    // 20 chunks: fewer than the default event_interval of 61, so with the default the loop never
    // checks its timers during the work; with event_interval 1 it checks after every chunk.
    let out = run(
        "exercise_11_1",
        &["--work-ms", "60", "--period-ms", "5", "--chunks", "20"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("chunks"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // chunks, chunk, ms, event_interval, work, ms, worst, ms, during
    let during = |row: &Vec<&str>| -> u64 { row[8].parse().unwrap() };
    assert_eq!(rows.len(), 3, "{stdout}");
    assert_eq!((rows[0][0], rows[0][3]), ("1", "61"), "{stdout}");
    assert_eq!(
        during(&rows[0]),
        0,
        "one chunk: nothing runs during it\n{stdout}"
    );
    assert_eq!((rows[1][0], rows[1][3]), ("20", "61"), "{stdout}");
    assert_eq!(
        during(&rows[1]),
        0,
        "20 yields, but no timer check before 61 polls\n{stdout}"
    );
    assert_eq!((rows[2][0], rows[2][3]), ("20", "1"), "{stdout}");
    let work: f64 = rows[2][4].parse().unwrap();
    if work > 3.0 * 5.0 {
        assert!(
            during(&rows[2]) >= 1,
            "timers checked after every chunk: the heartbeat beats during the work\n{stdout}"
        );
    }
}

#[test]
fn exercise_11_2_the_pool_cap_makes_rounds() {
    let out = run("exercise_11_2", &["--jobs", "40", "--ms", "20"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let blocking = millis(&stdout, "spawn_blocking(thread::sleep):");
    let asynchronous = millis(&stdout, "spawn(time::sleep):");
    // 40 jobs, 16 at a time: at least 3 rounds of 20 ms. The timers: at least one round.
    assert!(blocking[0] >= 60.0, "{stdout}");
    assert!(asynchronous[0] >= 20.0, "{stdout}");
    assert!(stdout.contains("(16 helper threads;"), "{stdout}");
}
