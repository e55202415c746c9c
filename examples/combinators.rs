//! Combinators on taketurns: `join` runs futures together inside one task, `select` keeps the
//! first to finish and drops the others, and a dropped future is a cancelled one.
//!
//! Chapter 9 of the book runs it and reads its output:
//!
//! ```console
//! $ cargo run --example combinators
//! $ cargo run --example combinators -- --sleeps-ms 10,20,30 --fetch-delay-ms 200 --deadline-ms 20
//! ```
//!
//! Four scenes, each measured on the runtime's own counters: three sleeps awaited one after
//! another and then with `futures::join!` (the time of the longest, not the sum); the same join
//! written by hand as a 30-line `Join2` future with pin-project-lite; `join` inside one task
//! against `spawn` of separate tasks, seen in the two lists; and a fetch from the delay server
//! raced against a deadline with `futures::future::select`, whose loser we drop ourselves and
//! watch go: its destructor runs, its socket and its timer leave the runtime.
//!
//! asyncio's counterparts are `asyncio.gather`, `asyncio.wait(..., return_when=FIRST_COMPLETED)`
//! and `asyncio.timeout`; tokio's are `tokio::join!`, `tokio::select!` and `tokio::time::timeout`.
//! Left out: `select!` in a loop (exercise 2 of chapter 9 shows what it can lose), and fairness
//! between branches (`futures::select!` picks a random ready branch; `Join2` polls `a` first).

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::future::{self, Either};
use pin_project_lite::pin_project;
use taketurns::time::{sleep, timeout};
use taketurns::workload::{FetchPlan, fetch, spawn_server_thread};
use taketurns::{Runtime, Stats};

/// Run join, select and cancellation by drop on taketurns, and print what the runtime counted.
#[derive(Parser, Debug)]
#[command(name = "combinators", version)]
struct Args {
    /// The three sleeps of the join scenes, in milliseconds.
    #[arg(long, value_delimiter = ',', default_values_t = [100u64, 200, 300])]
    sleeps_ms: Vec<u64>,
    /// How long the delay server waits before it answers the fetch that loses the race.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    fetch_delay_ms: u64,
    /// The deadline raced against that fetch; it must be shorter than --fetch-delay-ms.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    deadline_ms: u64,
}

