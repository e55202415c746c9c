//! A model-based test of the scheduler: random programs run on [`taketurns::Runtime`] and on a
//! reference model of the two lists written here, and the two must agree on every poll, in order.
//!
//! **The idea.** A program is a few tasks, each a script of steps: spawn a child (with its own
//! script), wake another task through the waker it stored, wake it from another thread, yield,
//! park (store the waker, return `Pending` once), return `Pending` without storing it, abort or
//! drop another task's `JoinHandle`, sleep (zero or a tiny duration), panic. The end of a script
//! is the task finishing. The runtime runs the program through its public API
//! only (`spawn`, `yield_now`, `JoinHandle::{abort, is_finished}`, `time::sleep`, `snapshot`,
//! `stats`) while the tasks record an event log: every poll, every timer that fires, every sleep
//! that completes, every future dropped (a drop guard in each task), and, each time the
//! `block_on` future is polled, both lists. The model is the same rules written as plainly as
//! possible: a FIFO `VecDeque` ready queue (stale entries and all), an ordered waiting list, an
//! inbox for remote wakes, a list of pending timers. proptest's shrinking then hands back the
//! smallest program on which the two disagree. asyncio promises the same order in prose
//! (`call_soon`: "callbacks are called in the order in which they are registered"); here the
//! promise, and every rule around it, is executable.
//!
//! **The rules modelled** (each stated in the runtime's own docs, `tick.rs`, `runtime.rs`,
//! `task.rs`): a tick runs only the entries in the ready queue when it began (stale ones count
//! towards that budget and are skipped); a spawned task goes to the back of the queue; a wake
//! moves a waiting task to the back, marks a running one to be queued once at the back after its
//! poll, and does nothing to a queued or finished one; abort drops the future at once unless the
//! task is running, then right after its poll (a task that completes in the poll that aborted it
//! keeps its output); a panic finishes the task as panicked; every `event_interval` polls (the
//! `block_on` future's included) the loop takes the inbox and fires due timers; the inbox is taken
//! at the end of every tick; the loop sleeps only with nothing queued and `block_on`'s future not
//! woken. At the end, every `JoinHandle` still held must say what the model says (completed with
//! its value, panicked with its payload, cancelled, or not finished), every spawned future must
//! have been dropped exactly once, and dropping the runtime must drop exactly the unfinished ones.
//!
//! **What depends on time, and how it is handled.** A remote wake does not: the waking task hands
//! the waker to a new thread and joins it before going on, so the wake is in the inbox at a known
//! point and the model places it exactly (taken at the end of the tick, or at an earlier interval
//! check). `sleep(Duration::ZERO)` does not either: its deadline has passed by its first poll, so
//! it completes at once without a timer (the model says so, and the log checks it). A tiny sleep
//! does: whether its deadline has passed at a given check is up to the clock. For those the
//! model is *guided* by the runtime's log rather than comparing only order-free facts: the
//! timer's waker is wrapped so the log shows exactly where it fired, and the model accepts a
//! firing only at a point where the loop checks timers, only in deadline order (all tiny sleeps
//! have one duration, so that is the order they were registered in), and only if the sleep was
//! still pending; a sleep that completes on a poll before its timer fired is taken from the log
//! the same way. Everything else, including where the woken task then runs, is predicted, not
//! copied. The test is therefore exact and still cannot be broken by a slow machine.
//!
//! **The `block_on` future** spawns the top-level tasks on its first poll and is woken by every
//! task poll, so it runs after each tick that polled something and logs both lists; it returns
//! once nothing is queued and no timer is pending (nothing can happen after that: every other
//! thread has been joined). Parked tasks nobody will wake are then dropped with the runtime.
//!
//! **Tracing** must not change the schedule; a second property runs the same programs on a
//! runtime built with `Builder::trace`. It disagrees today (tracing takes the inbox mid-tick,
//! issue 14), so it is ignored, and the minimal program it found is a regular test at the end.
//!
//! Left out: sockets, tasks awaiting each other's `JoinHandle`, and destructors or outputs that
//! panic; each has its own tests elsewhere. A run is deterministic given the proptest seed (fixed
//! here; `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override), and a [`Watchdog`] aborts the
//! process, printing the program, if a lost wakeup ever hangs a run.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, Once, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::future::poll_fn;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use taketurns::time::{Sleep, sleep};
use taketurns::{JoinError, JoinHandle, Runtime, TaskId, YieldNow, yield_now};

// ---------------------------------------------------------------------------------------------
// The model on known programs: a known program gives a known order (and the runtime agrees)
// ---------------------------------------------------------------------------------------------

/// Only the task polls of a log, in order.
fn polls(log: &[Event]) -> Vec<usize> {
    log.iter()
        .filter_map(|event| match event {
            Event::Poll(task) => Some(*task),
            _ => None,
        })
        .collect()
}

/// Run `program` on the model alone (no timers involved, so no guidance is needed) and return
/// its log, or the model's own complaint.
fn model_log(program: &Program) -> Vec<Event> {
    let plan = Plan::new(program);
    let mut model = Model::new(&plan, None);
    model
        .run()
        .expect("the model runs a timer-free program alone");
    model.log
}

#[test]
fn model_round_robin_of_yields() {
    use Step::*;
    // Three tasks yielding different numbers of times take turns, oldest first.
    let program = Program::new(vec![vec![Yield, Yield], vec![Yield], vec![]]);
    let log = model_log(&program);
    assert_eq!(polls(&log), [0, 1, 2, 0, 1, 0]);
    // The block_on future runs after each tick and sees the queue the next tick will run.
    assert_eq!(
        log[..5],
        [
            Event::Main {
                ready: vec![0, 1, 2],
                waiting: vec![]
            },
            Event::Poll(0),
            Event::Poll(1),
            Event::Poll(2),
            Event::Dropped(2),
        ]
    );
    check(&program).unwrap();
}

#[test]
fn model_spawned_child_goes_behind_everyone_already_queued() {
    use Step::*;
    // Task 0 spawns task 2 (numbered after the top-level tasks) and yields: 1 was queued first,
    // then the child, then 0 again.
    let program = Program::new(vec![vec![Spawn(vec![]), Yield], vec![]]);
    let log = model_log(&program);
    assert_eq!(polls(&log), [0, 1, 2, 0]);
    check(&program).unwrap();
}

