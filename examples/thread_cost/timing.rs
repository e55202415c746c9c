//! Time: how long a thread takes to start and join (with Rust's default stack and with a small
//! one), a job handed to a pool that is already running, a taketurns task spawned and awaited,
//! and a round trip between two threads (over std channels, and over a mutex and a condvar)
//! beside a round trip between two tasks on one thread. Each round trip also counts the context
//! switches the kernel made for it (`getrusage`).
//!
//! Python's counterparts are `threading.Thread(...).start(); join()`, a
//! `ThreadPoolExecutor.submit(...).result()`, and `asyncio.create_task`; tokio's
//! `spawn_blocking` and `spawn` are what the pool and the task stand for. Medians only: no
//! warm-up and no confidence interval (the criterion benches in `benches/` have those).

use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc as async_mpsc;
use nix::sys::resource::{UsageWho, getrusage};
use taketurns::threaded::{ThreadPerTask, ThreadPool};

use crate::Args;
use crate::format::{median, time};

/// Fast operations are timed in batches of this many; one sample is a batch's time divided by it.
const BATCH: usize = 1000;

/// The "Time" section: spawn + join with each of `spawners`, a pool job, a task, and the three
/// round trips, one line each.
pub fn print_times(args: &Args, spawners: [(&str, ThreadPerTask); 2]) -> io::Result<()> {
    let spawns = args.spawns.max(1);
    let rounds = args.round_trips.max(BATCH);
    println!("Time (median)");
    let line =
        |what: &str, value: String, note: String| println!("  {what:<46} {value:>9}  {note}");
    for (name, spawner) in spawners {
        let what = format!("thread: spawn + join, {name}");
        match spawn_join(spawner, spawns) {
            Ok(samples) => line(&what, time(median(samples)), format!("of {spawns} threads")),
            Err(e) => line(&what, "failed".into(), format!("{e}")),
        }
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = ThreadPool::new(workers)?;
    line(
        "pool job: ThreadPool::spawn + join",
        time(median(pool_job(&pool, spawns))),
        format!(
            "of {spawns} jobs, {workers} worker{}",
            if workers == 1 { "" } else { "s" }
        ),
    );
    pool.shutdown();
    line(
        "task: taketurns::spawn + await",
        time(median(task_spawn_await(rounds)?)),
        format!("of {rounds} tasks"),
    );
    for (what, trips) in [
        (
            "round trip, two threads, std mpsc",
            thread_round_trips_mpsc(rounds)?,
        ),
        (
            "round trip, two threads, Mutex + Condvar",
            thread_round_trips_condvar(rounds)?,
        ),
        (
            "round trip, two tasks, one thread",
            task_round_trips(rounds)?,
        ),
    ] {
        let note = format!(
            "{:.2} voluntary + {:.2} involuntary switches each",
            trips.voluntary, trips.involuntary
        );
        line(what, time(median(trips.samples)), note);
    }
    Ok(())
}

// ANCHOR: spawn_join
/// Starts `n` threads that do nothing, one after another, and times each from `spawn` until
/// `join` has returned.
fn spawn_join(spawner: ThreadPerTask, n: usize) -> io::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let handle = spawner.spawn(|| ())?;
        handle.join().expect("an empty thread cannot panic");
        samples.push(start.elapsed());
    }
    Ok(samples)
}
// ANCHOR_END: spawn_join

/// Hands `n` empty jobs to a pool one at a time, and times each from `spawn` until `join` has
/// returned. No thread is created: a worker that is already running picks the job up.
fn pool_job(pool: &ThreadPool, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            pool.spawn(|| ()).join().expect("an empty job cannot panic");
            start.elapsed()
        })
        .collect()
}

/// Spawns and awaits `n` empty taketurns tasks, one after another, in batches of [`BATCH`].
fn task_spawn_await(n: usize) -> io::Result<Vec<Duration>> {
    let rt = taketurns::Runtime::new()?;
    Ok(rt.block_on(async {
        let mut samples = Vec::new();
        for _ in 0..n / BATCH {
            let start = Instant::now();
            for _ in 0..BATCH {
                taketurns::spawn(async {})
                    .await
                    .expect("an empty task cannot fail");
            }
            samples.push(start.elapsed() / BATCH as u32);
        }
        samples
    }))
}

/// The result of a ping-pong: the time of one round trip (one sample per batch of [`BATCH`]), and
/// how many context switches the kernel counted per round trip, over the whole process.
struct RoundTrips {
    samples: Vec<Duration>,
    voluntary: f64,
    involuntary: f64,
}

