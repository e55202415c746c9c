//! Exercise 5.2, "Forget `rewoken`": what happens when a wake that arrives while its task is
//! being polled is dropped?
//!
//! The exercise asks you to change one line of taketurns, in `Core::wake_local`
//! (`State::Running { .. } => {}`). A solution file cannot patch the library, so this one runs a
//! **model** instead: a two-list executor of about a hundred lines, built here, that files tasks
//! like taketurns (a task that returns `Pending` goes to the waiting list unless it was woken
//! during its poll) and has a switch for that one rule. Both versions run the chapter's `hello`
//! program. The model is not taketurns: it has no reactor, so where taketurns would sleep in
//! `epoll_wait` forever, the model notices that nothing is ready and stops, naming the tasks left
//! waiting. For comparison it first runs `hello`'s three tasks on taketurns as shipped. asyncio
//! has no such flag because its `Task.__step` reschedules itself with `call_soon` after every
//! `await` of a bare `yield`; tokio keeps a `NOTIFIED` bit in the task's state word for the same
//! job as our `rewoken`.
//!
//! ```console
//! $ cargo run --example exercise_05_2
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use clap::Parser;

/// Run `hello`'s tasks on taketurns, then on a model loop that remembers a wake of the running
/// task and on one that forgets it, and print what each did.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_2")]
struct Args {}

// ANCHOR: model
/// What a wake does to the task that is running (the one being polled right now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunningWake {
    /// Remember it (`rewoken: true`): after the poll the task goes back to the ready queue.
    Remember,
    /// Do nothing: the exercise's change (`State::Running { .. } => {}`).
    Forget,
}

/// A task's place in the model, as in taketurns' `State`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the ready queue.
    Queued,
    /// Being polled; `rewoken` says it was woken during that poll.
    Running { rewoken: bool },
    /// In the waiting list, until a waker moves it back.
    Waiting,
    /// Finished: wakes are ignored.
    Done,
}

/// The two lists. Wakers lock it for a moment; the loop never holds it while it polls.
struct Lists {
    /// Task numbers in the order they became ready.
    ready: VecDeque<usize>,
    /// Each task's state, by task number.
    states: Vec<State>,
    /// What a wake of the running task does.
    running_wake: RunningWake,
}

impl Lists {
    // ANCHOR: wake
    /// A waker fired: file the task according to its state.
    fn wake(&mut self, task: usize) {
        match self.states[task] {
            State::Waiting => {
                self.states[task] = State::Queued;
                self.ready.push_back(task);
            }
            State::Running { .. } => {
                if self.running_wake == RunningWake::Remember {
                    self.states[task] = State::Running { rewoken: true };
                }
                // RunningWake::Forget: the exercise's change drops the wake here.
            }
            State::Queued | State::Done => {}
        }
    }
    // ANCHOR_END: wake

    fn pop(&mut self) -> Option<usize> {
        self.ready.pop_front()
    }
}

/// A waker that puts task `task` back in the ready queue.
struct TaskWaker {
    lists: Arc<Mutex<Lists>>,
    task: usize,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.lists.lock().unwrap().wake(self.task);
    }
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A single-threaded loop with a ready queue, a waiting list and a per-tick budget.
struct Model {
    lists: Arc<Mutex<Lists>>,
    tasks: Vec<Option<Task>>,
    /// Polls per task, by task number.
    polls: Vec<u64>,
    ticks: u64,
}

impl Model {
    fn new(running_wake: RunningWake) -> Model {
        let lists = Lists {
            ready: VecDeque::new(),
            states: Vec::new(),
            running_wake,
        };
        Model {
            lists: Arc::new(Mutex::new(lists)),
            tasks: Vec::new(),
            polls: Vec::new(),
            ticks: 0,
        }
    }

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

    /// One tick: poll at most as many tasks as were ready when it began.
    fn tick(&mut self) {
        self.ticks += 1;
        let budget = self.lists.lock().unwrap().ready.len();
        for _ in 0..budget {
            let Some(task) = self.lists.lock().unwrap().pop() else {
                break;
            };
            self.lists.lock().unwrap().states[task] = State::Running { rewoken: false };
            let waker = Waker::from(Arc::new(TaskWaker {
                lists: self.lists.clone(),
                task,
            }));
            let future = self.tasks[task]
                .as_mut()
                .expect("a queued task has its future");
            self.polls[task] += 1;
            let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
            let mut lists = self.lists.lock().unwrap();
            match (poll, lists.states[task]) {
                (Poll::Ready(()), _) => {
                    lists.states[task] = State::Done;
                    self.tasks[task] = None;
                }
                (Poll::Pending, State::Running { rewoken: true }) => {
                    lists.states[task] = State::Queued;
                    lists.ready.push_back(task);
                }
                (Poll::Pending, _) => lists.states[task] = State::Waiting,
            }
        }
    }

