//! Build track, step 4: `spawn` and `JoinHandle`.
//!
//! A task can now start tasks. `spawn` (like `asyncio.create_task` and `tokio::spawn`) returns a
//! `JoinHandle`, a future for the new task's output. `spawn` runs inside a task's poll, while the
//! loop holds its table, so it leaves the new task in a thread-local inbox that the loop empties
//! before each poll. `run` spawns `main` as task 1 and hands back its output.
//!
//! Run it and you see task 1 spawn the kitchen (tasks 2 to 4 appear in the ready queue), wait in
//! `waiting: [1]` for the chef's handle, and come back when the chef returns.
//!
//! Next, step 5 waits for something outside the program: sockets, through mio.
//!
//! ```console
//! $ cargo run --example step_04_spawn
//! ```

mod show;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

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

/// What a task shares with its `JoinHandle`.
struct Join<T> {
    /// The task's output, once it has finished; the handle takes it.
    output: Option<T>,
    /// The waker of the task that awaits the handle, from the handle's latest poll.
    waker: Option<Waker>,
}

/// A future for a spawned task's output (asyncio's `await task`).
struct JoinHandle<T> {
    /// Shared with the task, which fills in the output and wakes the waker.
    join: Rc<RefCell<Join<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    /// `Ready` with the output if the task has finished. If not, keep this poll's waker, in place
    /// of any other (the task that awaits the handle now is the one to wake), and return
    /// `Pending`.
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

/// Start `future` as a new task, and return its handle. The task, an `async` block around
/// `future`, stores the output in the `Join` it shares with the handle, then calls the handle's
/// waker, if there is one, after its borrow of the `Join` has ended. It goes into `SPAWNED`,
/// which the loop empties into the back of the ready queue.
fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let join = Rc::new(RefCell::new(Join {
        output: None,
        waker: None,
    }));
    let shared = join.clone();
    let task = async move {
        let output = future.await;
        shared.borrow_mut().output = Some(output);
        let waker = shared.borrow_mut().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    };
    SPAWNED.with_borrow_mut(|spawned| spawned.push(Box::pin(task)));
    JoinHandle { join }
}

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

/// Task 1: spawns the kitchen, then waits for each task through its handle.
async fn dinner() -> &'static str {
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    let chef = spawn(chef(dinner_tx, wine_tx));
    let waiter = spawn(waiter(dinner_rx, wine_rx));
    let guest = spawn(guest());
    chef.await;
    println!("main: the chef is done");
    waiter.await;
    guest.await;
    "dinner is over"
}

/// Run the dinner, and say what it returned.
fn main() {
    show::args();
    println!("tasks: 1 main, 2 chef, 3 waiter, 4 guest");
    match run(dinner()) {
        Some(news) => println!("main returned {news:?}"),
        None => {
            eprintln!("main never finished: every task waits, and nothing is left to wake one");
            std::process::exit(1);
        }
    }
}
