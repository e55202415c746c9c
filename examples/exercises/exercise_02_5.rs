//! Chapter 2, exercise 5: the pool's `thread_local!` session, ported to the event loop.
//!
//! `SESSION.with_borrow_mut(|s| ...)` cannot hold the connection across an `.await` (the
//! closure is not async), so the port takes the connection *out* of the thread-local, awaits the
//! fetch, and puts it back. Two ways to put it back, both measured by the server's count of
//! connections accepted, for 1 to 8 tasks that hand control back to the loop between fetches
//! (`yield_now`, standing in for any work done with the page):
//!
//! - `replace`: `SESSION.set(Some(conn))`, the thread-pool code taken literally. Whatever another
//!   task put back meanwhile is dropped, and its connection closed.
//! - `pool`: the thread-local holds a `Vec` of idle connections; a task pops one (or opens one)
//!   and pushes it back. That is a connection pool, which is what `requests.Session`,
//!   aiohttp's `ClientSession` and hyper keep.
//!
//! ```console
//! $ cargo run --release --example exercise_02_5
//! ```

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use taketurns::net::TcpStream;
use taketurns::workload::http_server::get;
use taketurns::workload::spawn_server_thread;

/// Count the connections a thread-local session opens when many tasks on one loop share it.
#[derive(Parser, Debug)]
#[command(name = "exercise_02_5", version)]
struct Args {
    /// Fetches per run, shared among the tasks.
    #[arg(long, default_value_t = 400)]
    fetches: usize,
    /// Task counts to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    tasks: Vec<usize>,
}

// ANCHOR: sessions
thread_local! {
    /// The pool code's session, taken literally: one slot per thread.
    static SESSION: RefCell<Option<TcpStream>> = const { RefCell::new(None) };
    /// A slot per idle connection: a connection pool.
    static IDLE: RefCell<Vec<TcpStream>> = const { RefCell::new(Vec::new()) };
}

/// One fetch on the thread's session, put back with `set`: drops what another task put back.
async fn fetch_replace(addr: SocketAddr, path: &str) -> io::Result<()> {
    let conn = match SESSION.take() {
        Some(conn) => conn,
        None => TcpStream::connect(addr).await?,
    };
    get(&conn, path).await?; // other tasks run here, and find the slot empty
    SESSION.set(Some(conn));
    Ok(())
}

/// One fetch on an idle connection from the thread's pool, pushed back after.
async fn fetch_pooled(addr: SocketAddr, path: &str) -> io::Result<()> {
    let conn = match IDLE.with_borrow_mut(Vec::pop) {
        Some(conn) => conn,
        None => TcpStream::connect(addr).await?,
    };
    get(&conn, path).await?;
    IDLE.with_borrow_mut(|idle| idle.push(conn));
    Ok(())
}
// ANCHOR_END: sessions

/// Run `fetches` fetches on `tasks` tasks with `pooled` or not; the server's connection count.
fn run(
    addr: SocketAddr,
    fetches: usize,
    tasks: usize,
    pooled: bool,
    accepted: impl Fn() -> u64,
) -> io::Result<(u64, f64)> {
    let before = accepted();
    let start = Instant::now();
    taketurns::block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let share = (t..fetches).step_by(tasks).count();
                taketurns::spawn(async move {
                    for _ in 0..share {
                        // Hand control back between fetches, as a task that does anything
                        // else with its page would (parse it, store it, log it).
                        taketurns::yield_now().await;
                        if pooled {
                            fetch_pooled(addr, "/?delay_ms=1&size=10").await?;
                        } else {
                            fetch_replace(addr, "/?delay_ms=1&size=10").await?;
                        }
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
        // Close the connections left in this thread's slots before the next run.
        SESSION.take();
        IDLE.take();
        io::Result::Ok(())
    })?;
    Ok((accepted() - before, start.elapsed().as_secs_f64() * 1e3))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.tasks.contains(&0) || args.fetches == 0 {
        eprintln!("exercise_02_5: --fetches and every --tasks value must be at least 1");
        return ExitCode::from(2);
    }
    let (addr, server) = match spawn_server_thread("127.0.0.1:0") {
        Ok(started) => started,
        Err(e) => {
            eprintln!("exercise_02_5: cannot start the delay server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} fetches (1 ms delay each) on one event loop; connections the server accepted",
        args.fetches
    );
    println!(
        "{:>5} {:>12} {:>10} {:>12} {:>10}",
        "tasks", "replace", "time", "pool", "time"
    );
    for &tasks in &args.tasks {
        let accepted = || server.connections_accepted();
        let measured = run(addr, args.fetches, tasks, false, accepted)
            .and_then(|r| Ok((r, run(addr, args.fetches, tasks, true, accepted)?)));
        match measured {
            Ok(((replaced, t1), (pooled, t2))) => {
                println!("{tasks:>5} {replaced:>12} {t1:>8.1}ms {pooled:>12} {t2:>8.1}ms")
            }
            Err(e) => {
                eprintln!("exercise_02_5: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
