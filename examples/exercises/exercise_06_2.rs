//! Exercise 6.2, "What `notified` saves": a thread wakes a parked task 100,000 times. How many
//! writes to the eventfd does that cost, with the `notified` flag and without it?
//!
//! Part one runs on taketurns as shipped: a task parks, a thread wakes it `--wakes` times, then
//! sets `done` and wakes it once more. It prints the runtime's counters: remote wakes, polls, and
//! how often the loop slept (each sleep the thread ended cost one eventfd write).
//!
//! Part two is a **model**, because the exercise's change (write on every wake, in
//! `Shared::wake_remote`) is inside the library. The model is the remote-wake path alone: an
//! inbox, an `full` flag, a `notified` flag, and a real eventfd (a `mio::Waker`) that a loop
//! thread sleeps on with `mio::Poll`, like taketurns' reactor. A switch decides whether the waking
//! thread writes only when `notified` was clear (as shipped) or on every wake (the change). The
//! model counts the writes itself, where the book's solution counted them with strace; it has no
//! tasks, so "polling the task" is draining the inbox. asyncio's `call_soon_threadsafe` writes a
//! byte to its self-pipe on every call; tokio's driver unparks through a `mio::Waker` too and
//! skips the write when the driver is not parked.
//!
//! ```console
//! $ cargo run --release --example exercise_06_2 -- --wakes 100000
//! ```

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use clap::Parser;

/// Wake a parked task from another thread many times: on taketurns, then on a model of the
/// remote-wake path with and without the `notified` flag. Prints the eventfd writes.
#[derive(Parser, Debug)]
#[command(name = "exercise_06_2")]
struct Args {
    /// How many times the thread wakes the task before it sets `done`.
    #[arg(long, default_value_t = 100_000)]
    wakes: u64,
}

// ANCHOR: real
/// What the taketurns run counted.
struct Real {
    task_polls: u64,
    remote_wakes: u64,
    sleeps: u64,
    wall: Duration,
}

fn on_taketurns(wakes: u64) -> std::io::Result<Real> {
    let rt = taketurns::Runtime::new()?;
    let parked: Arc<Mutex<Option<Waker>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let task_polls = rt.block_on(async move {
        let task = taketurns::spawn({
            let (parked, done) = (parked.clone(), done.clone());
            async move {
                let mut polls = 0u64;
                poll_fn(|cx| {
                    polls += 1;
                    *parked.lock().unwrap() = Some(cx.waker().clone());
                    if done.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                polls
            }
        });
        let thread = std::thread::spawn(move || {
            let waker = loop {
                if let Some(w) = parked.lock().unwrap().clone() {
                    break w;
                }
                std::thread::yield_now();
            };
            for _ in 0..wakes {
                waker.wake_by_ref();
            }
            done.store(true, Ordering::SeqCst);
            waker.wake();
        });
        let polls = task.await.expect("the task does not panic");
        thread.join().expect("the waking thread does not panic");
        polls
    });
    let s = rt.stats();
    Ok(Real {
        task_polls,
        remote_wakes: s.remote_wakes,
        sleeps: s.sleeps,
        wall: start.elapsed(),
    })
}
// ANCHOR_END: real

// ANCHOR: model
/// When the waking thread writes to the eventfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// Only if `notified` was clear (taketurns as shipped).
    IfNotNotified,
    /// On every wake (the exercise's change).
    EveryWake,
}

/// The state both threads share: taketurns' `Shared`, cut down to the remote-wake path.
struct Shared {
    /// Wakes not yet seen by the loop (taketurns keeps task keys here; the model, numbers).
    inbox: Mutex<Vec<u64>>,
    /// Set by a wake, cleared by the loop's drain: lets an empty drain skip the lock.
    full: AtomicBool,
    /// A write is on its way and the loop has not seen it yet.
    notified: AtomicBool,
    /// The eventfd the loop sleeps on.
    eventfd: mio::Waker,
    /// Writes made to the eventfd (the model counts them instead of strace).
    writes: AtomicU64,
    write: Write,
}

impl Shared {
    fn wake_remote(&self, n: u64) {
        self.inbox.lock().unwrap().push(n);
        self.full.store(true, Ordering::SeqCst);
        let write = match self.write {
            Write::IfNotNotified => !self.notified.swap(true, Ordering::SeqCst),
            Write::EveryWake => {
                self.notified.store(true, Ordering::SeqCst);
                true
            }
        };
        if write {
            self.writes.fetch_add(1, Ordering::Relaxed);
            let _ = self.eventfd.wake();
        }
    }
}

/// What one model run counted.
struct Model {
    writes: u64,
    loop_sleeps: u64,
    drained: u64,
    wall: Duration,
}

/// A loop thread (this one) sleeps on the eventfd and drains the inbox; another thread makes
/// `wakes` wakes and a last one with the number `u64::MAX`, which ends the run.
fn model(write: Write, wakes: u64) -> std::io::Result<Model> {
    const EVENTFD: mio::Token = mio::Token(0);
    let mut poll = mio::Poll::new()?;
    let shared = Arc::new(Shared {
        inbox: Mutex::new(Vec::new()),
        full: AtomicBool::new(false),
        notified: AtomicBool::new(false),
        eventfd: mio::Waker::new(poll.registry(), EVENTFD)?,
        writes: AtomicU64::new(0),
        write,
    });
    let start = Instant::now();
    let thread = std::thread::spawn({
        let shared = shared.clone();
        move || {
            for n in 0..wakes {
                shared.wake_remote(n);
            }
            shared.wake_remote(u64::MAX);
        }
    });
    let mut events = mio::Events::with_capacity(16);
    let (mut loop_sleeps, mut drained, mut finished) = (0, 0, false);
    let mut batch = Vec::new();
    while !finished {
        // Drain: cheap when nothing came in.
        if shared.full.swap(false, Ordering::SeqCst) {
            std::mem::swap(&mut batch, &mut *shared.inbox.lock().unwrap());
            drained += batch.len() as u64;
            finished = batch.contains(&u64::MAX);
            batch.clear();
            continue;
        }
        // Nothing to do: sleep until the eventfd fires. Clear `notified` *before* the next
        // drain, so that a wake that skips its write is drained by it.
        loop_sleeps += 1;
        poll.poll(&mut events, None)?;
        if events.iter().any(|e| e.token() == EVENTFD) {
            shared.notified.store(false, Ordering::SeqCst);
        }
    }
    thread.join().expect("the waking thread does not panic");
    Ok(Model {
        writes: shared.writes.load(Ordering::Relaxed),
        loop_sleeps,
        drained,
        wall: start.elapsed(),
    })
}
// ANCHOR_END: model

fn main() {
    let args = Args::parse();
    let result = (|| -> std::io::Result<()> {
        let r = on_taketurns(args.wakes)?;
        println!(
            "taketurns (as shipped): remote_wakes={} task_polls={} loop_sleeps={} wall={:.1?}",
            r.remote_wakes, r.task_polls, r.sleeps, r.wall
        );
        for write in [Write::IfNotNotified, Write::EveryWake] {
            let m = model(write, args.wakes)?;
            println!(
                "model {write:?}: wakes={} eventfd_writes={} loop_sleeps={} drained={} wall={:.1?}",
                args.wakes + 1,
                m.writes,
                m.loop_sleeps,
                m.drained,
                m.wall
            );
        }
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("exercise_06_2: could not create an epoll instance or an eventfd: {e}");
        std::process::exit(1);
    }
}
