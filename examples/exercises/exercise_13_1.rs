//! Chapter 13, exercise 1: what does zeroing a 4 KiB read buffer cost, in instructions and in
//! time?
//!
//! Callgrind counted 4,112 instructions for each 4 KiB `memset` in the fetch path, half of the
//! event loop's user-space instructions per fetch before the fix. But glibc zeroes large blocks
//! with `rep stosb`, one x86 instruction that the CPU runs as a few wide stores, while valgrind
//! counts every byte it stores as one instruction executed. So what did the zeroing cost in
//! *time*? This program times three things on this machine, each `--iterations` times:
//!
//! 1. a fresh zeroed 4 KiB array (what `read_until` declared on every poll before the fix);
//! 2. a `read` from a socket with nothing to read (`WouldBlock`): the system call a poll of a
//!    waiting socket would have made, if the loop did not track readiness;
//! 3. a `read` of 1 KiB that *is* there: the system call a fetch's response costs.
//!
//! asyncio's `sock_recv` allocates a fresh `bytes` object per call instead; tokio's `ReadBuf`
//! skips the zeroing with `unsafe`. Left out: other buffer sizes (change [`READ_BUF`]).

use std::hint::black_box;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clap::Parser;

/// Time a fresh zeroed read buffer against the reads it is zeroed for.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// How many times to run each of the three measurements.
    #[arg(long, default_value_t = 200_000)]
    iterations: u32,
}

/// The size of the read buffer, as in the crate's `workload::wire`.
const READ_BUF: usize = 4096;

// ANCHOR: zeroing
/// Nanoseconds per fresh zeroed stack array of [`READ_BUF`] bytes, over `iterations`: what
/// `let mut buf = [0u8; READ_BUF];` inside a poll cost. `black_box` keeps the compiler from
/// skipping an array that nothing reads.
fn zeroing_ns(iterations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        let mut buf = [0u8; READ_BUF];
        black_box(&mut buf);
    }
    per_iteration(start.elapsed(), iterations)
}
// ANCHOR_END: zeroing

/// Nanoseconds per `read` that finds nothing (`WouldBlock`) on a non-blocking socket.
fn empty_read_ns(stream: &mut TcpStream, iterations: u32) -> std::io::Result<f64> {
    let mut buf = [0u8; 64];
    let start = Instant::now();
    for _ in 0..iterations {
        match stream.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok(n) => {
                return Err(std::io::Error::other(format!(
                    "read {n} bytes, expected none"
                )));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(per_iteration(start.elapsed(), iterations))
}

/// Nanoseconds per 1 KiB `read` that finds its bytes waiting (the write that puts them there is
/// done first, outside the timing, in batches that fit the socket buffers).
fn full_read_ns(
    writer: &mut TcpStream,
    reader: &mut TcpStream,
    iterations: u32,
) -> std::io::Result<f64> {
    let chunk = [b'x'; 1024];
    let mut buf = [0u8; 1024];
    let mut timed = Duration::ZERO;
    let mut left = iterations;
    while left > 0 {
        let batch = left.min(64);
        for _ in 0..batch {
            writer.write_all(&chunk)?;
        }
        // Wait until the whole batch has arrived, so that every timed read finds 1 KiB.
        reader.set_nonblocking(false)?;
        let mut peek = vec![0u8; 1024 * batch as usize];
        while reader.peek(&mut peek)? < peek.len() {}
        reader.set_nonblocking(true)?;
        let start = Instant::now();
        for _ in 0..batch {
            reader.read_exact(&mut buf)?;
        }
        timed += start.elapsed();
        left -= batch;
    }
    Ok(per_iteration(timed, iterations))
}

fn per_iteration(elapsed: Duration, iterations: u32) -> f64 {
    elapsed.as_nanos() as f64 / f64::from(iterations.max(1))
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    if cli.iterations == 0 {
        eprintln!("exercise_13_1: --iterations must be at least 1");
        std::process::exit(2);
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut writer = TcpStream::connect(listener.local_addr()?)?;
    let (mut reader, _) = listener.accept()?;
    writer.set_nodelay(true)?;
    reader.set_nonblocking(true)?;

    // Warm up each path once, then measure.
    zeroing_ns(cli.iterations / 10 + 1);
    let zero = zeroing_ns(cli.iterations);
    let empty = empty_read_ns(&mut reader, cli.iterations)?;
    let full = full_read_ns(&mut writer, &mut reader, cli.iterations.min(20_000))?;

    println!(
        "{} iterations on {}",
        cli.iterations,
        taketurns::workload::machine::describe()
    );
    println!("fresh zeroed 4 KiB array: {zero:>8.1} ns");
    println!("read that would block:    {empty:>8.1} ns  (a system call)");
    println!("read of 1 KiB waiting:    {full:>8.1} ns  (a system call and a copy)");
    println!(
        "zeroing is {:.1}% of an empty read, {:.1}% of a full one",
        100.0 * zero / empty,
        100.0 * zero / full
    );
    Ok(())
}
