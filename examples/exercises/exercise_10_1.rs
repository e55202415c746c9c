//! Exercise 10.1, "The read buffer": what does doubling the read buffer from 4 KiB to 8 KiB cost
//! thread-per-task, and what does it cost the event loop?
//!
//! The exercise asks you to change `READ_BUF` in `src/workload/wire.rs`, which is crate-private.
//! A solution file cannot patch the library, so this one **models** the two clients' fetches
//! with the buffer size as a parameter: a blocking fetch (connect, write the request, read into
//! a `[u8; N]` on the thread's stack until the server closes) run on one thread per fetch, and
//! an async fetch on taketurns whose `[u8; N]` lives on the loop's stack during one poll, never
//! in the future, as `wire::read_until`'s did before chapter 13 gave it one buffer per thread
//! (either way, a waiting fetch holds no buffer). Both make the same request to the chapter's delay
//! server (in a child process), and each (client, size) runs in a fresh child process. The model
//! leaves out what the workload's fetch adds (HTTP parsing, per-fetch deadlines inside the
//! exchange), so its absolute numbers are not `fetch_many`'s; the difference between two sizes
//! is the point. Page faults come from `getrusage` (minor faults) instead of `perf stat`. Python's
//! `socket.recv(n)` allocates a new `bytes` of up to `n` per call; tokio's `read_buf` and hyper
//! read into a growable `BytesMut` owned by the connection (hyper starts at 8 KiB).
//!
//! ```console
//! $ cargo run --release --example exercise_10_1 -- --count 10000 --buffers 4,8
//! ```

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::io::{AsyncRead, AsyncWriteExt};
use taketurns::threaded::ThreadPerTask;
use taketurns::workload::FetchPlan;

/// Run many fetches on threads and on the event loop with several read-buffer sizes; print CPU,
/// memory and page faults per fetch.
#[derive(Parser, Debug)]
#[command(name = "exercise_10_1")]
struct Args {
    /// Fetches per run.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=30_000))]
    count: u64,
    /// The server's delay before each response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// Bytes of body in each response.
    #[arg(long, default_value_t = 1024)]
    size: u64,
    /// The buffer sizes to try, in KiB: 4, 8, 16 or 32.
    #[arg(long, value_delimiter = ',', default_value = "4,8", value_parser = ["4", "8", "16", "32"])]
    buffers: Vec<String>,
    /// (Internal) serve in this process until standard input closes.
    #[arg(long, hide = true)]
    serve: bool,
    /// (Internal) measure one run in this process: `threads` or `loop`.
    #[arg(long, hide = true, requires = "addr", requires = "kib")]
    measure: Option<String>,
    /// (Internal) the buffer size of that run, in KiB.
    #[arg(long, hide = true)]
    kib: Option<usize>,
    /// (Internal) the server's address.
    #[arg(long, hide = true)]
    addr: Option<SocketAddr>,
}

#[path = "support/processes.rs"]
mod processes;
use processes::{measure_child, report, serve, usage, with_server};

// ANCHOR: fetches
/// A blocking fetch that reads into an `N`-byte array on this thread's stack; returns the bytes
/// of the response. The array is part of this function's frame for as long as the thread waits.
fn fetch_blocking<const N: usize>(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> io::Result<u64> {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(request)?;
    let mut buf = [0u8; N];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if total == 0 && !buf[..n].starts_with(b"HTTP/1.1 200") {
            return Err(io::Error::other("not a 200 response"));
        }
        total += n as u64;
    }
    Ok(total)
}

/// The same on taketurns. The `N`-byte array is a local of the closure passed to `poll_fn`: it
/// exists on the loop's stack during one poll, and a waiting fetch holds none.
async fn fetch_async<const N: usize>(addr: SocketAddr, request: &[u8]) -> io::Result<u64> {
    let mut stream = taketurns::net::TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut total = 0u64;
    poll_fn(|cx| {
        let mut buf = [0u8; N];
        loop {
            match Pin::new(&mut stream).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(n)) => {
                    if total == 0 && !buf[..n].starts_with(b"HTTP/1.1 200") {
                        return Poll::Ready(Err(io::Error::other("not a 200 response")));
                    }
                    total += n as u64;
                }
            }
        }
    })
    .await?;
    Ok(total)
}

