//! Exercise 8.3, "Round down": what does a loop pay if it rounds the time to its next timer *down*
//! to whole milliseconds before it sleeps, instead of up?
//!
//! The exercise asks you to change `Core::wait_for_events` in taketurns. A solution file cannot patch the
//! library, so this one runs taketurns as shipped for reference, and then a **model** of the
//! loop's sleep: a loop with one timer at a time (a hundred sleeps of `--sleep-ms`, one after
//! another) that computes the time left, rounds it up (what mio does with taketurns' exact
//! timeout) or down (the change), and sleeps in a real `epoll_wait` through `mio::Poll`. Like
//! taketurns, a zero timeout is a look, not a sleep, and with no socket registered a look makes
//! no system call; `--with-socket` registers a listening socket so that every look is an
//! `epoll_wait(…, 0)`. The model counts ticks (turns of its loop) and `epoll_wait` calls, and
//! reads its CPU time from `getrusage`. The model has no tasks and no ready queue: a tick is only
//! "check the clock, then sleep or look". asyncio avoids the spin twice over: its epoll
//! selector rounds the timeout up (`math.ceil`), and `_run_once` treats every timer due within
//! `clock_resolution` of now as due. tokio's timer wheel works in whole milliseconds and rounds
//! deadlines up.
//!
//! ```console
//! $ cargo run --release --example exercise_08_3
//! $ cargo run --release --example exercise_08_3 -- --with-socket
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::workload::machine::cpu_time;

/// Sleep a hundred times on taketurns, then on a model loop that rounds the timeout up and one
/// that rounds it down; print ticks, epoll_wait calls and CPU time.
#[derive(Parser, Debug)]
#[command(name = "exercise_08_3")]
struct Args {
    /// Sleeps per run.
    #[arg(long, default_value_t = 100)]
    sleeps: u32,
    /// The length of each sleep, in milliseconds.
    #[arg(long, default_value_t = 10)]
    sleep_ms: u64,
    /// Register a listening socket, so that a zero-timeout look is an epoll_wait too.
    #[arg(long)]
    with_socket: bool,
}

// ANCHOR: model
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rounding {
    /// To the next whole millisecond (mio, and so taketurns as shipped).
    Up,
    /// To the whole millisecond below (the exercise's change).
    Down,
}

/// What one model run counted.
struct Counts {
    /// Turns of the loop that slept or looked. taketurns fires a timer in the tick whose sleep
    /// ended, so its `ticks` counts the same thing.
    ticks: u64,
    epoll_waits: u64,
    /// Turns that found the deadline not yet reached: the previous sleep (or look) ended early.
    early_wakes: u64,
    worst_late: Duration,
    early: u64,
    cpu: Duration,
}

fn model(
    rounding: Rounding,
    sleeps: u32,
    length: Duration,
    with_socket: bool,
) -> std::io::Result<Counts> {
    let mut poll = mio::Poll::new()?;
    let mut events = mio::Events::with_capacity(8);
    // A listener nobody connects to: registered, so the loop must ask epoll when it looks.
    let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
    if with_socket {
        poll.registry()
            .register(&mut listener, mio::Token(0), mio::Interest::READABLE)?;
    }
    let (mut ticks, mut epoll_waits, mut early, mut early_wakes) = (0, 0, 0, 0);
    let mut worst_late = Duration::ZERO;
    let cpu_before = cpu_time();
    for _ in 0..sleeps {
        let deadline = Instant::now() + length;
        let mut first_turn = true;
        loop {
            let now = Instant::now();
            if now >= deadline {
                // The timer fires: "due" includes now.
                worst_late = worst_late.max(now - deadline);
                break;
            }
            ticks += 1; // one more turn of the loop: sleep, or look and come round again
            if !first_turn {
                early_wakes += 1; // the previous sleep or look ended before the deadline
            }
            first_turn = false;
            let left = deadline - now;
            let timeout = match rounding {
                // mio turns a Duration into epoll's milliseconds by rounding up.
                Rounding::Up => left,
                Rounding::Down => Duration::from_millis(left.as_millis() as u64),
            };
            if timeout.is_zero() && !with_socket {
                continue; // a look with nothing registered: no system call at all
            }
            epoll_waits += 1;
            poll.poll(&mut events, Some(timeout))?;
        }
        if Instant::now() < deadline {
            early += 1; // cannot happen: the loop only leaves once the deadline has passed
        }
    }
    Ok(Counts {
        ticks,
        epoll_waits,
        early_wakes,
        worst_late,
        early,
        cpu: cpu_time() - cpu_before,
    })
}
// ANCHOR_END: model

// ANCHOR: real
fn on_taketurns(sleeps: u32, length: Duration) -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    let cpu_before = cpu_time();
    let worst = rt.block_on(async {
        let mut worst = Duration::ZERO;
        for _ in 0..sleeps {
            let deadline = Instant::now() + length;
            taketurns::time::sleep_until(deadline).await;
            worst = worst.max(deadline.elapsed());
        }
        worst
    });
    let s = rt.stats();
    println!(
        "taketurns (as shipped): sleeps={sleeps} ticks={} epoll_waits={} loop_sleeps={} worst_late={worst:.2?} cpu={:.1?}",
        s.ticks,
        s.io_polls,
        s.sleeps,
        cpu_time() - cpu_before
    );
    Ok(())
}
// ANCHOR_END: real

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let length = Duration::from_millis(args.sleep_ms);
    on_taketurns(args.sleeps, length)?;
    for rounding in [Rounding::Up, Rounding::Down] {
        let c = model(rounding, args.sleeps, length, args.with_socket)?;
        println!(
            "model {rounding:?}{}: sleeps={} ticks={} early_wakes={} epoll_waits={} early={} worst_late={:.2?} cpu={:.1?}",
            if args.with_socket { ", socket" } else { "" },
            args.sleeps,
            c.ticks,
            c.early_wakes,
            c.epoll_waits,
            c.early,
            c.worst_late,
            c.cpu
        );
    }
    Ok(())
}
