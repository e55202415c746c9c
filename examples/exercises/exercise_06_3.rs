//! Exercise 6.3, "Abort": step 4 with `JoinHandle::abort`.
//!
//! A late guest waits for a taxi that nobody will ever call. Without abort (`--no-abort`), `main`
//! awaits the late guest's handle for ever: the loop runs out of ready tasks with `main` and the
//! guest still waiting, and `main` never finishes. With abort, `main` gives up on the guest: the
//! handle sets an `aborted` flag in the `Join` it shares with the task and wakes the task with the
//! task's own waker (kept in the `Join` from its latest poll). The loop polls the task once more;
//! the task's outer future sees the flag and drops the inner future without polling it (which
//! drops the taxi's receiver too), stores no output, and wakes whoever awaits the handle, who gets
//! `None`. The task is then `Done`, so a wake that comes later does nothing. This is how tokio's
//! `abort` works too: a flag in the task's state, and a wake so that the task's next poll cancels.
//!
//! ```console
//! $ cargo run --example exercise_06_3
//! $ cargo run --example exercise_06_3 -- --no-abort
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

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

/// Set by `--no-abort`: `main` waits for the late guest instead of aborting it.
static NO_ABORT: AtomicBool = AtomicBool::new(false);

/// The usage text, printed by `--help`.
const USAGE: &str = "usage: exercise_06_3 [--quiet] [--no-abort]
  --quiet     print what the tasks say, not the lists
  --no-abort  main waits for the late guest instead of aborting it (main never finishes)";

/// Read the command line; a bad argument is an error with the usage (exit code 2).
fn parse_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            "--no-abort" => NO_ABORT.store(true, Ordering::Relaxed),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
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
    fn add(&mut self, future: Task) -> usize {
        let task = self.tasks.len();
        self.tasks.push(Some(future));
        self.polls.push(0);
        let mut lists = self.lists.lock().unwrap();
        lists.states.push(State::Queued);
        lists.ready.push_back(task);
        task
    }

    /// Poll the task at the front of the ready queue, one per tick, until the queue is empty.
    fn run(&mut self) {
        let mut tick = 0;
        loop {
            for future in SPAWNED.take() {
                self.add(future);
            }
            let mut lists = self.lists.lock().unwrap();
            let Some(task) = lists.ready.pop_front() else {
                break;
            };
            tick += 1;
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
        let waiting = show(&self.lists.lock().unwrap().waiting);
        println!("no task is ready; still waiting: {waiting}");
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

// ANCHOR: spawn
thread_local! {
    /// Tasks spawned and not yet in the loop's table: `spawn` pushes, the loop empties it.
    static SPAWNED: RefCell<Vec<Task>> = const { RefCell::new(Vec::new()) };
}

// ANCHOR: abort
/// What a task shares with its `JoinHandle`.
struct Join<T> {
    /// The task's output, once it has finished; the handle takes it.
    output: Option<T>,
    /// The task has finished (with an output, or aborted without one).
    done: bool,
    /// Set by `abort`: the task's next poll drops its future instead of polling it.
    aborted: bool,
    /// The waker of the task that awaits the handle, from its latest poll.
    waiter: Option<Waker>,
    /// The task's own waker, from its latest poll: `abort` wakes it so that it is polled again.
    task: Option<Waker>,
}

/// A future for a spawned task's output (asyncio's `await task`): `None` if it was aborted.
struct JoinHandle<T> {
    /// Shared with the task, which fills in the output and wakes the waiter.
    join: Rc<RefCell<Join<T>>>,
}

impl<T> JoinHandle<T> {
    /// Stop the task: its future is dropped at its next poll, without being polled. Does nothing
    /// if the task has finished.
    fn abort(&self) {
        let task = {
            let mut join = self.join.borrow_mut();
            join.aborted = true;
            join.task.take()
        };
        // Wake after the borrow ends: the task may be polled on the spot by another executor.
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut join = self.join.borrow_mut();
        if join.done {
            return Poll::Ready(join.output.take());
        }
        join.waiter = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Start `future` as a new task, at the back of the ready queue once the loop takes it in.
fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let join = Rc::new(RefCell::new(Join {
        output: None,
        done: false,
        aborted: false,
        waiter: None,
        task: None,
    }));
    let shared = join.clone();
    let mut future = Some(Box::pin(future));
    let task = std::future::poll_fn(move |cx| {
        // No borrow of the `Join` is held while the future runs: it may abort its own handle.
        let aborted = shared.borrow().aborted;
        let output = match future.as_mut() {
            Some(running) if !aborted => match running.as_mut().poll(cx) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => {
                    shared.borrow_mut().task = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            },
            _ => None,
        };
        future = None; // an aborted future is dropped here, without another poll
        let waiter = {
            let mut join = shared.borrow_mut();
            (join.output, join.done, join.task) = (output, true, None);
            join.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
        Poll::Ready(())
    });
    SPAWNED.with_borrow_mut(|spawned| spawned.push(Box::pin(task)));
    JoinHandle { join }
}
// ANCHOR_END: abort

/// Run `main` as task 0 until the ready queue is empty, and return its output; `None` if it did
/// not finish, because every task waits and nothing is left to wake one.
fn run<T: 'static>(main: impl Future<Output = T> + 'static) -> Option<T> {
    let main = spawn(main);
    let mut executor = Executor::default();
    executor.run();
    executor.report();
    main.join.borrow_mut().output.take()
}
// ANCHOR_END: spawn

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

// ANCHOR: late_guest
/// The late guest: waits for a taxi that nobody calls.
async fn late_guest(taxi: oneshot::Receiver<()>) -> &'static str {
    println!("late guest: waits for a taxi");
    match taxi.await {
        Ok(()) => "took the taxi",
        Err(oneshot::Canceled) => "no taxi came",
    }
}

/// Task 0: spawns the kitchen and the late guest, waits for the kitchen, then gives up on the
/// late guest (or, with `--no-abort`, waits for it).
async fn dinner() -> &'static str {
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    // Kept until dinner ends, and never used: the late guest's taxi never comes.
    let (_taxi_tx, taxi_rx) = oneshot::channel::<()>();
    let chef = spawn(chef(dinner_tx, wine_tx));
    let waiter = spawn(waiter(dinner_rx, wine_rx));
    let guest = spawn(guest());
    let late = spawn(late_guest(taxi_rx));
    chef.await;
    println!("main: the chef is done");
    waiter.await;
    guest.await;
    if !NO_ABORT.load(Ordering::Relaxed) {
        println!("main: aborts the late guest");
        late.abort();
    }
    println!("main: the late guest's handle gives {:?}", late.await);
    "dinner is over"
}
// ANCHOR_END: late_guest
// ANCHOR_END: kitchen

// ANCHOR: main
fn main() {
    parse_args();
    println!("tasks: 0 main, 1 chef, 2 waiter, 3 guest, 4 late guest");
    match run(dinner()) {
        Some(news) => println!("main returned {news:?}"),
        None => {
            eprintln!("main never finished: every task waits, and nothing is left to wake one");
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: main