#[test]
fn model_wake_while_running_queues_once_after_the_poll() {
    use Step::*;
    // 0 parks; 1 yields, then wakes 0 twice and wakes itself (it is running: queued once, after
    // its poll, behind 0); 2 finishes at once.
    let program = Program::new(vec![
        vec![Park],
        vec![Park, Wake(0), Wake(0), Wake(1), Yield],
        vec![Wake(1)],
    ]);
    let log = model_log(&program);
    // Tick 1: 0 parks, 1 parks, 2 wakes 1 (waiting: queued). Tick 2: 1 wakes 0 twice (queued
    // once), wakes itself and yields (one entry, after its poll). Tick 3: 0 finishes, 1 finishes.
    assert_eq!(polls(&log), [0, 1, 2, 1, 0, 1]);
    check(&program).unwrap();
}

#[test]
fn model_remote_wake_is_taken_at_the_end_of_the_tick() {
    use Step::*;
    // 0 parks. In the next tick 1 wakes 0 from another thread, then 2 yields. The remote wake
    // waits in the inbox until the tick ends, so 0 is queued *behind* 2, although 1 woke it
    // first (a wake on the loop's thread would have put 0 ahead of 2).
    let program = Program::new(vec![
        vec![Park],
        vec![Yield, WakeRemote(0)],
        vec![Yield, Yield],
    ]);
    assert_eq!(polls(&model_log(&program)), [0, 1, 2, 1, 2, 2, 0]);
    check(&program).unwrap();
}

#[test]
fn model_abort_drops_a_queued_task_at_once_and_its_entry_is_skipped() {
    use Step::*;
    // 0 aborts 1 while 1 is queued: 1's future is dropped inside 0's poll, and its stale entry
    // is skipped. 0 then aborts itself: it finishes cancelled after this poll, not before.
    let program = Program::new(vec![vec![Abort(1), Abort(0), Yield, Yield], vec![]]);
    let log = model_log(&program);
    assert_eq!(
        log,
        [
            Event::Main {
                ready: vec![0, 1],
                waiting: vec![]
            },
            Event::Poll(0),
            Event::Dropped(1),
            Event::Dropped(0),
            Event::Main {
                ready: vec![],
                waiting: vec![]
            },
        ]
    );
    check(&program).unwrap();
}

#[test]
fn model_detached_and_parked_tasks_are_dropped_at_shutdown() {
    use Step::*;
    // 0 drops its own handle and parks; 1 parks; nobody wakes either: both futures are dropped
    // exactly once when the runtime is, and 1's handle then reports "cancelled".
    let program = Program::new(vec![vec![Detach(0), Park], vec![Park]]);
    let log = model_log(&program);
    assert_eq!(
        log.last(),
        Some(&Event::Main {
            ready: vec![],
            waiting: vec![0, 1]
        })
    );
    check(&program).unwrap();
}

#[test]
fn model_panic_finishes_the_task_and_the_others_carry_on() {
    use Step::*;
    let program = Program::new(vec![vec![Yield, Panic, Yield], vec![Yield, Yield]]);
    assert_eq!(polls(&model_log(&program)), [0, 1, 0, 1, 1]);
    check(&program).unwrap();
}

#[test]
fn model_event_interval_takes_remote_wakes_mid_tick() {
    use Step::*;
    // The program above with an interval of 1: the loop looks outside after every poll, so the
    // remote wake of 0 is taken right after 1's poll, and 0 runs ahead of 2.
    let mut program = Program::new(vec![
        vec![Park],
        vec![Yield, WakeRemote(0)],
        vec![Yield, Yield],
    ]);
    program.event_interval = 1;
    assert_eq!(polls(&model_log(&program)), [0, 1, 2, 1, 2, 0, 2]);
    check(&program).unwrap();
}

#[test]
fn model_sleep_zero_completes_without_a_timer() {
    use Step::*;
    // Its deadline has passed by its first poll: no timer, no turn given up.
    let program = Program::new(vec![vec![Sleep(Nap::Zero), Yield], vec![]]);
    let log = model_log(&program);
    assert_eq!(polls(&log), [0, 1, 0]);
    assert_eq!(log[2], Event::SleepDone(0));
    check(&program).unwrap();
}

#[test]
fn sleeping_tasks_agree_with_the_model() {
    use Step::*;
    // Timers: the model is guided by where the runtime's log says each timer fired, and checks
    // that this was a point where the loop looks at timers, in deadline order.
    let program = Program::new(vec![
        vec![Sleep(Nap::Tiny), Yield],
        vec![Sleep(Nap::Tiny), Sleep(Nap::Zero)],
        vec![Park, Sleep(Nap::Tiny)],
        vec![Yield, Wake(2), Wake(2)],
    ]);
    check(&program).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------------

/// How long a sleep step sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nap {
    /// `sleep(Duration::ZERO)`: already due at its first poll.
    Zero,
    /// [`TINY`]: long enough to be pending at its first poll, short enough for hundreds of runs.
    Tiny,
}

/// The tiny sleep's length. Every tiny sleep has this one length, so deadline order is the
/// order in which the sleeps were registered.
const TINY: Duration = Duration::from_micros(300);

/// One step of a task's script. A step that acts on another task holds a pick `k`, resolved when
/// the step runs to the `k`-th (modulo their count, by task number) of the tasks it can act on:
/// for a wake, the tasks whose waker is in the shared table; for abort and detach, the tasks whose
/// handle is. Both sides resolve it from their own tables, so a pick always hits a task when
/// there is one (and may pick the task itself); with none, the step does nothing.
#[derive(Clone, Debug)]
enum Step {
    /// Spawn a child task with its own script; the child's handle goes into the shared table.
    Spawn(Vec<Step>),
    /// Wake a task through the waker it stored when it last parked (on this thread).
    Wake(usize),
    /// The same from another thread: the wake goes through the runtime's inbox.
    WakeRemote(usize),
    /// `taketurns::yield_now().await`.
    Yield,
    /// Store this task's waker in the shared table and return `Pending` once.
    Park,
    /// Return `Pending` once *without* storing the waker (a task only an older stored waker can
    /// bring back).
    Forget,
    /// Abort a task through its `JoinHandle`.
    Abort(usize),
    /// Drop a task's `JoinHandle`, detaching the task.
    Detach(usize),
    /// `taketurns::time::sleep(..).await`.
    Sleep(Nap),
    /// Panic (with a [`ScriptedPanic`] payload, which the panic hook keeps quiet).
    Panic,
}

