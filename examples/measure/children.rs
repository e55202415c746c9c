//! Running children: what needs a process of its own gets one, because CPU time and peak
//! memory (`getrusage`, `VmHWM`) are process-wide. Two kinds are started from here:
//! `fetch_many --json` (built first if it is out of date), whose reports are read back, and
//! this binary's hidden `child-http` subcommand, a server that prints its address and then one
//! JSON line of counters for each line it reads on stdin, until stdin closes.
//!
//! Python's `subprocess.run(..., capture_output=True)` and `Popen` with pipes are the same
//! tools; tokio has `tokio::process`. Everything here is blocking `std::process`: the parent only
//! waits for its children. The memory child (`child-memory`) is `memory.rs`'s.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use taketurns::workload::{Report, machine};

use crate::heap;

/// This program's own binary, to start its hidden subcommands.
pub fn this_binary() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))
}

/// Build `fetch_many` (a no-op when it is up to date) with this binary's profile (and its
/// `uring` feature), and return its path: it lives beside this binary in `target/<profile>/examples/`.
pub fn fetch_many_binary() -> Result<PathBuf, String> {
    let mut build = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    build
        .args(["build", "--quiet", "--example", "fetch_many"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // fetch_many's `--runner uring` (the fetch_uring table) needs the feature in its build too.
    if cfg!(feature = "uring") {
        build.args(["--features", "uring"]);
    }
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo to build fetch_many: {e}"))?;
    if !status.success() {
        return Err("`cargo build --example fetch_many` failed (its errors are above)".into());
    }
    let binary = this_binary()?.with_file_name("fetch_many");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("no fetch_many binary at {}", binary.display()))
    }
}

/// Run `fetch_many --json ARGS` and read back its reports and failures.
pub fn fetch_many(args: &[&str]) -> Result<(Vec<Report>, Vec<String>), String> {
    let binary = fetch_many_binary()?;
    let output = Command::new(&binary)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "fetch_many {args:?} printed no JSON ({e}); it exited with {}",
            output.status
        )
    })?;
    let mut reports = Vec::new();
    for report in value["reports"].as_array().into_iter().flatten() {
        reports.push(serde_json::from_value::<Report>(report.clone()).map_err(|e| e.to_string())?);
    }
    let failures = value["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{}: {}",
                f["client"].as_str().unwrap_or("?"),
                f["message"].as_str().unwrap_or("?")
            )
        })
        .collect();
    Ok((reports, failures))
}

/// The child's counters, one JSON line per request on its stdin.
#[derive(Debug, Clone, Copy)]
pub struct ServerCounters {
    /// Requests answered so far.
    pub requests: u64,
    /// CPU time (user + system) of the whole server process so far.
    pub cpu: Duration,
    /// Peak resident memory (`VmHWM`), in KiB.
    pub peak_kib: u64,
    /// The high-water mark of live heap bytes, in KiB.
    pub heap_peak_kib: u64,
}

/// The server child's side of the conversation, once it has printed its address: for each line
/// read on stdin, print one JSON line of counters (the requests answered so far, as `requests`
/// counts them, and the process's CPU time, peak memory and peak heap); return when stdin
/// closes.
pub fn answer_counters(requests: impl Fn() -> u64) {
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        println!(
            "{{\"requests\":{},\"cpu_us\":{},\"peak_kib\":{},\"heap_peak_kib\":{}}}",
            requests(),
            machine::cpu_time().as_micros(),
            machine::status_kib("VmHWM:").unwrap_or(0),
            heap::peak_kib()
        );
        let _ = std::io::stdout().flush();
    }
}

/// A running `child-http`, killed and reaped on drop.
pub struct ServerChild {
    /// The process.
    process: std::process::Child,
    /// Its stdin: a line asks for counters, closing it stops the server.
    stdin: Option<std::process::ChildStdin>,
    /// Its stdout, line by line.
    stdout: BufReader<std::process::ChildStdout>,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

impl ServerChild {
    /// Start `child-http` with these flags and read the address it prints.
    pub fn start(flags: &[&str]) -> Result<ServerChild, String> {
        let mut command = Command::new(this_binary()?);
        command.arg("child-http").args(flags);
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server child: {e}"))?;
        let stdin = process.stdin.take();
        let stdout = BufReader::new(process.stdout.take().expect("stdout is piped"));
        let mut child = ServerChild {
            process,
            stdin,
            stdout,
            addr: "127.0.0.1:0".parse().expect("a valid address"),
        };
        let line = child.line()?;
        child.addr = line
            .trim()
            .parse()
            .map_err(|_| format!("the server child printed {line:?}, not its address"))?;
        Ok(child)
    }

    /// The child's next line of output.
    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the server child exited early (its stderr is above)".into()),
            Ok(_) => Ok(line),
            Err(e) => Err(format!("cannot read from the server child: {e}")),
        }
    }

    /// Ask the child for its counters and read them.
    pub fn counters(&mut self) -> Result<ServerCounters, String> {
        let stdin = self.stdin.as_mut().expect("stdin is open until drop");
        writeln!(stdin).map_err(|e| format!("the server child is gone: {e}"))?;
        stdin
            .flush()
            .map_err(|e| format!("the server child is gone: {e}"))?;
        let line = self.line()?;
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("unreadable counters from the server child ({e}): {line:?}"))?;
        Ok(ServerCounters {
            requests: v["requests"].as_u64().unwrap_or(0),
            cpu: Duration::from_micros(v["cpu_us"].as_u64().unwrap_or(0)),
            peak_kib: v["peak_kib"].as_u64().unwrap_or(0),
            heap_peak_kib: v["heap_peak_kib"].as_u64().unwrap_or(0),
        })
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
