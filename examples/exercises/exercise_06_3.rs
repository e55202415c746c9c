//! Chapter 6, exercise 3, "Abort": step 4 with `JoinHandle::abort`.
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

#[path = "../course/show.rs"]
mod show;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures::channel::oneshot;

/// Set by `--no-abort`: `main` waits for the late guest instead of aborting it.
static NO_ABORT: AtomicBool = AtomicBool::new(false);

/// The flags, printed by `--help` and after a bad argument.
const USAGE: &str = "usage: exercise_06_3 [--quiet] [--no-abort]
  --quiet     print what the tasks say, not the lists
  --no-abort  main waits for the late guest instead of aborting it (main never finishes)";

/// Read the command line: `--quiet`, as `show::args` reads it, and `--no-abort`. Anything else is
/// an error, said on stderr with the usage, with exit code 2.
fn args() {
    for word in std::env::args().skip(1) {
        match word.as_str() {
            "--quiet" => show::set_quiet(true),
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

/// Where a task is. A task is in one list at a time, or in none while it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the ready queue, once.
    Ready,
    /// Being polled, in neither list; `rewoken` says it was woken during this poll.
    Running { rewoken: bool },
    /// In the waiting list, until its waker moves it to the ready queue.
    Waiting,
    /// Done: a wake does nothing, and it is never polled again.
    Done,
}

/// The two lists and every task's state, shared by the loop and the wakers: behind a mutex,
/// because a `Waker` may be sent to another thread.
#[derive(Default)]
struct Lists {
    /// The numbers of the tasks that may run, in the order they became ready: the loop takes the
    /// front, and a task that is spawned or woken goes on the back.
    ready: VecDeque<usize>,
    /// The numbers of the tasks that wait for a wake, in the order they began to wait.
    waiting: Vec<usize>,
    /// Each task's state, by task number.
    states: BTreeMap<usize, State>,
}

impl Lists {
    /// Wake `task`. A waiting task leaves the waiting list for the back of the ready queue; a
    /// running task is marked `rewoken`; a ready or done task stays as it is, so that a task
    /// woken twice is queued once.
    fn wake(&mut self, task: usize) {
        let state = self.states.get_mut(&task).expect("every task has a state");
        match *state {
            State::Waiting => {
                *state = State::Ready;
                self.waiting.retain(|&waiting| waiting != task);
                self.ready.push_back(task);
            }
            State::Running { .. } => *state = State::Running { rewoken: true },
            State::Ready | State::Done => {}
        }
    }

    /// File `task` after a poll that returned `poll`: `Ready` makes it `Done`; `Pending` puts it
    /// on the back of the ready queue if it was woken during the poll, and in the waiting list
    /// if it was not.
    fn file(&mut self, task: usize, poll: Poll<()>) {
        let state = self.states.get_mut(&task).expect("every task has a state");
        *state = match (poll, *state) {
            (Poll::Ready(()), _) => State::Done,
            (Poll::Pending, State::Running { rewoken: true }) => {
                self.ready.push_back(task);
                State::Ready
            }
            (Poll::Pending, _) => {
                self.waiting.push(task);
                State::Waiting
            }
        };
    }
}

/// A task's waker: the task, and the lists to move it in.
struct TaskWaker {
    /// The loop's lists, shared with the loop and every other waker.
    lists: Arc<Mutex<Lists>>,
    /// The task this waker wakes.
    task: usize,
}

impl Wake for TaskWaker {
    /// Lock the lists, and wake the task.
    fn wake(self: Arc<Self>) {
        self.lists.lock().unwrap().wake(self.task);
    }
}

/// The loop: its tasks, and the lists.
#[derive(Default)]
struct Executor {
    /// The futures of the tasks that have not finished, by task number. Tasks are numbered from
    /// 1 in the order they were spawned, as taketurns numbers them.
    tasks: BTreeMap<usize, Task>,
    /// How often each task was polled, by task number: every task spawned is here.
    polls: BTreeMap<usize, u64>,
    /// The ready queue and the waiting list, shared with the wakers.
    lists: Arc<Mutex<Lists>>,
}

impl Executor {
    /// Give `future` the next task number, and put the task on the back of the ready queue.
    fn add(&mut self, future: Task) {
        let task = self.polls.len() + 1;
        self.tasks.insert(task, future);
        self.polls.insert(task, 0);
        let mut lists = self.lists.lock().unwrap();
        lists.states.insert(task, State::Ready);
        lists.ready.push_back(task);
    }

    /// Take the task at the front of the ready queue and poll it, again and again, until no task
    /// is ready and nothing is left that could wake one; then show what is left in the lists.
    fn run(&mut self) {
        let mut polled = 0;
        while let Some(task) = self.next_task() {
            polled += 1;
            self.poll_task(task, polled);
        }
        let lists = self.lists.lock().unwrap();
        show::end(&lists.ready, &lists.waiting);
    }

    /// Take the task at the front of the ready queue out of it, after the tasks spawned since the
    /// last call have joined the back.
    fn next_task(&mut self) -> Option<usize> {
        for future in SPAWNED.take() {
            self.add(future);
        }
        self.lists.lock().unwrap().ready.pop_front()
    }

    /// Print the poll's line, mark `task` running, poll it once with its own waker, count the
    /// poll, and file the task by what the poll returned. The lists stay unlocked while the task
    /// runs, because its poll may wake a task and a wake locks them; and a finished future is
    /// dropped after the unlock, because dropping it may wake a task too.
    fn poll_task(&mut self, task: usize, number: u64) {
        let mut lists = self.lists.lock().unwrap();
        show::poll(number, task, &lists.ready, &lists.waiting);
        lists.states.insert(task, State::Running { rewoken: false });
        drop(lists);
        let lists = self.lists.clone();
        let waker = Waker::from(Arc::new(TaskWaker { lists, task }));
        let future = self.tasks.get_mut(&task).expect("queued, so not finished");
        *self.polls.entry(task).or_default() += 1;
        let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
        self.lists.lock().unwrap().file(task, poll);
        if poll.is_ready() {
            self.tasks.remove(&task);
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

thread_local! {
    /// Tasks spawned and not yet in the loop's table: `spawn` pushes, and the loop takes them all
    /// in before each poll.
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
    /// The waker of the task that awaits the handle, from the handle's latest poll.
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
        // Wake after the borrow ends: the wake may run code that borrows the `Join`.
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Option<T>;

    /// `Ready` if the task has finished: with its output, or `None` if it was aborted. If not,
    /// keep this poll's waker, in place of any other, and return `Pending`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut join = self.join.borrow_mut();
        if join.done {
            return Poll::Ready(join.output.take());
        }
        join.waiter = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Start `future` as a new task, and return its handle. The task, a future written by hand
/// around `future`, looks at the `aborted` flag before each poll of `future`: if it is set, it
/// drops `future` without polling it. Once `future` has finished or was dropped, the task stores
/// the output (if any) in the `Join` it shares with the handle, marks it done, and calls the
/// handle's waker, if there is one, after its borrow of the `Join` has ended. It goes into
/// `SPAWNED`, which the loop empties into the back of the ready queue.
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

/// Run `main` as task 1 until the ready queue is empty, say how each task did, and return
/// `main`'s output: `None` if it never finished, because every task waits and nothing is left to
/// wake one.
fn run<T: 'static>(main: impl Future<Output = T> + 'static) -> Option<T> {
    let main = spawn(main);
    let mut executor = Executor::default();
    executor.run();
    executor.report();
    main.join.borrow_mut().output.take()
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

// ANCHOR: late_guest
/// The late guest: waits for a taxi that nobody calls.
async fn late_guest(taxi: oneshot::Receiver<()>) -> &'static str {
    println!("late guest: waits for a taxi");
    match taxi.await {
        Ok(()) => "took the taxi",
        Err(oneshot::Canceled) => "no taxi came",
    }
}

/// Task 1: spawns the kitchen and the late guest, waits for the kitchen, then gives up on the
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

/// Run the dinner, and say what it returned.
fn main() {
    args();
    println!("tasks: 1 main, 2 chef, 3 waiter, 4 guest, 5 late guest");
    match run(dinner()) {
        Some(news) => println!("main returned {news:?}"),
        None => {
            eprintln!("main never finished: every task waits, and nothing is left to wake one");
            std::process::exit(1);
        }
    }
}
