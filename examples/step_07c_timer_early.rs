//! Build track, step 7c (the wrong version): a timer that fires early.
//!
//! Step 7 with one change in `Timers::fire`: it reasons "epoll's timeout was the first deadline,
//! so when epoll returns, that timer is due", and fires the first timer whatever the clock says.
//! But epoll also returns for sockets: the guest's connection completes while the roast is in the
//! oven.
//!
//! Run it and you see `epoll: 1 events, 1 timers fired` at the guest's first socket event (its
//! connect), and `chef: the roast is out, early: true`: the sleep ended before its deadline.
//!
//! The fix is step 7's `fire`: compare each deadline with the clock (due includes now).
//!
//! ```console
//! $ cargo run --example step_07c_timer_early
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use mio::{Events, Interest, Token};
use slab::Slab;

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

/// Read the command line: `--quiet` is the only flag; anything else is an error (exit code 2).
fn parse_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            other => {
                eprintln!(
                    "{}: unknown argument {other:?}; the only flag is --quiet",
                    env!("CARGO_CRATE_NAME")
                );
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
    /// `epoll_wait` calls that found no event and no due timer, for the summary.
    empty_waits: u64,
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

    /// Poll the task at the front of the ready queue, one per tick; when it is empty, wait for
    /// sockets and timers, until no task is ready, none waits on a socket and no timer is set.
    fn run(&mut self) -> io::Result<()> {
        let mut tick = 0;
        loop {
            for future in SPAWNED.take() {
                self.add(future);
            }
            let mut lists = self.lists.lock().unwrap();
            let Some(task) = lists.ready.pop_front() else {
                // Nothing is ready: wait for a socket or a deadline; with neither, stop.
                drop(lists);
                let timeout = TIMERS.with_borrow(|timers| timers.timeout(Instant::now()));
                if timeout.is_none() && !REACTOR.with_borrow(Reactor::has_waiters) {
                    break;
                }
                let events = REACTOR.with_borrow_mut(|reactor| reactor.wait(timeout))?;
                let fired = TIMERS.with_borrow_mut(|timers| timers.fire(Instant::now()));
                self.empty_waits += u64::from(events + fired == 0);
                if !QUIET.load(Ordering::Relaxed) {
                    println!("epoll: {events} events, {fired} timers fired");
                }
                continue;
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
        Ok(())
    }
    /// One line per task: how often it was polled, and whether it finished.
    fn report(&self) {
        for (task, polls) in self.polls.iter().enumerate() {
            let finished = self.tasks[task].is_none();
            println!("task {task}: {polls} polls, finished: {finished}");
        }
        println!("epoll waits that found nothing: {}", self.empty_waits);
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

/// Run `main` as task 0 until nothing is left to do, and return its output; an error if epoll
/// fails, or if `main` did not finish because every task waits and nothing is left to wake one.
fn run<T: 'static>(main: impl Future<Output = T> + 'static) -> io::Result<T> {
    let main = spawn(main);
    let mut executor = Executor::default();
    executor.run()?;
    executor.report();
    let output = main.join.borrow_mut().output.take();
    output.ok_or_else(|| io::Error::other("main never finished: every task waits on another"))
}
// ANCHOR_END: spawn

// ANCHOR: reactor
/// The reactor: epoll, and for each registered socket the waker of the task waiting on it.
struct Reactor {
    /// The epoll instance, through mio.
    poll: mio::Poll,
    /// Room for the events one `epoll_wait` returns.
    events: Events,
    /// By token (a socket's key): the waker of the task that waits on the socket, if one does.
    wakers: Slab<Option<Waker>>,
}

thread_local! {
    /// This thread's reactor: sockets register here, and the loop waits in it.
    static REACTOR: RefCell<Reactor> = RefCell::new(Reactor {
        poll: mio::Poll::new().expect("cannot create an epoll instance"),
        events: Events::with_capacity(1024),
        wakers: Slab::new(),
    });
}

impl Reactor {
    /// Whether a task waits on a socket.
    fn has_waiters(&self) -> bool {
        self.wakers.iter().any(|(_, waker)| waker.is_some())
    }

    /// Block in `epoll_wait` until a socket is ready or `timeout` has passed, then wake the task
    /// waiting on each ready socket; returns the number of events.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            // A signal interrupted the wait: nothing happened, and the loop comes back.
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for event in &self.events {
            if let Some(waker) = self.wakers.get_mut(event.token().0).and_then(Option::take) {
                waker.wake();
            }
        }
        Ok(self.events.iter().count())
    }
}
// ANCHOR_END: reactor

// ANCHOR: timers
/// The timer list: the sleeping tasks, in deadline order.
#[derive(Default)]
struct Timers {
    /// By deadline, then id (two sleeps may share a deadline): the waker from the sleep's latest
    /// poll. `fire` removes an entry when it is due.
    sleeping: BTreeMap<(Instant, u64), Waker>,
    /// The id the last sleep got.
    next_id: u64,
}

thread_local! {
    /// This thread's timer list: `Sleep` adds to it, the loop fires it.
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

impl Timers {
    /// How long until the first deadline (zero if it has passed); `None` if no timer is set.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let first = self.sleeping.keys().next();
        first.map(|(deadline, _)| deadline.saturating_duration_since(now))
    }

    /// Wake the first sleep in the list, due or not; returns how many (0 or 1).
    fn fire(&mut self, now: Instant) -> usize {
        let mut fired = 0;
        let _ = now; // the mistake: the first timer fires, whether its deadline has come or not
        if let Some(entry) = self.sleeping.first_entry() {
            entry.remove().wake();
            fired += 1;
        }
        fired
    }
}

/// A future that is ready once the loop has fired its timer (`asyncio.sleep`).
struct Sleep {
    /// Its key in the timer list: the deadline, and an id of its own.
    key: (Instant, u64),
    /// Whether it has put itself in the list; if so, and it is gone, the loop fired it.
    registered: bool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        TIMERS.with_borrow_mut(|timers| {
            if self.registered && !timers.sleeping.contains_key(&self.key) {
                return Poll::Ready(());
            }
            timers.sleeping.insert(self.key, cx.waker().clone());
            self.registered = true;
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    /// A sleep dropped before its deadline takes its timer out of the list.
    fn drop(&mut self) {
        TIMERS.with_borrow_mut(|timers| timers.sleeping.remove(&self.key));
    }
}

/// Sleep for `duration`: ready at the first tick after it has passed, never before.
fn sleep(duration: Duration) -> Sleep {
    let id = TIMERS.with_borrow_mut(|timers| {
        timers.next_id += 1;
        timers.next_id
    });
    let key = (Instant::now() + duration, id);
    Sleep {
        key,
        registered: false,
    }
}
// ANCHOR_END: timers

// ANCHOR: stream
/// A TCP connection whose reads and writes wait in the reactor instead of blocking the thread.
struct TcpStream {
    /// The non-blocking socket, registered with epoll for both directions.
    socket: mio::net::TcpStream,
    /// The socket's token: its key in the reactor's `wakers`.
    token: usize,
}

impl TcpStream {
    /// Start connecting to `addr`. The connect goes on in the kernel; a write waits until it has
    /// finished, and a refused connect is that write's error.
    fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let mut socket = mio::net::TcpStream::connect(addr)?;
        REACTOR.with_borrow_mut(|reactor| {
            let entry = reactor.wakers.vacant_entry();
            let (token, both) = (entry.key(), Interest::READABLE | Interest::WRITABLE);
            let registry = reactor.poll.registry();
            registry.register(&mut socket, Token(token), both)?;
            entry.insert(None);
            Ok(TcpStream { socket, token })
        })
    }

    /// Run `op` (a read or a write) on the socket. If it would block, leave this task's waker
    /// with the reactor and wait for the socket's next event.
    async fn io<R>(
        &mut self,
        mut op: impl FnMut(&mut mio::net::TcpStream) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| match op(&mut self.socket) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let waker = Some(cx.waker().clone());
                REACTOR.with_borrow_mut(|reactor| reactor.wakers[self.token] = waker);
                Poll::Pending
            }
            result => Poll::Ready(result),
        })
        .await
    }
}

