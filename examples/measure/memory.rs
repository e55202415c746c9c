//! Memory per waiting thing, for the threads and timers tables: the hidden `child-memory`
//! subcommand parks COUNT threads (each blocked on a channel) or spawns COUNT idle tasks (each
//! waiting on a oneshot) on taketurns or tokio, reads its resident memory before and after, and
//! prints the growth per thing as one JSON line; [`memory_child`] starts it and reads the line.
//! Each count runs in a fresh process, so one measurement's pages do not flatter the next.
//!
//! In Python the same question is `tracemalloc` around a list of parked coroutines, or the RSS of
//! a process with that many threads. Resident memory is what the kernel reports (`VmRSS`), page
//! by page: a thread's stack counts only as far as it was touched.

use std::future::Future;
use std::process::{Command, ExitCode, Stdio};

use clap::ValueEnum;
use futures::channel::oneshot;
use taketurns::workload::machine;

use crate::children::this_binary;
use crate::scheduler::{taketurns_rt, tokio_bare};

/// What a memory child parks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Waiter {
    /// OS threads blocked on a channel.
    Threads,
    /// taketurns tasks parked on a oneshot.
    Taketurns,
    /// tokio current_thread tasks parked on a oneshot.
    Tokio,
}

/// What a memory child found.
#[derive(Debug, Clone, Copy)]
pub struct MemoryReport {
    /// Resident memory added per waiting thing, in bytes (for tasks: beyond the future).
    pub bytes_each: f64,
    /// `size_of_val` of one task's future (0 for threads).
    pub future_bytes: u64,
}

/// Run `child-memory` in a fresh process and read its report.
pub fn memory_child(what: Waiter, count: usize) -> Result<MemoryReport, String> {
    let what_flag = what
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let output = Command::new(this_binary()?)
        .args([
            "child-memory",
            "--what",
            &what_flag,
            "--count",
            &count.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start the memory child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "the memory child ({what_flag}, {count}) printed no report ({e}); it exited with {}",
            output.status
        )
    })?;
    Ok(MemoryReport {
        bytes_each: v["bytes_each"].as_f64().unwrap_or(0.0),
        future_bytes: v["future_bytes"].as_u64().unwrap_or(0),
    })
}

/// The `child-memory` subcommand: print `{"bytes_each":…,"future_bytes":…}`.
pub fn child_memory(what: Waiter, count: usize) -> ExitCode {
    let result = match what {
        Waiter::Threads => parked_threads(count),
        Waiter::Taketurns => taketurns_rt().and_then(|rt| idle_tasks(&rt, count)),
        Waiter::Tokio => tokio_bare().and_then(|rt| idle_tasks(&rt, count)),
    };
    match result {
        Ok(report) => {
            println!(
                "{{\"bytes_each\":{},\"future_bytes\":{}}}",
                report.bytes_each, report.future_bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("measure child-memory: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This process's resident memory now, in bytes.
fn rss_bytes() -> Result<u64, String> {
    machine::resident_kib()
        .map(|kib| kib * 1024)
        .ok_or_else(|| "cannot read VmRSS from /proc/self/status (Linux only)".to_string())
}

/// Park `count` threads on a channel each, with the default stack, and read the memory growth.
fn parked_threads(count: usize) -> Result<MemoryReport, String> {
    let before = rss_bytes()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let mut releases = Vec::with_capacity(count);
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let ready = ready_tx.clone();
        let handle = std::thread::Builder::new()
            .spawn(move || {
                let _ = ready.send(());
                let _ = release_rx.recv();
            })
            .map_err(|e| format!("cannot start thread {} of {count}: {e}", handles.len() + 1))?;
        releases.push(release_tx);
        handles.push(handle);
    }
    for _ in 0..count {
        ready_rx
            .recv()
            .map_err(|_| "a parked thread ended early".to_string())?;
    }
    let after = rss_bytes()?;
    drop(releases);
    for handle in handles {
        let _ = handle.join();
    }
    Ok(MemoryReport {
        bytes_each: after.saturating_sub(before) as f64 / count as f64,
        future_bytes: 0,
    })
}

thread_local! {
    /// Idle tasks of the memory child that have been polled once (and so are parked).
    static PARKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The measured idle task: count itself as parked, then wait on its own channel.
async fn idle_task(wake: oneshot::Receiver<()>) {
    PARKED.set(PARKED.get() + 1);
    let _ = wake.await;
}

/// What the memory child needs from a runtime: block_on, a detached spawn, a yield.
trait Spawner {
    /// Run `future` to completion.
    fn run<F: Future>(&self, future: F) -> F::Output;
    /// Spawn and drop the handle.
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F);
    /// Let the other tasks run.
    fn pause(&self) -> impl Future<Output = ()>;
}

impl Spawner for taketurns::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(taketurns::spawn(future));
    }
    fn pause(&self) -> impl Future<Output = ()> {
        taketurns::yield_now()
    }
}

impl Spawner for tokio::runtime::Runtime {
    fn run<F: Future>(&self, future: F) -> F::Output {
        self.block_on(future)
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        drop(tokio::spawn(future));
    }
    fn pause(&self) -> impl Future<Output = ()> {
        tokio::task::yield_now()
    }
}

/// Make `count` idle futures (channels and senders included), read the memory, spawn them all
/// and let each park once, read it again: the growth per task is what the runtime adds beyond
/// the future (task header, waker, table slot, queue entry, allocator overhead).
fn idle_tasks<R: Spawner>(rt: &R, count: usize) -> Result<MemoryReport, String> {
    let mut senders = Vec::with_capacity(count);
    let mut futures = Vec::with_capacity(count);
    for _ in 0..count {
        let (tx, rx) = oneshot::channel();
        senders.push(tx);
        futures.push(idle_task(rx));
    }
    let future_bytes = futures
        .first()
        .map_or(0, |f| std::mem::size_of_val(f) as u64);
    let before = rss_bytes()?;
    rt.run(async {
        for future in futures.drain(..) {
            rt.detach(future);
        }
        while PARKED.get() < count {
            rt.pause().await;
        }
    });
    drop(futures);
    let after = rss_bytes()?;
    drop(senders);
    Ok(MemoryReport {
        bytes_each: after as f64 / count as f64 - before as f64 / count as f64,
        future_bytes,
    })
}
