//! A future written by hand and polled by hand, before any executor: what `Future::poll`,
//! `Poll::Pending` and a `Waker` are, with nothing in between.
//!
//! ```console
//! $ cargo run --example poll_by_hand
//! $ cargo run --example poll_by_hand -- --countdown 5 --timer-ms 50
//! ```
//!
//! Three scenes, each printing every poll:
//!
//! 1. **A countdown.** `Countdown(3)` answers `Pending` three times, waking itself each time, then
//!    `Ready`. A plain `loop` polls it with a waker we build from `std::task::Wake`.
//! 2. **A timer that someone else finishes.** `Timer` is done when a helper thread says so. Our
//!    loop can poll it again and again until it is (*spin*), or sleep until its waker is called
//!    (*park*). Same answer; the poll counts differ by orders of magnitude.
//! 3. **`async fn` is a state machine.** An `async fn` that awaits both is polled by the same
//!    loop; its size (`std::mem::size_of_val`) is the size of its largest state, and a buffer kept
//!    across an `.await` becomes part of the future.
//!
//! Python's counterpart: a coroutine driven by hand with `coro.send(None)` until it raises
//! `StopIteration`, and an `asyncio.Future` whose `add_done_callback` plays the waker. tokio's: the
//! `block_on` at the bottom of every runtime, and `tokio::time::Sleep` (driven by a timer wheel,
//! not a thread per timer). Left out: `unsafe` `RawWaker`s (the `Wake` trait builds the waker for
//! us), and a timer that does not need a thread (chapter 8).

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;

/// Write two futures by hand and poll them by hand, printing every poll.
#[derive(Parser, Debug)]
#[command(name = "poll_by_hand", version)]
struct Cli {
    /// How many times the countdown answers Pending before Ready.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
    countdown: u32,

    /// How long the helper thread takes to finish the timer, in milliseconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    timer_ms: u64,
}

