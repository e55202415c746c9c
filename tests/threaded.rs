//! One test per pitfall of thread-per-task and the thread pool in `taketurns::threaded`.
//!
//! No test sleeps and hopes: jobs that must be running at the same time hold a [`Gate`] that the
//! test opens, and the test waits for a condition with [`wait_until`], which fails loudly after a
//! generous timeout instead of hanging.

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use taketurns::threaded::{self, ThreadPerTask, ThreadPool};

/// How long [`wait_until`] waits before failing the test. Far longer than any condition here
/// should take, even on a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `condition` until it is true, or panics with `what` after [`PATIENCE`].
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A door that jobs wait at until the test opens it. Shared between the test and its jobs.
#[derive(Default)]
struct Gate {
    /// True once the test has opened the gate; never closed again.
    open: Mutex<bool>,
    /// Jobs sleep here until `open` becomes true.
    opened: Condvar,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    /// Blocks until the gate is open, or panics after [`PATIENCE`] so a broken test fails
    /// instead of hanging.
    fn pass(&self) {
        let open = self.open.lock().unwrap();
        let (open, timeout) = self
            .opened
            .wait_timeout_while(open, PATIENCE, |open| !*open)
            .unwrap();
        assert!(*open && !timeout.timed_out(), "the gate was never opened");
    }
}

/// The message of a panic payload: `panic!("literal")` carries a `&'static str`, a formatted
/// `panic!` a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "<not a string>"
    }
}

#[test]
fn thread_per_task_results_come_back_in_the_right_handle() {
    let handles: Vec<_> = (0..8u64)
        .map(|i| threaded::spawn(move || i * i).unwrap())
        .collect();
    for (i, handle) in (0..8u64).zip(handles) {
        assert_eq!(handle.join().unwrap(), i * i);
    }
}

#[test]
fn pool_results_come_back_in_the_right_handle() {
    let pool = ThreadPool::new(3).unwrap();
    let handles: Vec<_> = (0..20u64).map(|i| pool.spawn(move || i * i)).collect();
    for (i, handle) in (0..20u64).zip(handles) {
        assert_eq!(handle.join().unwrap(), i * i);
    }
}

#[test]
fn thread_per_task_panic_comes_back_as_err_and_other_tasks_are_unaffected() {
    let before = threaded::spawn(|| 1).unwrap();
    let bad = threaded::spawn(|| -> u32 { panic!("task {} went wrong", 7) }).unwrap();
    let after = threaded::spawn(|| 2).unwrap();

    let payload = bad.join().unwrap_err();
    assert_eq!(panic_message(&*payload), "task 7 went wrong");
    assert_eq!(before.join().unwrap(), 1);
    assert_eq!(after.join().unwrap(), 2);
}

#[test]
fn pool_job_panic_comes_back_as_err_and_the_same_worker_keeps_serving() {
    // With one worker, "the next job ran" can only mean "the worker survived the panic".
    let pool = ThreadPool::new(1).unwrap();
    let panicked_on = Arc::new(Mutex::new(None));

    let recorder = Arc::clone(&panicked_on);
    let bad = pool.spawn(move || -> u32 {
        *recorder.lock().unwrap() = Some(thread::current().id());
        panic!("job went wrong");
    });
    let good = pool.spawn(|| (thread::current().id(), 42));

    assert_eq!(panic_message(&*bad.join().unwrap_err()), "job went wrong");
    let (served_by, answer) = good.join().unwrap();
    assert_eq!(answer, 42);
    assert_eq!(Some(served_by), *panicked_on.lock().unwrap());
}

#[test]
fn pool_runs_at_most_n_jobs_at_once() {
    const N: usize = 3;
    const JOBS: usize = 10;
    let pool = ThreadPool::new(N).unwrap();
    assert_eq!(pool.size(), N);
    let running = Arc::new(AtomicUsize::new(0));
    let most_running = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();

    let handles: Vec<_> = (0..JOBS)
        .map(|_| {
            let (running, most_running, gate) = (
                Arc::clone(&running),
                Arc::clone(&most_running),
                Arc::clone(&gate),
            );
            pool.spawn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most_running.fetch_max(now, Ordering::SeqCst);
                gate.pass();
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();

    // Every worker is now stuck at the gate. A pool that ignored its size would start the other
    // jobs too, and `most_running` would go past N.
    wait_until("N jobs are running", || running.load(Ordering::SeqCst) == N);
    assert_eq!(pool.queued(), JOBS - N);

    gate.open();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(most_running.load(Ordering::SeqCst), N);
    assert_eq!(pool.queued(), 0);
}

#[test]
fn pool_of_one_runs_jobs_in_fifo_order() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Gate::new();
    let order = Arc::new(Mutex::new(Vec::new()));

    // Hold the only worker, so all the numbered jobs are in the queue together; otherwise a
    // LIFO queue could pass by running each job before the next one is pushed.
    let blocker = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || gate.pass())
    };
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let order = Arc::clone(&order);
            pool.spawn(move || order.lock().unwrap().push(i))
        })
        .collect();
    wait_until("the worker holds the blocker", || pool.queued() == 20);

    gate.open();
    blocker.join().unwrap();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn dropping_the_pool_finishes_queued_jobs_first() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Gate::new();
    let done = Arc::new(AtomicUsize::new(0));

    let blocker = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || gate.pass())
    };
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let done = Arc::clone(&done);
            pool.spawn(move || done.fetch_add(1, Ordering::SeqCst))
        })
        .collect();
    wait_until("the worker holds the blocker", || pool.queued() == 10);

    // The worker needs a moment to wake up behind the gate, so the ten jobs are almost surely
    // still queued when `drop` starts; the assertion holds either way.
    gate.open();
    drop(pool);
    assert_eq!(done.load(Ordering::SeqCst), 10);

    // The handles outlive the pool, and joining them does not hang: their jobs have run.
    blocker.join().unwrap();
    for handle in handles {
        assert!(handle.is_finished());
        handle.join().unwrap();
    }
}

