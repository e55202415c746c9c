//! One test per defect a review of the core found: a waiter evicted by a second task on the same
//! socket, panics of destructors and outputs escaping the loop, a borrow held while user code
//! runs, a `Sleep` moved to another runtime, and tracing changing the schedule it draws.
//!
//! Each of these failed (or hung, or panicked) against the core before the fix. Tests that could
//! hang if the defect came back run under a watchdog that aborts the process with a message.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::future::poll_fn;
use taketurns::net::{TcpListener, TcpStream};
use taketurns::time::{sleep, timeout};
use taketurns::{Dropped, Runtime, Warning, WarningKind, spawn, yield_now};

mod support;
use support::watchdog::watchdog;

/// A runtime whose warnings are collected instead of printed.
fn runtime_collecting_warnings() -> (Runtime, Rc<RefCell<Vec<Warning>>>) {
    let warnings = Rc::new(RefCell::new(Vec::new()));
    let sink = warnings.clone();
    let rt = Runtime::builder()
        .on_warning(move |w| sink.borrow_mut().push(w.clone()))
        .build()
        .unwrap();
    (rt, warnings)
}

/// Counts how many times it was dropped; panics when dropped if `panic` is set.
struct DropProbe {
    /// Shared count of drops.
    drops: Rc<Cell<u32>>,
    /// Panic in `drop`.
    panic: bool,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if self.panic {
            panic!("probe destructor");
        }
    }
}

fn destructor_warnings(warnings: &RefCell<Vec<Warning>>) -> Vec<(Dropped, Option<String>)> {
    warnings
        .borrow()
        .iter()
        .filter_map(|w| match &w.kind {
            WarningKind::DestructorPanicked { what, message } => Some((*what, message.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Several waiters on one socket direction
// ---------------------------------------------------------------------------------------------

#[test]
fn a_second_waiter_on_a_listener_does_not_strand_the_first() {
    let _watchdog = watchdog();
    taketurns::block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let first = spawn({
            let listener = listener.clone();
            async move { listener.accept().await.map(|(_, peer)| peer) }
        });
        yield_now().await; // the first task parks in accept
        // A second task waits on the same listener, gives up, and leaves.
        let gave_up = timeout(Duration::from_millis(20), listener.accept()).await;
        assert!(gave_up.is_err(), "nobody has connected yet");
        let client = TcpStream::connect(addr).await.unwrap();
        let peer = first.await.unwrap().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    });
}

#[test]
fn every_task_sharing_a_listener_gets_a_connection() {
    let _watchdog = watchdog();
    taketurns::block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let acceptors: Vec<_> = (0..3)
            .map(|_| {
                let listener = listener.clone();
                spawn(async move { listener.accept().await.unwrap() })
            })
            .collect();
        yield_now().await; // all three park on the listener's read direction
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut peers = Vec::new();
        for acceptor in acceptors {
            peers.push(acceptor.await.unwrap().1);
        }
        peers.sort();
        let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        expected.sort();
        assert_eq!(peers, expected);
    });
}

// ---------------------------------------------------------------------------------------------
// Panics from destructors and outputs
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_a_runtime_survives_a_panicking_destructor_and_drops_every_future() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    for i in 0..5 {
        let probe = DropProbe {
            drops: drops.clone(),
            panic: i == 2,
        };
        rt.spawn(async move {
            let _probe = probe;
            std::future::pending::<()>().await;
        });
    }
    rt.block_on(yield_now()); // every task parks
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    assert!(dropped.is_ok(), "the panic must not escape Runtime::drop");
    assert_eq!(
        drops.get(),
        5,
        "every future is dropped, the panicking one too"
    );
    assert_eq!(
        destructor_warnings(&warnings),
        vec![(Dropped::Future, Some("probe destructor".to_owned()))]
    );
}

#[test]
fn a_detached_tasks_output_that_panics_on_drop_does_not_unwind_into_block_on() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let probe = DropProbe {
                drops: drops.clone(),
                panic: true,
            };
            drop(spawn(async move { probe })); // detached: nobody takes the output
            for _ in 0..3 {
                yield_now().await;
            }
            "block_on went on"
        })
    }));
    assert_eq!(result.ok(), Some("block_on went on"));
    assert_eq!(drops.get(), 1);
    assert_eq!(
        destructor_warnings(&warnings),
        vec![(Dropped::Output, Some("probe destructor".to_owned()))]
    );
}

#[test]
fn dropping_the_handle_of_a_finished_task_whose_output_panics_is_caught() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    rt.block_on(async {
        let probe = DropProbe {
            drops: drops.clone(),
            panic: true,
        };
        let handle = spawn(async move { probe });
        yield_now().await; // the task finishes; its output waits in the slot
        assert!(handle.is_finished());
        drop(handle);
    });
    assert_eq!(drops.get(), 1);
    assert_eq!(destructor_warnings(&warnings).len(), 1);
}

