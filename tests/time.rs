//! Timers and the tick's fairness: sleeps are never early and fire in deadline order, timeouts
//! fire and also do not, dropped timers leave nothing behind, and a task that is always ready
//! cannot starve sockets or timers.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};
use taketurns::time::{sleep, sleep_until, timeout};
use taketurns::{Runtime, WaitReason};

#[test]
fn sleeps_fire_in_deadline_order_and_never_early() {
    let log = Rc::new(RefCell::new(Vec::new()));
    taketurns::block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = [30u64, 10, 20, 0, 10]
            .into_iter()
            .enumerate()
            .map(|(i, ms)| {
                let log = log.clone();
                taketurns::spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    let waited = start.elapsed();
                    assert!(
                        waited >= Duration::from_millis(ms),
                        "woke after {waited:?}, asked {ms} ms"
                    );
                    log.borrow_mut().push((ms, i));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    // Equal deadlines keep spawn order (task 1 before task 4).
    assert_eq!(*log.borrow(), [(0, 3), (10, 1), (10, 4), (20, 2), (30, 0)]);
}

#[test]
fn zero_and_past_deadlines_complete_at_once() {
    taketurns::block_on(async {
        sleep(Duration::ZERO).await;
        sleep_until(Instant::now() - Duration::from_secs(1)).await;
        // "Due" includes now: a deadline equal to the current instant fires.
        sleep_until(Instant::now()).await;
    });
}

#[test]
fn timeout_fires_when_the_future_is_too_slow() {
    let rt = Runtime::new().unwrap();
    let (result, waited) = rt.block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_millis(20), sleep(Duration::from_secs(30))).await;
        (r, start.elapsed())
    });
    assert!(result.is_err());
    assert!(waited >= Duration::from_millis(20), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(
        rt.stats().timers_pending,
        0,
        "the inner sleep's timer was removed"
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "deadline has elapsed",
        "Elapsed has a readable message"
    );
}

#[test]
fn timeout_does_not_fire_when_the_future_is_quick() {
    let rt = Runtime::new().unwrap();
    let result = rt.block_on(async {
        timeout(Duration::from_secs(30), async {
            sleep(Duration::from_millis(5)).await;
            "done"
        })
        .await
    });
    assert_eq!(result, Ok("done"));
    assert_eq!(
        rt.stats().timers_pending,
        0,
        "the timeout's timer was removed"
    );
}

#[test]
fn a_million_cancelled_timeouts_leave_nothing_behind() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        for _ in 0..1_000_000 {
            let mut t = Box::pin(timeout(
                Duration::from_secs(60),
                std::future::pending::<()>(),
            ));
            // Poll once so the timer is registered, then drop it (cancel).
            let polled = futures::poll!(t.as_mut());
            assert!(polled.is_pending());
        }
    });
    assert_eq!(rt.stats().timers_pending, 0);
}

#[test]
fn reset_moves_the_deadline_both_ways() {
    taketurns::block_on(async {
        let start = Instant::now();
        let mut s = Box::pin(sleep(Duration::from_secs(60)));
        assert!(futures::poll!(s.as_mut()).is_pending());
        s.as_mut().reset(Instant::now() + Duration::from_millis(10));
        s.as_mut().await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(10) && waited < Duration::from_secs(30));
        // Reset after completion: it runs again.
        s.as_mut().reset(Instant::now() + Duration::from_millis(10));
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert!(s.is_elapsed());
    });
}

#[test]
fn a_sleeping_task_shows_its_deadline_in_the_snapshot() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let sleeper = taketurns::spawn(sleep_until(deadline));
        taketurns::yield_now().await;
        let snapshot = rt.snapshot();
        assert_eq!(
            snapshot.waiting,
            [(sleeper.id(), WaitReason::Timer { deadline })],
            "{snapshot:#}"
        );
        sleeper.abort();
        assert_eq!(rt.stats().timers_pending, 0, "aborting removed the timer");
    });
}

/// A task that is always ready: it wakes itself on every poll and never finishes by itself.
struct Spin;

impl Future for Spin {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
fn an_always_ready_task_does_not_starve_timers_or_sockets() {
    let rt = Runtime::builder().event_interval(61).build().unwrap();
    rt.block_on(async {
        let spinner = taketurns::spawn(Spin);
        // A timer...
        let start = Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() < Duration::from_secs(10));
        // ...and a socket round trip, both while the spinner is always ready.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = taketurns::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"pong").await.unwrap();
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        server.await.unwrap();
        spinner.abort();
    });
    let stats = rt.stats();
    assert!(stats.polls > 61, "the spinner ran all along: {stats}");
    assert_eq!(
        stats.sleeps, 0,
        "with a task always ready the loop never blocks: {stats}"
    );
}

#[test]
fn a_self_waking_task_waits_for_the_next_tick() {
    // Two tasks: a spinner that wakes itself and a task that yields a few times. If woken tasks
    // ran in the same tick, the spinner would run forever and the other would never finish.
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let spinner = taketurns::spawn(Spin);
        let worker = taketurns::spawn(async {
            for _ in 0..100 {
                taketurns::yield_now().await;
            }
            "finished"
        });
        assert_eq!(worker.await.unwrap(), "finished");
        spinner.abort();
    });
    let stats = rt.stats();
    // Each tick runs the spinner once and the worker once.
    assert!(
        stats.ticks >= 100 && stats.polls <= 2 * stats.ticks + 2,
        "{stats}"
    );
}

#[test]
fn a_block_on_future_that_keeps_yielding_does_not_starve_sockets() {
    // The block_on future is not a task, but it must count towards event_interval too: here it
    // spins on yield_now while two tasks wait on sockets, and only the reactor can free them.
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = taketurns::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"hi").await.unwrap();
        });
        let client = taketurns::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).await.unwrap();
            buf
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(server.is_finished() && client.is_finished()) {
            assert!(Instant::now() < deadline, "the sockets were never checked");
            taketurns::yield_now().await;
        }
        assert_eq!(&client.await.unwrap(), b"hi");
    });
}
