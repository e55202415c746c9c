//! Chapter 4, exercise 3: two futures polled by hand, taking turns. Step 1's `main` polls one
//! future until it is done; this one polls the chef and a guest, one poll each in turn, until
//! both are done, with the same `Waker::noop()`.
//!
//! ```console
//! $ cargo run --example exercise_04_3
//! ```
//!
//! The tick lines show the other future as `ready`: while one runs, the other waits for its turn,
//! and the turns alternate until one of them finishes. This is the first event loop of the book,
//! with the ready queue written as a fixed array. Left out: a queue that grows (`spawn`, step 2),
//! and any way to skip a future that cannot go on (wakers, step 3): here a finished future is
//! skipped, nothing else is.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use clap::Parser;

// ANCHOR: yield_now
/// A leaf future: `Pending` the first time it is polled, `Ready` the second. It wakes its own task
/// before it returns `Pending`, so a loop that listens to wakers puts the task straight back in
/// the ready queue (asyncio's `await asyncio.sleep(0)`).
struct YieldNow {
    /// Whether this future has returned `Pending` once already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Give the thread back to the loop once.
fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}
// ANCHOR_END: yield_now

/// Set by `--quiet`: print what the tasks say, not the lists.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The command line.
#[derive(Parser, Debug)]
#[command(name = "exercise_04_3", version)]
struct Cli {
    /// Print what the tasks say, not the lists.
    #[arg(long)]
    quiet: bool,
}

/// Read the command line (`--help` lists the flags).
fn parse_args() {
    QUIET.store(Cli::parse().quiet, Ordering::Relaxed);
}

/// A list of task numbers as Python prints a list: `[2, 0]`. A long list shows its first five
/// and last two numbers and its length.
fn show<'a>(list: impl IntoIterator<Item = &'a usize>) -> String {
    let all: Vec<String> = list.into_iter().map(|task| task.to_string()).collect();
    if all.len() <= 10 {
        return format!("[{}]", all.join(", "));
    }
    let (head, tail) = (&all[..5], &all[all.len() - 2..]);
    format!(
        "[{}, ..., {}] ({} tasks)",
        head.join(", "),
        tail.join(", "),
        all.len()
    )
}

/// One line per tick: which task runs, then both lists.
fn print_tick<'a>(
    tick: u64,
    running: usize,
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) {
    if !QUIET.load(Ordering::Relaxed) {
        let (ready, waiting) = (show(ready), show(waiting));
        println!("tick {tick}: running {running} | ready: {ready} | waiting: {waiting}");
    }
}

// ANCHOR: kitchen
/// The chef: three steps, giving the thread back after each.
async fn chef() {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
}

/// The guest: two steps, giving the thread back after each.
async fn guest() {
    for step in ["sits", "reads"] {
        println!("guest: {step}");
        yield_now().await;
    }
}
// ANCHOR_END: kitchen

// ANCHOR: main
fn main() {
    parse_args();
    // Task 0 is the chef, task 1 the guest; `None` once a task has returned `Ready`.
    let mut tasks: [Option<Pin<Box<dyn Future<Output = ()>>>>; 2] =
        [Some(Box::pin(chef())), Some(Box::pin(guest()))];
    let mut cx = Context::from_waker(Waker::noop());
    let mut tick = 0;
    while tasks.iter().any(Option::is_some) {
        for task in 0..tasks.len() {
            let other = 1 - task;
            let ready: &[usize] = if tasks[other].is_some() {
                &[other]
            } else {
                &[]
            };
            let Some(future) = tasks[task].as_mut() else {
                continue; // finished: never poll a future after `Ready`
            };
            tick += 1;
            print_tick(tick, task, ready, &[]);
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(()) => {
                    println!("tick {tick}: task {task} returned Ready");
                    tasks[task] = None;
                }
                Poll::Pending => println!("tick {tick}: task {task} returned Pending"),
            }
        }
    }
}
// ANCHOR_END: main
