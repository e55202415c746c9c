//! Exercise 5.1, "LIFO": what happens to the turns, and to a quiet task next to a busy one, when
//! the ready queue pops from the back instead of the front?
//!
//! The exercise asks you to change one line of taketurns (`pop_front` to `pop_back` in
//! `ReadyQueue::pop`, `src/ready.rs`). A solution file cannot patch the library, so this one does
//! two things instead. First it runs the busy-and-quiet program on taketurns *as shipped* (FIFO).
//! Then it runs a **model**: a two-list executor of about a hundred lines, shared by the three
//! exercises of chapter 5 (`support/model.rs`), that schedules like taketurns (ready queue, waiting
//! list, a budget of "what was ready when the tick began") and has a FIFO/LIFO switch. Both orders
//! run the chapter's `hello` program and the busy-and-quiet program side by side. The model is not
//! taketurns: it has no reactor, no timers and no `event_interval`, so where taketurns would let a
//! timeout end the wait, the model stops after `--max-ticks` ticks and reports what it saw.
//! asyncio's `_ready` is a FIFO deque; tokio is FIFO too, apart from its one-task "LIFO slot"
//! (which it caps so it cannot starve others).
//!
//! ```console
//! $ cargo run --example exercise_05_1 -- --max-ticks 100000
//! ```

use std::time::Duration;

use clap::Parser;

#[path = "support/model.rs"]
mod model;

use model::{Order, Rules, busy_and_quiet, hello};

/// Run the busy-and-quiet program on taketurns (FIFO), then a model loop with a FIFO and a LIFO
/// ready queue, and print the turns each one takes.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_1")]
struct Args {
    /// The most ticks the model runs the busy-and-quiet program before giving up.
    #[arg(long, default_value_t = 100_000)]
    max_ticks: u64,
}

// ANCHOR: real
/// The same program on taketurns as shipped (FIFO), with the chapter's 100 ms timeout.
fn on_taketurns() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    let outcome = rt.block_on(async {
        let quiet = taketurns::spawn(async { "quiet task ran" });
        let _busy = taketurns::spawn(async {
            loop {
                taketurns::yield_now().await;
            }
        });
        taketurns::time::timeout(Duration::from_millis(100), quiet).await
    });
    let s = rt.stats();
    let result = match outcome {
        Ok(Ok(text)) => text.to_string(),
        Ok(Err(e)) => format!("quiet task failed: {e}"),
        Err(_) => "timed out".to_string(),
    };
    println!(
        "taketurns (FIFO, as shipped): {result}; ticks={} polls={}",
        s.ticks, s.polls
    );
    Ok(())
}
// ANCHOR_END: real

fn main() {
    let args = Args::parse();
    if let Err(e) = on_taketurns() {
        eprintln!("exercise_05_1: could not create a taketurns runtime: {e}");
        std::process::exit(1);
    }
    let rules = |order| Rules {
        order,
        ..Rules::TAKETURNS
    };
    for order in [Order::Fifo, Order::Lifo] {
        let run = hello(rules(order));
        println!(
            "model {order:?} hello: ticks={} order: {}",
            run.ticks,
            run.lines.join(" | ")
        );
    }
    for order in [Order::Fifo, Order::Lifo] {
        let o = busy_and_quiet(rules(order), args.max_ticks);
        println!(
            "model {order:?} busy+quiet: quiet_done={} quiet_polls={} busy_polls={} ticks={}",
            o.driver_saw_quiet_done, o.quiet_polls, o.busy_polls, o.ticks
        );
    }
}
