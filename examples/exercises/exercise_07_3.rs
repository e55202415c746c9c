//! Exercise 7.3, "One event at a time": what changes when the reactor can take only one event per
//! `epoll_wait`?
//!
//! This is public API, so it runs taketurns as shipped: an echo server task and clients that make
//! round trips of 100 bytes (the server reads into 4 KiB, the clients use `read_exact`), on a
//! runtime built with `Runtime::builder().events_capacity(c)`. Two shapes, each with every
//! capacity of `--capacities`: `--clients` clients making one round trip each, and one client
//! making `--rounds`. It prints the runtime's counters: `epoll_wait` calls, how often the loop
//! slept, socket events, polls, and the wall time. tokio's I/O driver takes up to 1,024 events
//! per turn (`Builder::max_io_events_per_tick`); asyncio's selector takes all that are ready.
//!
//! ```console
//! $ cargo run --release --example exercise_07_3 -- --clients 1000 --rounds 1000
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};

/// Echo round trips on taketurns with several `events_capacity` values; print the loop's counters.
#[derive(Parser, Debug)]
#[command(name = "exercise_07_3")]
struct Args {
    /// Clients in the "many clients, one round trip each" shape.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
    /// Round trips in the "one client, many round trips" shape.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// The `events_capacity` values to try.
    #[arg(long, value_delimiter = ',', default_value = "1024,1", value_parser = clap::value_parser!(u32).range(1..))]
    capacities: Vec<u32>,
}

// ANCHOR: echo
/// `clients` clients, each making `rounds` round trips through one echo server, on a runtime with
/// room for `capacity` events per `epoll_wait`. Returns the bytes echoed, the stats and the time.
fn echo(
    clients: u32,
    rounds: u32,
    capacity: usize,
) -> std::io::Result<(u64, taketurns::Stats, Duration)> {
    let rt = taketurns::Runtime::builder()
        .events_capacity(capacity)
        .build()?;
    let start = Instant::now();
    let echoed = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        taketurns::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                taketurns::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                taketurns::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await?;
                    let (message, mut back) = ([b'x'; 100], [0u8; 100]);
                    let mut echoed = 0u64;
                    for _ in 0..rounds {
                        stream.write_all(&message).await?;
                        stream.read_exact(&mut back).await?;
                        assert_eq!(back, message, "the echo is what was sent");
                        echoed += back.len() as u64;
                    }
                    std::io::Result::Ok(echoed)
                })
            })
            .collect();
        let mut echoed = 0;
        for task in tasks {
            echoed += task.await.expect("a client does not panic")?;
        }
        std::io::Result::Ok(echoed)
    })?;
    Ok((echoed, rt.stats(), start.elapsed()))
}
// ANCHOR_END: echo

fn main() {
    let args = Args::parse();
    // Two descriptors per client, and some to spare.
    if let Err(e) = taketurns::workload::raise_fd_limit(2 * u64::from(args.clients) + 64) {
        eprintln!("exercise_07_3: {e}");
        std::process::exit(1);
    }
    for (clients, rounds) in [(args.clients, 1), (1, args.rounds)] {
        for &capacity in &args.capacities {
            match echo(clients, rounds, capacity as usize) {
                Ok((echoed, s, wall)) => println!(
                    "{clients} clients x {rounds} rounds, capacity {capacity}: echoed={echoed} epoll_waits={} loop_sleeps={} socket_events={} polls={} wall={wall:.1?}",
                    s.io_polls, s.sleeps, s.io_events, s.polls
                ),
                Err(e) => {
                    eprintln!("exercise_07_3: {clients} clients x {rounds} rounds failed: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
}
