//! Build track, step 8, your starting point: fairness: a task that never waits cannot starve
//! sockets and timers.
//!
//! Step 7's program, with the new part declared and left to write: `Executor::run` is `todo!()`,
//! and its doc comment says what it must do. Write it in your own copy (in your project,
//! `src/bin/step_08.rs`), run it, and check it against the reference with the course's checker
//! (chapter 4 sets up the `check` alias):
//!
//! ```console
//! $ check 8 --bin step_08
//! ```

#![allow(unused)] // the gaps leave names unused; remove this line once they are filled in

mod show;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use mio::{Events, Interest, Token};
use slab::Slab;

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

/// The most tasks one tick polls: after that many, the loop looks at sockets and timers again,
/// however many tasks are ready (tokio's number).
const EVENT_INTERVAL: usize = 61;

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
    /// Waits for sockets and timers that woke no task, for the summary.
    empty_waits: u64,
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

    /// Run ticks until task 1 (`main`) has finished, or no task is ready, none waits on a socket
    /// and no timer is set; then show what is left in the lists. A tick takes in the tasks spawned
    /// since the last one, looks at sockets and timers (waiting for them only if no task is
    /// ready), and then polls the tasks that are ready, front first, each taken with
    /// `next_task`, at most `EVENT_INTERVAL` of them: a task woken during the tick is polled in
    /// the next one, after the next look.
    fn run(&mut self) -> io::Result<()> {
        todo!("write Executor::run")
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
    fn poll_task(&mut self, task: usize, tick: u64, number: u64) {
        let mut lists = self.lists.lock().unwrap();
        show::tick_poll(tick, number, task, &lists.ready, &lists.waiting);
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

    /// Wait in the reactor until a socket is ready or `timeout` has passed, then fire the timers
    /// that are due, and wake the tasks of both, after the borrows of the reactor and the timer
    /// list have ended. A wait that woke no task is counted in `empty_waits` (a look with a zero
    /// timeout is not a wait).
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let by_sockets = REACTOR.with_borrow_mut(|reactor| reactor.wait(timeout))?;
        let by_timers = TIMERS.with_borrow_mut(|timers| timers.fire(Instant::now()));
        let (sockets, timers) = (by_sockets.len(), by_timers.len());
        if sockets + timers > 0 {
            show::woke(sockets, Some(timers));
        }
        self.empty_waits += u64::from(sockets + timers == 0 && timeout != Some(Duration::ZERO));
        for waker in by_sockets.into_iter().chain(by_timers) {
            waker.wake();
        }
        Ok(())
    }

    /// One line per task: how often it was polled, and whether it finished; then the empty waits.
    fn report(&self) {
        for (task, polls) in &self.polls {
            let finished = !self.tasks.contains_key(task);
            println!("task {task}: {polls} polls, finished: {finished}");
        }
        println!("epoll waits that found nothing: {}", self.empty_waits);
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

/// Run `main` as task 1 until nothing is left to do, say how each task did, and return `main`'s
/// output: `None` if it never finished, because every task waits and nothing is left to wake
/// one; an error if epoll fails.
fn run<T: 'static>(main: impl Future<Output = T> + 'static) -> io::Result<Option<T>> {
    let main = spawn(main);
    let mut executor = Executor::default();
    executor.run()?;
    executor.report();
    Ok(main.join.borrow_mut().output.take())
}

/// The reactor: epoll, and for each registered socket the waker of the task waiting on it.
struct Reactor {
    /// The epoll instance, through mio.
    poll: mio::Poll,
    /// Room for the events one `epoll_wait` returns.
    events: Events,
    /// By token (a socket's key in this slab): the waker of the task that waits on the socket,
    /// if one does.
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

    /// Block in `epoll_wait` until a socket is ready or `timeout` has passed (`None`: no limit),
    /// then take the waker of the task that waits on each ready socket. The loop calls them once
    /// it has let go of the reactor, since a wake may run code that needs it. A signal that
    /// interrupts the wait is not an error: it takes no waker, and the loop comes back.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Vec<Waker>> {
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        let tokens = self.events.iter().map(|event| event.token().0);
        let wakers = tokens.filter_map(|token| self.wakers.get_mut(token)?.take());
        Ok(wakers.collect())
    }
}

/// The timer list: the sleeping tasks, in deadline order.
#[derive(Default)]
struct Timers {
    /// By deadline, then id (two sleeps may share a deadline): the waker from the sleep's latest
    /// poll. `fire` removes an entry when its deadline has come.
    sleeping: BTreeMap<(Instant, u64), Waker>,
    /// The id the last sleep got.
    last_id: u64,
}