/// One fetch per thread, all started at once.
fn on_threads<const N: usize>(plan: &FetchPlan, request: Arc<[u8]>) -> io::Result<u64> {
    let threads = (0..plan.count)
        .map(|_| {
            let (addr, timeout, request) = (plan.addr, plan.timeout, Arc::clone(&request));
            ThreadPerTask::new().spawn(move || fetch_blocking::<N>(addr, &request, timeout))
        })
        .collect::<io::Result<Vec<_>>>()?;
    Ok(threads
        .into_iter()
        .map(|t| t.join().expect("a fetch does not panic"))
        .filter(Result::is_ok)
        .count() as u64)
}

/// One task per fetch, all spawned at once, on one taketurns loop.
fn on_loop<const N: usize>(plan: &FetchPlan, request: Rc<[u8]>) -> io::Result<u64> {
    let rt = taketurns::Runtime::new()?;
    let timeout = plan.timeout;
    Ok(rt.block_on(async {
        let fetches: Vec<_> = (0..plan.count)
            .map(|_| {
                let (addr, request) = (plan.addr, Rc::clone(&request));
                taketurns::spawn(async move {
                    taketurns::time::timeout(timeout, fetch_async::<N>(addr, &request)).await
                })
            })
            .collect();
        let mut ok = 0;
        for fetch in fetches {
            if let Ok(Ok(Ok(_))) = fetch.await {
                ok += 1;
            }
        }
        ok
    }))
}
// ANCHOR_END: fetches

// ANCHOR: measure
fn measure(client: &str, kib: usize, addr: SocketAddr, args: &Args) -> io::Result<()> {
    taketurns::workload::raise_fd_limit(args.count + 64).map_err(io::Error::other)?;
    if client == "threads" {
        taketurns::workload::check_thread_limit(args.count + 16).map_err(io::Error::other)?;
    }
    let delay = Duration::from_millis(args.delay_ms);
    let plan = FetchPlan::delay_server(addr, args.count as usize, delay, args.size);
    let request = plan.request()?;
    let before = usage();
    let start = Instant::now();
    let ok = match (client, kib) {
        ("threads", 4) => on_threads::<4096>(&plan, request.into())?,
        ("threads", 8) => on_threads::<8192>(&plan, request.into())?,
        ("threads", 16) => on_threads::<16384>(&plan, request.into())?,
        ("threads", 32) => on_threads::<32768>(&plan, request.into())?,
        ("loop", 4) => on_loop::<4096>(&plan, request.into())?,
        ("loop", 8) => on_loop::<8192>(&plan, request.into())?,
        ("loop", 16) => on_loop::<16384>(&plan, request.into())?,
        ("loop", 32) => on_loop::<32768>(&plan, request.into())?,
        _ => return Err(io::Error::other(format!("no run {client} with {kib} KiB"))),
    };
    let name = if client == "threads" {
        "thread-per-task"
    } else {
        "event-loop"
    };
    report(
        &format!("{name}, {kib} KiB buffer"),
        ok,
        args.count,
        delay,
        start.elapsed(),
        &before,
        "",
    );
    Ok(())
}
// ANCHOR_END: measure

fn main() {
    let args = Args::parse();
    let result = if args.serve {
        serve(args.count)
    } else if let (Some(client), Some(kib), Some(addr)) = (&args.measure, args.kib, args.addr) {
        measure(client, kib, addr, &args)
    } else {
        with_server(args.count, |addr| {
            for client in ["threads", "loop"] {
                for kib in &args.buffers {
                    measure_child(
                        &[
                            "--measure".into(),
                            client.into(),
                            "--kib".into(),
                            kib.clone(),
                        ],
                        addr,
                        args.count,
                        args.delay_ms,
                        args.size,
                    )?;
                }
            }
            Ok(())
        })
    };
    if let Err(e) = result {
        eprintln!("exercise_10_1: {e}");
        std::process::exit(1);
    }
}
