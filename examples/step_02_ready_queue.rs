//! Build track, step 2: tasks, and a first-in, first-out ready queue.
//!
//! A *task* is a boxed, pinned future with a number. The *ready queue* (a `VecDeque`, asyncio's
//! `_ready`) holds the tasks that may run: each tick polls the front one, and puts it at the back
//! if it returned `Pending`. The chef, the waiter (waits for the chef's dinner and wine) and a
//! guest take turns.
//!
//! Run it and you see the ready queue, front first, and an empty waiting list: this loop has
//! nowhere to put a task that cannot go on, so two of the waiter's four polls find nothing to do.
//!
//! Next, step 3 adds the waiting list and wakers: a waiting task is polled when it is woken.
//!
//! ```console
//! $ cargo run --example step_02_ready_queue
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;

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

/// Read the command line: `--quiet` is the only flag; anything else is an error (exit code 2).
fn parse_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            other => {
                eprintln!(
                    "{}: unknown argument {other:?}; the only flag is --quiet",
                    env!("CARGO_CRATE_NAME")
                );
                std::process::exit(2);
            }
        }
    }
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

// ANCHOR: executor
/// A task: a future with no output, boxed so that tasks of different types share one table, and
/// pinned because a future may not move once it has been polled.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The loop: every task, and the ready queue.
#[derive(Default)]
struct Executor {
    /// The tasks' futures, by task number; `None` once the task has finished.
    tasks: Vec<Option<Task>>,
    /// Task numbers in the order they became ready. `run` pops the front; `spawn`, and `run` for a
    /// task that returned `Pending`, push on the back.
    ready: VecDeque<usize>,
    /// Polls per task, by task number, for the summary.
    polls: Vec<u64>,
}

impl Executor {
    /// Add a task at the back of the ready queue; returns its number.
    fn spawn(&mut self, future: impl Future<Output = ()> + 'static) -> usize {
        let task = self.tasks.len();
        self.tasks.push(Some(Box::pin(future)));
        self.polls.push(0);
        self.ready.push_back(task);
        task
    }

    /// Poll the task at the front of the ready queue, one per tick, until the queue is empty.
    fn run(&mut self) {
        let mut tick = 0;
        while let Some(task) = self.ready.pop_front() {
            tick += 1;
            print_tick(tick, task, &self.ready, &[]);
            let waker = Waker::noop();
            let future = self.tasks[task].as_mut().expect("queued, so not finished");
            self.polls[task] += 1;
            let poll = future.as_mut().poll(&mut Context::from_waker(waker));
            match poll {
                Poll::Ready(()) => self.tasks[task] = None,
                Poll::Pending => self.ready.push_back(task),
            }
        }
    }

    /// One line per task: how often it was polled, and whether it finished.
    fn report(&self) {
        for (task, polls) in self.polls.iter().enumerate() {
            let finished = self.tasks[task].is_none();
            println!("task {task}: {polls} polls, finished: {finished}");
        }
    }
}
// ANCHOR_END: executor

// ANCHOR: kitchen
/// The chef: three steps, giving the thread back after each, then dinner and wine for the waiter.
async fn chef(dinner: oneshot::Sender<&'static str>, wine: oneshot::Sender<&'static str>) {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
    // The waiter holds the receivers until both have arrived, so neither send can fail.
    dinner.send("roast").expect("the waiter waits for dinner");
    wine.send("wine").expect("the waiter waits for wine");
}

/// The waiter: waits for dinner and wine, both at once.
async fn waiter(dinner: oneshot::Receiver<&'static str>, wine: oneshot::Receiver<&'static str>) {
    println!("waiter: waits");
    match futures::future::join(dinner, wine).await {
        (Ok(dinner), Ok(wine)) => println!("waiter: serves {dinner} and {wine}"),
        _ => println!("waiter: the chef left without cooking"),
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
    let mut executor = Executor::default();
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    executor.spawn(chef(dinner_tx, wine_tx));
    executor.spawn(waiter(dinner_rx, wine_rx));
    executor.spawn(guest());
    println!("tasks: 0 chef, 1 waiter, 2 guest");
    executor.run();
    executor.report();
}
// ANCHOR_END: main