thread_local! {
    /// This thread's timer list: a `Sleep` puts itself in it, and the loop fires it.
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

impl Timers {
    /// How long from `now` until the first deadline (zero if it has passed); `None` if no timer
    /// is set.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let (deadline, _) = self.sleeping.keys().next()?;
        Some(deadline.saturating_duration_since(now))
    }

    /// Take out every timer whose deadline is `now` or earlier, first deadline first, and return
    /// their wakers, for the loop to call once it has let go of the timer list.
    fn fire(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(first) = self.sleeping.first_entry()
            && first.key().0 <= now
        {
            due.push(first.remove());
        }
        due
    }
}

/// A future that is ready once the loop has fired its timer (`asyncio.sleep`).
struct Sleep {
    /// Its key in the timer list: the deadline, and an id of its own.
    key: (Instant, u64),
    /// Whether it has put itself in the timer list.
    registered: bool,
}

impl Future for Sleep {
    type Output = ();

    /// `Ready` if the loop has fired this sleep's timer: it was put in the list, and it is gone.
    /// If not, put the key in the list with this poll's waker (replacing the last poll's), and
    /// return `Pending`.
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
    /// Take the timer out of the list, if it is still there: a sleep dropped before its deadline
    /// (its task was cancelled, a timeout around it won) must not leave its waker behind.
    fn drop(&mut self) {
        TIMERS.with_borrow_mut(|timers| timers.sleeping.remove(&self.key));
    }
}

/// Sleep for `duration`: ready at the loop's first look after it has passed, never before.
fn sleep(duration: Duration) -> Sleep {
    let id = TIMERS.with_borrow_mut(|timers| {
        timers.last_id += 1;
        timers.last_id
    });
    let key = (Instant::now() + duration, id);
    Sleep {
        key,
        registered: false,
    }
}

/// A TCP connection whose reads and writes wait in the reactor instead of blocking the thread.
struct TcpStream {
    /// The non-blocking socket, registered with epoll for both directions.
    socket: mio::net::TcpStream,
    /// The socket's token: its key in the reactor's `wakers`.
    token: usize,
}

impl TcpStream {
    /// Start connecting to `addr`, and register the socket with epoll, for reads and writes,
    /// under the key of a new entry in the reactor's `wakers`. The connect goes on in the kernel;
    /// a write waits until it has finished, and a refused connect is that write's error.
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

    /// Run `op` (a read or a write) on the socket until it does not fail with `WouldBlock`. After
    /// each `WouldBlock`, leave this task's waker in the socket's entry in the reactor and return
    /// `Pending`: the task waits until epoll says the socket is ready.
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
    /// Free the socket's entry in the reactor. (Closing the socket takes it out of epoll.)
    fn drop(&mut self) {
        REACTOR.with_borrow_mut(|reactor| reactor.wakers.remove(self.token));
    }
}

// The dinner: what the tasks do. Everything above it is the runtime.

/// The chef: three steps, giving the thread back after each; then the roast, 100 ms in the oven;
/// then dinner and wine for the waiter.
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

/// The guest: sits, then reads a paper fetched from the delay server at `server`.
async fn guest(server: SocketAddr) {
    println!("guest: sits");
    yield_now().await;
    match fetch(server, 20).await {
        Ok((status, bytes)) => println!("guest: reads the paper: {status}, {bytes} bytes"),
        Err(e) => println!("guest: no paper from {server}: {e} (is the delay server running?)"),
    }
}

/// The radio: a song on every turn, never waiting, for as long as the program runs.
async fn radio() {
    loop {
        yield_now().await;
    }
}

/// Task 1: spawns the kitchen, then waits for each task through its handle.
async fn dinner(server: SocketAddr) -> &'static str {
    let (dinner_tx, dinner_rx) = oneshot::channel();
    let (wine_tx, wine_rx) = oneshot::channel();
    let chef = spawn(chef(dinner_tx, wine_tx));
    let waiter = spawn(waiter(dinner_rx, wine_rx));
    let guest = spawn(guest(server));
    spawn(radio());
    chef.await;
    println!("main: the chef is done");
    waiter.await;
    guest.await;
    "dinner is over"
}

/// Run the dinner, and say what it returned.
fn main() {
    let args = show::args();
    println!("tasks: 1 main, 2 chef, 3 waiter, 4 guest, 5 radio");
    match run(dinner(args.server)) {
        Ok(Some(news)) => println!("main returned {news:?}"),
        Ok(None) => {
            eprintln!("main never finished: every task waits, and nothing is left to wake one");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("the loop failed: {e}");
            std::process::exit(1);
        }
    }
}
