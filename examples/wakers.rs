//! Wakers by hand: a one-shot flag written as a leaf future, and three scenes that show how a
//! wake moves a task from the waiting list to the ready queue.
//!
//! Run it with `cargo run --example wakers`.
//!
//! 1. **Local wake.** A task waits on the flag and another task sets it, on the loop's thread:
//!    the wake takes the fast path (no lock, no system call).
//! 2. **Stale waker.** The waiting future is polled once by the `block_on` future, then moved into
//!    a task. The flag must keep the waker of the *latest* poll; a flag that keeps the first one
//!    wakes the wrong party, and the task waits forever (here: until a 50 ms timeout).
//! 3. **Remote wake.** A thread sends on a channel: the wake goes through the inbox and the
//!    eventfd, and the loop, asleep in `epoll_wait`, wakes up.
//!
//! asyncio's counterpart of the flag is `asyncio.Event` (or a bare `Future` with `set_result`);
//! tokio's is `tokio::sync::Notify` or a oneshot channel. Left out: more than one waiter at a time
//! (a second waiter replaces the first one's waker; see the chapter's exercises).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::channel::oneshot;
use taketurns::{Runtime, Stats, snapshot, spawn};

// ANCHOR: flag
/// A one-shot flag for tasks on one thread: once `set`, every `wait` completes.
///
/// `Rc<RefCell<…>>` rather than `Arc<Mutex<…>>`: our tasks never leave the loop's thread, so the
/// flag need not be `Send`. The `Waker` inside it is `Send`, and that is all a wake needs.
#[derive(Clone, Default)]
struct Flag {
    inner: Rc<RefCell<FlagState>>,
}

#[derive(Default)]
struct FlagState {
    /// `set` has been called.
    set: bool,
    /// The waker of the latest poll that returned `Pending`, taken by `set`.
    waker: Option<Waker>,
    /// The deliberate bug of scene 2: keep the first waker instead of the latest.
    keep_first_waker: bool,
}

impl Flag {
    /// Set the flag and wake the waiting task, if any.
    fn set(&self) {
        let waker = {
            let mut state = self.inner.borrow_mut();
            state.set = true;
            state.waker.take()
        };
        // Wake after the borrow has ended: the wake may run code that looks at this flag again.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A future that completes once the flag is set.
    fn wait(&self) -> Wait {
        Wait { flag: self.clone() }
    }
}

/// The leaf future: it does not await anything, it answers `poll` itself.
struct Wait {
    flag: Flag,
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.flag.inner.borrow_mut();
        if state.set {
            return Poll::Ready(());
        }
        // Remember who to wake. `will_wake` spots the common case, the same task polling
        // again, and saves a clone; otherwise the new waker replaces the old one.
        let keep_old = match &state.waker {
            Some(old) if old.will_wake(cx.waker()) => true,
            Some(_) if state.keep_first_waker => true, // scene 2's bug
            _ => false,
        };
        if !keep_old {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}
// ANCHOR_END: flag

/// The counters a wake changes, on one line.
fn summary(stats: Stats) -> String {
    format!(
        "polls {}, wakes on this thread {}, wakes from other threads {}, \
         loop slept {}, epoll_wait calls {}",
        stats.polls, stats.local_wakes, stats.remote_wakes, stats.sleeps, stats.io_polls
    )
}

// ANCHOR: local
/// Scene 1: one task waits on the flag, another sets it.
fn local_wake() -> std::io::Result<()> {
    let rt = Runtime::new()?;
    rt.block_on(async {
        let flag = Flag::default();
        let waiter = spawn({
            let flag = flag.clone();
            async move {
                println!("waiter: waits       {}", snapshot());
                flag.wait().await;
                println!("waiter: woken       {}", snapshot());
            }
        });
        let setter = spawn(async move {
            println!("setter: before set  {:#}", snapshot());
            flag.set();
            println!("setter: after set   {}", snapshot());
        });
        waiter.await.unwrap();
        setter.await.unwrap();
    });
    println!("{}", summary(rt.stats()));
    Ok(())
}
// ANCHOR_END: local

// ANCHOR: moved
/// Scene 2: the future is polled by the `block_on` future first, then awaited by task #1.
fn moved_between_tasks(keep_first_waker: bool) -> std::io::Result<()> {
    let rt = Runtime::new()?;
    let outcome = rt.block_on(async {
        let flag = Flag::default();
        flag.inner.borrow_mut().keep_first_waker = keep_first_waker;

        // Poll once from here: `Pending`, and the flag now holds the block_on future's waker.
        let mut wait = flag.wait();
        let ready = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut wait).poll(cx))).await;
        assert!(ready.is_pending());

        // Move the future into a task, which polls it with the task's own waker.
        let waiter = spawn(wait);
        // Runs after the waiter's first poll (FIFO), and sets the flag.
        let setter = spawn(async move { flag.set() });

        let outcome = taketurns::time::timeout(Duration::from_millis(50), waiter).await;
        setter.await.unwrap();
        (outcome.is_ok(), snapshot())
    });
    let (woken, lists) = outcome;
    let kept = if keep_first_waker { "first " } else { "latest" };
    let result = if woken {
        "task #1 woken"
    } else {
        "timed out after 50 ms"
    };
    println!("keeps the {kept} waker: {result:<22} then {lists}");
    Ok(())
}
// ANCHOR_END: moved

// ANCHOR: remote
/// Scene 3: a thread completes a channel; the wake comes from outside the loop.
fn remote_wake() -> std::io::Result<()> {
    let rt = Runtime::new()?;
    let answer = rt.block_on(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let waiter = spawn(async move {
            println!("waiter: waits       {}", snapshot());
            let value = rx.await.unwrap();
            println!("waiter: woken       {}", snapshot());
            value
        });
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(42).unwrap(); // calls the waiter's waker on this other thread
        });
        let value = waiter.await.unwrap();
        thread.join().unwrap();
        value
    });
    println!("answer {answer}; {}", summary(rt.stats()));
    Ok(())
}
// ANCHOR_END: remote

fn main() -> std::io::Result<()> {
    println!("1. a local wake");
    local_wake()?;
    println!("\n2. a future moved between tasks");
    moved_between_tasks(false)?;
    moved_between_tasks(true)?;
    println!("\n3. a wake from another thread");
    remote_wake()?;
    Ok(())
}
