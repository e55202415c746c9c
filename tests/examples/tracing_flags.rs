//! The examples' tracing flags, run as the reader runs them: `hello --timeline`,
//! `roast_dinner --timeline`, `fetch_many --timeline` and `--trace FILE`, and the cost of tracing
//! (`trace_cost`). `fetch_many` measures with the lab bench, so its tests need the `workload`
//! feature; the others need only the runtime.

use crate::support::run_example::{run, text};

/// The bar of the row whose label starts with `label`.
fn bar<'a>(drawing: &'a str, label: &str) -> &'a str {
    let row = drawing
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{drawing}"));
    row.split('|').nth(1).unwrap()
}

#[test]
fn hello_without_flags_prints_what_chapter_5_shows() {
    let out = run("hello", &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.starts_with("main:   spawned ready [#1 #2 #3] | waiting []\n"));
    assert!(
        !stdout.contains("legend"),
        "no timeline unless asked:\n{stdout}"
    );
}

#[test]
fn hello_timeline_draws_three_rows_and_their_stats() {
    let out = run("hello", &["--timeline"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (label, polls) in [("#1 chef", 4), ("#2 waiter", 2), ("#3 guest", 3)] {
        let bar = bar(&stdout, label);
        assert!(bar.contains('#'), "{stdout}");
        let name = label.split(' ').nth(1).unwrap();
        let stats_row = stdout
            .lines()
            .find(|l| {
                !l.contains('|')
                    && l.starts_with(label.split(' ').next().unwrap())
                    && l.contains(name)
            })
            .unwrap();
        let cells: Vec<&str> = stats_row.split_whitespace().collect();
        assert_eq!(cells[3], polls.to_string(), "{stats_row}");
    }
    // The waiter waited on the channel: it is the only one with idle time. (Its `.` may be
    // hidden in the drawing if a preemption stretched the time scale, so check the table.)
    let idle = |name: &str| -> String {
        let row = stdout
            .lines()
            .find(|l| !l.contains('|') && l.split_whitespace().nth(1) == Some(name))
            .unwrap();
        row.split_whitespace().nth(8).unwrap().to_string()
    };
    assert_ne!(idle("waiter"), "0", "{stdout}");
    assert_eq!(idle("chef"), "0", "{stdout}");
}

#[test]
fn roast_dinner_draws_sequential_interleaved_and_blocked_dinners() {
    let out = run("roast_dinner", &["--timeline", "--width", "50"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let drawings: Vec<&str> = stdout.split("legend:").collect();
    assert_eq!(drawings.len(), 4, "three drawings:\n{stdout}");
    // One after another: the potatoes are not spawned until the chicken is done.
    let first = drawings[0];
    let chicken = bar(first, "#1 chicken");
    let potatoes = bar(first, "#2 potatoes");
    let chicken_done = chicken.find('_').unwrap();
    assert!(potatoes[..chicken_done - 1].trim().is_empty(), "{first}");
    // All at once: every dish is spawned in the first column.
    let second = drawings[1];
    for dish in ["#1 chicken", "#2 potatoes", "#3 broccoli", "#4 gravy"] {
        assert!(!bar(second, dish).starts_with(' '), "{second}");
    }
    // Behind the phone call: one long bar, and every dish ready (`=`) all along it.
    let third = drawings[2];
    let call = bar(third, "#1 phone call");
    let call_len = call.find('_').unwrap();
    assert!(
        call_len >= 2 && call[..call_len].chars().all(|c| c == '#'),
        "{third}"
    );
    for dish in ["#2 chicken", "#3 potatoes", "#4 broccoli", "#5 gravy"] {
        assert!(
            // (The column where the call ends also holds the dish's first poll.)
            bar(third, dish)[..call_len - 1].chars().all(|c| c == '='),
            "{third}"
        );
    }
    // And the loop said so.
    assert!(
        stderr.contains("slow poll: task #1 \"phone call\""),
        "{stderr}"
    );
}

#[test]
fn roast_dinner_without_flags_prints_what_chapter_8_shows() {
    let out = run("roast_dinner", &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("One dish after another:\n"), "{stdout}");
    assert!(
        stdout.contains("threads used: 1; timers fired: 22"),
        "{stdout}"
    );
    assert!(!stdout.contains("legend"));
}

#[test]
#[cfg(feature = "workload")] // fetch_many measures with the lab bench
fn fetch_many_writes_a_chrome_trace_with_a_track_per_fetch() {
    let path = std::env::temp_dir().join(format!("taketurns-trace-{}.json", std::process::id()));
    let out = run(
        "fetch_many",
        &[
            "--runner",
            "event-loop",
            "--count",
            "5",
            "--delay-ms",
            "5",
            "--timeline",
            "--trace",
            path.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("Chrome trace written to"), "{stderr}");
    let json = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let events = parsed["traceEvents"].as_array().unwrap();
    let tracks: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tracks,
        [
            "#1 fetch 1",
            "#2 fetch 2",
            "#3 fetch 3",
            "#4 fetch 4",
            "#5 fetch 5"
        ]
    );
    // Each fetch waited on its socket at least once, and a socket woke it.
    for tid in 1..=5u64 {
        assert!(events.iter().any(|e| {
            e["tid"] == tid
                && e["ph"] == "X"
                && e["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("waiting: socket"))
        }));
        assert!(
            events
                .iter()
                .any(|e| e["tid"] == tid && e["name"] == "wake: a socket")
        );
    }
    // And the timeline has one row per fetch.
    for i in 1..=5 {
        bar(&stdout, &format!("#{i} fetch {i}"));
    }
}

#[test]
#[cfg(feature = "workload")] // fetch_many measures with the lab bench
fn fetch_many_refuses_a_timeline_too_tall_to_read() {
    let out = run("fetch_many", &["--count", "41", "--timeline"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("at most 40") && stderr.contains("--trace"),
        "{stderr}"
    );
}

#[test]
fn trace_cost_measures_both_operations_with_tracing_off_and_on() {
    let out = run("trace_cost", &["--count", "2000", "--repeat", "2"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (operation, trace) in [
        ("yield", "off"),
        ("yield", "on"),
        ("spawn + join", "off"),
        ("spawn + join", "on"),
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(operation) && l.split_whitespace().any(|w| w == trace))
            .unwrap_or_else(|| panic!("no row {operation} {trace} in:\n{stdout}"));
        assert_eq!(row.matches(" ns").count(), 2, "{row}");
    }
}
