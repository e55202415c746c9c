//! The child processes' side: the hidden `serve` subcommand runs the delay server and prints its
//! address as its first line; `run-client` runs one client on one plan and prints its [`Report`]
//! as one JSON line. Both can watch their stdin, a pipe the parent holds, and exit when it
//! closes, so that no child outlives a parent that died some other way than Ctrl-C.
//!
//! Python's `multiprocessing` does the same job with a pipe to each child; here the children are
//! this same binary, started with `std::process::Command`. Nothing is shared between processes
//! but the command line, the stdin pipe and one line of stdout.

use std::io::Read;
use std::time::Duration;

use taketurns::net::TcpListener;
use taketurns::workload::{FetchPlan, Report, ServerOptions, raise_fd_limit, serve};

use crate::{FD_MARGIN, Runner};

/// Exit as soon as stdin reaches end of file: the parent holds the pipe's other end, so that
/// happens when the parent exits, however it exits.
fn exit_when_stdin_closes() {
    let watcher = std::thread::Builder::new()
        .name("parent-watch".to_string())
        .spawn(|| {
            let mut stdin = std::io::stdin().lock();
            let mut sink = [0u8; 64];
            loop {
                match stdin.read(&mut sink) {
                    Ok(0) | Err(_) => std::process::exit(0),
                    Ok(_) => {}
                }
            }
        });
    if let Err(e) = watcher {
        eprintln!("fetch_many: cannot watch for the parent's exit ({e}); continuing without");
    }
}

/// The `serve` subcommand: the delay server on `addr`, until it fails or the process ends.
pub fn child_serve(addr: &str, watch_stdin: bool) -> i32 {
    if watch_stdin {
        exit_when_stdin_closes();
    }
    let result = taketurns::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        // The parent reads this first line to learn the port.
        println!("{}", listener.local_addr()?);
        serve(listener, ServerOptions::default()).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fetch_many serve: {e}");
            1
        }
    }
}

/// The `run-client` subcommand: measure `runner` on `plan` and print its report; exit code 1 when
/// it cannot run, 3 when the measurement failed.
pub fn child_run_client(
    runner: Runner,
    pool_size: usize,
    plan: &FetchPlan,
    delay: Option<Duration>,
    watch_stdin: bool,
) -> i32 {
    if watch_stdin {
        exit_when_stdin_closes();
    }
    let Some(client) = runner.client(pool_size) else {
        eprintln!("fetch_many run-client: name one client, not `all`");
        return 1;
    };
    // Normally inherited from the parent already; needed when this is run by hand.
    if let Err(e) = raise_fd_limit(client.in_flight(plan) as u64 + FD_MARGIN) {
        eprintln!("{e}");
        return 1;
    }
    match Report::measure(client, plan, delay) {
        Ok(report) => {
            println!("{}", report.to_json());
            0
        }
        Err(e) => {
            eprintln!("{e}");
            3
        }
    }
}
