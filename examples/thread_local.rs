//! One session per thread: a `thread_local!` keep-alive connection per pool worker, against a
//! fresh connection per fetch; then the event loop's way, where state belongs to the task and a
//! `thread_local!` is shared by every task on the loop.
//!
//! ```console
//! $ cargo run --release --example thread_local
//! $ cargo run --release --example thread_local -- --fetches 200 --delay-ms 5
//! ```
//!
//! Python's version is `threading.local()` holding a `requests.Session` per worker of a
//! `ThreadPoolExecutor`: each worker thread keeps one connection open and reuses it. Here the
//! session is a `TcpStream` in a `thread_local!` cell, the pool is `taketurns::threaded::
//! ThreadPool`, and the server is the workload's delay server, which keeps a connection alive
//! while the client asks it to. The server counts the connections it accepted: that is the
//! honest count (a client can only say how many it meant to open). On the event loop the same
//! trick fails quietly: every task runs on the loop's one thread, so they all see one
//! `thread_local!` value. The asyncio equivalent is a `contextvars.ContextVar` or a variable the
//! task owns; tokio's is `tokio::task_local!` or, more simply, a local variable in the task.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::threaded::ThreadPool;
use taketurns::workload::http_server::{get, get_blocking};
use taketurns::workload::{ShutdownHandle, raise_fd_limit, spawn_server_thread};

/// Fetch from the delay server with a fresh connection per fetch, with one kept-alive
/// connection per pool worker (`thread_local!`), and with one per event-loop task; count the
/// connections the server accepted, and time each.
#[derive(Parser, Debug)]
#[command(name = "thread_local", version)]
struct Args {
    /// Fetches in each run.
    #[arg(long, default_value_t = 2000)]
    fetches: u32,
    /// Worker threads in the pool, and tasks on the event loop.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// How long the server waits before each answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

/// Connections the client side opened (counted at each successful `connect`), to set beside
/// the server's count.
static OPENED: AtomicU64 = AtomicU64::new(0);

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    OPENED.fetch_add(1, Ordering::Relaxed);
    Ok(stream)
}

// ANCHOR: fresh
/// A new connection for every fetch, closed when it returns: `requests.get(url)` without a
/// session.
fn fetch_fresh(addr: SocketAddr, path: &str) -> io::Result<usize> {
    let mut stream = connect(addr)?;
    let reply = get_blocking(&mut stream, path)?;
    Ok(reply.body.len())
    // `stream` is dropped here: the connection closes.
}
// ANCHOR_END: fresh

// ANCHOR: session
thread_local! {
    /// This thread's connection, opened by its first fetch and reused by the next ones. Every
    /// thread that touches `SESSION` gets its own `Option`, starting at `None`: the cell is
    /// declared once, the value exists once per thread (Python's `threading.local()`).
    static SESSION: RefCell<Option<TcpStream>> = const { RefCell::new(None) };
}

