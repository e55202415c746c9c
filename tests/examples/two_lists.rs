//! `examples/two_lists.py`, chapter 5's Python loop: generators as tasks, a ready queue and a
//! waiting list. It must print what step 3 (`examples/step_03_wakers.rs`) prints, line for line:
//! the same tasks, run in the same order, with the same two lists at every tick.

use std::process::Command;

#[test]
fn the_python_loop_prints_step_3_s_trace() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/two_lists.py");
    let python = match Command::new("python3").arg(script).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: python3 is not on the PATH ({e})");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&python.stderr);
    assert!(python.status.success(), "two_lists.py failed: {stderr}");
    let python = String::from_utf8_lossy(&python.stdout);
    let rust = super::support::run_example::run_ok("step_03_wakers", &[]);
    assert!(
        python.contains("poll 9: running 2 | ready: [] | waiting: []"),
        "{python}"
    );
    for (n, (py, rs)) in python.lines().zip(rust.lines()).enumerate() {
        assert_eq!(
            py,
            rs,
            "line {} differs\npython:\n{python}\nrust:\n{rust}",
            n + 1
        );
    }
    assert_eq!(
        python.lines().count(),
        rust.lines().count(),
        "{python}\n{rust}"
    );
}
