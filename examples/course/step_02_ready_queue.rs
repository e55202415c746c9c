//! Build track, step 2: tasks, and a first-in, first-out ready queue.
//!
//! A *task* is a boxed, pinned future with a number. The *ready queue* (a `VecDeque`, asyncio's
//! `_ready`) holds the tasks that may run: each poll takes the task at the front, and puts it on
//! the back if it returned `Pending`. The chef, the waiter (who waits for the chef's dinner and
//! wine) and a guest take turns.
//!
//! Run it and you see the ready queue, front first, and an empty waiting list: this loop has
//! nowhere to put a task that cannot go on, so two of the waiter's four polls find nothing to do.
//!
//! Next, step 3 adds the waiting list and wakers: a waiting task is polled when it is woken.
//!
//! ```console
//! $ cargo run --example step_02_ready_queue
//! ```

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
        let task = self.polls.len() + 1;
        self.tasks.insert(task, Box::pin(future));
        self.polls.insert(task, 0);
        self.ready.push_back(task);
    }

    /// Until the ready queue is empty, take the task at its front and poll it.
    fn run(&mut self) {
        let mut polled = 0;
        while let Some(task) = self.ready.pop_front() {
            polled += 1;
            self.poll_task(task, polled);
        }
    }

    /// Print the poll's line, poll `task` once (with a waker that does nothing), and count the
    /// poll. A task that returned `Pending` goes on the back of the ready queue; one that returned
    /// `Ready` has finished, and its future is dropped.
    fn poll_task(&mut self, task: usize, number: u64) {
        show::poll(number, task, &self.ready, &[]);
        let future = self.tasks.get_mut(&task).expect("queued, so not finished");
        *self.polls.entry(task).or_default() += 1;
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(()) => drop(self.tasks.remove(&task)),
            Poll::Pending => self.ready.push_back(task),
        }
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