/// Context switches of the whole process so far, every thread included: (voluntary,
/// involuntary). A voluntary switch is a thread giving up its core because it must wait; an
/// involuntary one is the kernel taking the core away.
fn context_switches() -> io::Result<(f64, f64)> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(io::Error::from)?;
    Ok((
        usage.voluntary_context_switches() as f64,
        usage.involuntary_context_switches() as f64,
    ))
}

/// Runs `rounds` round trips with `one_round`, in batches, counting context switches around it.
fn time_round_trips(rounds: usize, mut one_round: impl FnMut()) -> io::Result<RoundTrips> {
    let (vol_before, invol_before) = context_switches()?;
    let mut samples = Vec::new();
    for _ in 0..rounds / BATCH {
        let start = Instant::now();
        for _ in 0..BATCH {
            one_round();
        }
        samples.push(start.elapsed() / BATCH as u32);
    }
    let (vol_after, invol_after) = context_switches()?;
    let total = (rounds / BATCH * BATCH) as f64;
    Ok(RoundTrips {
        samples,
        voluntary: (vol_after - vol_before) / total,
        involuntary: (invol_after - invol_before) / total,
    })
}

// ANCHOR: ping_pong
/// Two threads take turns: this one passes the baton, the other passes it back. The baton is a
/// counter behind a mutex: odd means "the echo thread's turn", even "ours". A thread whose turn
/// it is not sleeps on the condvar, which parks it in the kernel until the other one notifies.
fn thread_round_trips_condvar(rounds: usize) -> io::Result<RoundTrips> {
    let baton = Arc::new((Mutex::new(0u64), Condvar::new()));
    let echo_baton = Arc::clone(&baton);
    let echo = ThreadPerTask::new().spawn(move || {
        let (turn, changed) = &*echo_baton;
        loop {
            let mut mine = turn.lock().unwrap();
            while *mine % 2 == 0 {
                mine = changed.wait(mine).unwrap(); // asleep until the main thread passes
            }
            if *mine == u64::MAX {
                return; // the main thread's "stop"
            }
            *mine += 1; // pass it back
            drop(mine); // unlock before waking the other thread, so it need not wait for the lock
            changed.notify_one();
        }
    })?;
    let (turn, changed) = &*baton;
    let trips = time_round_trips(rounds, || {
        *turn.lock().unwrap() += 1; // pass the baton (and unlock)
        changed.notify_one();
        let mut mine = turn.lock().unwrap();
        while *mine % 2 == 1 {
            mine = changed.wait(mine).unwrap(); // asleep until the echo thread passes it back
        }
    })?;
    *turn.lock().unwrap() = u64::MAX;
    changed.notify_one();
    echo.join().expect("the echo thread panicked");
    Ok(trips)
}
// ANCHOR_END: ping_pong

/// The same ping-pong over two std channels: a `recv` that finds no message parks the thread
/// (`std::thread::park`, a futex wait), and `send` unparks it, so it costs what the condvar does.
fn thread_round_trips_mpsc(rounds: usize) -> io::Result<RoundTrips> {
    let (to_echo, echo_inbox) = mpsc::channel::<u64>();
    let (to_main, main_inbox) = mpsc::channel::<u64>();
    let echo = ThreadPerTask::new().spawn(move || {
        for ball in echo_inbox {
            if to_main.send(ball).is_err() {
                break;
            }
        }
    })?;
    let trips = time_round_trips(rounds, || {
        to_echo.send(1).expect("the echo thread hung up");
        main_inbox.recv().expect("the echo thread hung up");
    })?;
    drop(to_echo); // ends the echo thread's `for` loop
    echo.join().expect("the echo thread panicked");
    Ok(trips)
}

/// The same ping-pong between two taketurns tasks on one thread, over two futures channels.
fn task_round_trips(rounds: usize) -> io::Result<RoundTrips> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let (to_echo, mut echo_inbox) = async_mpsc::unbounded::<u64>();
        let (to_main, mut main_inbox) = async_mpsc::unbounded::<u64>();
        let echo = taketurns::spawn(async move {
            while let Some(ball) = echo_inbox.next().await {
                let _ = to_main.unbounded_send(ball);
            }
        });
        let (vol_before, invol_before) = context_switches()?;
        let mut samples = Vec::new();
        for _ in 0..rounds / BATCH {
            let start = Instant::now();
            for _ in 0..BATCH {
                to_echo.unbounded_send(1).expect("the echo task ended");
                main_inbox.next().await.expect("the echo task ended");
            }
            samples.push(start.elapsed() / BATCH as u32);
        }
        let (vol_after, invol_after) = context_switches()?;
        drop(to_echo);
        echo.await.expect("the echo task panicked");
        let total = (rounds / BATCH * BATCH) as f64;
        Ok(RoundTrips {
            samples,
            voluntary: (vol_after - vol_before) / total,
            involuntary: (invol_after - invol_before) / total,
        })
    })
}
