//! The model executor of chapter 5's exercises: a two-list loop of about a hundred lines that
//! schedules the way taketurns does, with a switch for each rule an exercise changes.
//!
//! The exercises change taketurns' own scheduler, and a solution file cannot patch the library.
//! So the three solutions share this model: a ready queue, task states, a per-tick budget and
//! wakers made with `std::task::Wake`. [`Rules::TAKETURNS`] is taketurns' behaviour; each
//! exercise flips one field of it (5.1 [`Order`], 5.2 [`RunningWake`], 5.3 [`TickEnds`]) and runs
//! both settings side by side on the chapter's `hello` tasks and on a busy-and-quiet pair. The
//! model is not taketurns: it has no reactor, no timers and no `event_interval`, and it stops
//! where taketurns would sleep or spin for ever, saying why. asyncio's `_run_once` and tokio's
//! current-thread scheduler follow [`Rules::TAKETURNS`] too (FIFO, a notified flag, a budget).

#![allow(dead_code)] // each exercise uses a different part of the model

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Which end of the ready queue the loop pops from. Wakes always push on the back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// `pop_front`: taketurns, asyncio and tokio.
    Fifo,
    /// `pop_back`: exercise 5.1's change.
    Lifo,
}

/// What a wake does to the task that is running (the one being polled right now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunningWake {
    /// Remember it (`rewoken: true`): after the poll the task goes back to the ready queue.
    Remember,
    /// Do nothing: exercise 5.2's change (`State::Running { .. } => {}`).
    Forget,
}

/// How much one tick runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickEnds {
    /// After as many polls as tasks were ready when it began: taketurns, and asyncio's
    /// `_run_once` (`ntodo = len(self._ready)`).
    Budget,
    /// When the ready queue is empty: exercise 5.3's change.
    QueueEmpty,
}

/// The rules the model schedules by.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Which end of the ready queue a tick pops from.
    pub order: Order,
    /// What a wake of the running task does.
    pub running_wake: RunningWake,
    /// When a tick ends.
    pub tick_ends: TickEnds,
    /// A safety stop for [`TickEnds::QueueEmpty`]: a tick that reaches this many polls gives up
    /// (taketurns, changed, would go on for ever).
    pub max_polls_per_tick: u64,
}

impl Rules {
    /// taketurns as shipped.
    pub const TAKETURNS: Rules = Rules {
        order: Order::Fifo,
        running_wake: RunningWake::Remember,
        tick_ends: TickEnds::Budget,
        max_polls_per_tick: 1_000_000,
    };
}

// ANCHOR: model
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
    /// The loop's end of the queue (exercise 5.1's switch).
    order: Order,
    /// What a wake of the running task does (exercise 5.2's switch).
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
                // RunningWake::Forget: exercise 5.2's change drops the wake here.
            }
            State::Queued | State::Done => {}
        }
    }
    // ANCHOR_END: wake

    fn pop(&mut self) -> Option<usize> {
        match self.order {
            Order::Fifo => self.ready.pop_front(),
            Order::Lifo => self.ready.pop_back(), // exercise 5.1's one-line change
        }
    }
}
// ANCHOR_END: model

/// A waker that puts task `task` back in the ready queue.
struct TaskWaker {
    /// The model's lists, shared with the loop and every other waker.
    lists: Arc<Mutex<Lists>>,
    /// The task this waker wakes.
    task: usize,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.lists.lock().unwrap().wake(self.task);
    }
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A single-threaded loop with a ready queue, a waiting list and a per-tick budget.
pub struct Model {
    /// The two lists, shared with the wakers.
    lists: Arc<Mutex<Lists>>,
    /// Each task's future by task number; `None` once it finished.
    tasks: Vec<Option<Task>>,
    /// Polls per task, by task number.
    pub polls: Vec<u64>,
    /// Ticks run so far.
    pub ticks: u64,
    /// When a tick ends (exercise 5.3's switch).
    tick_ends: TickEnds,
    /// See [`Rules::max_polls_per_tick`].
    max_polls_per_tick: u64,
    /// Set when a tick gave up at `max_polls_per_tick`.
    pub tick_gave_up: bool,
}

