//! Exercise 5.1, "LIFO": what happens to the turns, and to a quiet task next to a busy one, when
//! the ready queue pops from the back instead of the front?
//!
//! The exercise asks you to change one line of taketurns (`pop_front` to `pop_back` in
//! `ReadyQueue::pop`, `src/ready.rs`). A solution file cannot patch the library, so this one does
//! two things instead. First it runs the busy-and-quiet program on taketurns *as shipped* (FIFO).
//! Then it runs a **model**: a two-list executor of about a hundred lines, built here, that
//! schedules like taketurns (ready queue, waiting list, a budget of "what was ready when the tick
//! began") and has a FIFO/LIFO switch. Both orders run the chapter's `hello` program and the
//! busy-and-quiet program side by side. The model is not taketurns: it has no reactor, no timers
//! and no `event_interval`, so where taketurns would let a timeout end the wait, the model stops
//! after `--max-ticks` ticks and reports what it saw. asyncio's `_ready` is a FIFO deque; tokio
//! is FIFO too, apart from its one-task "LIFO slot" (which it caps so it cannot starve others).
//!
//! ```console
//! $ cargo run --example exercise_05_1 -- --max-ticks 100000
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use clap::Parser;

/// Run the busy-and-quiet program on taketurns (FIFO), then a model loop with a FIFO and a LIFO
/// ready queue, and print the turns each one takes.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_1")]
struct Args {
    /// The most ticks the model runs the busy-and-quiet program before giving up.
    #[arg(long, default_value_t = 100_000)]
    max_ticks: u64,
}

// ANCHOR: model
/// Which end of the ready queue the model's loop pops from. Wakes always push on the back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// `pop_front`: taketurns, asyncio and tokio.
    Fifo,
    /// `pop_back`: the exercise's change.
    Lifo,
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
    /// The loop's end of the queue.
    order: Order,
}

impl Lists {
    fn wake(&mut self, task: usize) {
        match self.states[task] {
            State::Waiting => {
                self.states[task] = State::Queued;
                self.ready.push_back(task);
            }
            State::Running { .. } => self.states[task] = State::Running { rewoken: true },
            State::Queued | State::Done => {}
        }
    }

    fn pop(&mut self) -> Option<usize> {
        match self.order {
            Order::Fifo => self.ready.pop_front(),
            Order::Lifo => self.ready.pop_back(), // the exercise's one-line change
        }
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
    fn new(order: Order) -> Model {
        let lists = Lists {
            ready: VecDeque::new(),
            states: Vec::new(),
            order,
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
/// The chapter's `hello` program on the model: returns each step in the order it ran, and the
/// number of ticks.
fn hello(order: Order) -> (Vec<String>, u64) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let say = move |log: &Arc<Mutex<Vec<String>>>, line: &str| {
        log.lock().unwrap().push(line.to_string());
    };
    let mut model = Model::new(order);
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
    while (0..3).any(|task| !model.done(task)) {
        model.tick();
    }
    let lines = log.lock().unwrap().clone();
    (lines, model.ticks)
}
// ANCHOR_END: hello

// ANCHOR: busy_and_quiet
/// What one run of the busy-and-quiet program saw.
struct Starvation {
    quiet_done: bool,
    quiet_polls: u64,
    busy_polls: u64,
    ticks: u64,
}

/// A task that returns at once, then one that yields forever (spawned in that order, as in the
/// chapter); run until the quiet one is done or `max_ticks` ticks have passed.
fn busy_and_quiet(order: Order, max_ticks: u64) -> Starvation {
    let mut model = Model::new(order);
    let quiet = model.spawn(async {});
    let busy = model.spawn(async {
        loop {
            yield_now().await;
        }
    });
    while !model.done(quiet) && model.ticks < max_ticks {
        model.tick();
    }
    Starvation {
        quiet_done: model.done(quiet),
        quiet_polls: model.polls[quiet],
        busy_polls: model.polls[busy],
        ticks: model.ticks,
    }
}
// ANCHOR_END: busy_and_quiet

// ANCHOR: real
/// The same program on taketurns as shipped (FIFO), with the chapter's 100 ms timeout.
fn on_taketurns() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    let outcome = rt.block_on(async {
        let quiet = taketurns::spawn(async { "quiet task ran" });
        let _busy = taketurns::spawn(async {
            loop {
                taketurns::yield_now().await;
            }
        });
        taketurns::time::timeout(Duration::from_millis(100), quiet).await
    });
    let s = rt.stats();
    let result = match outcome {
        Ok(Ok(text)) => text.to_string(),
        Ok(Err(e)) => format!("quiet task failed: {e}"),
        Err(_) => "timed out".to_string(),
    };
    println!(
        "taketurns (FIFO, as shipped): {result}; ticks={} polls={}",
        s.ticks, s.polls
    );
    Ok(())
}
// ANCHOR_END: real

fn main() {
    let args = Args::parse();
    if let Err(e) = on_taketurns() {
        eprintln!("exercise_05_1: could not create a taketurns runtime: {e}");
        std::process::exit(1);
    }
    for order in [Order::Fifo, Order::Lifo] {
        let (lines, ticks) = hello(order);
        println!(
            "model {order:?} hello: ticks={ticks} order: {}",
            lines.join(" | ")
        );
    }
    for order in [Order::Fifo, Order::Lifo] {
        let s = busy_and_quiet(order, args.max_ticks);
        println!(
            "model {order:?} busy+quiet: quiet_done={} quiet_polls={} busy_polls={} ticks={}",
            s.quiet_done, s.quiet_polls, s.busy_polls, s.ticks
        );
    }
}
