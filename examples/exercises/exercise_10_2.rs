//! Exercise 10.2, "Pool size": how do the wall time, the CPU and the memory of a thread pool
//! client change with its size, and is there a size that beats thread-per-task on all three?
//!
//! Pool size is public API (`taketurns::workload::Client::ThreadPool(n)`, the client that
//! `fetch_many --runner thread-pool --pool-size N` runs), so this runs it directly: for each
//! size of `--pool-sizes`, `--count` fetches on a pool of that many threads, each run in a fresh
//! child process, against the chapter's delay server in another child process. With `--compare`
//! it also runs thread-per-task and the event loop on the same plan. It prints, per run, the
//! rounds of the server's delay the pool must wait (`ceil(count / size)`), the wall time above
//! that floor, CPU and peak memory per fetch. Python's `ThreadPoolExecutor` defaults to
//! `min(32, cpu + 4)` workers; tokio's `spawn_blocking` pool grows up to 512 threads.
//!
//! ```console
//! $ cargo run --release --example exercise_10_2 -- --count 1000 --pool-sizes 16,64,256,1000
//! $ cargo run --release --example exercise_10_2 -- --count 10000 --pool-sizes 16,64,256,1024 --compare
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::workload::{Client, FetchPlan};

/// Run many fetches on thread pools of several sizes; print wall time, CPU and memory of each.
#[derive(Parser, Debug)]
#[command(name = "exercise_10_2")]
struct Args {
    /// Fetches per run.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    count: u64,
    /// The server's delay before each response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// Bytes of body in each response.
    #[arg(long, default_value_t = 1024)]
    size: u64,
    /// The pool sizes to try, one run each.
    #[arg(long, value_delimiter = ',', default_value = "16,64,256,1000", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pool_sizes: Vec<u32>,
    /// Also run thread-per-task and the event loop on the same plan.
    #[arg(long)]
    compare: bool,
    /// (Internal) serve in this process until standard input closes.
    #[arg(long, hide = true)]
    serve: bool,
    /// (Internal) measure one client in this process: a pool size, or 0 for thread-per-task,
    /// or -1 for the event loop.
    #[arg(long, hide = true, requires = "addr", allow_negative_numbers = true)]
    measure: Option<i64>,
    /// (Internal) the server's address.
    #[arg(long, hide = true)]
    addr: Option<SocketAddr>,
}

#[path = "support/processes.rs"]
mod processes;
use processes::{measure_child, report, serve, usage, with_server};

// ANCHOR: pool
/// Run `client` on `count` fetches and print what it cost.
fn measure(client: Client, addr: SocketAddr, args: &Args) -> io::Result<()> {
    taketurns::workload::raise_fd_limit(args.count + 64).map_err(io::Error::other)?;
    let delay = Duration::from_millis(args.delay_ms);
    let plan = FetchPlan::delay_server(addr, args.count as usize, delay, args.size);
    let in_flight = client.concurrency(plan.count) as u64;
    let rounds = args.count.div_ceil(in_flight);
    let before = usage();
    let start = Instant::now();
    let tally = client.run(&plan).map_err(io::Error::other)?;
    let wall = start.elapsed();
    let floor = delay * rounds as u32;
    report(
        &client.name(),
        tally.ok,
        args.count,
        floor,
        wall,
        &before,
        &format!(" rounds={rounds} floor_ms={}", floor.as_millis()),
    );
    Ok(())
}
// ANCHOR_END: pool

fn main() {
    let args = Args::parse();
    let result = if args.serve {
        serve(args.count)
    } else if let (Some(which), Some(addr)) = (args.measure, args.addr) {
        let client = match which {
            -1 => Client::EventLoop,
            0 => Client::ThreadPerTask,
            n => Client::ThreadPool(n as usize),
        };
        measure(client, addr, &args)
    } else {
        with_server(args.count, |addr| {
            let mut runs: Vec<i64> = args.pool_sizes.iter().map(|&n| i64::from(n)).collect();
            if args.compare {
                runs.extend([0, -1]);
            }
            for which in runs {
                measure_child(
                    &[format!("--measure={which}")],
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
        eprintln!("exercise_10_2: {e}");
        std::process::exit(1);
    }
}
