//! The load generator of the HTTP tables: keep-alive connections that each send one request
//! after the other, as fast as the answers come, for a fixed window; every latency inside the
//! window is kept. It runs in this process on two threads, each a taketurns event loop, while
//! the server under test runs in a child (`children.rs`), whose counters are read before and
//! after the window.
//!
//! This is `wrk` or `oha` in miniature (in Python, `aiohttp` clients under `asyncio.gather`):
//! a closed loop, so a slow server gets fewer requests rather than a queue. Left out: an open
//! loop at a fixed rate, HTTP pipelining, and TLS.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use taketurns::workload::http_server;

use crate::children::ServerChild;
use crate::format::percentile;

/// What the load generator saw: every request's latency inside the measured window.
struct Load {
    /// Latencies of the responses that arrived inside the window, in microseconds.
    latencies_us: Vec<u32>,
    /// Requests that failed (I/O error or a status other than 200).
    errors: u64,
    /// The window's length.
    window: Duration,
}

/// Load generator threads: one event loop each, the connections shared out between them.
const LOAD_THREADS: usize = 2;

/// Open `connections` keep-alive connections to `addr` and send `GET {route}` on each, one request
/// after the other, for `secs` seconds; the window starts once every connection is open.
fn generate_load(
    addr: std::net::SocketAddr,
    connections: usize,
    secs: f64,
    route: &'static str,
) -> Result<Load, String> {
    // Every connection has to be open before the window starts: a shared instant, far enough
    // ahead for a thousand connects, after which each task starts sending.
    let start = Instant::now()
        + Duration::from_millis(500)
        + Duration::from_micros(500) * connections as u32;
    let end = start + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..LOAD_THREADS)
        .map(|w| {
            let mine = connections / LOAD_THREADS + usize::from(w < connections % LOAD_THREADS);
            std::thread::spawn(move || load_thread(addr, mine, start, end, route))
        })
        .collect();
    let mut load = Load {
        latencies_us: Vec::new(),
        errors: 0,
        window: end - start,
    };
    for worker in workers {
        let (latencies, errors) = worker
            .join()
            .map_err(|_| "a load generator thread panicked".to_string())??;
        load.latencies_us.extend(latencies);
        load.errors += errors;
    }
    Ok(load)
}

/// One load generator thread: `connections` tasks on a taketurns event loop.
fn load_thread(
    addr: std::net::SocketAddr,
    connections: usize,
    start: Instant,
    end: Instant,
    route: &'static str,
) -> Result<(Vec<u32>, u64), String> {
    let rt = taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let errors = Rc::new(RefCell::new(0u64));
    let connect_errors = rt.block_on(async {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                let latencies = latencies.clone();
                let errors = errors.clone();
                taketurns::spawn(async move {
                    let stream = taketurns::net::TcpStream::connect(addr).await?;
                    let now = Instant::now();
                    if now < start {
                        taketurns::time::sleep(start - now).await;
                    }
                    while Instant::now() < end {
                        let sent = Instant::now();
                        match http_server::get(&stream, route).await {
                            Ok(reply) if reply.status == 200 && !reply.closes => {
                                if Instant::now() <= end {
                                    let us = sent.elapsed().as_micros();
                                    latencies
                                        .borrow_mut()
                                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                                }
                            }
                            _ => {
                                *errors.borrow_mut() += 1;
                                break;
                            }
                        }
                    }
                    std::io::Result::Ok(())
                })
            })
            .collect();
        let mut failed = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed.push(e.to_string()),
                Err(e) => failed.push(e.to_string()),
            }
        }
        failed
    });
    if let Some(first) = connect_errors.first() {
        return Err(format!(
            "{} of {connections} connections failed, the first with: {first}",
            connect_errors.len()
        ));
    }
    let latencies = latencies.take();
    let errors = *errors.borrow();
    Ok((latencies, errors))
}

/// One row's measurements.
#[derive(Clone, Copy, Debug)]
pub struct ServerRow {
    /// Responses inside the window, per second.
    pub per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// The server's CPU time over the window, per request it answered.
    pub cpu_per_request: Duration,
    /// The server's peak resident memory, in KiB.
    pub peak_kib: u64,
    /// The high-water mark of the server's live heap bytes, in KiB.
    pub heap_peak_kib: u64,
}

/// Start a server child with `flags`, load it on `route` and read its counters around the load.
pub fn measure_server(
    flags: &[&str],
    connections: usize,
    secs: f64,
    route: &'static str,
) -> Result<ServerRow, String> {
    // One measurement per server, load and route in a run of `measure`: the http table and the
    // hyper table show the same two servers, and must give one figure for each, not two runs'.
    type Key = (String, usize, u64, &'static str);
    static MEASURED: Mutex<Vec<(Key, ServerRow)>> = Mutex::new(Vec::new());
    let key: Key = (flags.join(" "), connections, secs.to_bits(), route);
    let cached = MEASURED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, row)| *row);
    if let Some(row) = cached {
        eprintln!("measure:     (measured earlier in this run: the same figures)");
        return Ok(row);
    }
    let row = measure_server_once(flags, connections, secs, route)?;
    MEASURED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((key, row));
    Ok(row)
}

/// One server child under one load: [`measure_server`] without the reuse.
fn measure_server_once(
    flags: &[&str],
    connections: usize,
    secs: f64,
    route: &'static str,
) -> Result<ServerRow, String> {
    let mut server = ServerChild::start(flags)?;
    let before = server.counters()?;
    let mut load = generate_load(server.addr, connections, secs, route)?;
    let after = server.counters()?;
    if load.errors > 0 {
        eprintln!("measure:   {} requests failed", load.errors);
    }
    load.latencies_us.sort_unstable();
    let served = after.requests.saturating_sub(before.requests).max(1);
    Ok(ServerRow {
        per_second: load.latencies_us.len() as f64 / load.window.as_secs_f64(),
        p50: percentile(&load.latencies_us, 0.50),
        p99: percentile(&load.latencies_us, 0.99),
        cpu_per_request: after.cpu.saturating_sub(before.cpu) / served as u32,
        peak_kib: after.peak_kib,
        heap_peak_kib: after.heap_peak_kib,
    })
}
