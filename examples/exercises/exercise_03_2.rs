//! Chapter 3, exercise 2: a race that Rust compiles happily. Tickets are sold by tasks on one
//! thread: each checks that one is left, awaits a (simulated) payment, then takes the ticket. With
//! the `.await` between the check and the take, every buyer sees the same last tickets, and the
//! show is oversold. The fix does the check and the take with no `.await` between them, and gives
//! the ticket back if the payment fails.
//!
//! ```console
//! $ cargo run --example exercise_03_2 -- --tickets 10 --buyers 100
//! ```
//!
//! No data race here: one thread, a `Cell`, nothing the compiler could object to. It is a *logic*
//! race (check-then-act), and the borrow checker does not see logic. asyncio has exactly the same
//! bug, and the same fix (or an `asyncio.Lock` held across the `await`); in tokio, a
//! `tokio::sync::Mutex` can be held across an `.await`, a `std::sync::Mutex` should not be.
//! Left out: payments that fail (every payment succeeds here), and real time (the payment is one
//! `yield_now`).

use std::cell::Cell;
use std::rc::Rc;

use clap::Parser;

/// Sell tickets from many tasks, racily and then correctly.
#[derive(Parser, Debug)]
#[command(name = "exercise_03_2", version)]
struct Cli {
    /// Tickets for sale.
    #[arg(long, default_value_t = 10)]
    tickets: u64,

    /// Tasks trying to buy one ticket each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    buyers: u64,
}

/// The payment provider: answers after one turn of the loop.
async fn pay() {
    taketurns::yield_now().await;
}

// ANCHOR: racy
/// Check, await, take: every buyer checks before any has taken.
async fn buy_racy(left: Rc<Cell<u64>>, sold: Rc<Cell<u64>>) {
    if left.get() > 0 {
        pay().await; // every other buyer runs here, and sees the same `left`
        left.set(left.get().saturating_sub(1));
        sold.set(sold.get() + 1);
    }
}
// ANCHOR_END: racy

// ANCHOR: fixed
/// Take first (no `.await` between the check and the take), then pay.
async fn buy_reserving(left: Rc<Cell<u64>>, sold: Rc<Cell<u64>>) {
    if left.get() > 0 {
        left.set(left.get() - 1); // reserved: nobody can take this one now
        pay().await;
        sold.set(sold.get() + 1);
    }
}
// ANCHOR_END: fixed

/// Run `buyers` tasks of `buy` against `tickets` tickets; how many were sold.
fn sell<F, Fut>(tickets: u64, buyers: u64, buy: F) -> u64
where
    F: Fn(Rc<Cell<u64>>, Rc<Cell<u64>>) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let (left, sold) = (Rc::new(Cell::new(tickets)), Rc::new(Cell::new(0)));
    taketurns::block_on(async {
        let tasks: Vec<_> = (0..buyers)
            .map(|_| taketurns::spawn(buy(Rc::clone(&left), Rc::clone(&sold))))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    sold.get()
}

fn main() {
    let cli = Cli::parse();
    let racy = sell(cli.tickets, cli.buyers, buy_racy);
    let fixed = sell(cli.tickets, cli.buyers, buy_reserving);
    println!("{} tickets, {} buyers", cli.tickets, cli.buyers);
    println!(
        "check, await, take:  sold {racy} (oversold by {})",
        racy.saturating_sub(cli.tickets)
    );
    println!(
        "take, then await:    sold {fixed} (oversold by {})",
        fixed.saturating_sub(cli.tickets)
    );
}