    fn done(&self, task: usize) -> bool {
        self.tasks[task].is_none()
    }

    /// The tasks in the waiting list.
    fn waiting(&self) -> Vec<usize> {
        let lists = self.lists.lock().unwrap();
        (0..lists.states.len())
            .filter(|&task| lists.states[task] == State::Waiting)
            .collect()
    }

    /// True when nothing is ready: taketurns would now sleep in `epoll_wait`.
    fn nothing_ready(&self) -> bool {
        self.lists.lock().unwrap().ready.is_empty()
    }
}
// ANCHOR_END: model

/// `yield_now`: wake yourself and return `Pending` once.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

// ANCHOR: hello
/// What one run of `hello` on the model did.
struct Run {
    /// Each step, in the order it ran.
    lines: Vec<String>,
    ticks: u64,
    /// Task numbers (1 = chef, 2 = waiter, 3 = guest) left in the waiting list when the loop
    /// found nothing ready and would have slept forever; empty if all three finished.
    stuck_waiting: Vec<usize>,
}

/// The chapter's `hello` program on the model. Instead of sleeping forever when nothing is ready
/// and tasks are still waiting (what taketurns would do: no socket, no timer can wake them), the
/// model stops and says which tasks were stuck.
fn hello(running_wake: RunningWake) -> Run {
    let log = Arc::new(Mutex::new(Vec::new()));
    let say = move |log: &Arc<Mutex<Vec<String>>>, line: &str| {
        log.lock().unwrap().push(line.to_string());
    };
    let mut model = Model::new(running_wake);
    let (tx, rx) = futures::channel::oneshot::channel::<&str>();
    let l = log.clone();
    model.spawn(async move {
        for step in ["chop", "stir", "taste"] {
            say(&l, &format!("chef: {step}"));
            yield_now().await;
        }
        tx.send("dinner is ready").unwrap();
    });
    let l = log.clone();
    model.spawn(async move {
        say(&l, "waiter: waits");
        let news = rx.await.unwrap();
        say(&l, &format!("waiter: heard {news:?}"));
    });
    let l = log.clone();
    model.spawn(async move {
        for step in ["sits", "reads"] {
            say(&l, &format!("guest: {step}"));
            yield_now().await;
        }
    });
    let mut stuck_waiting = Vec::new();
    while (0..3).any(|task| !model.done(task)) {
        if model.ticks > 0 && model.nothing_ready() {
            stuck_waiting = model.waiting().iter().map(|task| task + 1).collect();
            break;
        }
        model.tick();
    }
    let lines = log.lock().unwrap().clone();
    Run {
        lines,
        ticks: model.ticks,
        stuck_waiting,
    }
}
// ANCHOR_END: hello

// ANCHOR: real
/// `hello`'s three tasks on taketurns as shipped: they finish, in 5 ticks.
fn on_taketurns() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<&str>();
        let chef = taketurns::spawn(async move {
            for _ in 0..3 {
                taketurns::yield_now().await;
            }
            tx.send("dinner is ready").unwrap();
        });
        let waiter = taketurns::spawn(async move { rx.await.unwrap() });
        let guest = taketurns::spawn(async {
            for _ in 0..2 {
                taketurns::yield_now().await;
            }
        });
        chef.await.unwrap();
        waiter.await.unwrap();
        guest.await.unwrap();
    });
    let s = rt.stats();
    println!(
        "taketurns (as shipped): finished={} ticks={} local_wakes={}",
        s.tasks_finished, s.ticks, s.local_wakes
    );
    Ok(())
}
// ANCHOR_END: real

fn main() {
    let _args = Args::parse();
    if let Err(e) = on_taketurns() {
        eprintln!("exercise_05_2: could not create a taketurns runtime: {e}");
        std::process::exit(1);
    }
    for running_wake in [RunningWake::Remember, RunningWake::Forget] {
        let run = hello(running_wake);
        println!(
            "model {running_wake:?} hello: ticks={} steps={} stuck_waiting={:?} order: {}",
            run.ticks,
            run.lines.len(),
            run.stuck_waiting,
            run.lines.join(" | ")
        );
    }
}