#[test]
fn a_future_that_panics_when_dropped_after_completing_keeps_its_output() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    let output = rt.block_on(async {
        let probe = DropProbe {
            drops: drops.clone(),
            panic: true,
        };
        // Dropped with the future, after it returned 7 (an `async` block would drop its locals
        // inside its last poll instead).
        spawn(ReadyHolding { _probe: probe }).await
    });
    assert_eq!(output.unwrap(), 7);
    assert_eq!(
        destructor_warnings(&warnings),
        vec![(Dropped::Future, Some("probe destructor".to_owned()))]
    );
}

/// A future that is ready at once with 7 and keeps its probe until it is dropped.
struct ReadyHolding {
    /// Dropped with the future.
    _probe: DropProbe,
}

impl Future for ReadyHolding {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(7)
    }
}

#[test]
fn aborting_a_detached_task_whose_destructor_panics_is_reported() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    rt.block_on(async {
        let probe = DropProbe {
            drops: drops.clone(),
            panic: true,
        };
        let handle = spawn(async move {
            let _probe = probe;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        handle.abort(); // the JoinHandle holds the panic...
        let joined = handle.await;
        assert!(joined.unwrap_err().is_panic());
    });
    assert!(
        destructor_warnings(&warnings).is_empty(),
        "...so no warning"
    );
    assert_eq!(drops.get(), 1);
}

// ---------------------------------------------------------------------------------------------
// No borrow held while user code runs
// ---------------------------------------------------------------------------------------------

/// A waker whose destructor runs `on_drop`: user code that may call back into the runtime.
struct CallbackWaker {
    /// Called once, when the last clone of the waker is dropped.
    on_drop: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Wake for CallbackWaker {
    fn wake(self: Arc<Self>) {}
}

impl Drop for CallbackWaker {
    fn drop(&mut self) {
        if let Some(callback) = self.on_drop.lock().unwrap().take() {
            callback();
        }
    }
}

fn callback_waker(on_drop: impl FnOnce() + Send + 'static) -> Waker {
    Waker::from(Arc::new(CallbackWaker {
        on_drop: Mutex::new(Some(Box::new(on_drop))),
    }))
}

thread_local! {
    /// A registered sleep for a waker's destructor to drop (a `Sleep` cannot leave its thread,
    /// and wakers must be `Send`).
    static STASHED_SLEEP: RefCell<Option<Pin<Box<taketurns::time::Sleep>>>> =
        const { RefCell::new(None) };
}

/// Poll `future` once with `waker`.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

#[test]
fn a_timer_waker_dropped_at_shutdown_may_use_the_timers() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        // `inner` is registered with the runtime's timers; the waker of `outer`'s entry owns it,
        // so dropping that entry's waker unregisters `inner`: it borrows the timers.
        let mut inner = Box::pin(sleep(Duration::from_secs(3600)));
        poll_fn(|cx| {
            let _ = inner.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        STASHED_SLEEP.with(|stash| *stash.borrow_mut() = Some(inner));
        let waker = callback_waker(|| drop(STASHED_SLEEP.with(|stash| stash.borrow_mut().take())));
        let mut outer = Box::pin(sleep(Duration::from_secs(3600)));
        assert!(poll_once(outer.as_mut(), &waker).is_pending());
        drop(waker);
        // Leave `outer`'s entry (and so the waker) in the timer list for shutdown to drop.
        std::mem::forget(outer);
    });
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    assert!(
        dropped.is_ok(),
        "the timer list must not be borrowed while its wakers drop"
    );
}

#[test]
fn a_join_waker_dropped_by_detach_may_use_the_runtime() {
    let seen = Arc::new(Mutex::new(None));
    taketurns::block_on(async {
        let mut handle = spawn(std::future::pending::<()>());
        let waker = callback_waker({
            let seen = seen.clone();
            move || *seen.lock().unwrap() = Some(taketurns::snapshot().waiting.len())
        });
        assert!(poll_once(Pin::new(&mut handle), &waker).is_pending());
        drop(waker); // the handle's slot holds the only clone now
        yield_now().await;
        drop(handle); // detach: the join waker is dropped, and its destructor reads the lists
    });
    assert_eq!(
        *seen.lock().unwrap(),
        Some(1),
        "the destructor ran and saw one waiting task"
    );
}

#[test]
fn a_trace_clock_may_use_the_runtime() {
    let inside = Rc::new(Cell::new(false));
    let clock_start = std::time::Instant::now();
    let rt = Runtime::builder()
        .trace(true)
        .trace_clock({
            let inside = inside.clone();
            move || {
                if inside.get() {
                    let _ = taketurns::snapshot(); // user code that borrows the task table
                }
                clock_start.elapsed()
            }
        })
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        inside.set(true);
        let task = spawn(async { 41 });
        let answer = task.await.unwrap() + 1;
        inside.set(false);
        answer
    });
    assert_eq!(answer, 42);
}

