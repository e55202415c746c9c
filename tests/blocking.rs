//! `taketurns::spawn_blocking`: the result comes back, from another thread, through the remote
//! waker; panics become `JoinError`s; many calls complete; the loop keeps running meanwhile;
//! `abort` cancels the wait but not a closure that has started, and skips one that has not.
//!
//! No timing is asserted. Where a test needs "the loop ran while the closure blocked", the
//! closure blocks on a channel that only the loop's other task can fill, with a generous
//! timeout so that a broken runtime fails the test instead of hanging it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use taketurns::blocking::MAX_BLOCKING_THREADS;
use taketurns::{Runtime, spawn_blocking};

/// Long enough that only a broken runtime reaches it.
const GENEROUS: Duration = Duration::from_secs(20);

/// Yield to the loop until `condition` holds (or fail after `GENEROUS`).
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + GENEROUS;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        taketurns::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn the_result_arrives_and_was_computed_on_another_thread() {
    let loop_thread = thread::current().id();
    let (value, ran_on) = taketurns::block_on(async {
        spawn_blocking(|| {
            (
                (1..=100u64).map(|i| i * i).sum::<u64>(),
                thread::current().id(),
            )
        })
        .await
        .unwrap()
    });
    assert_eq!(value, 338_350);
    assert_ne!(
        ran_on, loop_thread,
        "the closure must not run on the loop's thread"
    );
}

#[test]
fn the_wake_comes_from_the_helper_thread_and_is_counted_as_remote() {
    let rt = Runtime::new().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let value = rt.block_on(async move {
        let handle = spawn_blocking(move || {
            go_rx
                .recv_timeout(GENEROUS)
                .expect("the loop lets the closure go");
            7
        });
        let id = handle.id();
        // Run the waiting task until it has parked (it is in the waiting list, its waker stored
        // in the completion): only then can the closure's return need a wake.
        until("the blocking task to wait", || {
            taketurns::snapshot().waiting_ids().contains(&id)
        })
        .await;
        let before = taketurns::stats().remote_wakes;
        go_tx.send(()).unwrap();
        let value = handle.await.unwrap();
        assert!(
            taketurns::stats().remote_wakes > before,
            "the helper thread's wake must take the remote path"
        );
        value
    });
    assert_eq!(value, 7);
    assert!(rt.stats().remote_wakes >= 1);
}

#[test]
fn a_panic_in_the_closure_becomes_a_join_error_and_the_loop_goes_on() {
    taketurns::block_on(async {
        let err = spawn_blocking(|| -> u32 { panic!("disk on fire") })
            .await
            .unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"disk on fire"));
        // The pool and the loop both survived: the next call works.
        assert_eq!(spawn_blocking(|| 1 + 1).await.unwrap(), 2);
    });
}

#[test]
fn many_concurrent_calls_all_complete_on_a_bounded_pool() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let total = taketurns::block_on(async {
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(200)); // a blocking call
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..200).sum::<u64>());
    let most = most.load(Ordering::SeqCst);
    assert!(
        (1..=MAX_BLOCKING_THREADS).contains(&most),
        "at most {MAX_BLOCKING_THREADS} closures run at once, saw {most}"
    );
}

#[test]
fn the_loop_keeps_running_other_tasks_while_a_closure_blocks() {
    taketurns::block_on(async {
        let (ticks_tx, ticks_rx) = mpsc::channel::<u32>();
        // The closure returns only once it has heard from a task on the loop: if the loop were
        // blocked by the closure, that message could never be sent.
        let blocking = spawn_blocking(move || {
            let mut heard = Vec::new();
            while heard.len() < 5 {
                match ticks_rx.recv_timeout(GENEROUS) {
                    Ok(n) => heard.push(n),
                    Err(e) => panic!("the loop stopped while the closure waited: {e}"),
                }
            }
            heard
        });
        let heartbeat = taketurns::spawn(async move {
            for n in 0..5 {
                taketurns::time::sleep(Duration::from_millis(1)).await;
                ticks_tx.send(n).unwrap();
            }
        });
        assert_eq!(blocking.await.unwrap(), [0, 1, 2, 3, 4]);
        heartbeat.await.unwrap();
    });
}

#[test]
fn abort_cancels_the_wait_but_a_started_closure_runs_to_the_end() {
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    taketurns::block_on({
        let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
        async move {
            let handle = spawn_blocking({
                let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
                move || {
                    started.store(true, Ordering::SeqCst);
                    go_rx.recv_timeout(GENEROUS).unwrap();
                    finished.store(true, Ordering::SeqCst);
                }
            });
            until("the closure to start", || started.load(Ordering::SeqCst)).await;
            handle.abort();
            let err = handle.await.unwrap_err();
            assert!(err.is_cancelled(), "{err}");
            assert!(!finished.load(Ordering::SeqCst));
            go_tx.send(()).unwrap();
            until("the aborted closure to finish anyway", || {
                finished.load(Ordering::SeqCst)
            })
            .await;
        }
    });
}

#[test]
fn a_queued_closure_whose_wait_was_aborted_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    taketurns::block_on({
        let ran = Arc::clone(&ran);
        async move {
            // Fill every helper thread with a closure that waits for `release`.
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let release_rx = Arc::new(Mutex::new(release_rx));
            let busy = Arc::new(AtomicUsize::new(0));
            let blockers: Vec<_> = (0..MAX_BLOCKING_THREADS)
                .map(|_| {
                    let (release_rx, busy) = (Arc::clone(&release_rx), Arc::clone(&busy));
                    spawn_blocking(move || {
                        busy.fetch_add(1, Ordering::SeqCst);
                        release_rx.lock().unwrap().recv_timeout(GENEROUS).unwrap();
                    })
                })
                .collect();
            until("every helper thread to be busy", || {
                busy.load(Ordering::SeqCst) == MAX_BLOCKING_THREADS
            })
            .await;
            // This one can only queue. Abort its wait before any thread is free.
            let queued = spawn_blocking({
                let ran = Arc::clone(&ran);
                move || ran.store(true, Ordering::SeqCst)
            });
            queued.abort();
            assert!(queued.await.unwrap_err().is_cancelled());
            // Behind it in the queue: one marker per thread, which all wait until all are running.
            // When every thread is inside a marker, the thread that dequeued the aborted closure
            // has finished with it, run or skipped.
            let inside = Arc::new(AtomicUsize::new(0));
            let markers: Vec<_> = (0..MAX_BLOCKING_THREADS)
                .map(|_| {
                    let inside = Arc::clone(&inside);
                    spawn_blocking(move || {
                        inside.fetch_add(1, Ordering::SeqCst);
                        let deadline = Instant::now() + GENEROUS;
                        while inside.load(Ordering::SeqCst) < MAX_BLOCKING_THREADS {
                            assert!(Instant::now() < deadline, "markers never all ran at once");
                            thread::sleep(Duration::from_millis(1));
                        }
                    })
                })
                .collect();
            for _ in 0..MAX_BLOCKING_THREADS {
                release_tx.send(()).unwrap();
            }
            for handle in blockers.into_iter().chain(markers) {
                handle.await.unwrap();
            }
        }
    });
    assert!(
        !ran.load(Ordering::SeqCst),
        "a closure whose wait was cancelled before it started must not run"
    );
}

#[test]
#[should_panic(
    expected = "taketurns::spawn_blocking must be called from inside a taketurns runtime"
)]
fn outside_a_runtime_it_says_what_to_do() {
    drop(spawn_blocking(|| 1));
}
