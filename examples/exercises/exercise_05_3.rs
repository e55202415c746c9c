//! Exercise 5.3, "Run until the queue is empty": what changes when a tick keeps popping until the
//! ready queue is empty, instead of stopping after the tasks that were ready when it began?
//!
//! The exercise asks you to change taketurns' `Core::tick` (`loop` instead of `for _ in
//! 0..budget`). A solution file cannot patch the library, so this one runs a **model** instead: a
//! two-list executor of about a hundred lines, shared by the three exercises of chapter 5
//! (`support/model.rs`), that ticks like taketurns and has a switch for when a tick ends. Like
//! `block_on`, the model's driver looks at its own future (here: "has the quiet task finished?")
//! only *between* ticks. Both versions run the chapter's `hello` and the busy-and-quiet program of
//! exercise 5.1. The model is not taketurns: it has no reactor, no timers, no `event_interval`; and
//! where the changed taketurns would spin for ever, the model gives a tick up after `--max-polls`
//! polls and says so. asyncio's `_run_once` has the same budget (`ntodo = len(self._ready)`);
//! tokio's current-thread scheduler also polls the driver and its `block_on` future every
//! `event_interval` (61) tasks.
//!
//! ```console
//! $ cargo run --example exercise_05_3 -- --max-polls 1000000
//! ```

use clap::Parser;

#[path = "support/model.rs"]
mod model;

use model::{Rules, TickEnds, busy_and_quiet, hello};

/// Run `hello` and the busy-and-quiet program on a model loop whose ticks end after a budget,
/// and on one whose ticks end when the queue is empty; print ticks and polls.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_3")]
struct Args {
    /// The most polls one tick of the changed model may make before it gives up.
    #[arg(long, default_value_t = 1_000_000)]
    max_polls: u64,
}

fn main() {
    let args = Args::parse();
    for tick_ends in [TickEnds::Budget, TickEnds::QueueEmpty] {
        let run = hello(Rules {
            tick_ends,
            ..Rules::TAKETURNS
        });
        println!(
            "model {tick_ends:?} hello: ticks={} steps={} order: {}",
            run.ticks,
            run.lines.len(),
            run.lines.join(" | ")
        );
    }
    for tick_ends in [TickEnds::Budget, TickEnds::QueueEmpty] {
        let rules = Rules {
            tick_ends,
            max_polls_per_tick: args.max_polls,
            ..Rules::TAKETURNS
        };
        let o = busy_and_quiet(rules, 1000);
        println!(
            "model {tick_ends:?} busy+quiet: driver_saw_quiet_done={} quiet_polls={} busy_polls={} ticks={} tick_gave_up={}",
            o.driver_saw_quiet_done, o.quiet_polls, o.busy_polls, o.ticks, o.tick_gave_up
        );
    }
}
