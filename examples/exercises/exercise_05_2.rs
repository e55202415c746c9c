//! Exercise 5.2, "Forget `rewoken`": what happens when a wake that arrives while its task is
//! being polled is dropped?
//!
//! The exercise asks you to change one line of taketurns, in `Core::schedule_local` (`State::Running {
//! .. } => {}`). A solution file cannot patch the library, so this one runs a **model** instead: a
//! two-list executor of about a hundred lines, shared by the three exercises of chapter 5
//! (`support/model.rs`), that files tasks like taketurns (a task that returns `Pending` goes to the
//! waiting list unless it was woken during its poll) and has a switch for that one rule. Both
//! versions run the chapter's `hello` program. The model is not taketurns: it has no reactor, so
//! where taketurns would sleep in `epoll_wait` forever, the model notices that nothing is ready and
//! stops, naming the tasks left waiting. For comparison it first runs `hello`'s three tasks on
//! taketurns as shipped. asyncio has no such flag because its `Task.__step` reschedules itself with
//! `call_soon` after every `await` of a bare `yield`; tokio keeps a `NOTIFIED` bit in the task's
//! state word for the same job as our `rewoken`.
//!
//! ```console
//! $ cargo run --example exercise_05_2
//! ```

use clap::Parser;

#[path = "support/model.rs"]
mod model;

use model::{Rules, RunningWake, hello};

/// Run `hello`'s tasks on taketurns, then on a model loop that remembers a wake of the running
/// task and on one that forgets it, and print what each did.
#[derive(Parser, Debug)]
#[command(name = "exercise_05_2")]
struct Args {}

// ANCHOR: real
/// `hello`'s three tasks on taketurns as shipped: they finish, in 5 ticks.
fn on_taketurns() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<&str>();
        let chef = taketurns::spawn(async move {
            for _ in 0..3 {
                taketurns::yield_now().await;
            }
            tx.send("dinner is ready").unwrap();
        });
        let waiter = taketurns::spawn(async move { rx.await.unwrap() });
        let guest = taketurns::spawn(async {
            for _ in 0..2 {
                taketurns::yield_now().await;
            }
        });
        chef.await.unwrap();
        waiter.await.unwrap();
        guest.await.unwrap();
    });
    let s = rt.stats();
    println!(
        "taketurns (as shipped): finished={} ticks={} local_wakes={}",
        s.tasks_finished, s.ticks, s.local_wakes
    );
    Ok(())
}
// ANCHOR_END: real

fn main() {
    let _args = Args::parse();
    if let Err(e) = on_taketurns() {
        eprintln!("exercise_05_2: could not create a taketurns runtime: {e}");
        std::process::exit(1);
    }
    for running_wake in [RunningWake::Remember, RunningWake::Forget] {
        let run = hello(Rules {
            running_wake,
            ..Rules::TAKETURNS
        });
        println!(
            "model {running_wake:?} hello: ticks={} steps={} stuck_waiting={:?} order: {}",
            run.ticks,
            run.lines.len(),
            run.stuck_waiting,
            run.lines.join(" | ")
        );
    }
}
