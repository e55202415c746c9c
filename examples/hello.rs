//! Hello, two lists: three tasks take turns on one thread, and we print the ready queue and the
//! waiting list as they change.
//!
//! Run it with `cargo run --example hello`. Each task prints, yields (back of the ready queue),
//! and the last one also waits on a channel that another task fills, so you see a task sit in
//! the waiting list until its waker fires. With `--timeline` the runtime also records a trace,
//! and the end of the output draws who ran when and prints each task's totals (chapter 12).
//! With `--trace-lists FILE` it writes the run as JSON for the book's player (`book/player/`):
//! every step that moved a task between the lists, and each snapshot printed below as a mark.

use std::cell::RefCell;
use std::path::PathBuf;

use clap::Parser;
use futures::channel::oneshot;
use taketurns::replay::{ListsTrace, Moment};
use taketurns::task::Builder;

/// Three tasks take turns on one thread; print the ready queue and the waiting list at every step.
#[derive(Parser)]
struct Cli {
    /// Also trace the run, then draw its timeline and print the per-task stats.
    #[arg(long)]
    timeline: bool,
    /// Also trace the run and write its steps and printed snapshots to FILE as JSON (the lists
    /// trace the book's player replays).
    #[arg(long, value_name = "FILE")]
    trace_lists: Option<PathBuf>,
}

thread_local! {
    /// The snapshots printed so far with their labels and step counts, kept when tracing.
    static MARKS: RefCell<Vec<(String, Moment)>> = const { RefCell::new(Vec::new()) };
}

/// `taketurns::snapshot()`, also kept as a mark of the lists trace when the run is traced.
fn snapshot(label: &str) -> taketurns::Snapshot {
    if let Some(moment) = taketurns::replay::moment() {
        MARKS.with(|marks| marks.borrow_mut().push((label.to_owned(), moment)));
    }
    taketurns::snapshot()
}

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let traced = cli.timeline || cli.trace_lists.is_some();
    let rt = taketurns::Runtime::builder().trace(traced).build()?;
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<&str>();

        let chef = Builder::new().name("chef").spawn(async move {
            for step in ["chop", "stir", "taste"] {
                println!("chef:   {step:<6} {}", snapshot(&format!("chef: {step}")));
                taketurns::yield_now().await;
            }
            tx.send("dinner is ready").unwrap();
        });
        let waiter = Builder::new().name("waiter").spawn(async move {
            println!("waiter: waits  {}", snapshot("waiter: waits"));
            let news = rx.await.unwrap();
            println!("waiter: heard  {news:?} {}", snapshot("waiter: heard"));
        });
        let guest = Builder::new().name("guest").spawn(async {
            for step in ["sits", "reads"] {
                println!("guest:  {step:<6} {}", snapshot(&format!("guest: {step}")));
                taketurns::yield_now().await;
            }
        });

        // From the block_on future (not a task) the lists look like this before anyone ran:
        println!("main:   spawned {}", snapshot("main: spawned"));
        for task in [chef, waiter, guest] {
            task.await.unwrap();
        }
    });
    println!("\n{}", rt.stats());
    if cli.timeline {
        println!("{}", rt.timeline().render_ascii(60));
        print!("{}", rt.task_stats());
    }
    if let Some(path) = &cli.trace_lists {
        write_lists(&rt, path)?;
    }
    Ok(())
}
// ANCHOR_END: main

/// Write the run's lists trace, with the printed snapshots as marks, to `path`.
fn write_lists(rt: &taketurns::Runtime, path: &PathBuf) -> std::io::Result<()> {
    let mut trace =
        ListsTrace::from_timeline("hello", &rt.timeline()).map_err(std::io::Error::other)?;
    MARKS.with(|marks| {
        for (label, moment) in marks.borrow().iter() {
            trace.mark(label.clone(), moment);
        }
    });
    trace.check().map_err(std::io::Error::other)?;
    std::fs::write(path, trace.to_json()).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot write the lists trace to {}: {e}", path.display()),
        )
    })?;
    eprintln!(
        "wrote the lists trace ({} steps) to {}",
        trace.steps.len(),
        path.display()
    );
    Ok(())
}
