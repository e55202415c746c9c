//! Exercise 5.3, "Run until the queue is empty": what changes when a tick keeps popping until the
//! ready queue is empty, instead of stopping after the tasks that were ready when it began?
//!
//! The exercise asks you to change taketurns' `Core::tick` (`loop` instead of `for _ in
//! 0..budget`). A solution file cannot patch the library, so this one runs a **model** instead:
//! a two-list executor of about a hundred lines, built here, that ticks like taketurns and has a
//! switch for when a tick ends. Like `block_on`, the model's driver looks at its own future (here:
//! "has the quiet task finished?") only *between* ticks. Both versions run the chapter's `hello`
//! and the busy-and-quiet program of exercise 5.1. The model is not taketurns: it has no reactor,
//! no timers, no `event_interval`; and where the changed taketurns would spin for ever, the model
//! gives a tick up after `--max-polls` polls and says so. asyncio's `_run_once` has the same
//! budget (`ntodo = len(self._ready)`); tokio's current-thread scheduler also polls the driver
//! and its `block_on` future every `event_interval` (61) tasks.
//!
//! ```console
//! $ cargo run --example exercise_05_3 -- --max-polls 1000000
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use clap::Parser;

/// Run `hello` and the busy-and-quiet program on a model loop whose ticks end after a budget,
/// and on one whose ticks end when the queue is empty; print ticks and polls.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_3")]
struct Args {
    /// The most polls one tick of the changed model may make before it gives up.
    #[arg(long, default_value_t = 1_000_000)]
    max_polls: u64,
}

// ANCHOR: model
/// How much one tick runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TickEnds {
    /// After as many polls as tasks were ready when it began: taketurns, and asyncio's
    /// `_run_once` (`ntodo = len(self._ready)`).
    Budget,
    /// When the ready queue is empty: the exercise's change.
    QueueEmpty,
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
    /// When a tick ends.
    tick_ends: TickEnds,
    /// A safety stop for `TickEnds::QueueEmpty`: a tick that reaches this many polls gives up
    /// (taketurns, changed, would go on for ever).
    max_polls_per_tick: u64,
    /// Set when a tick gave up at `max_polls_per_tick`.
    tick_gave_up: bool,
    ticks: u64,
}

impl Model {
    fn new(tick_ends: TickEnds, max_polls_per_tick: u64) -> Model {
        let lists = Lists {
            ready: VecDeque::new(),
            states: Vec::new(),
        };
        Model {
            lists: Arc::new(Mutex::new(lists)),
            tasks: Vec::new(),
            polls: Vec::new(),
            tick_ends,
            max_polls_per_tick,
            tick_gave_up: false,
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

    // ANCHOR: tick
    /// One tick: poll the tasks that were ready when it began (`Budget`), or every task until
    /// the queue is empty (`QueueEmpty`).
    fn tick(&mut self) {
        self.ticks += 1;
        let budget = match self.tick_ends {
            TickEnds::Budget => self.lists.lock().unwrap().ready.len() as u64,
            TickEnds::QueueEmpty => self.max_polls_per_tick, // the exercise's change: `loop`
        };
        for polled in 0..=budget {
            if polled == budget {
                self.tick_gave_up = self.tick_ends == TickEnds::QueueEmpty;
                break;
            }
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

    // ANCHOR_END: tick

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
fn hello(tick_ends: TickEnds) -> (Vec<String>, u64) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let say = move |log: &Arc<Mutex<Vec<String>>>, line: &str| {
        log.lock().unwrap().push(line.to_string());
    };
    let mut model = Model::new(tick_ends, 1_000_000);
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
struct Outcome {
    /// Whether the driver saw, between ticks, that the quiet task had finished.
    driver_saw_quiet_done: bool,
    quiet_polls: u64,
    busy_polls: u64,
    ticks: u64,
    /// Whether a tick gave up at `max_polls` (the changed taketurns would never return).
    tick_gave_up: bool,
}

/// A task that returns at once and one that yields forever. Between ticks, like `block_on`, the
/// driver checks whether the quiet task is done; it gives up after `max_ticks` ticks.
fn busy_and_quiet(tick_ends: TickEnds, max_polls: u64, max_ticks: u64) -> Outcome {
    let mut model = Model::new(tick_ends, max_polls);
    let quiet = model.spawn(async {});
    let busy = model.spawn(async {
        loop {
            yield_now().await;
        }
    });
    let mut driver_saw_quiet_done = false;
    while model.ticks < max_ticks && !model.tick_gave_up {
        model.tick();
        if model.tick_gave_up {
            break; // the tick never returned: the driver never got to look
        }
        if model.done(quiet) {
            driver_saw_quiet_done = true;
            break;
        }
    }
    Outcome {
        driver_saw_quiet_done,
        quiet_polls: model.polls[quiet],
        busy_polls: model.polls[busy],
        ticks: model.ticks,
        tick_gave_up: model.tick_gave_up,
    }
}
// ANCHOR_END: busy_and_quiet

fn main() {
    let args = Args::parse();
    for tick_ends in [TickEnds::Budget, TickEnds::QueueEmpty] {
        let (lines, ticks) = hello(tick_ends);
        println!(
            "model {tick_ends:?} hello: ticks={ticks} steps={} order: {}",
            lines.len(),
            lines.join(" | ")
        );
    }
    for tick_ends in [TickEnds::Budget, TickEnds::QueueEmpty] {
        let o = busy_and_quiet(tick_ends, args.max_polls, 1000);
        println!(
            "model {tick_ends:?} busy+quiet: driver_saw_quiet_done={} quiet_polls={} busy_polls={} ticks={} tick_gave_up={}",
            o.driver_saw_quiet_done, o.quiet_polls, o.busy_polls, o.ticks, o.tick_gave_up
        );
    }
}