/// A whole program: the top-level scripts, spawned in order by the `block_on` future.
#[derive(Clone, Debug)]
struct Program {
    /// One script per top-level task.
    roots: Vec<Vec<Step>>,
    /// The runtime's `Builder::event_interval`.
    event_interval: u32,
    /// The runtime's `Builder::trace` (warnings go to a sink that drops them).
    trace: bool,
}

impl Program {
    /// Top-level scripts with the default event interval.
    fn new(roots: Vec<Vec<Step>>) -> Program {
        Program {
            roots,
            event_interval: taketurns::DEFAULT_EVENT_INTERVAL,
            trace: false,
        }
    }
}

/// A [`Step`] as the tasks run it: each variant does what the step of the same name does;
/// `Spawn` holds the child's task number, and picks stay picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Spawn(usize),
    Wake(usize),
    WakeRemote(usize),
    Yield,
    Park,
    Forget,
    Abort(usize),
    Detach(usize),
    Sleep(Nap),
    Panic,
}

/// A program flattened: every task, spawned or not, gets a fixed number (top-level tasks
/// `0..roots`, then children in depth-first order), so both sides name tasks the same way.
struct Plan {
    /// Each task's ops, by task number.
    tasks: Vec<Vec<Op>>,
    /// How many top-level tasks (numbered first).
    roots: usize,
    /// The runtime's event interval.
    event_interval: u32,
    /// Whether the runtime traces.
    trace: bool,
}

impl Plan {
    fn new(program: &Program) -> Plan {
        fn count(script: &[Step]) -> usize {
            script
                .iter()
                .map(|step| match step {
                    Step::Spawn(child) => 1 + count(child),
                    _ => 0,
                })
                .sum()
        }
        fn lower(script: &[Step], me: usize, next: &mut usize, out: &mut [Vec<Op>]) {
            let mut ops = Vec::with_capacity(script.len());
            for step in script {
                ops.push(match step {
                    Step::Spawn(child) => {
                        let number = *next;
                        *next += 1;
                        lower(child, number, next, out);
                        Op::Spawn(number)
                    }
                    Step::Wake(k) => Op::Wake(*k),
                    Step::WakeRemote(k) => Op::WakeRemote(*k),
                    Step::Yield => Op::Yield,
                    Step::Park => Op::Park,
                    Step::Forget => Op::Forget,
                    Step::Abort(k) => Op::Abort(*k),
                    Step::Detach(k) => Op::Detach(*k),
                    Step::Sleep(nap) => Op::Sleep(*nap),
                    Step::Panic => Op::Panic,
                });
            }
            out[me] = ops;
        }
        let roots = program.roots.len();
        let n = roots + program.roots.iter().map(|s| count(s)).sum::<usize>();
        let mut tasks = vec![Vec::new(); n];
        let mut next = roots;
        for (number, script) in program.roots.iter().enumerate() {
            lower(script, number, &mut next, &mut tasks);
        }
        Plan {
            tasks,
            roots,
            event_interval: program.event_interval,
            trace: program.trace,
        }
    }

    fn len(&self) -> usize {
        self.tasks.len()
    }
}

/// Resolve pick `k` among the tasks for which `eligible` (by task number) is true.
fn pick(k: usize, eligible: impl Iterator<Item = bool>) -> Option<usize> {
    let candidates: Vec<usize> = eligible
        .enumerate()
        .filter_map(|(number, ok)| ok.then_some(number))
        .collect();
    (!candidates.is_empty()).then(|| candidates[k % candidates.len()])
}

/// What either side records, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    /// The `block_on` future was polled and saw these lists (task numbers): the ready queue
    /// front to back without stale entries, and the waiting list oldest first.
    Main {
        ready: Vec<usize>,
        waiting: Vec<usize>,
    },
    /// A task's poll began.
    Poll(usize),
    /// A task's sleep completed.
    SleepDone(usize),
    /// The loop fired a task's timer.
    Fired(usize),
    /// A task's future was dropped.
    Dropped(usize),
}

/// How a task ended, as its `JoinHandle` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Never spawned.
    Unspawned,
    /// Spawned and not finished when the `block_on` future returned.
    Unfinished,
    /// Completed: the handle gives `Ok(task number)`.
    Completed,
    /// Panicked: the handle gives the task's [`ScriptedPanic`].
    Panicked,
    /// Aborted: the handle gives a cancelled `JoinError`.
    Cancelled,
}

/// Counters both sides keep, compared with the runtime's `Stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    /// Tasks spawned (`Stats::tasks_spawned`).
    spawned: u64,
    /// Tasks completed, panicked or cancelled (`Stats::tasks_finished`).
    finished: u64,
    /// Task polls (`Stats::polls`; the `block_on` future's are not counted).
    polls: u64,
    /// Timers the loop fired (`Stats::timers_fired`).
    timers_fired: u64,
    /// Wakes made from another thread (`Stats::remote_wakes`).
    remote_wakes: u64,
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// Where a task is in the model: the runtime's `State`, plus "not spawned yet".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Unspawned,
    Queued,
    Running,
    Waiting,
    Finished(Outcome),
}

/// The state of a task's current sleep step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// No sleep in progress, or it has not registered a timer.
    Idle,
    /// In the timer list.
    Registered,
    /// Fired by the loop; the next poll of the sleep completes.
    Fired,
}

/// The model's view of one task.
#[derive(Clone, Debug)]
struct ModelTask {
    /// Queued, running, waiting, finished (or not spawned).
    life: Life,
    /// Woken during its current poll: queued once at the back after it.
    rewoken: bool,
    /// Aborted during its current poll: cancelled after it.
    abort_requested: bool,
    /// Someone holds the `JoinHandle` (false before the spawn and after a detach).
    handle_held: bool,
    /// The next op to run.
    pc: usize,
    /// The current op has already returned `Pending` once (yield, park, forget).
    halfway: bool,
    /// The current sleep's timer.
    timer: Timer,
    /// The task parked once, so the shared table holds its waker.
    has_waker: bool,
}

/// How a poll ended, before the loop applies it.
enum PollEnd {
    Pending,
    Ready,
    Panicked,
}

