//! Exercise 2.3, "One core": what happens to a round trip between two threads when both must
//! share one core, and what does that say about where the time goes?
//!
//! This uses only std and taketurns' public API, so it runs directly. It times `--round-trips`
//! round trips between two threads (a `Mutex` + `Condvar` baton, and two std `mpsc` channels) and
//! between two taketurns tasks on one thread, and counts the context switches per round trip
//! (`getrusage`: voluntary = a thread went to sleep, involuntary = the kernel took its core). It
//! runs itself twice, as child processes: pinned to CPU 0 with `taskset -c 0`, and free to use
//! every CPU, and prints the CPUs each child was allowed (`Cpus_allowed_list` in
//! `/proc/self/status`). On one core, waking the other thread is cheap (it runs on this core as
//! soon as this one gives it up); across cores, every wake must reach another core. CPython
//! threads pay the same hand-off plus the GIL's; asyncio tasks, like ours, take turns in one
//! thread; tokio's multi-thread runtime keeps a woken task on the waking worker (its LIFO slot)
//! to avoid exactly this cross-core hand-off.
//!
//! ```console
//! $ cargo run --release --example exercise_02_3
//! ```

use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use futures::channel::mpsc as async_mpsc;
use nix::sys::resource::{UsageWho, getrusage};

/// Time round trips between two threads and between two tasks, pinned to one core and not.
#[derive(Parser, Debug)]
#[command(name = "exercise_02_3")]
struct Args {
    /// Round trips per measurement.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    round_trips: u32,
    /// Measure in this process and print one line, named so (the example runs itself this way).
    #[arg(long, hide = true)]
    here: Option<String>,
}

/// Context switches of the whole process so far: (voluntary, involuntary).
fn switches() -> (i64, i64) {
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF) cannot fail");
    (
        u.voluntary_context_switches(),
        u.involuntary_context_switches(),
    )
}

/// Time per round trip and switches per round trip of `rounds` calls of `one_round`.
fn measure(rounds: u32, mut one_round: impl FnMut()) -> (Duration, f64, f64) {
    let (v0, i0) = switches();
    let start = Instant::now();
    for _ in 0..rounds {
        one_round();
    }
    let took = start.elapsed() / rounds;
    let (v1, i1) = switches();
    let per = |d: i64| d as f64 / f64::from(rounds);
    (took, per(v1 - v0), per(i1 - i0))
}

// ANCHOR: round_trips
/// Two threads pass a counter back and forth under a mutex; the one whose turn it is not sleeps
/// on the condvar.
fn condvar(rounds: u32) -> (Duration, f64, f64) {
    let baton = Arc::new((Mutex::new(0u64), Condvar::new()));
    let echo_baton = Arc::clone(&baton);
    let echo = std::thread::spawn(move || {
        let (turn, changed) = &*echo_baton;
        loop {
            let mut mine = turn.lock().unwrap();
            while *mine % 2 == 0 {
                mine = changed.wait(mine).unwrap(); // asleep until the main thread passes
            }
            if *mine == u64::MAX {
                return;
            }
            *mine += 1; // pass it back
            drop(mine); // unlock before waking the other thread, so it need not wait for the lock
            changed.notify_one();
        }
    });
    let (turn, changed) = &*baton;
    let result = measure(rounds, || {
        *turn.lock().unwrap() += 1; // pass the baton (and unlock)
        changed.notify_one();
        let mut mine = turn.lock().unwrap();
        while *mine % 2 == 1 {
            mine = changed.wait(mine).unwrap();
        }
    });
    *turn.lock().unwrap() = u64::MAX;
    changed.notify_one();
    echo.join().expect("the echo thread does not panic");
    result
}

/// The same over two std channels.
fn channels(rounds: u32) -> (Duration, f64, f64) {
    let (to_echo, echo_inbox) = mpsc::channel::<u64>();
    let (to_main, main_inbox) = mpsc::channel::<u64>();
    let echo = std::thread::spawn(move || {
        for ball in echo_inbox {
            if to_main.send(ball).is_err() {
                break;
            }
        }
    });
    let result = measure(rounds, || {
        to_echo.send(1).expect("the echo thread is there");
        main_inbox.recv().expect("the echo thread is there");
    });
    drop(to_echo);
    echo.join().expect("the echo thread does not panic");
    result
}

/// The same between two taketurns tasks on this thread.
fn tasks(rounds: u32) -> std::io::Result<(Duration, f64, f64)> {
    let rt = taketurns::Runtime::new()?;
    Ok(rt.block_on(async {
        let (to_echo, mut echo_inbox) = async_mpsc::unbounded::<u64>();
        let (to_main, mut main_inbox) = async_mpsc::unbounded::<u64>();
        let echo = taketurns::spawn(async move {
            while let Some(ball) = echo_inbox.next().await {
                let _ = to_main.unbounded_send(ball);
            }
        });
        let (v0, i0) = switches();
        let start = Instant::now();
        for _ in 0..rounds {
            to_echo.unbounded_send(1).expect("the echo task is there");
            main_inbox.next().await.expect("the echo task is there");
        }
        let took = start.elapsed() / rounds;
        let (v1, i1) = switches();
        drop(to_echo);
        echo.await.expect("the echo task does not panic");
        let per = |d: i64| d as f64 / f64::from(rounds);
        (took, per(v1 - v0), per(i1 - i0))
    }))
}
// ANCHOR_END: round_trips

fn here(name: &str, rounds: u32) -> std::io::Result<()> {
    let cpus = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map_or("unknown".to_string(), |s| s.trim().to_string());
    let show = |what: &str, (took, vol, invol): (Duration, f64, f64)| {
        println!(
            "{name}, {what}: cpus_allowed={cpus} round_trips={rounds} per_round_trip={took:.1?} voluntary={vol:.2} involuntary={invol:.2}"
        );
    };
    show("condvar", condvar(rounds));
    show("mpsc", channels(rounds));
    show("tasks", tasks(rounds)?);
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Some(name) = &args.here {
        if let Err(e) = here(name, args.round_trips) {
            eprintln!("exercise_02_3: {e}");
            std::process::exit(1);
        }
        return;
    }
    let me = std::env::current_exe().expect("a program knows its own path");
    let rounds = args.round_trips.to_string();
    let mut pinned = Command::new("taskset");
    pinned.args(["-c", "0"]).arg(&me);
    let mut free = Command::new(&me);
    for (name, command) in [("one core", &mut pinned), ("all cores", &mut free)] {
        command.args(["--round-trips", &rounds, "--here", name]);
        match command.status() {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("exercise_02_3: the {name} run failed ({status})"),
            Err(e) => eprintln!(
                "exercise_02_3: could not start the {name} run ({e}); is `taskset` (util-linux) installed?"
            ),
        }
    }
}
