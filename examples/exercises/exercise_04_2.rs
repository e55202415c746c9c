//! Chapter 4, exercise 2: where a future's bytes go. An `async fn` that keeps a 4 KiB buffer
//! across an `.await` is a 4 KiB future; awaiting two of them one after the other costs the size
//! of one (the states share memory), awaiting them at once costs both; boxing the buffer moves it
//! to the heap and leaves a pointer in the future.
//!
//! ```console
//! $ cargo run --example exercise_04_2
//! ```
//!
//! Why it matters: a spawned task's future is allocated whole, for its whole life, so its size is
//! the memory every waiting task costs (chapter 10 counts it per fetch). tokio's advice is the
//! same as here: box large futures (`Box::pin`), or keep big buffers outside the future. asyncio
//! keeps every local of a coroutine in its frame object, on the heap, whatever its size. Left
//! out: recursion (an `async fn` that awaits itself has infinite size, and must box).

use std::future::Future;
use std::mem::size_of_val;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Pending once, then ready: the smallest thing to await.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ANCHOR: sizes
/// Keeps a 4 KiB buffer across an `.await`.
async fn with_buffer() -> u8 {
    let buffer = [1u8; 4096];
    YieldOnce(false).await;
    buffer[4095]
}

/// The same, with the buffer on the heap.
async fn with_boxed_buffer() -> u8 {
    let buffer = vec![1u8; 4096];
    YieldOnce(false).await;
    buffer[4095]
}

/// Two of them, one after the other.
async fn one_after_the_other() -> u8 {
    with_buffer().await + with_buffer().await
}

/// Two of them at once.
async fn both_at_once() -> u8 {
    let (a, b) = futures::join!(with_buffer(), with_buffer());
    a + b
}
// ANCHOR_END: sizes

fn main() {
    let rows = [
        ("with_buffer()", size_of_val(&with_buffer())),
        ("with_boxed_buffer()", size_of_val(&with_boxed_buffer())),
        ("one_after_the_other()", size_of_val(&one_after_the_other())),
        ("both_at_once()", size_of_val(&both_at_once())),
        (
            "Box::pin(with_buffer())",
            size_of_val(&Box::pin(with_buffer())),
        ),
    ];
    for (name, size) in rows {
        println!("{name:<26} {size:>6} bytes");
    }
    // And they run: polled to the end by futures' own little executor.
    let total = futures::executor::block_on(async {
        one_after_the_other().await + both_at_once().await + with_boxed_buffer().await
    });
    println!("sum of the last bytes: {total}");
}
