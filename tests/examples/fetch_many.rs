//! `examples/fetch_many/` from the outside: run the built example binary with small plans and
//! check its table, its JSON, its exit codes and its messages.

use std::process::Output;
use std::time::{Duration, Instant};

use taketurns::workload::spawn_server_thread;

use crate::support::run_example::{self, text};

/// Run the example with `args`; its exit status and output, whatever they are.
fn run(args: &[&str]) -> Output {
    run_example::run("fetch_many", args)
}

#[test]
fn a_small_plan_prints_the_table_and_a_verdict() {
    let out = run(&["--count", "20", "--delay-ms", "5"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let header = stdout
        .lines()
        .find(|l| l.starts_with("client"))
        .unwrap_or_else(|| panic!("no table header in:\n{stdout}"));
    assert!(
        header.contains("CPU/fetch") && header.contains("peak RSS"),
        "{header}"
    );
    for client in [
        "sequential",
        "thread-per-task",
        "thread-pool(64)",
        "event-loop",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(client))
            .unwrap_or_else(|| panic!("no row for {client} in:\n{stdout}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[1..3], ["20/20", "0"], "{row}");
    }
    assert!(
        stdout.contains("verdict: event loop vs thread-per-task"),
        "{stdout}"
    );
}

#[test]
fn json_output_has_the_plan_the_reports_and_the_verdict() {
    let out = run(&[
        "--count",
        "10",
        "--delay-ms",
        "1",
        "--runner",
        "event-loop",
        "--json",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let json = stdout.trim();
    assert!(
        json.starts_with('{') && json.ends_with('}') && !json.contains('\n'),
        "{json}"
    );
    for key in [
        "\"plan\":",
        "\"reports\":[",
        "\"client\":\"event-loop\"",
        "\"ok\":10",
        "\"errors\":{\"refused\":0",
        "\"wall_us\":",
        "\"wall_minus_delay_us\":",
        "\"cpu_per_fetch_us\":",
        "\"peak_rss_kib\":",
        "\"verdict\":",
    ] {
        assert!(json.contains(key), "{key} missing from {json}");
    }
}

#[test]
fn a_bad_flag_is_clap_s_message_and_exit_code_2() {
    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--bogus"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn count_zero_is_a_bad_flag_there_is_nothing_to_measure() {
    let out = run(&["--count", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("0 is not in 1.."),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn too_many_fetches_are_refused_before_anything_starts() {
    run_example::binary("fetch_many"); // built before the clock starts
    let start = Instant::now();
    let out = run(&["--count", "1000000", "--runner", "event-loop"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing ran");
    assert!(
        stderr.contains("limit") && (stderr.contains("ulimit -n") || stderr.contains("sysctl")),
        "{stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn target_fetches_from_an_existing_server_with_delay_unknown() {
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let target = format!("{addr}/?delay_ms=2&size=10");
    let out = run(&["--target", &target, "--count", "10"]);
    server.shutdown().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("delay unknown"), "{stdout}");
    let rows = stdout.lines().filter(|l| l.contains(" 10/10 ")).count();
    assert_eq!(rows, 4, "{stdout}");
}

#[test]
fn a_bad_target_says_what_it_should_look_like() {
    let out = run(&["--target", "localhost", "--count", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("HOST:PORT"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn https_is_refused_with_what_to_write_instead() {
    let out = run(&["--target", "https://127.0.0.1:8443/", "--count", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no TLS") && stderr.contains("http://"),
        "{stderr}"
    );
}

#[test]
fn the_header_says_how_many_fetches_may_be_in_flight() {
    for (extra, expected) in [
        (None, "no cap on fetches in flight"),
        (Some("2"), "at most 2 in flight"),
    ] {
        let mut args = vec!["--count", "4", "--delay-ms", "1", "--runner", "event-loop"];
        if let Some(n) = extra {
            args.extend(["--concurrency", n]);
        }
        let out = run(&args);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        let header = stdout.lines().next().unwrap_or_default();
        assert!(header.contains(expected), "{header}");
        assert!(stdout.contains(" 4/4 "), "{stdout}");
    }
}
