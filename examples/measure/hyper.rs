//! `hyper.md`: chapter 14's question, what a real HTTP library costs on this runtime. Four
//! servers side by side, each alone in a `child-http` child and loaded the same way (`load.rs`):
//! the hand-written `http_server` on taketurns, hyper's HTTP/1.1 server on taketurns (through
//! `taketurns::hyper_rt`), the same hyper server on tokio's current_thread runtime, and a thread
//! per connection; on `/`, and in the full run on `/delay?ms=50` too.
//!
//! Python has no hyper; the nearest comparison is one ASGI server (uvicorn) on asyncio against
//! another event loop (uvloop). Only built with `--features hyper`: without it the experiment is
//! skipped with a note and `child-http --hyper` says how to build it. The hyper servers
//! themselves are `hyper_servers.rs`'s.

use std::process::ExitCode;

use clap::ValueEnum;
use taketurns::workload::raise_fd_limit;

use crate::format::{count, kib, ratio, time};
use crate::load::measure_server;
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only hyper`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "hyper",
    file: "hyper.md",
    about: "hyper on taketurns and on tokio next to the hand-written servers (built with \
            `--features hyper`; skipped with a note otherwise)",
    skip: if cfg!(feature = "hyper") {
        None
    } else {
        Some(
            "this binary was built without the hyper feature (add `--features hyper` to measure \
             hyper on taketurns)",
        )
    },
    run: |run| hyper_table(run.size),
};

/// The runtime under hyper's server in `child-http --hyper`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HyperOn {
    /// taketurns, through `taketurns::hyper_rt`.
    Taketurns,
    /// tokio's current_thread runtime with a `LocalSet`.
    Tokio,
}

/// The servers of the hyper table, in row order: the name shown and the `child-http` flags.
const HYPER_SERVERS: [(&str, &[&str]); 4] = [
    ("http_server on taketurns", &[]),
    ("hyper on taketurns", &["--hyper", "taketurns"]),
    ("hyper on tokio current_thread", &["--hyper", "tokio"]),
    ("thread per connection", &["--threads"]),
];

/// One row of the hyper table, kept for the sentences under it.
struct Seen {
    /// The server's name, as in [`HYPER_SERVERS`].
    name: &'static str,
    /// Concurrent connections.
    connections: usize,
    /// The route requested.
    route: &'static str,
    /// Responses per second.
    per_second: f64,
    /// CPU per request, in seconds.
    cpu: f64,
    /// Peak resident memory, in KiB.
    rss_kib: f64,
    /// Peak live heap, in KiB.
    heap_kib: f64,
}

/// hyper.md: four servers at each connection count and route, one run each.
fn hyper_table(size: Size) -> Result<Table, String> {
    let wanted = size.connections.iter().max().copied().unwrap_or(0) as u64 * 2 + 256;
    let _ = raise_fd_limit(wanted);
    let routes: &[&'static str] = if size.quick {
        &["/"]
    } else {
        &["/", "/delay?ms=50"]
    };
    let mut table = Table::new(&[
        "server",
        "connections",
        "route",
        "requests/s",
        "p50",
        "p99",
        "CPU per request",
        "peak memory",
        "peak heap",
    ]);
    let mut seen: Vec<Seen> = Vec::new();
    for &connections in size.connections {
        for &route in routes {
            for (name, flags) in HYPER_SERVERS {
                eprintln!("measure:   {name}, {connections} connections, {route} …");
                let row = measure_server(flags, connections, size.http_secs, route)?;
                seen.push(Seen {
                    name,
                    connections,
                    route,
                    per_second: row.per_second,
                    cpu: row.cpu_per_request.as_secs_f64(),
                    rss_kib: row.peak_kib as f64,
                    heap_kib: row.heap_peak_kib as f64,
                });
                table.row(vec![
                    name.to_string(),
                    count(connections as u64),
                    format!("`{route}`"),
                    count(row.per_second.round() as u64),
                    time(row.p50),
                    time(row.p99),
                    time(row.cpu_per_request),
                    kib(row.peak_kib as f64),
                    kib(row.heap_peak_kib as f64),
                ]);
            }
        }
    }
    // The headline: the largest connection count on `/`, where the runtime's own cost shows.
    let connections = size.connections.iter().max().copied().unwrap_or(0);
    let find = |name: &str| {
        seen.iter()
            .find(|s| s.name == name && s.connections == connections && s.route == "/")
    };
    if let (Some(ours), Some(tokio)) = (
        find("hyper on taketurns"),
        find("hyper on tokio current_thread"),
    ) {
        table.sentences.push(format!(
            "At {} connections on `/`, on this run hyper on taketurns served {} the requests per \
             second of hyper on tokio, with {} its CPU per request.",
            count(connections as u64),
            ratio(ours.per_second, tokio.per_second),
            ratio(ours.cpu, tokio.cpu)
        ));
        let less = ours.heap_kib <= tokio.heap_kib;
        let per_connection = (ours.heap_kib - tokio.heap_kib).abs() * 1024.0 / connections as f64;
        table.sentences.push(format!(
            "Its peak heap was {} {} than tokio's ({} bytes per connection), its peak memory {} \
             tokio's.",
            kib((ours.heap_kib - tokio.heap_kib).abs()),
            if less { "less" } else { "more" },
            count(per_connection.round() as u64),
            ratio(ours.rss_kib, tokio.rss_kib),
        ));
    }
    table.sentences.push(format!(
        "Each server ran alone in a child process, loaded by `measure`'s own keep-alive \
         generator (two threads, one event loop each) on the same machine; each row ran for {} s.",
        size.http_secs
    ));
    Ok(table)
}

/// The `child-http --hyper` subcommand: hyper's HTTP/1.1 server on a thread of its own, on
/// taketurns or on tokio, while this thread answers the counter requests as `child_http` does.
/// The process ends when stdin closes, and the server thread with it.
#[cfg(feature = "hyper")]
pub fn child_hyper(on: HyperOn) -> ExitCode {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use crate::children::answer_counters;
    use crate::heap;
    use crate::hyper_servers;

    heap::ON.store(true, Ordering::Relaxed);
    let _ = raise_fd_limit(65_536);
    let listener = match hyper_servers::listen() {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("measure child-http: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("measure child-http: the listener has no address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&requests);
    let spawned = std::thread::Builder::new()
        .name("hyper server".into())
        .spawn(move || {
            let result = match on {
                HyperOn::Taketurns => hyper_servers::on_taketurns(listener, counted),
                HyperOn::Tokio => hyper_servers::on_tokio(listener, counted),
            };
            if let Err(e) = result {
                eprintln!("measure child-http --hyper: {e}");
                std::process::exit(1);
            }
        });
    if let Err(e) = spawned {
        eprintln!("measure child-http: cannot start the server thread: {e}");
        return ExitCode::FAILURE;
    }
    println!("{addr}");
    let _ = std::io::stdout().flush();
    answer_counters(|| requests.load(Ordering::Relaxed));
    ExitCode::SUCCESS
}

/// Without the hyper feature there is no hyper server to run.
#[cfg(not(feature = "hyper"))]
pub fn child_hyper(_on: HyperOn) -> ExitCode {
    eprintln!(
        "measure child-http --hyper: this binary was built without the hyper feature (build it \
         with `--features hyper`)"
    );
    ExitCode::FAILURE
}
