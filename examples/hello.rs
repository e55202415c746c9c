//! Hello, two lists: three tasks take turns on one thread, and we print the ready queue and the
//! waiting list as they change.
//!
//! Run it with `cargo run --example hello`. Each task prints, yields (back of the ready queue),
//! and the last one also waits on a channel that another task fills, so you see a task sit in
//! the waiting list until its waker fires. With `--timeline` the runtime also records a trace,
//! and the end of the output draws who ran when and prints each task's totals (chapter 12).

use clap::Parser;
use futures::channel::oneshot;
use taketurns::task::Builder;

/// Three tasks take turns on one thread; print the ready queue and the waiting list at every step.
#[derive(Parser)]
struct Cli {
    /// Also trace the run, then draw its timeline and print the per-task stats.
    #[arg(long)]
    timeline: bool,
}

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let rt = taketurns::Runtime::builder().trace(cli.timeline).build()?;
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<&str>();

        let chef = Builder::new().name("chef").spawn(async move {
            for step in ["chop", "stir", "taste"] {
                println!("chef:   {step:<6} {}", taketurns::snapshot());
                taketurns::yield_now().await;
            }
            tx.send("dinner is ready").unwrap();
        });
        let waiter = Builder::new().name("waiter").spawn(async move {
            println!("waiter: waits  {}", taketurns::snapshot());
            let news = rx.await.unwrap();
            println!("waiter: heard  {news:?} {}", taketurns::snapshot());
        });
        let guest = Builder::new().name("guest").spawn(async {
            for step in ["sits", "reads"] {
                println!("guest:  {step:<6} {}", taketurns::snapshot());
                taketurns::yield_now().await;
            }
        });

        // From the block_on future (not a task) the lists look like this before anyone ran:
        println!("main:   spawned {}", taketurns::snapshot());
        for task in [chef, waiter, guest] {
            task.await.unwrap();
        }
    });
    println!("\n{}", rt.stats());
    if cli.timeline {
        println!("{}", rt.timeline().render_ascii(60));
        print!("{}", rt.task_stats());
    }
    Ok(())
}
// ANCHOR_END: main
