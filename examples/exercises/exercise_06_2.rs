//! Exercise 6.2, "A wake from another thread, in the small loop": step 4, with the wine sent by
//! a helper thread, and a loop that sleeps on a `Condvar` instead of stopping while a task waits.
//!
//! Step 4's loop stops as soon as its ready queue is empty. Once the wine comes from another thread,
//! the queue is empty while the waiter still waits for it: run with `--stop-when-idle` and `main`
//! never finishes. The fix is the small loop's version of taketurns' eventfd: when nothing is ready
//! but a task waits, the loop sleeps on a `Condvar` that every wake notifies. It must check "is
//! the ready queue empty?" and go to sleep under the *same* lock that `wake` takes to push, which
//! `Condvar::wait_timeout_while` does: it releases the lock only once the thread is asleep. A loop
//! that checked, unlocked and then waited would miss a wake that landed in between, and sleep on.
//! A loop that sleeps can also sleep for ever if no wake ever comes; this one gives up after
//! `--give-up-ms` and says so. taketurns does the same with `epoll_wait` and its inbox (chapter 6).
//!
//! ```console
//! $ cargo run --example exercise_06_2
//! $ cargo run --example exercise_06_2 -- --stop-when-idle
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

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

/// Set by `--stop-when-idle`: the loop stops when its ready queue is empty, as in step 4.
static STOP_WHEN_IDLE: AtomicBool = AtomicBool::new(false);

/// What the command line asks for.
struct Args {
    /// How long the helper thread waits before it sends the wine.
    delay: Duration,
    /// How long the loop sleeps without a wake before it gives up.
    give_up: Duration,
}

/// The usage text, printed by `--help`.
const USAGE: &str =
    "usage: exercise_06_2 [--quiet] [--stop-when-idle] [--delay-ms N] [--give-up-ms N]
  --quiet           print what the tasks say, not the lists
  --stop-when-idle  stop when the ready queue is empty, as step 4 does (main never finishes)
  --delay-ms N      the helper thread sends the wine after N ms (default 100)
  --give-up-ms N    the loop gives up after N ms without a wake (default 10000)";

