//! The three warnings: each one provoked, and each one silent in a healthy program. Warnings are
//! collected through `Builder::on_warning`. That, by default, they are printed to stderr is checked
//! by running `examples/provoke_warnings.rs`, in `tests/examples/provoke_warnings.rs`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use taketurns::task::Builder;
use taketurns::time::{sleep, timeout};
use taketurns::{Runtime, WaitReason, Warning, WarningKind};

/// A runtime that traces, with warnings collected into the returned list.
fn collecting(
    configure: impl FnOnce(taketurns::Builder) -> taketurns::Builder,
) -> (Runtime, Rc<RefCell<Vec<Warning>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let builder = Runtime::builder()
        .trace(true)
        .on_warning(move |w| sink.borrow_mut().push(w.clone()));
    (configure(builder).build().unwrap(), seen)
}

/// A clock that advances 1 ms each time it is read: every poll takes exactly 1 ms.
fn fake_clock() -> impl Fn() -> Duration + 'static {
    let ticks = Cell::new(0u64);
    move || {
        let now = ticks.get();
        ticks.set(now + 1);
        Duration::from_millis(now)
    }
}

/// Never ready, and drops the waker: nothing can wake its task.
struct Forgetful;

impl Future for Forgetful {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// A healthy program: timers, a channel, yields, joins, a wake from another thread.
async fn healthy() {
    let (tx, rx) = futures::channel::oneshot::channel();
    let sender = Builder::new().name("sender").spawn(async move {
        sleep(Duration::from_millis(2)).await;
        tx.send(1).unwrap();
    });
    let receiver = Builder::new()
        .name("receiver")
        .spawn(async move { rx.await.unwrap() });
    let (tx2, rx2) = futures::channel::oneshot::channel();
    let from_thread = taketurns::spawn(async move { rx2.await.unwrap() });
    let thread = std::thread::spawn(move || tx2.send(2).unwrap());
    for _ in 0..3 {
        taketurns::yield_now().await;
    }
    sender.await.unwrap();
    assert_eq!(receiver.await.unwrap() + from_thread.await.unwrap(), 3);
    thread.join().unwrap();
}

#[test]
fn a_poll_that_blocks_past_the_threshold_is_reported_with_the_task_and_where_it_was_spawned() {
    let (rt, seen) = collecting(|b| b);
    let line = line!();
    rt.block_on(async {
        Builder::new()
            .name("blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(30)) })
            .await
            .unwrap();
    });
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let w = &seen[0];
    assert_eq!(w.task.name, "blocker");
    // The `.spawn(` call, a few lines below `line`.
    assert_eq!(w.task.spawned_at.file(), file!());
    assert!((line..line + 6).contains(&w.task.spawned_at.line()));
    let WarningKind::SlowPoll { took, threshold } = w.kind else {
        panic!("{w:?}")
    };
    assert!(took >= Duration::from_millis(30), "{took:?}");
    assert_eq!(threshold, Duration::from_millis(10));
    let text = w.to_string();
    assert!(
        text.contains("slow poll") && text.contains("\"blocker\""),
        "{text}"
    );
    assert!(text.contains("tests/warnings.rs"), "{text}");
}

#[test]
fn the_slow_poll_threshold_is_configurable() {
    // On the fake clock every poll takes exactly 1 ms.
    let (rt, seen) = collecting(|b| {
        b.trace_clock(fake_clock())
            .slow_poll_threshold(Duration::from_micros(500))
    });
    rt.block_on(async { taketurns::spawn(async {}).await.unwrap() });
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(seen.borrow()[0].name(), "slow poll");

    let (rt, seen) = collecting(|b| {
        b.trace_clock(fake_clock())
            .slow_poll_threshold(Duration::from_millis(1))
    });
    rt.block_on(async { taketurns::spawn(async {}).await.unwrap() });
    assert!(seen.borrow().is_empty(), "1 ms is not longer than 1 ms");
}

#[test]
fn a_future_that_drops_its_waker_is_reported_as_a_lost_waker() {
    let (rt, seen) = collecting(|b| b);
    let outcome = rt.block_on(async {
        let stuck = Builder::new().name("forgetful").spawn(Forgetful);
        timeout(Duration::from_millis(30), stuck).await
    });
    assert!(outcome.is_err(), "the task can never finish");
    let lost: Vec<_> = seen
        .borrow()
        .iter()
        .filter(|w| w.kind == WarningKind::LostWaker)
        .cloned()
        .collect();
    assert_eq!(lost.len(), 1, "{:?}", seen.borrow());
    assert_eq!(lost[0].task.name, "forgetful");
    assert!(lost[0].to_string().contains("nothing can ever wake it"));
}

#[test]
fn a_waker_handed_to_another_thread_that_wakes_at_once_is_not_lost() {
    // The other thread may wake and drop its clone before the poll even returns: the wake is
    // then in the inbox, and the check must find it there.
    struct WakeFromThread(bool);
    impl Future for WakeFromThread {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            let waker = cx.waker().clone();
            std::thread::spawn(move || waker.wake()).join().unwrap();
            Poll::Pending
        }
    }
    // (Spawning a thread inside a poll is slow: the fake clock keeps slow-poll warnings out.)
    let (rt, seen) = collecting(|b| b.trace_clock(fake_clock()));
    rt.block_on(async {
        for _ in 0..50 {
            taketurns::spawn(WakeFromThread(false)).await.unwrap();
        }
    });
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
}

#[test]
fn tasks_left_at_shutdown_are_named_with_what_they_waited_for() {
    let (rt, seen) = collecting(|b| b);
    rt.block_on(async {
        Builder::new().name("slow cooker").spawn(async {
            sleep(Duration::from_secs(3600)).await;
        });
        taketurns::yield_now().await; // it starts its sleep
        Builder::new().name("late arrival").spawn(async {});
    });
    assert!(
        seen.borrow().is_empty(),
        "nothing is reported before the drop"
    );
    drop(rt);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].task.name, "slow cooker");
    assert!(matches!(
        seen[0].kind,
        WarningKind::PendingAtShutdown {
            waiting_for: Some(WaitReason::Timer { .. })
        }
    ));
    assert_eq!(seen[1].task.name, "late arrival");
    assert_eq!(
        seen[1].kind,
        WarningKind::PendingAtShutdown { waiting_for: None }
    );
    assert!(seen[1].to_string().contains("ready queue"));
}

#[test]
fn a_healthy_program_raises_no_warning() {
    // The fake clock keeps every poll at 1 ms, so a busy machine cannot make one look slow.
    let (rt, seen) = collecting(|b| b.trace_clock(fake_clock()));
    rt.block_on(healthy());
    drop(rt);
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
}

#[test]
fn without_tracing_no_check_runs() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let rt = Runtime::builder()
        .on_warning(move |w| sink.borrow_mut().push(w.clone()))
        .build()
        .unwrap();
    let _ = rt.block_on(async {
        taketurns::spawn(async { std::thread::sleep(Duration::from_millis(15)) })
            .await
            .unwrap();
        timeout(Duration::from_millis(5), taketurns::spawn(Forgetful)).await
    });
    drop(rt);
    assert!(seen.borrow().is_empty());
}
