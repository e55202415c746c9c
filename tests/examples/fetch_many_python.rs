//! `fetch_many --python`: Python's rows (examples/fetch_many.py, each runner in its own python3
//! process) beside the Rust ones in one table, on the same plan against the same delay server;
//! and, without python3 on the PATH, a plain sentence saying so instead of rows.

use std::process::Command;

use crate::support::run_example;

fn python3_present() -> bool {
    let present = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !present {
        eprintln!("skipped: python3 is not on the PATH");
    }
    present
}

#[test]
fn python_rows_join_the_rust_rows_in_one_table() {
    if !python3_present() {
        return;
    }
    let stdout = run_example::run_ok(
        "fetch_many",
        &["--count", "20", "--delay-ms", "5", "--python"],
    );
    for client in [
        "sequential",
        "thread-per-task",
        "thread-pool(64)",
        "event-loop",
        "py-sequential",
        "py-thread-per-task",
        "py-thread-pool(64)",
        "py-asyncio",
    ] {
        let cells = run_example::row(&stdout, &format!("{client} "));
        assert_eq!(&cells[..2], ["20/20", "0"], "{client} in:\n{stdout}");
    }
    assert!(stdout.contains("vs Python's asyncio"), "{stdout}");
}

#[test]
fn python_rows_follow_the_cap_on_fetches_in_flight() {
    if !python3_present() {
        return;
    }
    let out = run_example::run(
        "fetch_many",
        &[
            "--count",
            "12",
            "--delay-ms",
            "1",
            "--concurrency",
            "3",
            "--runner",
            "event-loop",
            "--python",
            "--json",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = json["reports"].as_array().unwrap();
    let rows: Vec<(&str, u64, u64)> = reports
        .iter()
        .map(|r| {
            let client = r["client"].as_str().unwrap();
            (
                client,
                r["ok"].as_u64().unwrap(),
                r["concurrency"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("event-loop", 12, 3), ("py-asyncio", 12, 3)],
        "{json:#}"
    );
}

#[test]
fn without_python3_on_the_path_it_says_so_and_the_rust_rows_still_run() {
    let empty = std::env::temp_dir().join(format!("taketurns-no-python-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = run_example::command("fetch_many")
        .args([
            "--count",
            "5",
            "--delay-ms",
            "1",
            "--runner",
            "event-loop",
            "--python",
        ])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("python3 is not on the PATH"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run_example::row(&stdout, "event-loop")[..2], ["5/5", "0"]);
    assert!(!stdout.contains("py-"), "{stdout}");
}