/// The two lists and the rules, written as plainly as possible.
struct Model<'a> {
    /// The program.
    plan: &'a Plan,
    /// The runtime's log, consulted only where the clock decides (see the module doc); `None`
    /// for a timer-free program run alone.
    guide: Option<&'a [Event]>,
    /// What the model did, in order.
    log: Vec<Event>,
    /// Every task by number.
    tasks: Vec<ModelTask>,
    /// The ready queue, stale entries (of finished tasks) included.
    ready: VecDeque<usize>,
    /// The waiting list, oldest first.
    waiting: Vec<usize>,
    /// Remote wakes not yet taken by the loop.
    inbox: Vec<usize>,
    /// Pending timers, in deadline (= registration) order.
    timers: VecDeque<usize>,
    /// The `block_on` future must be polled before the loop may sleep.
    main_woken: bool,
    /// Whether the `block_on` future has spawned the top-level tasks.
    started: bool,
    /// Polls since the last check of the outside world (compared with `event_interval`).
    polls_since_io: u32,
    /// The counters.
    counts: Counts,
}

impl<'a> Model<'a> {
    fn new(plan: &'a Plan, guide: Option<&'a [Event]>) -> Model<'a> {
        let task = ModelTask {
            life: Life::Unspawned,
            rewoken: false,
            abort_requested: false,
            handle_held: false,
            pc: 0,
            halfway: false,
            timer: Timer::Idle,
            has_waker: false,
        };
        Model {
            plan,
            guide,
            log: Vec::new(),
            tasks: vec![task; plan.len()],
            ready: VecDeque::new(),
            waiting: Vec::new(),
            inbox: Vec::new(),
            timers: VecDeque::new(),
            main_woken: false,
            started: false,
            polls_since_io: 0,
            counts: Counts::default(),
        }
    }

    /// The runtime's next event at the model's position, when guided.
    fn peek(&self) -> Option<&Event> {
        self.guide.and_then(|log| log.get(self.log.len()))
    }

    /// Record `event`; when guided, it must be the runtime's event at the same position.
    fn emit(&mut self, event: Event) -> Result<(), String> {
        if let Some(guide) = self.guide
            && guide.get(self.log.len()) != Some(&event)
        {
            return Err(format!(
                "event {}: the model expects {event:?}, the runtime logged {:?}",
                self.log.len(),
                guide.get(self.log.len())
            ));
        }
        self.log.push(event);
        Ok(())
    }

    /// `Runtime::block_on`: poll the main future when woken, otherwise tick.
    fn run(&mut self) -> Result<(), String> {
        self.main_woken = true;
        loop {
            if std::mem::take(&mut self.main_woken) {
                if self.poll_main()? {
                    return Ok(());
                }
                self.count_poll()?;
            }
            self.tick()?;
        }
    }

    /// The `block_on` future: spawn the top-level tasks the first time, log both lists, and
    /// finish once nothing is queued and no timer is pending.
    fn poll_main(&mut self) -> Result<bool, String> {
        if !std::mem::replace(&mut self.started, true) {
            for root in 0..self.plan.roots {
                self.spawn(root);
            }
        }
        let ready: Vec<usize> = self
            .ready
            .iter()
            .copied()
            .filter(|&t| self.tasks[t].life == Life::Queued)
            .collect();
        let quiet = ready.is_empty() && self.timers.is_empty();
        let waiting = self.waiting.clone();
        self.emit(Event::Main { ready, waiting })?;
        Ok(quiet)
    }

    /// One tick: run the entries queued when it began, take the inbox, sleep if idle.
    fn tick(&mut self) -> Result<(), String> {
        let budget = self.ready.len();
        for _ in 0..budget {
            let Some(task) = self.ready.pop_front() else {
                break;
            };
            if self.tasks[task].life != Life::Queued {
                continue; // a stale entry: aborted while queued
            }
            self.run_task(task)?;
            self.count_poll()?;
        }
        self.drain_inbox();
        if self.ready.is_empty() && !self.main_woken {
            self.sleep()?;
        }
        Ok(())
    }

    /// Every `event_interval` polls, look outside without blocking.
    fn count_poll(&mut self) -> Result<(), String> {
        self.polls_since_io += 1;
        if self.polls_since_io >= self.plan.event_interval {
            self.poll_events()?;
        }
        Ok(())
    }

    /// Take remote wakes, then fire due timers. Returns how many timers fired.
    fn poll_events(&mut self) -> Result<usize, String> {
        self.polls_since_io = 0;
        self.drain_inbox();
        self.fire_timers()
    }

    /// Nothing queued: the loop blocks until the next timer (the only thing left that can wake
    /// it; every other thread has been joined) and fires it.
    fn sleep(&mut self) -> Result<(), String> {
        if self.poll_events()? > 0 {
            return Ok(());
        }
        match self.timers.front() {
            None => Err(format!(
                "event {}: nothing is queued, no timer is pending and the block_on future was \
                 not woken: the loop would sleep forever",
                self.log.len()
            )),
            Some(&task) => Err(format!(
                "event {}: the loop sleeps until task {task}'s timer fires, but the runtime \
                 logged {:?}",
                self.log.len(),
                self.peek()
            )),
        }
    }

    /// The due timers, as the runtime's log says (see the module doc), checked to be the
    /// earliest ones still pending.
    fn fire_timers(&mut self) -> Result<usize, String> {
        let mut fired = 0;
        while let Some(&Event::Fired(task)) = self.peek() {
            if self.timers.front() != Some(&task) {
                return Err(format!(
                    "event {}: the runtime fired task {task}'s timer, but the earliest pending \
                     timer is {:?} (pending: {:?})",
                    self.log.len(),
                    self.timers.front(),
                    self.timers
                ));
            }
            self.timers.pop_front();
            self.tasks[task].timer = Timer::Fired;
            self.counts.timers_fired += 1;
            self.emit(Event::Fired(task))?;
            self.wake(task);
            fired += 1;
        }
        Ok(fired)
    }

    /// Move remote wakes into the ready queue, in the order they came.
    fn drain_inbox(&mut self) {
        for task in std::mem::take(&mut self.inbox) {
            self.wake(task);
        }
    }

    /// A wake on the loop's thread: waiting → back of the queue; running → queued after its
    /// poll; anything else → nothing.
    fn wake(&mut self, task: usize) {
        match self.tasks[task].life {
            Life::Waiting => {
                self.waiting.retain(|&t| t != task);
                self.tasks[task].life = Life::Queued;
                self.ready.push_back(task);
            }
            Life::Running => self.tasks[task].rewoken = true,
            Life::Queued | Life::Finished(_) | Life::Unspawned => {}
        }
    }

    /// A new task at the back of the ready queue, its handle in the shared table.
    fn spawn(&mut self, task: usize) {
        let t = &mut self.tasks[task];
        t.life = Life::Queued;
        t.handle_held = true;
        self.ready.push_back(task);
        self.counts.spawned += 1;
    }

    /// `JoinHandle::abort`.
    fn abort(&mut self, task: usize) -> Result<(), String> {
        match self.tasks[task].life {
            Life::Running => self.tasks[task].abort_requested = true,
            Life::Queued => self.finish(task, Outcome::Cancelled)?,
            Life::Waiting => {
                self.waiting.retain(|&t| t != task);
                self.finish(task, Outcome::Cancelled)?;
            }
            Life::Finished(_) | Life::Unspawned => {}
        }
        Ok(())
    }

    /// The task is done: its future (and any timer inside it) is dropped now.
    fn finish(&mut self, task: usize, outcome: Outcome) -> Result<(), String> {
        let t = &mut self.tasks[task];
        t.life = Life::Finished(outcome);
        if t.timer == Timer::Registered {
            self.timers.retain(|&other| other != task);
        }
        t.timer = Timer::Idle;
        self.counts.finished += 1;
        self.emit(Event::Dropped(task))
    }

    /// Poll one task and apply the result.
    fn run_task(&mut self, task: usize) -> Result<(), String> {
        let t = &mut self.tasks[task];
        t.life = Life::Running;
        t.rewoken = false;
        self.counts.polls += 1;
        self.emit(Event::Poll(task))?;
        self.main_woken = true; // every task poll wakes the block_on future
        let end = self.poll_task(task)?;
        let t = &self.tasks[task];
        match end {
            PollEnd::Ready => self.finish(task, Outcome::Completed)?,
            PollEnd::Panicked => self.finish(task, Outcome::Panicked)?,
            PollEnd::Pending if t.abort_requested => self.finish(task, Outcome::Cancelled)?,
            PollEnd::Pending if t.rewoken => {
                self.tasks[task].life = Life::Queued;
                self.ready.push_back(task);
            }
            PollEnd::Pending => {
                self.tasks[task].life = Life::Waiting;
                self.waiting.push(task);
            }
        }
        Ok(())
    }

    /// Run the task's ops from where it stopped until one returns `Pending` or the script ends.
    fn poll_task(&mut self, task: usize) -> Result<PollEnd, String> {
        loop {
            let Some(&op) = self.plan.tasks[task].get(self.tasks[task].pc) else {
                return Ok(PollEnd::Ready);
            };
            match op {
                Op::Spawn(child) => self.spawn(child),
                Op::Wake(k) => {
                    if let Some(target) = pick(k, self.tasks.iter().map(|t| t.has_waker)) {
                        self.wake(target);
                    }
                }
                Op::WakeRemote(k) => {
                    if let Some(target) = pick(k, self.tasks.iter().map(|t| t.has_waker)) {
                        self.inbox.push(target);
                        self.counts.remote_wakes += 1;
                    }
                }
                Op::Yield | Op::Park | Op::Forget => {
                    let t = &mut self.tasks[task];
                    if !std::mem::replace(&mut t.halfway, true) {
                        match op {
                            Op::Yield => self.wake(task),
                            Op::Park => t.has_waker = true,
                            _ => {}
                        }
                        return Ok(PollEnd::Pending);
                    }
                    t.halfway = false;
                }
                Op::Abort(k) => {
                    if let Some(target) = pick(k, self.tasks.iter().map(|t| t.handle_held)) {
                        self.abort(target)?;
                    }
                }
                Op::Detach(k) => {
                    if let Some(target) = pick(k, self.tasks.iter().map(|t| t.handle_held)) {
                        self.tasks[target].handle_held = false;
                    }
                }
                Op::Sleep(Nap::Zero) => self.emit(Event::SleepDone(task))?,
                Op::Sleep(Nap::Tiny) => {
                    // Fired: the entry is gone and the deadline has passed, so the sleep is done.
                    // Otherwise only the clock knows; the runtime's log says what it saw.
                    let timer = self.tasks[task].timer;
                    let done =
                        timer == Timer::Fired || self.peek() == Some(&Event::SleepDone(task));
                    if !done {
                        if timer == Timer::Idle {
                            self.tasks[task].timer = Timer::Registered;
                            self.timers.push_back(task);
                        }
                        return Ok(PollEnd::Pending);
                    }
                    if timer == Timer::Registered {
                        self.timers.retain(|&other| other != task);
                    }
                    self.tasks[task].timer = Timer::Idle;
                    self.emit(Event::SleepDone(task))?;
                }
                Op::Panic => return Ok(PollEnd::Panicked),
            }
            self.tasks[task].pc += 1;
        }
    }

    /// Each task's outcome once the run is over.
    fn outcomes(&self) -> Vec<Outcome> {
        self.tasks
            .iter()
            .map(|t| match t.life {
                Life::Unspawned => Outcome::Unspawned,
                Life::Finished(outcome) => outcome,
                Life::Queued | Life::Running | Life::Waiting => Outcome::Unfinished,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The same program on taketurns
// ---------------------------------------------------------------------------------------------

/// The payload of a scripted panic: which task panicked.
#[derive(Debug)]
struct ScriptedPanic(usize);

/// The event log, shared with timer wakers (which must be `Send`) and drop guards.
type Log = Arc<Mutex<Vec<Event>>>;

fn record(log: &Log, event: Event) {
    log.lock().unwrap_or_else(|e| e.into_inner()).push(event);
}

/// What the tasks of one run share: the program, the log and the tables steps act on.
struct Harness {
    /// The program.
    plan: Rc<Plan>,
    /// The event log.
    log: Log,
    /// Each task's `JoinHandle`, by task number, from its spawn until a detach step or the end.
    handles: RefCell<Vec<Option<JoinHandle<usize>>>>,
    /// Each spawned task's runtime id, to read snapshots.
    ids: RefCell<Vec<Option<TaskId>>>,
    /// The waker each task stored when it last parked.
    wakers: RefCell<Vec<Option<Waker>>>,
    /// The `block_on` future's waker; every task poll wakes it.
    main_waker: RefCell<Option<Waker>>,
}

impl Harness {
    /// The task number of a runtime id (`usize::MAX` for an id no step spawned).
    fn number(&self, id: TaskId) -> usize {
        let ids = self.ids.borrow();
        ids.iter()
            .position(|&i| i == Some(id))
            .unwrap_or(usize::MAX)
    }

    /// A clone of the `k`-th stored waker (see [`Step`]), if any task has stored one.
    fn waker(&self, k: usize) -> Option<Waker> {
        let wakers = self.wakers.borrow();
        pick(k, wakers.iter().map(Option::is_some)).and_then(|target| wakers[target].clone())
    }

    /// Spawn task `number` on the current runtime and keep its handle.
    fn spawn(self: &Rc<Self>, number: usize) {
        let handle = taketurns::spawn(Task {
            harness: self.clone(),
            me: number,
            pc: 0,
            halfway: false,
            yielding: None,
            sleeping: None,
            _guard: DropGuard {
                log: self.log.clone(),
                me: number,
            },
        });
        self.ids.borrow_mut()[number] = Some(handle.id());
        self.handles.borrow_mut()[number] = Some(handle);
    }
}

/// Logs `Dropped` when the future that owns it is dropped.
struct DropGuard {
    /// Where to log.
    log: Log,
    /// Whose future this is.
    me: usize,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        record(&self.log, Event::Dropped(self.me));
    }
}

/// Stands in for a task's waker in its timer: logs `Fired`, then wakes the task.
struct TimerWaker {
    /// Where to log.
    log: Log,
    /// Whose timer this is.
    me: usize,
    /// The task's own waker.
    inner: Waker,
}

impl Wake for TimerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        record(&self.log, Event::Fired(self.me));
        self.inner.wake_by_ref();
    }
}