/// Fetch on this thread's session, opening it on first use; if the kept connection has gone
/// stale (the server closed it after its idle timeout), open a new one and retry once.
fn fetch_with_session(addr: SocketAddr, path: &str) -> io::Result<usize> {
    SESSION.with_borrow_mut(|session| {
        for attempt in 0..2 {
            if session.is_none() {
                *session = Some(connect(addr)?);
            }
            let stream = session.as_mut().expect("opened just above");
            match get_blocking(stream, path) {
                Ok(reply) => {
                    if reply.closes {
                        *session = None;
                    }
                    return Ok(reply.body.len());
                }
                Err(e) if attempt == 0 => {
                    eprintln!("session was stale ({e}); reconnecting");
                    *session = None;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the second attempt returns either way")
    })
}
// ANCHOR_END: session

/// One measured run: how long, how many connections each side counted.
struct Run {
    /// The row's label.
    name: &'static str,
    /// Wall time from the first fetch queued to the last one done.
    elapsed: Duration,
    /// Connections the client opened (its own count).
    opened: u64,
    /// Connections the server accepted during the run (the honest count).
    accepted: u64,
}

/// Run `fetches` fetches of `fetch` on a pool of `workers`, measuring connections and time.
fn on_pool(
    name: &'static str,
    args: &Args,
    server: &ShutdownHandle,
    path: &str,
    fetch: fn(SocketAddr, &str) -> io::Result<usize>,
) -> io::Result<Run> {
    let pool = ThreadPool::new(args.workers)?;
    let addr = server.local_addr();
    let (opened0, accepted0) = (
        OPENED.load(Ordering::Relaxed),
        server.connections_accepted(),
    );
    let start = Instant::now();
    let jobs: Vec<_> = (0..args.fetches)
        .map(|_| {
            let path = path.to_string();
            pool.spawn(move || fetch(addr, &path))
        })
        .collect();
    for job in jobs {
        job.join()
            .map_err(|_| io::Error::other("a fetch panicked"))??;
    }
    let elapsed = start.elapsed();
    // Dropping the pool joins its workers; their thread-locals (the sessions) are dropped as
    // each thread exits, which closes the kept connections.
    pool.shutdown();
    Ok(Run {
        name,
        elapsed,
        opened: OPENED.load(Ordering::Relaxed) - opened0,
        accepted: server.connections_accepted() - accepted0,
    })
}

// ANCHOR: per_task
/// The event loop's way: each task owns its connection, a local variable of the task, and
/// makes its share of the fetches on it. No thread-local in sight.
fn on_event_loop(args: &Args, server: &ShutdownHandle, path: &str) -> io::Result<Run> {
    let addr = server.local_addr();
    let (opened0, accepted0) = (
        OPENED.load(Ordering::Relaxed),
        server.connections_accepted(),
    );
    let start = Instant::now();
    let tasks = args.workers as u32;
    taketurns::block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let path = path.to_string();
                // Task t makes every tasks-th fetch, so the shares add up to `fetches`.
                let share = (t..args.fetches).step_by(tasks as usize).count();
                taketurns::spawn(async move {
                    let stream = taketurns::net::TcpStream::connect(addr).await?;
                    OPENED.fetch_add(1, Ordering::Relaxed);
                    for _ in 0..share {
                        get(&stream, &path).await?;
                    }
                    io::Result::Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .await
                .map_err(|_| io::Error::other("a task panicked"))??;
        }
        io::Result::Ok(())
    })?;
    Ok(Run {
        name: "event loop, one connection per task",
        elapsed: start.elapsed(),
        opened: OPENED.load(Ordering::Relaxed) - opened0,
        accepted: server.connections_accepted() - accepted0,
    })
}
// ANCHOR_END: per_task

// ANCHOR: shared
thread_local! {
    /// A per-thread counter. On a pool each worker would have its own; on the loop there is
    /// one thread, so there is one counter for every task.
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// Two tasks each add one to the thread-local three times, handing control back to the loop
/// after each step, and record what they saw.
fn two_tasks_one_thread_local() -> (Vec<u32>, Vec<u32>, bool) {
    taketurns::block_on(async {
        let step = |seen: Rc<RefCell<Vec<u32>>>| async move {
            for _ in 0..3 {
                let now = COUNTER.with(|c| {
                    c.set(c.get() + 1);
                    c.get()
                });
                seen.borrow_mut().push(now);
                taketurns::yield_now().await;
            }
            std::thread::current().id()
        };
        let (a, b) = (Rc::default(), Rc::default());
        let first = taketurns::spawn(step(Rc::clone(&a)));
        let second = taketurns::spawn(step(Rc::clone(&b)));
        let (ta, tb) = (first.await.unwrap(), second.await.unwrap());
        let (a, b) = (a.borrow().clone(), b.borrow().clone());
        (a, b, ta == tb)
    })
}
// ANCHOR_END: shared

fn main() -> ExitCode {
    let args = Args::parse();
    if args.workers == 0 || args.fetches == 0 {
        eprintln!("thread_local: --workers and --fetches must be at least 1");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("thread_local: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    // One client socket and one server socket per connection, in this one process.
    let _ = raise_fd_limit(2 * u64::from(args.fetches) + 256);
    let (addr, server) = spawn_server_thread("127.0.0.1:0")?;
    let path = format!("/?delay_ms={}&size=100", args.delay_ms);
    println!(
        "{} fetches of http://{addr}{path} (keep-alive delay server), {} workers/tasks",
        args.fetches, args.workers
    );
    let runs = [
        on_pool(
            "pool, fresh connection per fetch",
            args,
            &server,
            &path,
            fetch_fresh,
        )?,
        on_pool(
            "pool, thread_local! session",
            args,
            &server,
            &path,
            fetch_with_session,
        )?,
        on_event_loop(args, &server, &path)?,
    ];
    println!(
        "{:<36} {:>7} {:>9} {:>9} {:>10}",
        "way", "opened", "accepted", "time", "fetches/s"
    );
    for run in &runs {
        println!(
            "{:<36} {:>7} {:>9} {:>7.1}ms {:>10.0}",
            run.name,
            run.opened,
            run.accepted,
            run.elapsed.as_secs_f64() * 1e3,
            f64::from(args.fetches) / run.elapsed.as_secs_f64()
        );
    }
    let (a, b, same_thread) = two_tasks_one_thread_local();
    println!(
        "thread_local! on the event loop: task A saw {a:?}, task B saw {b:?} \
         (one counter; same thread: {same_thread})"
    );
    println!(
        "the server answered {} requests on {} connections in all",
        server.requests_answered(),
        server.connections_accepted()
    );
    server.shutdown()
}