// ---------------------------------------------------------------------------------------------
// Timers belong to the runtime that polls them
// ---------------------------------------------------------------------------------------------

#[test]
fn a_sleep_moved_to_another_runtime_fires_there() {
    let _watchdog = watchdog();
    let first = Runtime::new().unwrap();
    let mut nap = Box::pin(sleep(Duration::from_millis(30)));
    first.block_on(poll_fn(|cx| {
        assert!(nap.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    }));
    assert_eq!(first.stats().timers_pending, 1);
    let second = Runtime::new().unwrap();
    second.block_on(nap); // hangs if the sleep only waited for the first runtime's entry
    assert_eq!(second.stats().timers_fired, 1);
    // The first runtime is not running while the second polls, so the old entry cannot be taken
    // out of its list then: it stays until it fires there, waking nobody who still waits.
    assert_eq!(first.stats().timers_pending, 1);
    first.block_on(sleep(Duration::from_millis(1)));
    assert_eq!(
        first.stats().timers_pending,
        0,
        "the old entry fired and left"
    );
}

// ---------------------------------------------------------------------------------------------
// Tracing draws the schedule without changing it
// ---------------------------------------------------------------------------------------------

/// Three ready tasks; the first hands its waker to a thread that wakes it and drops the clone
/// before the first task's poll returns. The others yield. Returns the order of the polls.
fn poll_order(traced: bool) -> Vec<&'static str> {
    let rt = Runtime::builder()
        .trace(traced)
        .on_warning(|_| {})
        .build()
        .unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    rt.block_on({
        let order = order.clone();
        async move {
            let a = spawn({
                let order = order.clone();
                let mut woken_from_afar = false;
                poll_fn(move |cx| {
                    order.borrow_mut().push("a");
                    if woken_from_afar {
                        return Poll::Ready(());
                    }
                    woken_from_afar = true;
                    let waker = cx.waker().clone();
                    // Woken, and the clone dropped, before this poll returns Pending.
                    thread::spawn(move || waker.wake()).join().unwrap();
                    Poll::Pending
                })
            });
            let others: Vec<_> = ["b", "c"]
                .into_iter()
                .map(|name| {
                    let order = order.clone();
                    spawn(async move {
                        order.borrow_mut().push(name);
                        yield_now().await;
                        order.borrow_mut().push(name);
                    })
                })
                .collect();
            a.await.unwrap();
            for other in others {
                other.await.unwrap();
            }
        }
    });
    order.take()
}

#[test]
fn tracing_does_not_change_the_order_of_polls() {
    let untraced = poll_order(false);
    assert_eq!(untraced, ["a", "b", "c", "b", "c", "a"]);
    assert_eq!(poll_order(true), untraced);
}

// ---------------------------------------------------------------------------------------------
// A task woken from another thread again and again is queued once
// ---------------------------------------------------------------------------------------------

#[test]
fn a_task_woken_many_times_from_another_thread_is_polled_once_for_them() {
    let _watchdog = watchdog();
    let polls = Rc::new(Cell::new(0));
    let rt = Runtime::new().unwrap();
    let wakes = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let (send_waker, receive_waker) = mpsc::channel::<Waker>();
        let task = spawn({
            let polls = polls.clone();
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                if polls.get() == 2 {
                    return Poll::Ready(());
                }
                send_waker.send(cx.waker().clone()).unwrap();
                Poll::Pending
            })
        });
        yield_now().await; // the task parks and sends its waker
        let waker = receive_waker.recv().unwrap();
        // The loop is busy (this future does not return) while another thread wakes the task
        // 100,000 times: every wake after the first finds it in the inbox already.
        let wakes = wakes.clone();
        thread::spawn(move || {
            for _ in 0..100_000 {
                waker.wake_by_ref();
                wakes.fetch_add(1, Ordering::Relaxed);
            }
        })
        .join()
        .unwrap();
        task.await.unwrap();
    });
    assert_eq!(polls.get(), 2);
    assert_eq!(rt.stats().remote_wakes, 100_000);
    assert_eq!(wakes.load(Ordering::Relaxed), 100_000);
}

#[test]
fn a_runtime_dropped_while_unwinding_still_drops_every_future() {
    let drops = Rc::new(Cell::new(0));
    let (rt, warnings) = runtime_collecting_warnings();
    for i in 0..3 {
        let probe = DropProbe {
            drops: drops.clone(),
            panic: i == 1,
        };
        rt.spawn(async move {
            let _probe = probe;
            std::future::pending::<()>().await;
        });
    }
    rt.block_on(yield_now());
    // The runtime is dropped by the unwinding of another panic; a destructor panicking then
    // would abort the process if it escaped.
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _rt = rt;
        panic!("the program fails while the runtime is alive");
    }));
    assert!(unwound.is_err());
    assert_eq!(drops.get(), 3);
    assert_eq!(destructor_warnings(&warnings).len(), 1);
}