fn main() {
    let args = Args::parse();
    if args.sleeps_ms.len() != 3 {
        eprintln!(
            "combinators: --sleeps-ms takes three durations separated by commas, such as \
             100,200,300 (got {})",
            args.sleeps_ms.len()
        );
        std::process::exit(2);
    }
    if args.deadline_ms >= args.fetch_delay_ms {
        eprintln!(
            "combinators: --deadline-ms ({}) must be shorter than --fetch-delay-ms ({}), \
             or the fetch wins the race and nothing is cancelled",
            args.deadline_ms, args.fetch_delay_ms
        );
        std::process::exit(2);
    }
    if let Err(e) = run(&args) {
        eprintln!("combinators: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> io::Result<()> {
    let ms = |n: u64| Duration::from_millis(n);
    let [a, b, c] = [
        ms(args.sleeps_ms[0]),
        ms(args.sleeps_ms[1]),
        ms(args.sleeps_ms[2]),
    ];
    println!("combinators: {}", taketurns::workload::machine::describe());

    println!("\n1. three sleeps ({a:?}, {b:?}, {c:?}): one after another, then joined");
    let rt = Runtime::new()?;
    // ANCHOR: join_sleeps
    let (one_by_one, sequential) = measure(&rt, async {
        sleep(a).await;
        sleep(b).await;
        sleep(c).await;
    });
    let (joined, together) = measure(&rt, async {
        futures::join!(sleep(a), sleep(b), sleep(c));
    });
    // ANCHOR_END: join_sleeps
    println!(
        "   one after another: {:>9.1?}  (sum {:?})  loop slept {}, timers fired {}",
        one_by_one,
        a + b + c,
        sequential.sleeps,
        sequential.timers_fired
    );
    println!(
        "   futures::join!:    {:>9.1?}  (max {:?})  loop slept {}, timers fired {}",
        joined,
        a.max(b).max(c),
        together.sleeps,
        together.timers_fired
    );

    println!("\n2. the same join by hand: Join2 of two sleeps ({a:?}, {b:?}), polls counted");
    let rt = Runtime::new()?;
    // ANCHOR: join2_run
    let polls = [
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(0)),
        Rc::new(Cell::new(0)),
    ];
    let (took, _) = measure(&rt, {
        let [outer, left, right] = polls.clone();
        Counted::new(
            join2(Counted::new(sleep(a), left), Counted::new(sleep(b), right)),
            outer,
        )
    });
    // ANCHOR_END: join2_run
    println!(
        "   Join2 finished in {took:.1?}; polled {} times, sleep {a:?} {} times, sleep {b:?} {} times",
        polls[0].get(),
        polls[1].get(),
        polls[2].get()
    );

    println!("\n3. join inside one task against spawn of two tasks, two sleeps of {a:?} each");
    join_against_spawn(a)?;

    println!(
        "\n4. a fetch (the server answers after {} ms) raced against a {} ms deadline",
        args.fetch_delay_ms, args.deadline_ms
    );
    race(ms(args.fetch_delay_ms), ms(args.deadline_ms))?;
    Ok(())
}

/// Run `future` on `rt`; its wall time and the counters it moved.
fn measure<F: Future>(rt: &Runtime, future: F) -> (Duration, Stats) {
    let before = rt.stats();
    let start = Instant::now();
    rt.block_on(future);
    let took = start.elapsed();
    let after = rt.stats();
    // `Stats` is `#[non_exhaustive]`: change a copy instead of building one.
    let mut delta = after;
    delta.sleeps -= before.sleeps;
    delta.timers_fired -= before.timers_fired;
    delta.polls -= before.polls;
    delta.tasks_spawned -= before.tasks_spawned;
    (took, delta)
}

// ANCHOR: join2
pin_project! {
    /// Two futures driven by one task: each poll polls whichever is not finished yet, and the
    /// join is ready when both are. No thread, no task, no runtime call: only `poll`.
    #[must_use = "futures do nothing unless you .await them"]
    pub struct Join2<A, B>
    where
        A: Future,
        B: Future,
    {
        #[pin]
        a: A,
        #[pin]
        b: B,
        // An output waiting for the other side; `Some` also means "do not poll this one again".
        a_out: Option<A::Output>,
        b_out: Option<B::Output>,
    }
}

/// Wait for both `a` and `b`, in the same task: `futures::join!` for two.
pub fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2 {
        a,
        b,
        a_out: None,
        b_out: None,
    }
}

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Both children get the same `cx`, so whichever of them wakes, it wakes this task.
        if this.a_out.is_none()
            && let Poll::Ready(out) = this.a.poll(cx)
        {
            *this.a_out = Some(out);
        }
        if this.b_out.is_none()
            && let Poll::Ready(out) = this.b.poll(cx)
        {
            *this.b_out = Some(out);
        }
        match (this.a_out.take(), this.b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                // Not both yet: put back what we have and wait for the next wake.
                *this.a_out = a;
                *this.b_out = b;
                Poll::Pending
            }
        }
    }
}
// ANCHOR_END: join2

pin_project! {
    /// A future that counts its own polls in a shared cell.
    pub struct Counted<F> {
        #[pin]
        inner: F,
        // Shared with whoever prints the count.
        polls: Rc<Cell<u64>>,
    }
}

impl<F> Counted<F> {
    /// Wrap `inner`; every poll adds one to `polls`.
    pub fn new(inner: F, polls: Rc<Cell<u64>>) -> Counted<F> {
        Counted { inner, polls }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.polls.set(this.polls.get() + 1);
        this.inner.poll(cx)
    }
}

