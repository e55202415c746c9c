//! Chapter 3, exercise 2: a race that Rust compiles happily. Tickets are sold by buyers that take
//! turns on one thread, with the turn-taking loop of chapter 3: a ready queue of buyers, each given
//! one turn at a time. A buyer's first turn checks that a ticket is left and starts paying; its
//! second turn, the payment done, takes the ticket. With the end of a turn between the check and
//! the take, every buyer sees the same last tickets, and the show is oversold. The fix takes the
//! ticket in the same turn as the check, before paying.
//!
//! ```console
//! $ cargo run --example exercise_03_2 -- --tickets 10 --buyers 100
//! ```
//!
//! No data race here: one thread, a `Cell`, nothing the compiler could object to. It is a *logic*
//! race (check-then-act), and the borrow checker does not see logic. asyncio has exactly the same
//! bug when an `await` sits between the check and the take, and the same fix (or an
//! `asyncio.Lock` held across the `await`); in tokio, a `tokio::sync::Mutex` can be held across an
//! `.await`, a `std::sync::Mutex` should not be. Left out: payments that fail (every payment
//! succeeds here; a failed one would give the reserved ticket back), and real time (a payment is
//! one turn).

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use clap::Parser;

/// Sell tickets from many buyers taking turns, racily and then correctly.
#[derive(Parser, Debug)]
#[command(name = "exercise_03_2", version)]
struct Cli {
    /// Tickets for sale.
    #[arg(long, default_value_t = 10)]
    tickets: u64,

    /// Buyers trying to buy one ticket each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    buyers: u64,
}

/// Where a buyer is in its purchase.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Next turn: look at the tickets left.
    Check,
    /// Next turn: the payment has gone through.
    Paid,
}

/// One buyer, cut into turns like the workers of chapter 3.
struct Buyer {
    /// Tickets still for sale, shared by every buyer on the thread.
    left: Rc<Cell<u64>>,
    /// Tickets sold, shared by every buyer on the thread.
    sold: Rc<Cell<u64>>,
    /// What this buyer does on its next turn.
    step: Step,
    /// Whether the buyer takes its ticket before paying (the fix) or after (the race).
    reserve_first: bool,
}

impl Buyer {
    // ANCHOR: turn
    /// Runs one turn; returns `true` when the buyer is done, with or without a ticket.
    fn turn(&mut self) -> bool {
        match self.step {
            Step::Check if self.left.get() == 0 => true, // sold out: go home
            Step::Check => {
                if self.reserve_first {
                    // The fix: take the ticket in the same turn as the check.
                    self.left.set(self.left.get() - 1);
                }
                self.step = Step::Paid;
                false // the turn ends while the payment goes through
            }
            Step::Paid => {
                if !self.reserve_first {
                    // The race: every other buyer had a turn since the check.
                    self.left.set(self.left.get().saturating_sub(1));
                }
                self.sold.set(self.sold.get() + 1);
                true
            }
        }
    }
    // ANCHOR_END: turn
}

/// Runs `buyers` buyers against `tickets` tickets on chapter 3's loop; how many were sold.
fn sell(tickets: u64, buyers: u64, reserve_first: bool) -> u64 {
    let (left, sold) = (Rc::new(Cell::new(tickets)), Rc::new(Cell::new(0)));
    let mut ready: VecDeque<Buyer> = (0..buyers)
        .map(|_| Buyer {
            left: Rc::clone(&left),
            sold: Rc::clone(&sold),
            step: Step::Check,
            reserve_first,
        })
        .collect();
    while let Some(mut buyer) = ready.pop_front() {
        if !buyer.turn() {
            ready.push_back(buyer);
        }
    }
    sold.get()
}

fn main() {
    let cli = Cli::parse();
    let racy = sell(cli.tickets, cli.buyers, false);
    let fixed = sell(cli.tickets, cli.buyers, true);
    println!("{} tickets, {} buyers", cli.tickets, cli.buyers);
    println!(
        "check, pay, take:  sold {racy} (oversold by {})",
        racy.saturating_sub(cli.tickets)
    );
    println!(
        "take, then pay:    sold {fixed} (oversold by {})",
        fixed.saturating_sub(cli.tickets)
    );
}
