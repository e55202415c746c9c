//! Chapter 2's exercises (`examples/exercises/exercise_02_M.rs`), run with small parameters: what a
//! thread's stack reserves, threads against tasks at two counts, round trips pinned to one core
//! and free, a pool that overlaps as many waits as it has workers, and a connection per task
//! against a pool of them. Orders, counts and lower bounds that `sleep` guarantees; never speed.

use crate::output::{get, line};
use crate::support::run_example::run_ok;

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_02_1_a_small_stack_reserves_more_than_asked_and_the_limit_is_mappings() {
    let out = run_ok("exercise_02_1", &["--threads", "50", "--stack-kib", "16"]);
    let small = "16 KiB stack:";
    let default = "default stack:";
    for column in [small, default] {
        assert_eq!(get::<u32>(&out, column, "created"), 50, "{column}");
        let stack: f64 = get(&out, column, "stack_mapping_kib");
        let vmsize: f64 = get(&out, column, "vmsize_per_thread_kib");
        assert!(
            vmsize >= stack,
            "{column}: {vmsize} KiB per thread, stack {stack} KiB"
        );
    }
    // glibc raises a 16 KiB request to its minimum plus room for thread-local storage.
    let small_stack: u64 = get(&out, small, "stack_mapping_kib");
    assert!((16..2048).contains(&small_stack), "{small_stack} KiB");
    assert!(get::<u64>(&out, default, "stack_mapping_kib") >= 2048);
    assert!(get::<u64>(&out, "limits:", "threads_that_fit_now") > 0);
}

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_02_2_threads_and_tasks_at_two_counts() {
    let out = run_ok("exercise_02_2", &["--small", "20", "--large", "60"]);
    assert_eq!(get::<u32>(&out, "20 threads:", "created"), 20);
    assert_eq!(get::<u32>(&out, "60 threads:", "created"), 60);
    assert_eq!(get::<u32>(&out, "60 waiting tasks in all:", "created"), 60);
    assert!(line(&out, "60 waiting threads in all:").contains("ram_mib="));
}

#[test]
#[cfg(feature = "workload")] // measures with the lab bench
fn exercise_02_3_pinned_and_free_round_trips() {
    let out = run_ok("exercise_02_3", &["--round-trips", "200"]);
    let taskset = std::process::Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok();
    let placements: &[&str] = if taskset {
        &["one core", "all cores"]
    } else {
        &["all cores"]
    };
    for placement in placements {
        for what in ["condvar", "mpsc", "tasks"] {
            let prefix = format!("{placement}, {what}:");
            assert_eq!(get::<u32>(&out, &prefix, "round_trips"), 200);
            if *placement == "one core" {
                assert_eq!(get::<String>(&out, &prefix, "cpus_allowed"), "0");
            }
        }
        // Two tasks on one thread never put the thread to sleep.
        let voluntary: f64 = get(&out, &format!("{placement}, tasks:"), "voluntary");
        assert!(
            voluntary < 0.5,
            "{voluntary} voluntary switches per task round trip"
        );
    }
}

#[test]
fn exercise_02_4_a_pool_overlaps_as_many_waits_as_it_has_workers() {
    let out = run_ok(
        "exercise_02_4",
        &[
            "--workers",
            "1,4",
            "--waits",
            "8",
            "--wait-ms",
            "5",
            "--computations",
            "4",
            "--steps",
            "10000",
        ],
    );
    for pool in ["pool of  1:", "pool of  4:"] {
        assert_eq!(get::<String>(&out, pool, "above_floor"), "true", "{pool}");
        assert_eq!(get::<String>(&out, pool, "same_result"), "true", "{pool}");
    }
    assert!(line(&out, "pool of  1:").contains("floor 8 x 5ms"));
    assert!(line(&out, "pool of  4:").contains("floor 2 x 5ms"));
}

#[test]
#[cfg(feature = "workload")] // fetches from the delay server
fn exercise_02_5_the_literal_port_opens_more_connections_than_a_pool() {
    // Whether `set` drops a connection depends on two tasks putting theirs back while a third
    // holds none; on a loaded machine the delay server can answer one fetch at a time, and a run
    // then drops nothing. So: every run must keep the pool within one connection per task and
    // never below the literal port, and one of up to five runs must show the port dropping
    // connections.
    let mut runs = Vec::new();
    for _ in 0..5 {
        let stdout = run_ok("exercise_02_5", &["--fetches", "60", "--tasks", "1,4"]);
        let row = |tasks: &str| -> (u64, u64) {
            let line = stdout
                .lines()
                .find(|l| l.split_whitespace().next() == Some(tasks))
                .unwrap_or_else(|| panic!("no row for {tasks} tasks in:\n{stdout}"));
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols[1].parse().unwrap(), cols[3].parse().unwrap())
        };
        // One task: one connection either way.
        assert_eq!(row("1"), (1, 1), "{stdout}");
        // Four tasks: the pool opens one per task at most; `set` never opens fewer.
        let (replaced, pooled) = row("4");
        assert!((1..=4).contains(&pooled), "{stdout}");
        assert!(replaced >= pooled, "{stdout}");
        runs.push((replaced, pooled));
        if replaced > pooled {
            return;
        }
    }
    panic!("in five runs `set` never dropped a connection (replaced, pooled): {runs:?}");
}
