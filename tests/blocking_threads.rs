//! The blocking pool's threads, counted from `/proc/self/task`: started lazily, never more than
//! the cap, and all gone after the runtime is dropped (idle ones at once, a busy one when its
//! closure returns).
//!
//! This file holds a single test on purpose: tests in one binary run on parallel threads, and a
//! second test's pool would change the count. Only threads named `taketurns-block` (the first 15
//! bytes of `BLOCKING_THREAD_NAME`, which is what Linux keeps) are counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use taketurns::blocking::{BLOCKING_THREAD_NAME, MAX_BLOCKING_THREADS};
use taketurns::{Runtime, spawn_blocking};

const GENEROUS: Duration = Duration::from_secs(20);

/// Threads of this process whose name is the blocking pool's (as the kernel truncates it).
fn pool_threads() -> usize {
    let comm = &BLOCKING_THREAD_NAME[..15];
    std::fs::read_dir("/proc/self/task")
        .expect("Linux /proc")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == comm)
        .count()
}

/// Poll (from outside any runtime) until `condition` holds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + GENEROUS;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn pool_threads_are_lazy_bounded_and_gone_after_the_runtime_is_dropped() {
    assert_eq!(
        pool_threads(),
        0,
        "no thread before the first spawn_blocking"
    );

    // 1. Lazy, and gone after drop.
    let rt = Runtime::new().unwrap();
    assert_eq!(
        pool_threads(),
        0,
        "creating a runtime starts no helper thread"
    );
    rt.block_on(async {
        let handles: Vec<_> = (0..4).map(|i| spawn_blocking(move || i * 2)).collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i * 2);
        }
    });
    // Idle threads stay for the keep-alive (10 s), so they are still there...
    assert!(pool_threads() >= 1);
    drop(rt);
    // ...until the runtime goes.
    wait_until("idle helper threads to exit after the drop", || {
        pool_threads() == 0
    });

    // 2. Bounded: 40 closures that all block give exactly the cap of threads.
    let rt = Runtime::new().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let started = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = rt.block_on(async {
        (0..40)
            .map(|_| {
                let (release_rx, started) = (Arc::clone(&release_rx), Arc::clone(&started));
                spawn_blocking(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    release_rx.lock().unwrap().recv_timeout(GENEROUS).unwrap();
                })
            })
            .collect()
    });
    wait_until("the first closures to start", || {
        started.load(Ordering::SeqCst) == MAX_BLOCKING_THREADS
    });
    assert_eq!(pool_threads(), MAX_BLOCKING_THREADS);
    for _ in 0..40 {
        release_tx.send(()).unwrap();
    }
    rt.block_on(async {
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(started.load(Ordering::SeqCst), 40);
    assert!(pool_threads() <= MAX_BLOCKING_THREADS);

    // 3. Dropping the runtime does not wait for a running closure; its thread exits after it.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (began_tx, began_rx) = mpsc::channel::<()>();
    rt.block_on(async move {
        // Detached: nobody awaits it.
        drop(spawn_blocking(move || {
            began_tx.send(()).unwrap();
            go_rx.recv_timeout(GENEROUS).unwrap();
        }));
        taketurns::yield_now().await;
    });
    began_rx.recv_timeout(GENEROUS).unwrap();
    drop(rt);
    wait_until("the idle threads to exit", || pool_threads() == 1);
    go_tx.send(()).unwrap();
    wait_until("the busy thread to exit once its closure returned", || {
        pool_threads() == 0
    });
}
