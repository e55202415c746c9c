//! Chapter 10, exercise 4: what keep-alive is worth to each server.
//!
//! The same load, `--connections` clients each making `--requests` requests for `/`, run twice
//! against each server of `workload::http_server`: once keeping each connection open for all its
//! requests, once opening a new connection for every request (and closing it after the answer).
//! The server counts the connections it accepted; the client times the run. Client and server
//! share the process's two cores, as with `wrk` on one machine.
//!
//! ```console
//! $ cargo run --release --example exercise_10_4
//! $ cargo run --release --example exercise_10_4 -- --connections 500 --requests 20
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use taketurns::net::TcpStream;
use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer, get};
use taketurns::workload::raise_fd_limit;

/// Requests per second with and without keep-alive, on the event-loop and the threaded server.
#[derive(Parser, Debug)]
#[command(name = "exercise_10_4", version)]
struct Args {
    /// Clients at once (tasks on the client's event loop).
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Requests each client makes.
    #[arg(long, default_value_t = 50)]
    requests: usize,
}

// ANCHOR: client
/// One client: `requests` requests for `/`, on one kept-alive connection or a new one each.
async fn client(addr: SocketAddr, requests: usize, keep_alive: bool) -> io::Result<()> {
    let mut conn = None;
    for _ in 0..requests {
        if conn.is_none() {
            conn = Some(TcpStream::connect(addr).await?);
        }
        let reply = get(conn.as_ref().expect("connected above"), "/").await?;
        if reply.status != 200 || reply.body != b"hello\n" {
            return Err(io::Error::other(format!("unexpected reply {reply:?}")));
        }
        if !keep_alive {
            conn = None; // dropped: closed; the next request connects again
        }
    }
    Ok(())
}
// ANCHOR_END: client

/// Run the load against `server`; requests per second.
fn load(server: &HttpServer, args: &Args, keep_alive: bool) -> io::Result<f64> {
    let addr = server.local_addr();
    let start = Instant::now();
    taketurns::block_on(async {
        let tasks: Vec<_> = (0..args.connections)
            .map(|_| taketurns::spawn(client(addr, args.requests, keep_alive)))
            .collect();
        for task in tasks {
            task.await
                .map_err(|_| io::Error::other("a client panicked"))??;
        }
        io::Result::Ok(())
    })?;
    Ok((args.connections * args.requests) as f64 / start.elapsed().as_secs_f64())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.connections == 0 || args.requests == 0 {
        eprintln!("exercise_10_4: --connections and --requests must be at least 1");
        return ExitCode::from(2);
    }
    let _ = raise_fd_limit(2 * args.connections as u64 + 256);
    println!(
        "{} clients x {} requests for / ({} in all), client and server in this process",
        args.connections,
        args.requests,
        args.connections * args.requests
    );
    println!(
        "{:<11} {:<26} {:>12} {:>10}",
        "server", "client", "connections", "req/s"
    );
    for flavor in [Flavor::EventLoop, Flavor::ThreadPerConnection] {
        for keep_alive in [true, false] {
            let outcome = HttpServer::start("127.0.0.1:0", flavor, HttpOptions::default())
                .and_then(|server| {
                    let rate = load(&server, &args, keep_alive)?;
                    let accepted = server.stats().connections();
                    server.shutdown()?;
                    Ok((rate, accepted))
                });
            match outcome {
                Ok((rate, accepted)) => println!(
                    "{:<11} {:<26} {accepted:>12} {rate:>10.0}",
                    flavor.name(),
                    if keep_alive {
                        "keep-alive"
                    } else {
                        "new connection per request"
                    },
                ),
                Err(e) => {
                    eprintln!("exercise_10_4: {}: {e}", flavor.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
