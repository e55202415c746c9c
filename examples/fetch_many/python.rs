//! The Python side (`--python`): for every Rust client that ran, the Python runner that waits
//! the same way (one after another, a thread per fetch, a pool, asyncio) runs
//! `examples/fetch_many.py` on the same plan in a `python3` process of its own, and its report
//! becomes a `py-…` row of the table.
//!
//! The script is standard library only, so any Python 3.8 or later runs it; its CPU and memory
//! include the interpreter's. Without `python3` on the PATH the table has no Python rows and a
//! note says why; nothing fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use taketurns::workload::{Client, FetchPlan, Report};

use crate::parent::{Outcome, Setup, record, report_from};

/// `examples/fetch_many.py`, in the source tree this binary was built from.
const PYTHON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fetch_many.py");

/// The interpreter `--python` runs, looked up on the PATH.
const PYTHON: &str = "python3";

/// The Python runner that waits the way `client` does, and its row's name.
fn python_runner(client: Client) -> (&'static str, String) {
    let runner = match client {
        Client::Sequential => "sequential",
        Client::ThreadPerTask => "thread-per-task",
        Client::ThreadPool(_) => "thread-pool",
        Client::EventLoop => "asyncio",
        // Python has no completion loop on Linux: its counterpart is asyncio's readiness loop.
        #[cfg(feature = "uring")]
        Client::Uring => "asyncio",
    };
    let name = match client {
        Client::ThreadPool(n) => format!("py-thread-pool({n})"),
        _ => format!("py-{runner}"),
    };
    (runner, name)
}

/// Run the Python counterpart of every Rust client that ran, each in its own `python3` process,
/// and add their reports; without `python3` on the PATH, say so and add nothing.
pub fn run_python_side(
    setup: &Setup,
    runnable: &[(Client, usize)],
    plan: &FetchPlan,
    outcome: &mut Outcome,
) {
    let version = match Command::new(PYTHON).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => {
            let why = "--python: python3 is not on the PATH (or does not run), so the table has \
                       no Python rows; install Python 3 (any 3.8 or later) to compare";
            eprintln!("fetch_many: {why}");
            outcome.notes.push(why.to_string());
            return;
        }
    };
    if !Path::new(PYTHON_SCRIPT).is_file() {
        outcome.failures.push((
            "python".to_string(),
            format!("{PYTHON_SCRIPT} is missing: --python runs the script from the source tree"),
        ));
        return;
    }
    for &(client, n) in runnable {
        let (runner, name) = python_runner(client);
        let result = run_python(runner, client, &plan.clone().with_count(n), setup.delay);
        record(&name, n, result, outcome);
    }
    outcome.notes.push(format!(
        "py-*: the same plan fetched by examples/fetch_many.py on {version}, standard library \
         only (one after another; ThreadPoolExecutor with a worker per fetch, and with the \
         pool's size; asyncio.open_connection), each runner in its own python3 process; its CPU \
         and memory include the interpreter's"
    ));
}

/// Run one Python runner in a `python3` process and read its report line.
fn run_python(
    runner: &str,
    client: Client,
    plan: &FetchPlan,
    delay: Option<Duration>,
) -> Result<Report, String> {
    let mut command = Command::new(PYTHON);
    command
        .arg(PYTHON_SCRIPT)
        .args(["--runner", runner])
        .args(["--addr", &plan.addr.to_string()])
        .args(["--host", &plan.host])
        .args(["--path", &plan.path])
        .args(["--count", &plan.count.to_string()])
        .args(["--timeout-ms", &plan.timeout.as_millis().to_string()]);
    if let Client::ThreadPool(n) = client {
        command.args(["--pool-size", &n.to_string()]);
    }
    if let Some(limit) = plan.limit {
        command.args(["--concurrency", &limit.to_string()]);
    }
    if let Some(delay) = delay {
        command.args(["--delay-ms", &delay.as_millis().to_string()]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {PYTHON}: {e}"))?;
    report_from(&output)
}
