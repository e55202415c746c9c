//! Exercise 7.4, "The backlog": a thousand clients connect in the same tick to a listener whose
//! backlog is 128. How many get in within half a second, and within ten? And with 4096?
//!
//! This is public API (plus `socket2` to choose the backlog), so it runs taketurns as shipped. A
//! listener is built with `socket2` and a backlog from `--backlogs`, then wrapped with
//! `TcpListener::from_std`; a server task accepts and echoes five bytes; `--clients` client tasks
//! are spawned together, so that their connects all go out in one tick, before the server's next
//! accept, each with a deadline of `--deadline-ms`. Around each run the example reads the
//! kernel's `ListenOverflows` counter from `/proc/net/netstat` (what `nstat` prints; it counts
//! the whole machine, so other programs' overflows would show too). On Linux a full accept queue
//! drops the SYN (with `net.ipv4.tcp_abort_on_overflow` = 0), and the client sends it again after
//! one second, then two, then four. std's and mio's `bind`, and so tokio's `TcpListener::bind`,
//! ask for a backlog of 128; asyncio's `create_server` for 100; taketurns' `TcpListener::bind`
//! for 4,096 (`net::LISTEN_BACKLOG`), which Linux caps at `net.core.somaxconn`.
//!
//! ```console
//! $ cargo run --release --example exercise_07_4 -- --backlogs 128,4096 --deadline-ms 500
//! $ cargo run --release --example exercise_07_4 -- --backlogs 128 --deadline-ms 10000
//! ```

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use socket2::{Domain, Socket, Type};
use taketurns::net::{TcpListener, TcpStream};

/// Start many clients in one tick against a listener with a small backlog; count who got in.
#[derive(Parser, Debug)]
#[command(name = "exercise_07_4")]
struct Args {
    /// The listen backlogs to try, one run each.
    #[arg(long, value_delimiter = ',', default_value = "128,4096", value_parser = clap::value_parser!(i32).range(1..))]
    backlogs: Vec<i32>,
    /// Clients, all spawned before any runs.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
    /// Each client's deadline, from the start of the run, in milliseconds.
    #[arg(long, default_value_t = 500)]
    deadline_ms: u64,
}

/// The kernel's `TcpExt: ListenOverflows` counter (all of the machine), if readable.
fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let at = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

// ANCHOR: run
/// What one run saw.
struct Outcome {
    echoed: u32,
    accepted: u32,
    failed: BTreeMap<String, u32>,
    took: Duration,
}

fn run(backlog: i32, clients: u32, deadline: Duration) -> std::io::Result<Outcome> {
    let start = Instant::now();
    taketurns::block_on(async move {
        // Like TcpListener::bind, but with our backlog.
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
        socket.bind(&any_port.into())?;
        socket.listen(backlog)?;
        let listener = TcpListener::from_std(socket.into())?;
        let addr = listener.local_addr()?;

        let accepted = Rc::new(Cell::new(0));
        let counter = accepted.clone();
        taketurns::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                counter.set(counter.get() + 1);
                taketurns::spawn(async move {
                    let mut word = [0u8; 5];
                    if stream.read_exact(&mut word).await.is_ok() {
                        let _ = stream.write_all(&word).await;
                    }
                });
            }
        });
        // All of them are spawned before any runs: their connects go out in one tick.
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                taketurns::spawn(taketurns::time::timeout(deadline, async move {
                    let mut stream = TcpStream::connect(addr).await?;
                    stream.write_all(b"hello").await?;
                    let mut word = [0u8; 5];
                    stream.read_exact(&mut word).await
                }))
            })
            .collect();
        let (mut echoed, mut failed) = (0, BTreeMap::<String, u32>::new());
        for task in tasks {
            match task.await.expect("a client does not panic") {
                Ok(Ok(())) => echoed += 1,
                Ok(Err(e)) => *failed.entry(format!("{:?}", e.kind())).or_default() += 1,
                Err(_elapsed) => *failed.entry("timed_out".into()).or_default() += 1,
            }
        }
        Ok(Outcome {
            echoed,
            accepted: accepted.get(),
            failed,
            took: start.elapsed(),
        })
    })
}
// ANCHOR_END: run

fn main() {
    let args = Args::parse();
    if let Err(e) = taketurns::workload::raise_fd_limit(2 * u64::from(args.clients) + 64) {
        eprintln!("exercise_07_4: {e}");
        std::process::exit(1);
    }
    let deadline = Duration::from_millis(args.deadline_ms);
    for &backlog in &args.backlogs {
        let before = listen_overflows();
        match run(backlog, args.clients, deadline) {
            Ok(o) => {
                let overflows = match (before, listen_overflows()) {
                    (Some(b), Some(a)) => (a - b).to_string(),
                    _ => "unknown".to_string(),
                };
                let failed: Vec<_> = o.failed.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                println!(
                    "backlog {backlog}: clients={} deadline_ms={} echoed={} accepted={} failed=[{}] listen_overflows={overflows} took={:.1?}",
                    args.clients,
                    args.deadline_ms,
                    o.echoed,
                    o.accepted,
                    failed.join(","),
                    o.took
                );
            }
            Err(e) => {
                eprintln!(
                    "exercise_07_4: could not set up the listener with backlog {backlog}: {e}"
                );
                std::process::exit(1);
            }
        }
    }
}
