//! Chapter 9, exercise 2: a `select` in a loop, and the bytes it loses.
//!
//! A writer task sends `--messages` 8-byte messages (a sequence number) over a TCP connection on
//! localhost, each in two halves `--gap-ms` apart. A reader loop waits for the next message *or*
//! a tick of `--tick-ms`, whichever comes first, the way a program that also has periodic work to
//! do would. Read naively, a new `read_exact` is made on every turn of the loop; when the tick
//! wins, the losing read is dropped with the half message it had already taken out of the
//! socket, and every later message is read out of step. Read carefully, the losing read is kept
//! (`select` hands it back) and raced again, and nothing is lost.
//!
//! ```console
//! $ cargo run --example exercise_09_2
//! $ cargo run --example exercise_09_2 -- --messages 50 --gap-ms 5 --tick-ms 2
//! ```
//!
//! tokio's documentation calls this *cancellation safety* and marks every method that has it
//! (`read` does, `read_exact` does not). asyncio has the same problem with
//! `asyncio.wait_for(reader.readexactly(8), …)`: a timeout cancels the read, and the bytes it
//! had consumed are gone.

use std::io;
use std::time::Duration;

use clap::Parser;
use futures::future::{self, Either};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};
use taketurns::time::sleep;

/// Race reads against a ticker in a loop, naively and carefully, and count the messages that
/// arrive intact.
#[derive(Parser, Debug)]
#[command(name = "exercise_09_2", version)]
struct Args {
    /// How many 8-byte messages the writer sends.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    messages: u64,
    /// The pause between the two halves of a message, in milliseconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    gap_ms: u64,
    /// The reader's tick, in milliseconds: the other branch of its select.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    tick_ms: u64,
}

/// What a reader saw.
#[derive(Debug, Default)]
struct Seen {
    /// Messages whose number was the one expected next.
    intact: u64,
    /// Messages whose 8 bytes were not the number expected (read out of step).
    garbled: u64,
    /// Times the tick won the race.
    ticks: u64,
}

/// The writer: each message in two halves, `gap` apart, then the end of the stream.
async fn write_messages(mut stream: TcpStream, messages: u64, gap: Duration) -> io::Result<()> {
    stream.set_nodelay(true)?; // send each half in its own segment
    for n in 0..messages {
        let bytes = n.to_be_bytes();
        stream.write_all(&bytes[..4]).await?;
        sleep(gap).await;
        stream.write_all(&bytes[4..]).await?;
    }
    stream.close().await
}

// ANCHOR: naive
/// A fresh `read_exact` on every turn: when the tick wins, it is dropped, bytes and all.
async fn read_naively(mut stream: TcpStream, tick: Duration) -> io::Result<Seen> {
    let mut seen = Seen::default();
    let mut expected = 0u64;
    loop {
        let mut message = [0u8; 8];
        let read = stream.read_exact(&mut message);
        match future::select(read, Box::pin(sleep(tick))).await {
            Either::Left((Ok(()), _tick)) => {
                let n = u64::from_be_bytes(message);
                if n == expected {
                    seen.intact += 1;
                } else {
                    seen.garbled += 1;
                }
                expected += 1;
            }
            Either::Left((Err(e), _)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(seen);
            }
            Either::Left((Err(e), _)) => return Err(e),
            // The losing read is dropped here, with whatever it had read into `message`.
            Either::Right(((), _read)) => seen.ticks += 1,
        }
    }
}
// ANCHOR_END: naive

// ANCHOR: careful
/// The same loop, but a read that loses to the tick is kept and raced again.
async fn read_carefully(mut stream: TcpStream, tick: Duration) -> io::Result<Seen> {
    let mut seen = Seen::default();
    let mut expected = 0u64;
    loop {
        let mut message = [0u8; 8];
        let mut read = stream.read_exact(&mut message);
        let outcome = loop {
            match future::select(read, Box::pin(sleep(tick))).await {
                Either::Left((outcome, _tick)) => break outcome,
                Either::Right(((), unfinished)) => {
                    seen.ticks += 1;
                    read = unfinished; // the same read, with the bytes it already has
                }
            }
        };
        match outcome {
            Ok(()) => {
                if u64::from_be_bytes(message) == expected {
                    seen.intact += 1;
                } else {
                    seen.garbled += 1;
                }
                expected += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(seen),
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: careful

/// One run: a connection on localhost, the writer as a task, `careful` or not for the reader.
fn run(args: &Args, careful: bool) -> io::Result<Seen> {
    let gap = Duration::from_millis(args.gap_ms);
    let tick = Duration::from_millis(args.tick_ms);
    let messages = args.messages;
    taketurns::Runtime::new()?.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let writer = taketurns::spawn(async move {
            let (stream, _) = listener.accept().await?;
            write_messages(stream, messages, gap).await
        });
        let stream = TcpStream::connect(addr).await?;
        let seen = if careful {
            read_carefully(stream, tick).await?
        } else {
            read_naively(stream, tick).await?
        };
        writer
            .await
            .map_err(|e| io::Error::other(format!("the writer task failed: {e}")))??;
        Ok(seen)
    })
}

fn main() {
    let args = Args::parse();
    println!(
        "{} messages of 8 bytes, halves {} ms apart; the reader's tick is {} ms",
        args.messages, args.gap_ms, args.tick_ms
    );
    for (name, careful) in [
        ("new read_exact each turn", false),
        ("keep the losing read", true),
    ] {
        match run(&args, careful) {
            Ok(seen) => println!(
                "{name:<25} intact {:>6}  garbled {:>6}  missing {:>6}  ticks {:>6}",
                seen.intact,
                seen.garbled,
                args.messages.saturating_sub(seen.intact + seen.garbled),
                seen.ticks
            ),
            Err(e) => {
                eprintln!("exercise_09_2: {name}: {e}");
                std::process::exit(1);
            }
        }
    }
}
