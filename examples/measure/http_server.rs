//! `http_server.md`: chapter 10's keep-alive HTTP server under load, once on the event loop and
//! once with a thread per connection, at 100 connections (and 1,000 in the full run): requests
//! per second, latency percentiles, CPU per request and peak memory. Each server runs alone in
//! this binary's hidden `child-http` subcommand, started fresh for each row, so its CPU time and
//! peak memory are its own; the load generator (`load.rs`) runs here.
//!
//! The same comparison in Python would be an asyncio server against `socketserver`'s
//! `ThreadingMixIn`; hyper's servers are `hyper.rs`'s table. Only `GET /` is measured here: the
//! delay route is in the hyper table.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer};
use taketurns::workload::raise_fd_limit;

use crate::children::answer_counters;
use crate::format::{count, kib, ratio, time};
use crate::heap;
use crate::load::measure_server;
use crate::output::Table;
use crate::{Experiment, Size};

/// `--only http`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "http",
    file: "http_server.md",
    about: "the keep-alive server under load",
    skip: None,
    run: |run| http_table(run.size),
};

/// The `child-http` subcommand: the hand-written server, on the event loop or with a thread per
/// connection, answering the parent's counter requests until stdin closes.
pub fn child_http(threads: bool) -> ExitCode {
    heap::ON.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = raise_fd_limit(65_536);
    let flavor = if threads {
        Flavor::ThreadPerConnection
    } else {
        Flavor::EventLoop
    };
    let server = match HttpServer::start("127.0.0.1:0", flavor, HttpOptions::default()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("measure child-http: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", server.local_addr());
    let _ = std::io::stdout().flush();
    answer_counters(|| server.stats().requests());
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("measure child-http: {e}");
            ExitCode::FAILURE
        }
    }
}

/// http_server.md: both servers at each connection count.
fn http_table(size: Size) -> Result<Table, String> {
    let wanted = size.connections.iter().max().copied().unwrap_or(0) as u64 * 2 + 256;
    let _ = raise_fd_limit(wanted);
    let mut table = Table::new(&[
        "server",
        "connections",
        "requests/s",
        "p50",
        "p99",
        "CPU per request",
        "peak memory",
    ]);
    let mut rates = Vec::new();
    for &connections in size.connections {
        for threads in [false, true] {
            let (name, flags): (&str, &[&str]) = if threads {
                ("thread per connection", &["--threads"])
            } else {
                ("event loop", &[])
            };
            eprintln!("measure:   {name}, {connections} connections …");
            let row = measure_server(flags, connections, size.http_secs, "/")?;
            rates.push((name, connections, row.per_second, row.p99));
            table.row(vec![
                name.to_string(),
                count(connections as u64),
                count(row.per_second.round() as u64),
                time(row.p50),
                time(row.p99),
                time(row.cpu_per_request),
                kib(row.peak_kib as f64),
            ]);
        }
    }
    for &connections in size.connections {
        let row = |name: &str| {
            rates
                .iter()
                .find(|(n, c, _, _)| *n == name && *c == connections)
                .map_or((0.0, Duration::ZERO), |r| (r.2, r.3))
        };
        let (event, threads) = (row("event loop"), row("thread per connection"));
        table.sentences.push(format!(
            "At {} connections the event loop answered {} the requests per second of \
             the threads on this run, with a p99 of {} against their {}.",
            count(connections as u64),
            ratio(event.0, threads.0),
            time(event.1),
            time(threads.1)
        ));
    }
    table.sentences.push(format!(
        "The load generator (two threads, one event loop each, part of `measure`) shares the \
         machine with the server; each row ran for {} s.",
        size.http_secs
    ));
    Ok(table)
}
