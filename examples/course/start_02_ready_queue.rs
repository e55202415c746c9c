//! Build track, step 2, your starting point: tasks, and a first-in, first-out ready queue.
//!
//! Step 1's program, with the new part declared and left to write: `Executor::spawn`,
//! `Executor::run` and `Executor::poll_task` are `todo!()`, and each one's doc comment says what
//! it must do. Write them in your own copy (in your project, `src/bin/step_02.rs`), run it, and
//! check it against the reference with the course's checker (chapter 4 sets up the `check` alias):
//!
//! ```console
//! $ check 2 --bin step_02
//! ```

#![allow(unused)] // the gaps leave names unused; remove this line once they are filled in

mod show;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;

/// A leaf future that gives the thread back once: asyncio's `await asyncio.sleep(0)`.
struct YieldNow {
    /// Whether this future has returned `Pending` once already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    /// The first poll wakes this future's own task and returns `Pending`; the next returns
    /// `Ready`. The wake keeps the promise of `Pending`: nothing else will ever wake this future,
    /// so it asks to be polled again itself.
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

/// A task: a future with no output, boxed so that tasks of different types share one table, and
/// pinned because a future may not move once it has been polled.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The loop: its tasks, and the lists.
#[derive(Default)]
struct Executor {
    /// The futures of the tasks that have not finished, by task number. Tasks are numbered from
    /// 1 in the order they were spawned, as taketurns numbers them.
    tasks: BTreeMap<usize, Task>,
    /// How often each task was polled, by task number: every task spawned is here.
    polls: BTreeMap<usize, u64>,
    /// The numbers of the tasks that may run, in the order they became ready: the loop takes the
    /// front, and a task that is spawned or returns `Pending` goes on the back.
    ready: VecDeque<usize>,
}

impl Executor {
    /// Give `future` the next task number, and put the task on the back of the ready queue.
    fn spawn(&mut self, future: impl Future<Output = ()> + 'static) {
        todo!("write Executor::spawn")
    }

    /// Until the ready queue is empty, take the task at its front and poll it.
    fn run(&mut self) {
        todo!("write Executor::run")
    }

    /// Print the poll's line, poll `task` once (with a waker that does nothing), and count the
    /// poll. A task that returned `Pending` goes on the back of the ready queue; one that returned
    /// `Ready` has finished, and its future is dropped.
    fn poll_task(&mut self, task: usize, number: u64) {
        todo!("write Executor::poll_task")
    }

    /// One line per task: how often it was polled, and whether it finished.
    fn report(&self) {
        for (task, polls) in &self.polls {
            let finished = !self.tasks.contains_key(task);
            println!("task {task}: {polls} polls, finished: {finished}");
        }
    }
}

// The dinner: what the tasks do. Everything above it is the runtime.

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

/// Spawn the chef, the waiter and the guest, run them, and say how each one did.
fn main() {
    show::args();
    let mut executor = Executor::default();
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    executor.spawn(chef(dinner_tx, wine_tx));
    executor.spawn(waiter(dinner_rx, wine_rx));
    executor.spawn(guest());
    println!("tasks: 1 chef, 2 waiter, 3 guest");
    executor.run();
    executor.report();
}
