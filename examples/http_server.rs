//! A small HTTP/1.1 server with keep-alive, on the event loop or one thread per connection, to
//! point `wrk` at.
//!
//! ```console
//! $ cargo run --release --example http_server                       # event loop, 127.0.0.1:8080
//! $ cargo run --release --example http_server -- --threads          # thread per connection
//! $ curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/delay?ms=100
//! $ wrk -t2 -c1000 -d10s --latency http://127.0.0.1:8080/
//! $ cargo run --release --example http_server -- --serve-secs 30    # stop after 30 s, print a summary
//! ```
//!
//! Routes: `/` says hello, `/delay?ms=N` answers after N ms, anything else is `404`. A malformed
//! head gets `400` and a close, an oversized one `431`; a client that does not finish its request
//! head within `--request-timeout-ms` is closed. The server is `taketurns::workload::http_server`;
//! this file parses the options, raises the open-file limit, and, with `--serve-secs`, prints
//! what the server did and its peak memory (`VmHWM`) and CPU time when it stops.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer};
use taketurns::workload::machine;
use taketurns::workload::{LimitError, raise_fd_limit};

/// Serve `/` and `/delay?ms=N` over HTTP/1.1 with keep-alive.
#[derive(Parser, Debug)]
#[command(name = "http_server", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// One OS thread per connection instead of one task per connection on the event loop.
    #[arg(long)]
    threads: bool,
    /// How long a client may take to send a whole request head (also the keep-alive idle timeout).
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Stop after this many seconds and print a summary; without it, serve until Ctrl-C.
    #[arg(long)]
    serve_secs: Option<f64>,
}

/// Open files the server asks for: enough for `wrk -c 60000` if the hard limit allows.
const WANTED_FILES: u64 = 65_536;

// ANCHOR: main
fn main() -> ExitCode {
    let args = Args::parse();
    let files = match raise_fd_limit(WANTED_FILES) {
        Ok(files) => files,
        Err(LimitError::Files { soft, .. }) => soft,
        Err(e) => {
            eprintln!("http_server: {e}");
            0
        }
    };
    let flavor = if args.threads {
        Flavor::ThreadPerConnection
    } else {
        Flavor::EventLoop
    };
    let options = HttpOptions {
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        ..HttpOptions::default()
    };
    let server = match HttpServer::start(args.addr.as_str(), flavor, options) {
        Ok(server) => server,
        Err(e) => {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => " (another server uses that port: pass --addr)",
                std::io::ErrorKind::InvalidInput => " (expected HOST:PORT, e.g. 127.0.0.1:8080)",
                _ => "",
            };
            eprintln!("http_server: cannot listen on {}: {e}{hint}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = server.local_addr();
    println!("{addr}");
    eprintln!(
        "{} server on http://{addr}/ (up to about {files} open files), try: curl \
         http://{addr}/delay?ms=100",
        flavor.name()
    );
    let Some(secs) = args.serve_secs else {
        // Serve until the process is killed; the kernel closes every socket.
        loop {
            std::thread::park();
        }
    };
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
    let stats = server.stats();
    println!(
        "{}: {} requests on {} connections in {:.1} s ({} refused with 4xx, {} timed out)",
        flavor.name(),
        stats.requests(),
        stats.connections(),
        start.elapsed().as_secs_f64(),
        stats.rejected(),
        stats.timed_out()
    );
    // Peak memory and CPU of the whole process, read before the server's threads go away.
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
    let cpu = usage.map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    });
    println!(
        "peak RSS (VmHWM) {} KiB, CPU (user + system) {cpu:.2} s",
        machine::status_kib("VmHWM:").unwrap_or(0),
    );
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_server: {e}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: main
