//! The printing that every step of the build track shares: the command line, and one line per
//! poll with the two lists as Python prints them. It stays the same from step 1 to step 9, so you
//! copy it once and the steps hold only the runtime and the dinner. In your own project it is
//! `src/bin/show/mod.rs` (in `src/bin/` itself, cargo would take `show.rs` for a program), and
//! every step starts with `mod show;`.
//!
//! The line before each poll reads `poll 5: running 2 | ready: [3, 1] | waiting: [4]`: the
//! poll's number, the task about to run, the ready queue (front first) and the waiting list
//! (longest-waiting first). From step 8 it begins with the tick the poll belongs to. `--quiet`
//! leaves out those lines and the loop's other notes, and keeps what the tasks say.

#![allow(dead_code)] // each step uses the part it needs

use std::cell::RefCell;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `--quiet`.
static QUIET: AtomicBool = AtomicBool::new(false);

/// What the command line asked for.
pub struct Args {
    /// `--server HOST:PORT`: the delay server that steps 5 to 9 fetch from. The default,
    /// `127.0.0.1:8080`, is where `cargo run --example delay_server` listens.
    pub server: SocketAddr,
    /// `--count N`: how many guests step 9 seats (1000 unless given).
    pub count: usize,
}

/// Read the command line: `--quiet`, `--server HOST:PORT` and `--count N`, in any order. Anything
/// else is an error, said on stderr, with exit code 2.
pub fn args() -> Args {
    let mut args = Args {
        server: SocketAddr::from(([127, 0, 0, 1], 8080)),
        count: 1000,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--quiet" => QUIET.store(true, Ordering::Relaxed),
            "--server" => match words.next().map(|value| value.parse()) {
                Some(Ok(server)) => args.server = server,
                _ => usage("--server needs an address such as 127.0.0.1:8080"),
            },
            "--count" => match words.next().map(|value| value.parse()) {
                Some(Ok(count)) => args.count = count,
                _ => usage("--count needs a number such as 1000"),
            },
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    args
}

/// Say what is wrong with the command line, and exit with code 2.
fn usage(problem: &str) -> ! {
    eprintln!(
        "{}: {problem}; the flags are --quiet, --server HOST:PORT and --count N",
        env!("CARGO_CRATE_NAME")
    );
    std::process::exit(2);
}

/// A list of task numbers as Python prints one: `[3, 1]`. A long list shows its first five and
/// last two numbers, and its length.
pub fn list<'a>(tasks: impl IntoIterator<Item = &'a usize>) -> String {
    let all: Vec<String> = tasks.into_iter().map(usize::to_string).collect();
    if all.len() <= 10 {
        return format!("[{}]", all.join(", "));
    }
    let (head, tail) = (&all[..5], &all[all.len() - 2..]);
    let (head, tail) = (head.join(", "), tail.join(", "));
    format!("[{head}, ..., {tail}] ({} tasks)", all.len())
}

/// The part of a poll's line after its numbers.
fn lists<'a>(
    running: usize,
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) -> String {
    let (ready, waiting) = (list(ready), list(waiting));
    format!("running {running} | ready: {ready} | waiting: {waiting}")
}

/// The line before each poll, in steps 1 to 7: the poll's number, the task about to run, and the
/// two lists.
pub fn poll<'a>(
    number: u64,
    running: usize,
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) {
    if !quiet() {
        println!("poll {number}: {}", lists(running, ready, waiting));
    }
}

thread_local! {
    /// The last line `tick_poll` printed, without its numbers.
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The line before each poll from step 8 on, which also names the tick the poll belongs to. A
/// line that would repeat the one before it, numbers aside, is left out: a task that never waits
/// would fill the screen.
pub fn tick_poll<'a>(
    tick: u64,
    number: u64,
    running: usize,
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) {
    if quiet() {
        return;
    }
    let line = lists(running, ready, waiting);
    if LAST.replace(line.clone()) != line {
        println!("tick {tick}, poll {number}: {line}");
    }
}

/// The line after the loop has stopped: what is left in the two lists.
pub fn end<'a>(
    ready: impl IntoIterator<Item = &'a usize>,
    waiting: impl IntoIterator<Item = &'a usize>,
) {
    println!("end: ready: {} | waiting: {}", list(ready), list(waiting));
}

/// The line after each wait for sockets (and, from step 7, timers): how many tasks each woke.
pub fn woke(by_sockets: usize, by_timers: Option<usize>) {
    let timers = by_timers.map(|n| format!(", {n} by timers"));
    note(format_args!(
        "epoll: woke {by_sockets} by sockets{}",
        timers.unwrap_or_default()
    ));
}

/// A line about the loop itself (what a wait for sockets and timers found), left out by `--quiet`.
pub fn note(line: impl Display) {
    if !quiet() {
        println!("{line}");
    }
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Say whether `--quiet` was given, for a program that reads its own command line instead of
/// calling `args` (the exercise solutions of appendix B, which have flags of their own).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}