/// Read the command line; a bad argument is an error with the usage (exit code 2).
fn parse_args() -> Args {
    let mut args = Args {
        delay: Duration::from_millis(100),
        give_up: Duration::from_millis(10_000),
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut millis = |name: &str| -> Duration {
            let value = words.next().unwrap_or_default();
            match value.parse::<u64>() {
                Ok(ms) if ms <= 600_000 => Duration::from_millis(ms),
                _ => {
                    eprintln!(
                        "{name} wants a number of milliseconds up to 600000, got {value:?}\n{USAGE}"
                    );
                    std::process::exit(2);
                }
            }
        };
        match word.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            "--stop-when-idle" => STOP_WHEN_IDLE.store(true, Ordering::Relaxed),
            "--delay-ms" => args.delay = millis("--delay-ms"),
            "--give-up-ms" => args.give_up = millis("--give-up-ms"),
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
    args
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

/// A task's waker: the task, its lists, and the loop's alarm clock.
struct TaskWaker {
    /// The loop's lists, shared with the loop and every other waker.
    lists: Arc<Mutex<Lists>>,
    /// Notified after every wake, so that a loop asleep in `run` looks at the lists again.
    woken: Arc<Condvar>,
    /// The task this waker moves.
    task: usize,
}

// ANCHOR: wake
impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.lists.lock().unwrap().wake(self.task);
        self.woken.notify_one();
    }
}
// ANCHOR_END: wake
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
    /// The loop sleeps on it while a task waits and none is ready; every wake notifies it.
    woken: Arc<Condvar>,
    /// How often the loop slept on `woken`.
    sleeps: u64,
    /// How long the loop sleeps without a wake before it gives up.
    give_up: Duration,
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

    /// Poll the task at the front of the ready queue, one per tick. When the queue is empty but
    /// a task waits, sleep until a wake (from any thread) puts a task in it.
    fn run(&mut self) {
        let mut tick = 0;
        loop {
            for future in SPAWNED.take() {
                self.add(future);
            }
            let mut lists = self.lists.lock().unwrap();
            // ANCHOR: sleep
            if lists.ready.is_empty()
                && !lists.waiting.is_empty()
                && !STOP_WHEN_IDLE.load(Ordering::Relaxed)
            {
                // Checked and slept under the lock that `wake` takes: no wake slips in between.
                self.sleeps += 1;
                let nothing_ready = |lists: &mut Lists| lists.ready.is_empty();
                (lists, _) = self
                    .woken
                    .wait_timeout_while(lists, self.give_up, nothing_ready)
                    .unwrap();
                if lists.ready.is_empty() {
                    println!("no wake came for {:?}: the loop gives up", self.give_up);
                }
            }
            // ANCHOR_END: sleep
            let Some(task) = lists.ready.pop_front() else {
                break;
            };
            tick += 1;
            print_tick(tick, task, &lists.ready, &lists.waiting);
            lists.states[task] = State::Running { rewoken: false };
            drop(lists);
            let waker = Waker::from(Arc::new(TaskWaker {
                lists: self.lists.clone(),
                woken: self.woken.clone(),
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
        println!("times the loop slept: {}", self.sleeps);
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

/// What a task shares with its `JoinHandle`.
struct Join<T> {
    /// The task's output, once it has finished; the handle takes it.
    output: Option<T>,
    /// The waker of the task that awaits the handle, from its latest poll.
    waker: Option<Waker>,
}

/// A future for a spawned task's output (asyncio's `await task`).
struct JoinHandle<T> {
    /// Shared with the task, which fills in the output and wakes the waker.
    join: Rc<RefCell<Join<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut join = self.join.borrow_mut();
        match join.output.take() {
            Some(output) => Poll::Ready(output),
            None => {
                join.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Start `future` as a new task, at the back of the ready queue once the loop takes it in.
fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let join = Rc::new(RefCell::new(Join {
        output: None,
        waker: None,
    }));
    let shared = join.clone();
    let task = async move {
        let output = future.await;
        let mut join = shared.borrow_mut();
        join.output = Some(output);
        if let Some(waker) = join.waker.take() {
            waker.wake();
        }
    };
    SPAWNED.with_borrow_mut(|spawned| spawned.push(Box::pin(task)));
    JoinHandle { join }
}

/// Run `main` as task 0 until the ready queue is empty, and return its output; `None` if it did
/// not finish, because every task waits and nothing is left to wake one.
fn run<T: 'static>(main: impl Future<Output = T> + 'static, give_up: Duration) -> Option<T> {
    let main = spawn(main);
    let mut executor = Executor {
        give_up,
        ..Executor::default()
    };
    executor.run();
    executor.report();
    main.join.borrow_mut().output.take()
}
// ANCHOR_END: spawn

// ANCHOR: kitchen
/// The chef: three steps, giving the thread back after each, then dinner for the waiter.
async fn chef(dinner: oneshot::Sender<&'static str>) {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
    // The waiter holds the receiver until dinner has arrived, so the send cannot fail.
    dinner.send("roast").expect("the waiter waits for dinner");
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

/// Task 0: sends a helper thread for the wine, spawns the kitchen, then waits for each task
/// through its handle.
async fn dinner(delay: Duration) -> &'static str {
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        println!("cellar (another thread): sends the wine");
        // The send wakes the waiter on this thread: the lists are behind a mutex.
        let _ = wine_tx.send("wine"); // fails only if the dinner is over already
    });
    let chef = spawn(chef(dinner_tx));
    let waiter = spawn(waiter(dinner_rx, wine_rx));
    let guest = spawn(guest());
    chef.await;
    println!("main: the chef is done");
    waiter.await;
    guest.await;
    "dinner is over"
}
// ANCHOR_END: kitchen

// ANCHOR: main
fn main() {
    let args = parse_args();
    println!("tasks: 0 main, 1 chef, 2 waiter, 3 guest");
    match run(dinner(args.delay), args.give_up) {
        Some(news) => println!("main returned {news:?}"),
        None => {
            eprintln!("main never finished: every task waits, and nothing is left to wake one");
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: main
