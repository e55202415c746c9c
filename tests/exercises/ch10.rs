//! Chapter 10's exercises (`examples/exercises/exercise_10_M.rs`), run with small parameters
//! against the delay server or `http_server`: every fetch arrives with either buffer, a pool
//! waits one delay per round, `event_interval` sets how often the loop looks, and keep-alive
//! means one connection per client. Counts and lower bounds, never speed.

use crate::output::get;
use crate::support::run_example::run_ok;

#[test]
fn exercise_10_1_both_clients_fetch_everything_with_either_buffer() {
    let out = run_ok(
        "exercise_10_1",
        &["--count", "30", "--delay-ms", "5", "--buffers", "4,8"],
    );
    for client in ["thread-per-task", "event-loop"] {
        for kib in [4, 8] {
            let run = format!("{client}, {kib} KiB buffer:");
            assert_eq!(get::<u64>(&out, &run, "ok"), 30, "{run}");
        }
    }
}

#[test]
fn exercise_10_2_a_pool_waits_one_delay_per_round() {
    let out = run_ok(
        "exercise_10_2",
        &[
            "--count",
            "40",
            "--delay-ms",
            "5",
            "--pool-sizes",
            "4,16",
            "--compare",
        ],
    );
    for (client, rounds) in [
        ("thread-pool(4):", 10),
        ("thread-pool(16):", 3),
        ("thread-per-task:", 1),
        ("event-loop:", 1),
    ] {
        assert_eq!(get::<u64>(&out, client, "ok"), 40, "{client}");
        assert_eq!(get::<u64>(&out, client, "rounds"), rounds, "{client}");
        // The server delays every response, and a pool has only so many in flight.
        let (wall, floor): (u64, u64) =
            (get(&out, client, "wall_ms"), get(&out, client, "floor_ms"));
        assert!(
            wall >= floor,
            "{client} took {wall} ms, under its floor of {floor} ms"
        );
    }
}

#[test]
fn exercise_10_3_event_interval_sets_how_often_the_loop_looks() {
    let out = run_ok(
        "exercise_10_3",
        &["--count", "40", "--delay-ms", "5", "--intervals", "1,10000"],
    );
    for interval in ["interval 1:", "interval 10000:"] {
        assert_eq!(get::<u64>(&out, interval, "ok"), 40, "{interval}");
    }
    // With 1, every task poll is followed by a look (a poll that drops the last socket needs
    // none); with 10,000, this run never reaches the interval and looks only before sleeping.
    let polls: u64 = get(&out, "interval 1:", "task_polls");
    let every: u64 = get(&out, "interval 1:", "epoll_waits");
    assert!(every >= polls / 2, "{every} looks for {polls} polls");
    let rarely: u64 = get(&out, "interval 10000:", "epoll_waits");
    assert!(
        rarely < every,
        "interval 10000 looked {rarely} times, interval 1 {every}"
    );
}

#[test]
fn exercise_10_4_counts_one_connection_per_client_or_per_request() {
    let stdout = run_ok("exercise_10_4", &["--connections", "20", "--requests", "5"]);
    for server in ["event-loop", "threads"] {
        for (client, connections) in [("keep-alive", 20), ("new connection per request", 100)] {
            let prefix = format!("{server:<11} {client:<26}");
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no row {prefix:?} in:\n{stdout}"));
            let cols: Vec<&str> = line[prefix.len()..].split_whitespace().collect();
            assert_eq!(cols[0].parse::<u64>().unwrap(), connections, "{line}");
            assert!(cols[1].parse::<f64>().unwrap() > 0.0, "{line}");
        }
    }
}
