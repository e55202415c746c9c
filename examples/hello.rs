//! Hello, two lists: three tasks take turns on one thread, and we print the ready queue and the
//! waiting list as they change.
//!
//! Run it with `cargo run --example hello`. Each task prints, yields (back of the ready queue),
//! and the last one also waits on a channel that another task fills, so you see a task sit in
//! the waiting list until its waker fires.

use futures::channel::oneshot;

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<&str>();

        let chef = taketurns::spawn(async move {
            for step in ["chop", "stir", "taste"] {
                println!("chef:   {step:<6} {}", taketurns::snapshot());
                taketurns::yield_now().await;
            }
            tx.send("dinner is ready").unwrap();
        });
        let waiter = taketurns::spawn(async move {
            println!("waiter: waits  {}", taketurns::snapshot());
            let news = rx.await.unwrap();
            println!("waiter: heard  {news:?} {}", taketurns::snapshot());
        });
        let guest = taketurns::spawn(async {
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
    Ok(())
}
// ANCHOR_END: main
