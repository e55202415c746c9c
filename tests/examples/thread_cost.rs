//! `examples/thread_cost/`, run small: its numbers must be sane, not fast.
//!
//! An integration test cannot import an example's functions, so this test runs the example's
//! binary with small parameters and reads its table. It checks what must hold on any Linux
//! machine (every thread was created, a waiting thread costs some RSS but far less than its
//! stack's size, a task costs less than a thread, the impossible stack is refused with an
//! error), and no timing at all: speed depends on the machine.

use crate::support::run_example::{self, text};

/// Runs the example with `args` and returns its standard output, checking it exited with 0.
fn run(args: &[&str]) -> String {
    let output = run_example::command("thread_cost")
        .args(args)
        .env_remove("RUST_MIN_STACK") // the "default stack" column must be Rust's default
        .output()
        .expect("could not start the example");
    text(&run_example::succeeded(output, &format!("thread_cost {args:?}")).stdout)
}

/// The cells of the table row that starts with `label`, split on runs of two or more spaces.
fn row<'a>(stdout: &'a str, label: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"));
    line[label.len()..]
        .split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

/// A size cell such as `9.4 KiB`, `352 B` or `2.1 MiB`, in bytes.
fn bytes(cell: &str) -> f64 {
    let (number, unit) = cell
        .split_once(' ')
        .unwrap_or_else(|| panic!("not a size: {cell:?}"));
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("not a size: {cell:?}"));
    number
        * match unit {
            "B" => 1.0,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            _ => panic!("unknown unit in {cell:?}"),
        }
}

const SMALL: &[&str] = &["--threads", "20", "--spawns", "20", "--round-trips", "1000"];

#[test]
fn twenty_threads_cost_some_memory_but_less_than_their_stacks() {
    let out = run(SMALL);

    // Columns: default stack, 64 KiB stack, tasks.
    assert_eq!(row(&out, "created"), ["20", "20", "20"], "{out}");
    assert_eq!(
        row(&out, "threads in the process, waiting"),
        ["21", "21", "1"],
        "all 20 threads wait at once, beside the main thread; tasks add no thread\n{out}"
    );

    let rss = row(&out, "RSS per waiting one");
    let (rss_default, rss_small) = (bytes(rss[0]), bytes(rss[1]));
    for per_thread in [rss_default, rss_small] {
        // At least one page of stack is touched; far less than the 2 MiB reserved.
        assert!(per_thread >= 4096.0, "a waiting thread costs RSS\n{out}");
        assert!(
            per_thread < 1024.0 * 1024.0,
            "only touched pages count\n{out}"
        );
    }

    // The small stack reserves about 64 KiB of address space per thread, the default about
    // 2 MiB (more with glibc's malloc arenas, which the first threads create).
    let vm = row(&out, "VmSize per waiting one");
    assert!(bytes(vm[0]) >= 2.0 * 1024.0 * 1024.0, "{out}");
    assert!(bytes(vm[1]) >= 64.0 * 1024.0, "{out}");
    assert!(bytes(vm[1]) < bytes(vm[0]), "{out}");

    let maps = row(&out, "memory maps per waiting one");
    let maps_default: f64 = maps[0].parse().unwrap();
    assert!(
        maps_default >= 1.0,
        "every thread maps at least its stack\n{out}"
    );
}

#[test]
fn every_measurement_is_reported_and_the_impossible_stack_is_refused() {
    let out = run(SMALL);
    for label in [
        "thread: spawn + join, default stack",
        "thread: spawn + join, 64 KiB stack",
        "pool job: ThreadPool::spawn + join",
        "task: taketurns::spawn + await",
        "round trip, two threads, std mpsc",
        "round trip, two threads, Mutex + Condvar",
        "round trip, two tasks, one thread",
        "kernel.threads-max",
        "vm.max_map_count",
        "RLIMIT_NPROC",
    ] {
        let cells = row(&out, label);
        assert!(!cells.is_empty(), "row {label:?} is empty\n{out}");
        assert_ne!(cells[0], "failed", "{label}\n{out}");
    }
    // Two tasks on one thread take turns without the kernel switching anything.
    let tasks = row(&out, "round trip, two tasks, one thread");
    assert!(
        tasks[1].starts_with("0.00 voluntary"),
        "tasks on one thread need no context switch\n{out}"
    );
    assert!(
        out.contains("TiB stack returned Err:"),
        "spawn with an impossible stack must return an error, not panic\n{out}"
    );
}

#[test]
fn a_stack_that_cannot_be_mapped_is_reported_not_fatal() {
    // 1 PiB per thread: more than a 64-bit Linux process can address, so the mapping fails
    // whatever the machine's RAM and overcommit settings.
    let out = run(&[
        "--threads",
        "3",
        "--spawns",
        "3",
        "--round-trips",
        "1000",
        "--stack-kib",
        "1099511627776",
    ]);
    let spawn = row(&out, "thread: spawn + join, 1099511627776 KiB stack");
    assert_eq!(spawn[0], "failed", "{out}");
    assert!(
        out.contains("1099511627776 KiB stack: thread 1 of 3 was not started"),
        "{out}"
    );
}
