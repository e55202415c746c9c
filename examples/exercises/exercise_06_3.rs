//! Exercise 6.3, "Swap the order": if the loop clears `notified` *after* draining the inbox, can
//! taketurns lose a wake? Which line saves it, and what would you remove to lose one?
//!
//! The question is about interleavings, so the solution is a **model checker** rather than a
//! timing: it writes down the loop's steps after `epoll_wait` returned with the eventfd event, and
//! a waking thread's steps (`Shared::wake_remote`), and tries every way the two can interleave.
//! It does that for four loops: the order as shipped (clear, then drain) or swapped, each with and
//! without the second drain that `Core::tick` makes before it decides to sleep. An interleaving
//! loses the wake if the loop goes to sleep with the entry still in the inbox and no eventfd write
//! on its way. The model is a description of taketurns' steps, not taketurns itself: each step is
//! taken as atomic, and memory ordering is left out (every flag is `SeqCst` in taketurns, so the
//! steps do happen in one global order). asyncio has the same race around its self-pipe and
//! settles it by writing on every `call_soon_threadsafe`; tokio's `Unparker` uses a state machine
//! (EMPTY, PARKED, NOTIFIED) with a mutex and a condvar or the driver.
//!
//! ```console
//! $ cargo run --example exercise_06_3
//! ```

use clap::Parser;

/// Try every interleaving of a remote wake with the loop's check-and-sleep steps, for the shipped
/// order, the swapped order, and each without the tick's extra drain.
#[derive(Parser, Debug)]
#[command(name = "exercise_06_3")]
struct Args {}

// ANCHOR: steps
/// One step of the loop, after `epoll_wait` returned with the eventfd's event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopStep {
    /// `clear_notified`: the next wake must write again.
    Clear,
    /// `drain_inbox`: move every queued wake to the ready queue.
    Drain,
    /// The tick has nothing ready: call `epoll_wait` with no timeout.
    Sleep,
}

/// One step of the waking thread (`wake_remote`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThreadStep {
    /// Push the task on the inbox and set `full`.
    Push,
    /// `notified.swap(true)`, and write to the eventfd if it was `false`.
    SwapAndMaybeWrite,
}

/// The shared state the steps read and change. At the start the loop has just been woken by a
/// write, so `notified` is still `true` and the eventfd's event has been consumed.
#[derive(Clone, Copy, Default)]
struct World {
    notified: bool,
    in_inbox: bool,
    drained: bool,
    /// An eventfd write the loop has not yet seen (it will wake the next `epoll_wait`).
    write_pending: bool,
    /// The loop reached `Sleep` with nothing ready.
    asleep: bool,
}

impl World {
    fn loop_step(&mut self, step: LoopStep) {
        match step {
            LoopStep::Clear => self.notified = false,
            LoopStep::Drain => {
                if self.in_inbox {
                    self.in_inbox = false;
                    self.drained = true;
                }
            }
            // With the task drained, the ready queue is not empty and the loop does not sleep.
            LoopStep::Sleep => self.asleep = !self.drained,
        }
    }

    fn thread_step(&mut self, step: ThreadStep) {
        match step {
            ThreadStep::Push => self.in_inbox = true,
            ThreadStep::SwapAndMaybeWrite => {
                if !std::mem::replace(&mut self.notified, true) {
                    self.write_pending = true;
                }
            }
        }
    }

    /// Lost: asleep, with the wake in the inbox and no write to end the sleep.
    fn lost(&self) -> bool {
        self.asleep && self.in_inbox && !self.write_pending
    }
}
// ANCHOR_END: steps

// ANCHOR: check
/// Every interleaving of `loop_steps` with the thread's two steps (in their own order), and the
/// ones that lose the wake, each written as the sequence of steps.
fn check(loop_steps: &[LoopStep]) -> (usize, Vec<String>) {
    let thread_steps = [ThreadStep::Push, ThreadStep::SwapAndMaybeWrite];
    let total = loop_steps.len() + thread_steps.len();
    let (mut tried, mut lost) = (0, Vec::new());
    // Choose the two places (first < second) the thread's steps take among all the steps.
    for first in 0..total {
        for second in first + 1..total {
            tried += 1;
            let mut world = World {
                notified: true,
                ..World::default()
            };
            let (mut next_loop, mut trace) = (0, Vec::new());
            for place in 0..total {
                if place == first || place == second {
                    let step = thread_steps[usize::from(place == second)];
                    world.thread_step(step);
                    trace.push(format!("thread {step:?}"));
                } else {
                    let step = loop_steps[next_loop];
                    next_loop += 1;
                    world.loop_step(step);
                    trace.push(format!("loop {step:?}"));
                }
            }
            if world.lost() {
                lost.push(trace.join(", "));
            }
        }
    }
    (tried, lost)
}
// ANCHOR_END: check

fn main() {
    let _args = Args::parse();
    use LoopStep::{Clear, Drain, Sleep};
    let loops: [(&str, &[LoopStep]); 4] = [
        (
            "shipped (clear, drain, tick drain)",
            &[Clear, Drain, Drain, Sleep],
        ),
        ("shipped without the tick drain", &[Clear, Drain, Sleep]),
        (
            "swapped (drain, clear, tick drain)",
            &[Drain, Clear, Drain, Sleep],
        ),
        ("swapped without the tick drain", &[Drain, Clear, Sleep]),
    ];
    for (name, steps) in loops {
        let (tried, lost) = check(steps);
        println!("{name}: interleavings={tried} lost={}", lost.len());
        for trace in lost {
            println!("    lost: {trace}");
        }
    }
}
