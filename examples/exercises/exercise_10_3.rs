//! Exercise 10.3, "How often to look": what changes when the event loop that runs 10,000 fetches
//! looks at epoll after every poll, every 61 polls, or every 10,000?
//!
//! The exercise asks you to make `run_event_loop` in `src/workload/client.rs` take its
//! `event_interval` from an environment variable. `event_interval` is public API, so this
//! solution needs no patch: it builds its own event-loop client from the same public pieces
//! (`Runtime::builder().event_interval(n)`, one `taketurns::workload::fetch` task per fetch, all
//! spawned at once, as `run_event_loop` does) and runs it once per value of `--intervals`, each
//! in a fresh child process, against the chapter's delay server in another child process. The
//! runtime's own counters replace strace: `epoll_wait` calls (`io_polls`), task polls, and how
//! often the loop slept. tokio's current-thread scheduler has the same knob
//! (`Builder::event_interval`, default 61); asyncio looks at its selector once per `_run_once`,
//! that is after every batch of ready callbacks.
//!
//! ```console
//! $ cargo run --release --example exercise_10_3 -- --count 10000
//! ```

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Run many fetches on the event loop with several `event_interval`s; print the epoll_wait calls,
/// CPU per fetch and wall time of each.
#[derive(Parser, Debug)]
#[command(name = "exercise_10_3")]
struct Args {
    /// Fetches per run.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    count: u64,
    /// The server's delay before each response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// Bytes of body in each response.
    #[arg(long, default_value_t = 1024)]
    size: u64,
    /// The `event_interval`s to try, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,61,10000", value_parser = clap::value_parser!(u32).range(1..))]
    intervals: Vec<u32>,
    /// (Internal) serve in this process until standard input closes.
    #[arg(long, hide = true)]
    serve: bool,
    /// (Internal) measure one run with this interval in this process, against `--addr`.
    #[arg(long, hide = true, requires = "addr")]
    measure: Option<u32>,
    /// (Internal) the server's address.
    #[arg(long, hide = true)]
    addr: Option<SocketAddr>,
}

#[path = "support/processes.rs"]
mod processes;
use processes::{measure_child, report, serve, usage, with_server};

// ANCHOR: event_loop
/// `count` fetches, one task each, on a runtime with this `event_interval`.
fn measure(interval: u32, addr: SocketAddr, args: &Args) -> io::Result<()> {
    taketurns::workload::raise_fd_limit(args.count + 64).map_err(io::Error::other)?;
    let delay = Duration::from_millis(args.delay_ms);
    let plan =
        taketurns::workload::FetchPlan::delay_server(addr, args.count as usize, delay, args.size);
    let request: Rc<[u8]> = plan.request()?.into();
    let before = usage();
    let start = Instant::now();
    let rt = taketurns::Runtime::builder()
        .event_interval(interval)
        .build()?;
    let ok = rt.block_on(async {
        let fetches: Vec<_> = (0..plan.count)
            .map(|_| {
                let request = Rc::clone(&request);
                taketurns::spawn(async move {
                    taketurns::workload::fetch(plan.addr, &request, plan.timeout).await
                })
            })
            .collect();
        let mut ok = 0;
        for fetch in fetches {
            if fetch.await.expect("a fetch does not panic").is_ok() {
                ok += 1;
            }
        }
        ok
    });
    let wall = start.elapsed();
    let s = rt.stats();
    let extra = format!(
        " epoll_waits={} epoll_waits_per_fetch={:.3} task_polls={} loop_sleeps={}",
        s.io_polls,
        s.io_polls as f64 / args.count as f64,
        s.polls,
        s.sleeps
    );
    report(
        &format!("interval {interval}"),
        ok,
        args.count,
        delay,
        wall,
        &before,
        &extra,
    );
    Ok(())
}
// ANCHOR_END: event_loop

fn main() {
    let args = Args::parse();
    let result = if args.serve {
        serve(args.count)
    } else if let (Some(interval), Some(addr)) = (args.measure, args.addr) {
        measure(interval, addr, &args)
    } else {
        with_server(args.count, |addr| {
            for interval in &args.intervals {
                measure_child(
                    &["--measure".into(), interval.to_string()],
                    addr,
                    args.count,
                    args.delay_ms,
                    args.size,
                )?;
            }
            Ok(())
        })
    };
    if let Err(e) = result {
        eprintln!("exercise_10_3: {e}");
        std::process::exit(1);
    }
}
