//! hyper's HTTP/1.1 client on taketurns: N concurrent GETs, each on its own connection opened
//! with hyper's client connection API (`hyper::client::conn::http1::handshake`) over a taketurns
//! socket, against the workload's delay server (started in this process) or any `--target`.
//!
//! ```console
//! $ cargo run --release --features hyper --example hyper_client                   # 1,000 GETs, 50 ms each
//! $ cargo run --release --features hyper --example hyper_client -- --count 5000 --delay-ms 100
//! $ cargo run --release --features hyper --example hyper_server &                 # hyper on both ends
//! $ cargo run --release --features hyper --example hyper_client -- --target 127.0.0.1:8080 --path /delay?ms=50
//! ```
//!
//! Every GET is its own task, as in `fetch_many`: the delays overlap, so 1,000 GETs of 50 ms take
//! about 50 ms plus the time to open the connections, not 50 s. Each answer's status and body
//! length are checked; the program prints how many succeeded, the first few failures, and the
//! wall time, and exits with 1 if any GET failed. tokio's counterpart is the same code with
//! `TokioIo` and `tokio::spawn`; asyncio has no hyper, and `aiohttp`'s client plays its part.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use taketurns::hyper_rt::HyperStream;
use taketurns::net::TcpStream;
use taketurns::workload::{LimitError, ShutdownHandle, raise_fd_limit, spawn_server_thread};

/// N concurrent GETs with hyper's client on taketurns.
#[derive(Parser, Debug)]
#[command(name = "hyper_client", version)]
struct Args {
    /// How many GETs, all at once, each on its own connection.
    #[arg(long, default_value_t = 1_000)]
    count: usize,
    /// The delay server's wait per GET (ignored with --target).
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// The delay server's body size per GET, in bytes (ignored with --target).
    #[arg(long, default_value_t = 1_024)]
    size: u64,
    /// A server to fetch from (HOST:PORT) instead of the delay server started here.
    #[arg(long)]
    target: Option<SocketAddr>,
    /// The path to GET from --target.
    #[arg(long, default_value = "/")]
    path: String,
}

/// One GET on a new connection: the answer's body length, or what went wrong.
async fn fetch(addr: SocketAddr, path: String) -> Result<usize, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(HyperStream::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    // The connection's driver: reads and writes the socket while `sender` waits for the answer.
    taketurns::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::get(path.as_str())
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::new())
        .map_err(|e| format!("bad --path {path:?}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("status {status}"));
    }
    Ok(body.len())
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Each GET holds a socket here, and another in the delay server if it runs in this process.
    let needed = 2 * args.count as u64 + 64;
    match raise_fd_limit(needed) {
        Ok(_) => {}
        Err(e @ LimitError::Files { .. }) => {
            eprintln!("hyper_client: {e} (pass a smaller --count)");
            return ExitCode::FAILURE;
        }
        Err(e) => eprintln!("hyper_client: {e}"),
    }
    let mut delay_server: Option<ShutdownHandle> = None;
    let (addr, path, expected_len) = match args.target {
        Some(addr) => (addr, args.path.clone(), None),
        None => match spawn_server_thread("127.0.0.1:0") {
            Ok((addr, handle)) => {
                delay_server = Some(handle);
                let path = format!("/?delay_ms={}&size={}", args.delay_ms, args.size);
                (addr, path, Some(args.size as usize))
            }
            Err(e) => {
                eprintln!("hyper_client: cannot start the delay server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let start = Instant::now();
    let results = taketurns::block_on(async {
        let tasks: Vec<_> = (0..args.count)
            .map(|_| taketurns::spawn(fetch(addr, path.clone())))
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await.unwrap_or_else(|e| Err(format!("task: {e}"))));
        }
        results
    });
    let wall = start.elapsed();
    let mut failures = Vec::new();
    for result in &results {
        match (result, expected_len) {
            (Ok(len), Some(expected)) if *len != expected => {
                failures.push(format!("body of {len} bytes, expected {expected}"));
            }
            (Ok(_), _) => {}
            (Err(e), _) => failures.push(e.clone()),
        }
    }
    println!(
        "hyper on taketurns: {} of {} GETs of http://{addr}{path} succeeded in {:.3} s",
        results.len() - failures.len(),
        results.len(),
        wall.as_secs_f64()
    );
    for failure in failures.iter().take(5) {
        eprintln!("  failed: {failure}");
    }
    if let Some(server) = delay_server
        && let Err(e) = server.shutdown()
    {
        eprintln!("hyper_client: stopping the delay server: {e}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