/// Scene 3: the same two sleeps, joined in one task, then spawned as two tasks.
fn join_against_spawn(d: Duration) -> io::Result<()> {
    // ANCHOR: join_vs_spawn
    let rt = Runtime::new()?;
    let (took, moved) = measure(&rt, async {
        let task = taketurns::spawn(async move {
            futures::join!(sleep(d), sleep(d));
        });
        taketurns::yield_now().await; // let the loop run the new task up to its first await
        show("join: ", taketurns::snapshot());
        println!(
            "          timers pending {}",
            taketurns::stats().timers_pending
        );
        task.await.expect("the joined task");
    });
    println!(
        "          {took:.1?}, {} task, {} polls",
        moved.tasks_spawned, moved.polls
    );

    let rt = Runtime::new()?;
    let (took, moved) = measure(&rt, async {
        let first = taketurns::spawn(sleep(d));
        let second = taketurns::spawn(sleep(d));
        taketurns::yield_now().await;
        show("spawn:", taketurns::snapshot());
        println!(
            "          timers pending {}",
            taketurns::stats().timers_pending
        );
        first.await.expect("the first task");
        second.await.expect("the second task");
    });
    println!(
        "          {took:.1?}, {} tasks, {} polls",
        moved.tasks_spawned, moved.polls
    );
    // ANCHOR_END: join_vs_spawn
    Ok(())
}

/// Print a snapshot with what each waiting task waits for, one line each, under `label`.
fn show(label: &str, snapshot: taketurns::Snapshot) {
    let text = format!("{snapshot:#}");
    for (i, line) in text.lines().enumerate() {
        let label = if i == 0 { label } else { "" };
        println!("   {label:<6} {}", line.trim_start());
    }
}

// ANCHOR: noisy
/// Prints a line when it is dropped: put one in a future's body and you see when the future dies.
struct Noisy {
    /// What the line says was dropped.
    what: &'static str,
    /// When the race began, to say how long the future lived.
    since: Instant,
}

impl Drop for Noisy {
    fn drop(&mut self) {
        let stats = taketurns::stats();
        println!(
            "   drop:  {} dropped after {:.1?} (at that moment: sockets registered {}, timers pending {})",
            self.what,
            self.since.elapsed(),
            stats.sockets_registered,
            stats.timers_pending
        );
    }
}
// ANCHOR_END: noisy

/// Scene 4: a slow fetch against a deadline; the deadline wins and the fetch is dropped.
fn race(fetch_delay: Duration, deadline: Duration) -> io::Result<()> {
    let (addr, server) = spawn_server_thread("127.0.0.1:0")?;
    let request = FetchPlan::delay_server(addr, 1, fetch_delay, 1024).request()?;
    let rt = Runtime::new()?;
    // ANCHOR: race
    rt.block_on(async {
        let start = Instant::now();
        let slow_fetch = async {
            let _noisy = Noisy {
                what: "the fetch",
                since: start,
            };
            fetch(addr, &request, Duration::from_secs(30)).await
        };
        let alarm = async {
            sleep(deadline).await;
            taketurns::stats() // the gauges at the moment the deadline is reached
        };
        // `select` wants `Unpin` futures: boxing pins them on the heap.
        match future::select(Box::pin(slow_fetch), Box::pin(alarm)).await {
            Either::Left((answer, _alarm)) => println!("   the fetch won: {answer:?}"),
            Either::Right((at_deadline, loser)) => {
                println!(
                    "   the deadline won after {:.1?}: sockets registered {}, timers pending {}",
                    start.elapsed(),
                    at_deadline.sockets_registered,
                    at_deadline.timers_pending
                );
                // `select` handed the loser back, still alive. Dropping it cancels it.
                drop(loser);
                let after = taketurns::stats();
                println!(
                    "   after: sockets registered {}, timers pending {}",
                    after.sockets_registered, after.timers_pending
                );
            }
        }

        // The same race in one call: `timeout` drops the fetch itself when the time is up.
        let slow_fetch = async {
            let _noisy = Noisy {
                what: "the fetch inside timeout",
                since: Instant::now(),
            };
            fetch(addr, &request, Duration::from_secs(30)).await
        };
        let outcome = timeout(deadline, slow_fetch).await;
        println!("   timeout(..) returned {outcome:?}");
    });
    // ANCHOR_END: race
    let stats = rt.stats();
    println!(
        "   runtime at the end: sockets registered {}, timers pending {}",
        stats.sockets_registered, stats.timers_pending
    );
    server.shutdown()?;
    Ok(())
}
