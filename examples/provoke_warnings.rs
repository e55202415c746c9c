//! Provoke each of the three warnings on purpose, and show that a healthy program stays silent.
//!
//! ```console
//! $ cargo run --example provoke_warnings -- slow-poll
//! $ cargo run --example provoke_warnings -- lost-waker
//! $ cargo run --example provoke_warnings -- pending-at-shutdown
//! $ cargo run --example provoke_warnings -- healthy       # prints no warning
//! ```
//!
//! Every run builds its runtime with `.trace(true)`, which turns the checks on; the warnings go to
//! stderr (the default), the program's own lines to stdout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use taketurns::Runtime;
use taketurns::task::Builder;
use taketurns::time::{sleep, timeout};

/// Provoke one of taketurns' warnings (slow poll, lost waker, pending at shutdown) on purpose.
#[derive(Parser)]
struct Cli {
    /// Which mistake to make.
    #[arg(value_enum)]
    mistake: Mistake,
    /// The slow-poll threshold, in milliseconds.
    #[arg(long, default_value_t = 10)]
    threshold_ms: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mistake {
    /// A task blocks the thread for 50 ms with std::thread::sleep.
    SlowPoll,
    /// A hand-written future returns Pending without keeping the waker.
    LostWaker,
    /// The runtime is dropped while a task still sleeps.
    PendingAtShutdown,
    /// No mistake: sleeps, a channel, a joined task. Prints no warning.
    Healthy,
}

// ANCHOR: forgetful
/// A future that is never ready and forgets the waker: the classic hand-written mistake.
struct Forgetful;

impl Future for Forgetful {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // Should have stored cx.waker().clone() where some event will call it.
        Poll::Pending
    }
}
// ANCHOR_END: forgetful

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    // ANCHOR: runtime
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(cli.threshold_ms))
        .build()?;
    // ANCHOR_END: runtime
    match cli.mistake {
        // ANCHOR: mistakes
        Mistake::SlowPoll => rt.block_on(async {
            let blocker = Builder::new().name("blocker").spawn(async {
                std::thread::sleep(Duration::from_millis(50)); // the whole loop stops here
            });
            blocker.await.unwrap();
            println!("slow-poll: the blocker finished");
        }),
        Mistake::LostWaker => rt.block_on(async {
            let stuck = Builder::new().name("forgetful").spawn(Forgetful);
            let waited = timeout(Duration::from_millis(100), stuck).await;
            println!("lost-waker: after 100 ms the task had not finished: {waited:?}");
        }),
        Mistake::PendingAtShutdown => rt.block_on(async {
            Builder::new().name("slow cooker").spawn(async {
                sleep(Duration::from_secs(3600)).await;
            });
            taketurns::yield_now().await; // let it start its hour-long sleep
            println!("pending-at-shutdown: returning while the slow cooker sleeps");
        }),
        // ANCHOR_END: mistakes
        Mistake::Healthy => rt.block_on(async {
            let (tx, rx) = futures::channel::oneshot::channel();
            let sender = Builder::new().name("sender").spawn(async move {
                sleep(Duration::from_millis(5)).await;
                tx.send("done").unwrap();
            });
            let receiver = Builder::new()
                .name("receiver")
                .spawn(async move { rx.await.unwrap() });
            taketurns::yield_now().await;
            sender.await.unwrap();
            println!("healthy: received {:?}", receiver.await.unwrap());
        }),
    }
    drop(rt); // pending-at-shutdown is checked here
    Ok(())
}
