//! Chapter 5, exercise 3: ticks with a budget. Step 3's `run` polls one task per tick; this one
//! counts the ready queue at the start of each tick and polls that many tasks. A task woken during
//! the tick (a `yield_now`, or a task the chef's `send` wakes) goes behind them and runs in the
//! next tick.
//!
//! ```console
//! $ cargo run --example exercise_05_3
//! ```
//!
//! The polls come in the same order as in step 3; what changes is which of them share a tick:
//! three in the first tick, two in the second and the third, then the chef alone and the waiter
//! alone.
//! asyncio's `_run_once` counts `ntodo = len(self._ready)` the same way, and taketurns' `tick`
//! (`src/runtime/tick.rs`) calls it `budget`. Left out: what a real loop does between ticks (look at
//! sockets and timers, chapters 7 and 8).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use clap::Parser;

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

/// The command line.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_3", version)]
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

// ANCHOR: lists
/// Where a task is. A task is in one list at a time, or in none while it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the ready queue, once.
    Queued,
    /// Being polled, in neither list; `rewoken` says it was woken during this poll.
    Running { rewoken: bool },
    /// In the waiting list, until its waker moves it to the ready queue.
    Waiting,
    /// Finished: a wake does nothing.
    Done,
}

/// The two lists, shared by the loop and the wakers (behind a mutex: a waker is `Send`).
#[derive(Default)]
struct Lists {
    /// Task numbers in the order they became ready: the loop pops the front, wakes push the back.
    ready: VecDeque<usize>,
    /// Task numbers in the order they started waiting: the loop pushes, wakes remove.
    waiting: Vec<usize>,
    /// Each task's state, by task number.
    states: Vec<State>,
}

impl Lists {
    /// Wake `task`: move it from the waiting list to the back of the ready queue; if it is
    /// running, note that it wants another turn. A queued or finished task stays as it is.
    fn wake(&mut self, task: usize) {
        match self.states[task] {
            State::Waiting => {
                self.waiting.retain(|&waiting| waiting != task);
                self.states[task] = State::Queued;
                self.ready.push_back(task);
            }
            State::Running { .. } => self.states[task] = State::Running { rewoken: true },
            State::Queued | State::Done => {}
        }
    }
}

/// A task's waker: the task, and its lists.
struct TaskWaker {
    /// The loop's lists, shared with the loop and every other waker.
    lists: Arc<Mutex<Lists>>,
    /// The task this waker moves.
    task: usize,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.lists.lock().unwrap().wake(self.task);
    }
}
// ANCHOR_END: lists

// ANCHOR: executor
/// A task: a future with no output, boxed so that tasks of different types share one table, and
/// pinned because a future may not move once it has been polled.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The loop: every task, and the two lists.
#[derive(Default)]
struct Executor {
    /// The tasks' futures, by task number; `None` once the task has finished.
    tasks: Vec<Option<Task>>,
    /// The ready queue and the waiting list, shared with the wakers.
    lists: Arc<Mutex<Lists>>,
    /// Polls per task, by task number, for the summary.
    polls: Vec<u64>,
}

impl Executor {
    /// Add a task at the back of the ready queue; returns its number.
    fn spawn(&mut self, future: impl Future<Output = ()> + 'static) -> usize {
        let task = self.tasks.len();
        self.tasks.push(Some(Box::pin(future)));
        self.polls.push(0);
        let mut lists = self.lists.lock().unwrap();
        lists.states.push(State::Queued);
        lists.ready.push_back(task);
        task
    }

    // ANCHOR: budget
    /// Run ticks until the ready queue is empty. A tick polls the tasks that were in the ready
    /// queue when it began, front first; tasks queued during the tick wait for the next one.
    fn run(&mut self) {
        let mut tick = 0;
        loop {
            let budget = self.lists.lock().unwrap().ready.len();
            if budget == 0 {
                break;
            }
            tick += 1;
            for _ in 0..budget {
                self.poll_front(tick);
            }
        }
        let waiting = show(&self.lists.lock().unwrap().waiting);
        println!("no task is ready; still waiting: {waiting}");
    }
    // ANCHOR_END: budget

    /// Poll the task at the front of the ready queue once, and file it.
    fn poll_front(&mut self, tick: u64) {
        let mut lists = self.lists.lock().unwrap();
        let task = lists
            .ready
            .pop_front()
            .expect("a tick pops only what it counted");
        print_tick(tick, task, &lists.ready, &lists.waiting);
        lists.states[task] = State::Running { rewoken: false };
        drop(lists);
        let waker = Waker::from(Arc::new(TaskWaker {
            lists: self.lists.clone(),
            task,
        }));
        let future = self.tasks[task].as_mut().expect("queued, so not finished");
        self.polls[task] += 1;
        let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
        let mut lists = self.lists.lock().unwrap();
        match (poll, lists.states[task]) {
            (Poll::Ready(()), _) => lists.states[task] = State::Done,
            (Poll::Pending, State::Running { rewoken: true }) => {
                lists.states[task] = State::Queued;
                lists.ready.push_back(task);
            }
            (Poll::Pending, _) => {
                lists.states[task] = State::Waiting;
                lists.waiting.push(task);
            }
        }
        drop(lists); // a finished future's destructor may wake a task: unlock first
        if poll.is_ready() {
            self.tasks[task] = None;
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