/// One task of the program: its script run one op at a time.
struct Task {
    /// The shared tables.
    harness: Rc<Harness>,
    /// This task's number.
    me: usize,
    /// The next op.
    pc: usize,
    /// The current park or forget op has returned `Pending` once.
    halfway: bool,
    /// The current yield op's future.
    yielding: Option<YieldNow>,
    /// The current sleep op's future.
    sleeping: Option<Sleep>,
    /// Logs this future's drop.
    _guard: DropGuard,
}

impl Future for Task {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let h = this.harness.clone();
        let me = this.me;
        record(&h.log, Event::Poll(me));
        if let Some(main) = h.main_waker.borrow().as_ref() {
            main.wake_by_ref();
        }
        loop {
            let Some(&op) = h.plan.tasks[me].get(this.pc) else {
                return Poll::Ready(me);
            };
            match op {
                Op::Spawn(child) => h.spawn(child),
                Op::Wake(k) => {
                    let waker = h.waker(k);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
                Op::WakeRemote(k) => {
                    let waker = h.waker(k);
                    if let Some(waker) = waker {
                        // Joined before going on, so the wake is in the inbox at a known point.
                        thread::spawn(move || waker.wake())
                            .join()
                            .expect("the waking thread does not panic");
                    }
                }
                Op::Yield => {
                    let yielding = this.yielding.get_or_insert_with(yield_now);
                    if Pin::new(yielding).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.yielding = None;
                }
                Op::Park | Op::Forget => {
                    if !std::mem::replace(&mut this.halfway, true) {
                        if op == Op::Park {
                            h.wakers.borrow_mut()[me] = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                    this.halfway = false;
                }
                Op::Abort(k) => {
                    let handles = h.handles.borrow();
                    if let Some(target) = pick(k, handles.iter().map(Option::is_some)) {
                        handles[target].as_ref().expect("picked").abort();
                    }
                }
                Op::Detach(k) => {
                    let handle = {
                        let mut handles = h.handles.borrow_mut();
                        pick(k, handles.iter().map(Option::is_some))
                            .and_then(|target| handles[target].take())
                    };
                    drop(handle);
                }
                Op::Sleep(nap) => {
                    let length = match nap {
                        Nap::Zero => Duration::ZERO,
                        Nap::Tiny => TINY,
                    };
                    let sleeping = this.sleeping.get_or_insert_with(|| sleep(length));
                    let timer_waker = Waker::from(Arc::new(TimerWaker {
                        log: h.log.clone(),
                        me,
                        inner: cx.waker().clone(),
                    }));
                    let mut timer_cx = Context::from_waker(&timer_waker);
                    if Pin::new(sleeping).poll(&mut timer_cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.sleeping = None;
                    record(&h.log, Event::SleepDone(me));
                }
                Op::Panic => std::panic::panic_any(ScriptedPanic(me)),
            }
            this.pc += 1;
        }
    }
}

/// What a `JoinHandle` gave, reduced to what can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Joined {
    /// `Ok(value)`.
    Value(usize),
    /// A panic with a [`ScriptedPanic`] of this task.
    Panic(usize),
    /// Cancelled.
    Cancelled,
    /// Anything else (a panic with another payload), described.
    Other(String),
}

fn joined(result: Result<usize, JoinError>) -> Joined {
    match result {
        Ok(value) => Joined::Value(value),
        Err(e) if e.is_cancelled() => Joined::Cancelled,
        Err(e) => {
            let text = e.to_string();
            match e.try_into_panic() {
                Ok(payload) => match payload.downcast_ref::<ScriptedPanic>() {
                    Some(ScriptedPanic(task)) => Joined::Panic(*task),
                    None => Joined::Other(text),
                },
                Err(e) => Joined::Other(e.to_string()),
            }
        }
    }
}

/// What the runtime did with one program.
struct Observed {
    /// The log up to the return of `block_on`.
    log: Vec<Event>,
    /// The futures dropped by dropping the runtime.
    dropped_at_shutdown: Vec<usize>,
    /// The counters when `block_on` returned.
    counts: Counts,
    /// `Runtime::snapshot` when `block_on` returned: ready and waiting task numbers.
    lists: (Vec<usize>, Vec<usize>),
    /// For each task whose handle was still held: `is_finished` when `block_on` returned.
    finished: Vec<Option<bool>>,
    /// What each held handle gave: awaited on the runtime if finished, else polled after the
    /// runtime was dropped.
    joined: Vec<Option<Joined>>,
}

/// Run `plan` on a fresh runtime.
fn run_on_taketurns(plan: Rc<Plan>) -> Observed {
    let rt = Runtime::builder()
        .event_interval(plan.event_interval)
        .trace(plan.trace)
        .on_warning(|_| {})
        .build()
        .expect("a runtime (is the file descriptor limit reached?)");
    let n = plan.len();
    let harness = Rc::new(Harness {
        plan: plan.clone(),
        log: Log::default(),
        handles: RefCell::new((0..n).map(|_| None).collect()),
        ids: RefCell::new(vec![None; n]),
        wakers: RefCell::new(vec![None; n]),
        main_waker: RefCell::new(None),
    });

    let h = harness.clone();
    let mut started = false;
    rt.block_on(poll_fn(move |cx| {
        if !std::mem::replace(&mut started, true) {
            *h.main_waker.borrow_mut() = Some(cx.waker().clone());
            for root in 0..h.plan.roots {
                h.spawn(root);
            }
        }
        let snapshot = taketurns::snapshot();
        let quiet = snapshot.ready.is_empty() && taketurns::stats().timers_pending == 0;
        let ready = snapshot.ready.iter().map(|&id| h.number(id)).collect();
        let waiting = snapshot
            .waiting_ids()
            .iter()
            .map(|&id| h.number(id))
            .collect();
        record(&h.log, Event::Main { ready, waiting });
        if quiet {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));

    let log = harness.log.lock().unwrap().clone();
    let stats = rt.stats();
    let counts = Counts {
        spawned: stats.tasks_spawned,
        finished: stats.tasks_finished,
        polls: stats.polls,
        timers_fired: stats.timers_fired,
        remote_wakes: stats.remote_wakes,
    };
    let snapshot = rt.snapshot();
    let lists = (
        snapshot
            .ready
            .iter()
            .map(|&id| harness.number(id))
            .collect(),
        snapshot
            .waiting_ids()
            .iter()
            .map(|&id| harness.number(id))
            .collect(),
    );
    let handles: Vec<Option<JoinHandle<usize>>> = harness.handles.borrow_mut().drain(..).collect();
    let finished: Vec<Option<bool>> = handles
        .iter()
        .map(|h| h.as_ref().map(JoinHandle::is_finished))
        .collect();
    // Finished tasks are joined on the runtime (their handles are ready at once); the others
    // after it is dropped, when they must report "cancelled".
    let (done, mut rest): (Vec<_>, Vec<_>) = handles
        .into_iter()
        .enumerate()
        .filter_map(|(number, h)| h.map(|h| (number, h)))
        .partition(|(_, h)| h.is_finished());
    let mut joined_values: Vec<Option<Joined>> = vec![None; n];
    let results = rt.block_on(async move {
        let mut out = Vec::new();
        for (number, handle) in done {
            out.push((number, joined(handle.await)));
        }
        out
    });
    for (number, result) in results {
        joined_values[number] = Some(result);
    }

    let before_shutdown = harness.log.lock().unwrap().len();
    drop(rt);
    let dropped_at_shutdown = harness.log.lock().unwrap()[before_shutdown..]
        .iter()
        .filter_map(|event| match event {
            Event::Dropped(task) => Some(*task),
            _ => None,
        })
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    for (number, handle) in &mut rest {
        joined_values[*number] = Some(match Pin::new(handle).poll(&mut cx) {
            Poll::Ready(result) => joined(result),
            Poll::Pending => Joined::Other("still pending after the runtime was dropped".into()),
        });
    }
    Observed {
        log,
        dropped_at_shutdown,
        counts,
        lists,
        finished,
        joined: joined_values,
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing the two
// ---------------------------------------------------------------------------------------------

/// Run `program` on the runtime, replay it on the model, and say where they disagree.
fn check(program: &Program) -> Result<(), String> {
    quiet_scripted_panics();
    let _watchdog = Watchdog::new(program);
    let plan = Rc::new(Plan::new(program));
    let observed = run_on_taketurns(plan.clone());
    let mut model = Model::new(&plan, Some(&observed.log));
    let verdict = compare(&mut model, &observed);
    verdict.map_err(|problem| {
        let mut report = format!("{problem}\n\nprogram: {program:#?}\n\ntasks by number:\n");
        for (number, ops) in plan.tasks.iter().enumerate() {
            let _ = writeln!(report, "  {number}: {ops:?}");
        }
        let _ = writeln!(report, "\nruntime log:");
        for (i, event) in observed.log.iter().enumerate() {
            let _ = writeln!(report, "  {i:3} {event:?}");
        }
        let _ = writeln!(report, "model log:");
        for (i, event) in model.log.iter().enumerate() {
            let _ = writeln!(report, "  {i:3} {event:?}");
        }
        report
    })
}

fn compare(model: &mut Model<'_>, observed: &Observed) -> Result<(), String> {
    model.run()?;
    if model.log.len() != observed.log.len() {
        return Err(format!(
            "the model's block_on future returned after {} events, the runtime's after {}",
            model.log.len(),
            observed.log.len()
        ));
    }
    if model.counts != observed.counts {
        return Err(format!(
            "counters: the model has {:?}, the runtime's stats have {:?}",
            model.counts, observed.counts
        ));
    }
    let lists = (Vec::new(), model.waiting.clone());
    if observed.lists != lists {
        return Err(format!(
            "Runtime::snapshot after block_on: (ready, waiting) is {:?}, the model has {lists:?}",
            observed.lists
        ));
    }

    let outcomes = model.outcomes();
    for (task, &outcome) in outcomes.iter().enumerate() {
        let held = model.tasks[task].handle_held;
        let finished = observed.finished[task];
        let expected_finished = held.then_some(outcome != Outcome::Unfinished);
        if finished != expected_finished {
            return Err(format!(
                "task {task} ({outcome:?}, handle held: {held}): is_finished() gave {finished:?}"
            ));
        }
        let expected = held.then(|| match outcome {
            Outcome::Completed => Joined::Value(task),
            Outcome::Panicked => Joined::Panic(task),
            Outcome::Cancelled | Outcome::Unfinished => Joined::Cancelled,
            Outcome::Unspawned => unreachable!("an unspawned task has no handle"),
        });
        if observed.joined[task] != expected {
            return Err(format!(
                "task {task} ({outcome:?}): its JoinHandle gave {:?}, the model expects \
                 {expected:?}",
                observed.joined[task]
            ));
        }
    }

    let mut at_shutdown = observed.dropped_at_shutdown.clone();
    at_shutdown.sort_unstable();
    let unfinished: Vec<usize> = (0..outcomes.len())
        .filter(|&t| outcomes[t] == Outcome::Unfinished)
        .collect();
    if at_shutdown != unfinished {
        return Err(format!(
            "dropping the runtime dropped the futures of tasks {at_shutdown:?}; the unfinished \
             tasks are {unfinished:?}"
        ));
    }
    for (task, &outcome) in outcomes.iter().enumerate() {
        let drops = observed
            .log
            .iter()
            .filter(|&e| *e == Event::Dropped(task))
            .count()
            + observed
                .dropped_at_shutdown
                .iter()
                .filter(|&&t| t == task)
                .count();
        let expected = usize::from(outcome != Outcome::Unspawned);
        if drops != expected {
            return Err(format!(
                "task {task} ({outcome:?}): its future was dropped {drops} times, not {expected}"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Random programs
// ---------------------------------------------------------------------------------------------

/// A step that spawns nothing. Targets range over a few more numbers than most programs have
/// tasks, so some steps name a task that does not exist yet.
fn leaf_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..8usize).prop_map(Step::Wake),
        3 => (0..8usize).prop_map(Step::WakeRemote),
        3 => Just(Step::Yield),
        5 => Just(Step::Park),
        1 => Just(Step::Forget),
        1 => (0..8usize).prop_map(Step::Abort),
        1 => (0..8usize).prop_map(Step::Detach),
        1 => Just(Step::Sleep(Nap::Zero)),
        1 => Just(Step::Sleep(Nap::Tiny)),
        1 => Just(Step::Panic),
    ]
}

/// A script, with nested spawns up to three levels deep.
fn script() -> impl Strategy<Value = Vec<Step>> {
    vec(leaf_step(), 0..8).prop_recursive(3, 32, 8, |inner| {
        vec(
            prop_oneof![4 => leaf_step(), 1 => inner.prop_map(Step::Spawn)],
            0..8,
        )
    })
}

/// A program: one to four top-level scripts and an event interval (small ones make the loop
/// take remote wakes and fire timers mid-tick), on a runtime that traces or not.
fn program(trace: bool) -> impl Strategy<Value = Program> {
    (
        vec(script(), 1..5),
        prop_oneof![
            Just(1u32),
            Just(2),
            Just(3),
            Just(taketurns::DEFAULT_EVENT_INTERVAL)
        ],
    )
        .prop_map(move |(roots, event_interval)| Program {
            roots,
            event_interval,
            trace,
        })
}

/// How many programs a run tries unless `PROPTEST_CASES` is set: a few hundred, a second or
/// two in a debug build.
const CASES: u32 = 512;

/// The seed used unless `PROPTEST_RNG_SEED` is set, so every run tries the same programs.
const SEED: u64 = 0x007a_6be7;

/// Run [`check`] on a few hundred random programs (`PROPTEST_CASES` to change), shrinking the
/// first disagreement to a minimal program.
fn check_random_programs(trace: bool) {
    let mut config = Config::default(); // reads PROPTEST_CASES and PROPTEST_RNG_SEED
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    // No regression files: the seed makes the run repeatable, and a failure prints its program.
    config.failure_persistence = None;
    let mut runner = TestRunner::new(config);
    let result = runner.run(&program(trace), |program| {
        check(&program).map_err(TestCaseError::fail)
    });
    if let Err(failure) = result {
        panic!(
            "the runtime and the model disagree (seed {SEED:#x} unless PROPTEST_RNG_SEED is \
             set):\n{failure}"
        );
    }
}

#[test]
fn random_programs_agree_with_the_model() {
    check_random_programs(false);
}

/// Tracing must not change the schedule it draws. It does today: see
/// [`tracing_leaves_remote_wakes_in_the_inbox_until_the_tick_ends`] for the minimal case.
#[test]
fn random_programs_agree_with_the_model_when_tracing() {
    check_random_programs(true);
}

// ---------------------------------------------------------------------------------------------
// Disagreements the model found
// ---------------------------------------------------------------------------------------------

/// Found by `random_programs_agree_with_the_model_when_tracing`, and failing until issue 14's
/// fix: with tracing on, a task that parks with no clone of its waker left (the lost-waker
/// check) makes the loop take the inbox right after that poll, in the middle of the tick. A
/// remote wake then moves its task ahead of tasks queued later in the same tick, so the order
/// depends on whether the runtime traces. Here 1 wakes 0 from another thread, 2 parks with its
/// waker lost, 3 yields: untraced, 0 is queued behind 3 when the tick ends (the model, and the
/// same program in `model_remote_wake_is_taken_at_the_end_of_the_tick`); traced, ahead of it.
#[test]
fn tracing_leaves_remote_wakes_in_the_inbox_until_the_tick_ends() {
    use Step::*;
    let mut program = Program::new(vec![
        vec![Park],
        vec![Yield, WakeRemote(0)],
        vec![Yield, Forget],
        vec![Yield, Yield],
    ]);
    assert_eq!(polls(&model_log(&program)), [0, 1, 2, 3, 1, 2, 3, 3, 0]);
    check(&program).expect("untraced, the runtime agrees with the model");
    program.trace = true;
    if let Err(disagreement) = check(&program) {
        panic!("traced, the runtime disagrees with the model:\n{disagreement}");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: the panic hook and the watchdog
// ---------------------------------------------------------------------------------------------

/// Keep scripted panics off stderr (hundreds of programs panic on purpose); every other panic
/// still goes to the previous hook.
fn quiet_scripted_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ScriptedPanic>() {
                previous(info);
            }
        }));
    });
}

/// How long one program may run before the watchdog gives up on it: far more than any needs,
/// even on a loaded machine.
const WATCHDOG_LIMIT: Duration = Duration::from_secs(60);

/// Aborts the process, printing the program being run, if not dropped within
/// [`WATCHDOG_LIMIT`]: a lost wakeup leaves `block_on` asleep in epoll forever, and CI should
/// fail with a message, not hang.
struct Watchdog {
    /// Dropping it disconnects the channel, which tells the watchdog thread to stand down.
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    fn new(program: &Program) -> Watchdog {
        let program = format!("{program:?}");
        let (disarm, disarmed) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(WATCHDOG_LIMIT) {
                // Straight to the file descriptor: the harness's capture dies with the process.
                let _ = writeln!(
                    std::io::stderr(),
                    "watchdog: a program did not finish within {WATCHDOG_LIMIT:?} (a lost \
                     wakeup?): {program}"
                );
                std::process::abort();
            }
        });
        Watchdog { _disarm: disarm }
    }
}