// ANCHOR: countdown
/// Ready after `n` polls that answered `Pending`.
struct Countdown {
    /// Pending answers still to give. Only `poll` changes it.
    left: u32,
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.left == 0 {
            return Poll::Ready("liftoff");
        }
        self.left -= 1;
        // Pending is a promise: "someone will call my waker". Nobody else will, so we do it now:
        // "poll me again". (This is what `yield_now` does.)
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: countdown

// ANCHOR: timer
/// Done when a helper thread, started by `Timer::after`, says so.
///
/// Where we simplify: one thread per timer, as in tokio's mini-tokio tutorial, because this
/// program has no event loop to sleep in. Real runtimes keep every timer in one structure (a heap,
/// a wheel) and let the event loop's `epoll_wait` timeout do the sleeping; taketurns does that in
/// chapter 8.
struct Timer {
    /// Shared with the helper thread, which sets `fired` and takes the waker.
    shared: Arc<Mutex<TimerState>>,
}

/// What the timer and its helper thread share.
#[derive(Default)]
struct TimerState {
    /// The helper thread has finished sleeping.
    fired: bool,
    /// The waker of the latest poll that returned `Pending`; the helper thread wakes it.
    waker: Option<Waker>,
}

impl Timer {
    fn after(delay: Duration) -> Timer {
        let shared = Arc::new(Mutex::new(TimerState::default()));
        let theirs = Arc::clone(&shared);
        thread::spawn(move || {
            thread::sleep(delay);
            let waker = {
                let mut state = theirs.lock().unwrap();
                state.fired = true;
                state.waker.take()
            };
            // Wake after the lock is released: the wake may run code that polls us at once.
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Timer { shared }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock().unwrap();
        if state.fired {
            return Poll::Ready(());
        }
        // Keep the waker of *this* poll (the future may have moved to another task since the
        // last one); skip the clone when it would wake the same task anyway.
        match &state.waker {
            Some(kept) if kept.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
// ANCHOR_END: timer

// ANCHOR: waker
/// Our waker: it counts the wakes and unparks the thread that polls.
struct ThreadWaker {
    /// The thread running the poll loop: `wake` unparks it.
    thread: Thread,
    /// Wakes so far, for the printout.
    wakes: AtomicU64,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.thread.unpark();
    }
}
// ANCHOR_END: waker

/// What the loop does after a `Pending`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Between {
    /// Poll again at once: never sleep, never look at the waker.
    Spin,
    /// Sleep until the waker unparks this thread (or a spurious wake-up: then we just poll again).
    Park,
}

// ANCHOR: poll_loop
/// Poll `future` until it is ready. `print` says whether to print each poll.
/// Returns the output and how many polls it took.
fn poll_loop<F: Future>(future: F, between: Between, print: bool) -> (F::Output, u64) {
    let waker_state = Arc::new(ThreadWaker {
        thread: thread::current(),
        wakes: AtomicU64::new(0),
    });
    let waker = Waker::from(Arc::clone(&waker_state));
    let mut cx = Context::from_waker(&waker);
    // `poll` takes `Pin<&mut Self>`: the future must not move between polls, because an async
    // block may hold references into itself. `pin!` pins it here, on this stack frame.
    let mut future = pin!(future);
    let mut polls = 0;
    loop {
        polls += 1;
        let answer = future.as_mut().poll(&mut cx);
        if print {
            let wakes = waker_state.wakes.load(Ordering::Relaxed);
            let shown = if answer.is_ready() {
                "Ready"
            } else {
                "Pending"
            };
            println!("  poll {polls}: {shown:<7}  (wakes so far: {wakes})");
        }
        match answer {
            Poll::Ready(output) => return (output, polls),
            Poll::Pending if between == Between::Park => thread::park(),
            Poll::Pending => {}
        }
    }
}
// ANCHOR_END: poll_loop

// ANCHOR: async_fn
/// The two futures one after the other, written the easy way.
async fn countdown_then_timer(n: u32, delay: Duration) -> &'static str {
    let said = Countdown { left: n }.await;
    Timer::after(delay).await;
    said
}

/// A future that keeps a 1 KiB buffer across an `.await`: the buffer is part of the future.
async fn keeps_a_buffer(delay: Duration) -> u8 {
    let buffer = [7u8; 1024];
    Timer::after(delay).await;
    buffer[1023]
}

/// The same work, with the buffer used only before the `.await`: it is not kept.
async fn drops_the_buffer(delay: Duration) -> u8 {
    let last = {
        let buffer = [7u8; 1024];
        buffer[1023]
    };
    Timer::after(delay).await;
    last
}
// ANCHOR_END: async_fn

/// CPU time (user + system) of the calling thread so far.
fn thread_cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage(RUSAGE_THREAD)");
    let micros = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn main() {
    let cli = Cli::parse();
    let delay = Duration::from_millis(cli.timer_ms);

    println!(
        "1. Countdown {{ left: {} }}, polled in a loop",
        cli.countdown
    );
    let (said, polls) = poll_loop(
        Countdown {
            left: cli.countdown,
        },
        Between::Park,
        true,
    );
    println!("  -> {said:?} after {polls} polls");

    println!("\n2. Timer::after({delay:?}), finished by a helper thread");
    for (between, name) in [(Between::Park, "park"), (Between::Spin, "spin")] {
        let (start, cpu) = (Instant::now(), thread_cpu());
        let ((), polls) = poll_loop(Timer::after(delay), between, between == Between::Park);
        println!(
            "  {name}: ready after {polls} polls, {:.1} ms, CPU {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3,
            thread_cpu().saturating_sub(cpu).as_secs_f64() * 1e3
        );
    }

    println!("\n3. async fn countdown_then_timer, the same loop");
    let (said, polls) = poll_loop(
        countdown_then_timer(cli.countdown, delay),
        Between::Park,
        true,
    );
    println!("  -> {said:?} after {polls} polls");

    println!("\nsizes, in bytes (std::mem::size_of_val):");
    let sizes = [
        ("Countdown", std::mem::size_of_val(&Countdown { left: 0 })),
        ("Timer", std::mem::size_of::<Timer>()),
        (
            "countdown_then_timer(..)",
            std::mem::size_of_val(&countdown_then_timer(0, delay)),
        ),
        (
            "keeps_a_buffer(..)",
            std::mem::size_of_val(&keeps_a_buffer(delay)),
        ),
        (
            "drops_the_buffer(..)",
            std::mem::size_of_val(&drops_the_buffer(delay)),
        ),
    ];
    for (name, size) in sizes {
        println!("  {name:<26} {size:>5}");
    }
}