impl Model {
    pub fn new(rules: Rules) -> Model {
        let lists = Lists {
            ready: VecDeque::new(),
            states: Vec::new(),
            order: rules.order,
            running_wake: rules.running_wake,
        };
        Model {
            lists: Arc::new(Mutex::new(lists)),
            tasks: Vec::new(),
            polls: Vec::new(),
            ticks: 0,
            tick_ends: rules.tick_ends,
            max_polls_per_tick: rules.max_polls_per_tick,
            tick_gave_up: false,
        }
    }

    /// Add a task at the back of the ready queue; returns its number.
    pub fn spawn(&mut self, future: impl Future<Output = ()> + 'static) -> usize {
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
    pub fn tick(&mut self) {
        self.ticks += 1;
        let budget = match self.tick_ends {
            TickEnds::Budget => self.lists.lock().unwrap().ready.len() as u64,
            TickEnds::QueueEmpty => self.max_polls_per_tick, // exercise 5.3's change: `loop`
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

    pub fn done(&self, task: usize) -> bool {
        self.tasks[task].is_none()
    }

    /// The tasks in the waiting list.
    pub fn waiting(&self) -> Vec<usize> {
        let lists = self.lists.lock().unwrap();
        (0..lists.states.len())
            .filter(|&task| lists.states[task] == State::Waiting)
            .collect()
    }

    /// True when nothing is ready: taketurns would now sleep in `epoll_wait`.
    pub fn nothing_ready(&self) -> bool {
        self.lists.lock().unwrap().ready.is_empty()
    }
}

/// `yield_now`: wake yourself and return `Pending` once.
pub async fn yield_now() {
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

/// What one run of `hello` on the model did.
pub struct HelloRun {
    /// Each step, in the order it ran.
    pub lines: Vec<String>,
    /// Ticks until all three tasks finished, or until the loop found nothing ready.
    pub ticks: u64,
    /// Task numbers (1 = chef, 2 = waiter, 3 = guest) left in the waiting list when the loop
    /// found nothing ready and would have slept forever; empty if all three finished.
    pub stuck_waiting: Vec<usize>,
}

// ANCHOR: hello
/// The chapter's `hello` program on the model. Instead of sleeping forever when nothing is ready
/// and tasks are still waiting (what taketurns would do: no socket, no timer can wake them), the
/// model stops and says which tasks were stuck.
pub fn hello(rules: Rules) -> HelloRun {
    let log = Arc::new(Mutex::new(Vec::new()));
    let say = move |log: &Arc<Mutex<Vec<String>>>, line: &str| {
        log.lock().unwrap().push(line.to_string());
    };
    let mut model = Model::new(rules);
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
    HelloRun {
        lines,
        ticks: model.ticks,
        stuck_waiting,
    }
}
// ANCHOR_END: hello

// ANCHOR: busy_and_quiet
/// What one run of the busy-and-quiet program saw.
pub struct Outcome {
    /// Whether the driver saw, between ticks, that the quiet task had finished.
    pub driver_saw_quiet_done: bool,
    /// Polls of the task that returns at once.
    pub quiet_polls: u64,
    /// Polls of the task that yields for ever.
    pub busy_polls: u64,
    /// Ticks run.
    pub ticks: u64,
    /// Whether a tick gave up at `max_polls_per_tick` (the changed taketurns would never return).
    pub tick_gave_up: bool,
}

/// A task that returns at once and one that yields forever (spawned in that order, as in the
/// chapter). Between ticks, like `block_on`, the driver checks whether the quiet task is done;
/// the model cannot time out (it has no timers), so the driver gives up after `max_ticks` ticks.
pub fn busy_and_quiet(rules: Rules, max_ticks: u64) -> Outcome {
    let mut model = Model::new(rules);
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