thread_local! {
    /// A worker's clone of the test's token. Thread-local destructors run when the thread exits,
    /// so the clone is released exactly when the worker thread ends.
    static WORKER_TOKEN: RefCell<Option<Arc<()>>> = const { RefCell::new(None) };
}

#[test]
fn shutdown_joins_every_worker_thread() {
    // Counting threads in /proc/self/task would be unreliable here: the test harness runs the
    // other tests on their own threads at the same time. So each worker holds a clone of a
    // token until it exits, and the clone count tells us how many workers are still alive.
    const N: usize = 4;
    let pool = ThreadPool::new(N).unwrap();
    let token = Arc::new(());
    let gate = Gate::new();
    let arrived = Arc::new(AtomicUsize::new(0));

    // N jobs that each wait at the gate occupy all N workers, so every worker gets a clone.
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (token, gate, arrived) =
                (Arc::clone(&token), Arc::clone(&gate), Arc::clone(&arrived));
            pool.spawn(move || {
                WORKER_TOKEN.with(|slot| *slot.borrow_mut() = Some(token));
                arrived.fetch_add(1, Ordering::SeqCst);
                gate.pass();
            })
        })
        .collect();
    wait_until("every worker has a token", || {
        arrived.load(Ordering::SeqCst) == N
    });
    assert_eq!(Arc::strong_count(&token), 1 + N);

    gate.open();
    for handle in handles {
        handle.join().unwrap();
    }
    // Joined jobs are not enough: the workers are still alive, holding their tokens.
    assert_eq!(Arc::strong_count(&token), 1 + N);

    // No polling: `shutdown` returns only after joining each worker, and a joined thread has
    // run its thread-local destructors.
    pool.shutdown();
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn pool_dropped_inside_its_own_job_does_not_join_itself() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let last_owner = Arc::clone(&pool);
    let handle = pool.spawn(move || {
        // Wait until this job holds the only reference, so the drop below is the real one and
        // runs on a worker thread, which must not try to join itself.
        wait_until("the test has dropped its reference", || {
            Arc::strong_count(&last_owner) == 1
        });
        drop(last_owner);
        "survived"
    });
    drop(pool);
    assert_eq!(handle.join().unwrap(), "survived");
}

#[test]
fn is_finished_turns_true_only_after_the_work_is_done() {
    let gate = Gate::new();
    let pool = ThreadPool::new(1).unwrap();

    let in_thread = {
        let gate = Arc::clone(&gate);
        threaded::spawn(move || gate.pass()).unwrap()
    };
    let in_pool = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || gate.pass())
    };
    assert!(!in_thread.is_finished());
    assert!(!in_pool.is_finished());

    gate.open();
    wait_until("the thread has finished", || in_thread.is_finished());
    wait_until("the pool job has finished", || in_pool.is_finished());
    in_thread.join().unwrap();
    in_pool.join().unwrap();
}

#[test]
fn pool_of_zero_threads_is_invalid_input() {
    let err = ThreadPool::new(0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least one"), "{err}");
}

#[test]
fn impossible_stack_size_is_an_error_not_a_panic() {
    // Half the 64-bit address space: far more than any machine can map (Linux gives a process
    // 128 TiB of user address space), so thread creation fails with an error, never a panic.
    let result = ThreadPerTask::new()
        .stack_size(usize::MAX / 2)
        .spawn(|| unreachable!("this thread must never start"));
    assert!(result.is_err());
}

#[test]
fn small_stack_thread_runs() {
    let small = ThreadPerTask::new().stack_size(64 * 1024);
    let handles: Vec<_> = (0..4)
        .map(|i| small.spawn(move || i + 1).unwrap())
        .collect();
    let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 10);
}
