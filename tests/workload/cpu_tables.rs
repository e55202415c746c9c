//! The lab bench's CPU tables (`taketurns::workload::cpu`), built small: every way runs and sums
//! the whole job, every fetch of the mixed job succeeds, the Python rows are there when `python3`
//! is (and a sentence says so when it is not), and the caption's sentences name the interpreter.
//! Never speed: speed-ups depend on the machine's cores and load, and belong in the generated
//! tables.

use std::process::Command;
use std::time::Duration;

use taketurns::workload::cpu::mixed::{MixedSize, Target, mixed_table};
use taketurns::workload::cpu::{ChildProgram, CpuSize, cpu_bound_table};
use taketurns::workload::spawn_server_thread;
use taketurns::workload::table::Table;

fn python3_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The first cells of the table's rows.
fn row_names(table: &Table) -> Vec<&str> {
    table.rows.iter().map(|r| r[0].as_str()).collect()
}

#[test]
fn the_cpu_table_runs_every_way_in_rust_and_in_python() {
    let size = CpuSize {
        target: Duration::from_millis(20),
        rounds: 1,
        python_rounds: 1,
        workers: 2,
    };
    let child = ChildProgram {
        program: super::support::run_example::binary("cpu_bound"),
        args: vec!["chunk".into()],
    };
    let table = cpu_bound_table(&size, &child).expect("the Rust ways ran");
    let names = row_names(&table);
    let rust = [
        "Rust, one after another",
        "Rust, a task per job on the event loop",
        "Rust, `spawn_blocking` per job",
        "Rust, a thread per job",
        "Rust, a pool of 2 threads",
        "Rust, 2 child processes",
    ];
    assert_eq!(&names[..6], rust, "{table:?}");
    assert!(table.rows.iter().all(|r| r.len() == 5));
    // Speed-up against itself.
    assert_eq!(table.rows[0][3], "1.0×");
    let text = table.sentences.join(" ");
    if python3_present() {
        let python = [
            "Python, one after another",
            "Python, an asyncio task per job",
            "Python, a pool of 2 threads",
            "Python, `asyncio.to_thread` per job",
            "Python, a pool of 2 processes",
        ];
        assert_eq!(&names[6..11], python, "{table:?}");
        assert!(
            text.contains("CPython") && text.contains("the GIL"),
            "{text}"
        );
    } else {
        assert!(text.contains("no Python rows"), "{text}");
    }
}

#[test]
fn the_mixed_table_fetches_and_computes_every_body() {
    let delay = Duration::from_millis(10);
    let (addr, server) = spawn_server_thread("127.0.0.1:0").expect("a delay server");
    let target = Target {
        addr,
        path: format!("/?delay_ms={}&size=256", delay.as_millis()),
        delay,
    };
    let size = MixedSize {
        fetches: 6,
        compute: Duration::from_millis(2),
        rounds: 1,
        workers: 2,
        timeout: Duration::from_secs(30),
    };
    let table = mixed_table(&target, &size).expect("the Rust ways ran");
    server.shutdown().expect("the server stopped");
    let names = row_names(&table);
    assert_eq!(
        &names[..3],
        [
            "Rust, the event loop alone",
            "Rust, the event loop + `spawn_blocking`",
            "Rust, a thread per fetch"
        ]
    );
    if python3_present() {
        assert_eq!(
            &names[3..],
            [
                "Python, asyncio alone",
                "Python, asyncio + `asyncio.to_thread`",
                "Python, a thread per fetch",
                "Python, asyncio + a pool of 2 processes"
            ],
            "{table:?}"
        );
    }
    for row in &table.rows {
        assert_eq!(
            row[4], "0",
            "failed fetches in {row:?}: {:?}",
            table.sentences
        );
    }
}
