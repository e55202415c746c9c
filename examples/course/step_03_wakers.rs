//! Build track, step 3: the waiting list, and wakers that move a task out of it.
//!
//! A task that returns `Pending` and did not wake itself goes to the *waiting list* until its
//! *waker* is called. Our waker (std's `Wake` trait) names the task; waking it moves the task to
//! the back of the ready queue, once. Whoever ends the wait calls it: here the chef's `send`.
//!
//! Run it and you see the waiter in `waiting: [2]` until the chef sends: two polls where step 2
//! needed four. The chef's two sends wake it twice; it is queued once.
//!
//! Next, step 4 lets a task start tasks (`spawn`) and wait for their results (`JoinHandle`).
//!
//! ```console
//! $ cargo run --example step_03_wakers
//! ```

mod show;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
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
    fn spawn(&mut self, future: impl Future<Output = ()> + 'static) {
        let task = self.polls.len() + 1;
        self.tasks.insert(task, Box::pin(future));
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

    /// Take the task at the front of the ready queue out of it.
    fn next_task(&mut self) -> Option<usize> {
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