impl Drop for TcpStream {
    /// Closing the socket takes it out of epoll; free its token.
    fn drop(&mut self) {
        REACTOR.with_borrow_mut(|reactor| reactor.wakers.remove(self.token));
    }
}
// ANCHOR_END: stream

// ANCHOR: fetch
/// Fetch `/?delay_ms=…` from the delay server at `addr`: connect, send the request, and read the
/// answer to its end (the server then closes). Returns the answer's first line and its size.
async fn fetch(addr: SocketAddr, delay_ms: u64) -> io::Result<(String, usize)> {
    let mut stream = TcpStream::connect(addr)?;
    let request = format!(
        "GET /?delay_ms={delay_ms}&size=1024 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let mut sent = 0;
    while sent < request.len() {
        sent += stream.io(|socket| socket.write(&request[sent..])).await?;
    }
    let (mut answer, mut buf) = (Vec::new(), [0; 4096]);
    loop {
        match stream.io(|socket| socket.read(&mut buf)).await? {
            0 => break,
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let first_line = text.lines().next().unwrap_or("").to_string();
    Ok((first_line, answer.len()))
}
// ANCHOR_END: fetch

// ANCHOR: kitchen
/// The chef: three steps, giving the thread back after each, then dinner and wine for the waiter.
async fn chef(dinner: oneshot::Sender<&'static str>, wine: oneshot::Sender<&'static str>) {
    for step in ["chop", "stir", "taste"] {
        println!("chef: {step}");
        yield_now().await;
    }
    let (roast, oven) = (Duration::from_millis(100), Instant::now());
    sleep(roast).await;
    println!("chef: the roast is out, early: {}", oven.elapsed() < roast);
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

/// The guest: sits, then reads a paper fetched from the server.
async fn guest(server: SocketAddr) {
    println!("guest: sits");
    yield_now().await;
    match fetch(server, 20).await {
        Ok((status, bytes)) => println!("guest: reads the paper: {status}, {bytes} bytes"),
        Err(e) => println!("guest: no paper: {e}"),
    }
}

/// Task 0: spawns the kitchen, then waits for each task through its handle.
async fn dinner(server: SocketAddr) -> &'static str {
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    let chef = spawn(chef(dinner_tx, wine_tx));
    let waiter = spawn(waiter(dinner_rx, wine_rx));
    let guest = spawn(guest(server));
    chef.await;
    println!("main: the chef is done");
    waiter.await;
    guest.await;
    "dinner is over"
}
// ANCHOR_END: kitchen

// ANCHOR: main
fn main() {
    parse_args();
    // The delay server is the test bench, not the lesson: it runs on a thread of its own.
    let (server, handle) = match taketurns::workload::spawn_server_thread("127.0.0.1:0") {
        Ok(server) => server,
        Err(e) => {
            eprintln!("could not start the delay server on 127.0.0.1: {e}");
            std::process::exit(1);
        }
    };
    println!("tasks: 0 main, 1 chef, 2 waiter, 3 guest");
    match run(dinner(server)) {
        Ok(news) => println!("main returned {news:?}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let stopped = handle.shutdown();
    stopped.unwrap_or_else(|e| eprintln!("the delay server failed: {e}"));
}
// ANCHOR_END: main
