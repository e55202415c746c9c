//! One test per pitfall of the core loop: the ready queue, the waiting list, wakers, the tick,
//! JoinHandles, aborts, panics and shutdown.
//!
//! Every test can fail if its behaviour breaks. None sleeps and hopes: the order of events is
//! fixed by the loop's own rules (a task spawned or woken goes to the back of the ready queue; a
//! `yield_now` in the `block_on` future lets every ready task run once), cross-thread handshakes
//! use channels and condition polling, and a test that could hang if a wake were lost runs under a
//! [`Watchdog`] that aborts the process with a message instead of stalling CI.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use futures::future::{Either, pending, poll_fn, select};
use taketurns::time::sleep;
use taketurns::{JoinHandle, Runtime, WaitReason, spawn, yield_now};

mod support;
use support::watchdog::watchdog;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// How long a condition may take before a test gives up. Far longer than anything here needs,
/// even on a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `condition` until it is true; false if [`PATIENCE`] runs out first.
fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

/// `taketurns::block_on` under a [`Watchdog`].
fn run<F: Future>(future: F) -> F::Output {
    let _watchdog = watchdog();
    taketurns::block_on(future)
}

/// Counts how many times it is dropped: put one inside a future to see when the future goes.
struct DropCount(Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A hand-written wait on the loop's thread: the future stores the task's waker in `waker` and
/// stays pending until `open` is set. Counts its polls.
#[derive(Default)]
struct Gate {
    /// Set by [`Gate::open`]; the waiting future completes at its next poll.
    open: Cell<bool>,
    /// The waker of the latest poll, as a leaf future must keep it.
    waker: RefCell<Option<Waker>>,
    /// How many times the waiting future was polled.
    polls: Cell<usize>,
}

impl Gate {
    fn new() -> Rc<Gate> {
        Rc::default()
    }

    /// A future that completes once the gate is open.
    fn wait(self: &Rc<Self>) -> impl Future<Output = ()> + 'static {
        let gate = self.clone();
        poll_fn(move |cx| {
            gate.polls.set(gate.polls.get() + 1);
            if gate.open.get() {
                return Poll::Ready(());
            }
            *gate.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Wake the waiting task without opening the gate.
    fn wake(&self) {
        self.waker
            .borrow()
            .as_ref()
            .expect("the gate was polled")
            .wake_by_ref();
    }

    /// Open the gate and wake the waiting task.
    fn open(&self) {
        self.open.set(true);
        self.wake();
    }
}

/// What a [`remote_flag`] future hands to another thread: set the flag, then wake.
type RemoteWake = (Arc<AtomicBool>, Waker);

/// A future that sends its flag and waker to another thread once, and completes when that thread
/// has set the flag.
fn remote_flag(to: mpsc::Sender<RemoteWake>) -> impl Future<Output = ()> {
    let flag = Arc::new(AtomicBool::new(false));
    let mut sent = false;
    poll_fn(move |cx| {
        if flag.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if !sent {
            sent = true;
            to.send((flag.clone(), cx.waker().clone()))
                .expect("the waking thread is alive");
        }
        Poll::Pending
    })
}

/// A waker that only counts its wakes: stands for "some other context" that polled a future first.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs a closure when dropped: a destructor that does things (spawn, wake, panic).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
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

/// This thread's id as the kernel knows it, from `/proc/thread-self` (a link to `PID/task/TID`).
fn kernel_thread_id() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("Linux /proc");
    let tid = link.file_name().expect("PID/task/TID");
    tid.to_string_lossy().into_owned()
}

/// True when thread `tid` of this process is blocked (state `S`), and, where the kernel tells,
/// blocked in epoll.
fn thread_is_blocked_in_epoll(tid: &str) -> bool {
    let dir = format!("/proc/self/task/{tid}");
    let Ok(stat) = std::fs::read_to_string(format!("{dir}/stat")) else {
        return false;
    };
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    let state = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .next();
    // `wchan` reads "0" where the kernel hides it; then the state alone has to do.
    let wchan = std::fs::read_to_string(format!("{dir}/wchan")).unwrap_or_default();
    state == Some("S") && (wchan == "0" || wchan.is_empty() || wchan.contains("epoll"))
}

/// CPU time (user + system) this thread has used, from `/proc/thread-self/stat`.
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    // proc(5) fields 14 (utime) and 15 (stime); `state`, field 3, is fields[0] here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Counted in USER_HZ, which Linux fixes at 100 for user space.
    Duration::from_millis(ticks * 10)
}

// ---------------------------------------------------------------------------------------------
// The ready queue is FIFO
// ---------------------------------------------------------------------------------------------

#[test]
fn ready_queue_runs_tasks_in_spawn_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    run(async {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let log = log.clone();
                spawn(async move { log.borrow_mut().push(i) })
            })
            .collect();
        // Before the first tick the ready queue holds the tasks in spawn order.
        let ids: Vec<_> = handles.iter().map(JoinHandle::id).collect();
        assert_eq!(taketurns::snapshot().ready, ids);
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), [0, 1, 2, 3]);
}

#[test]
fn yield_now_sends_task_to_the_back_of_the_queue() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen_by_b = Rc::new(RefCell::new(None));
    run(async {
        let a = spawn({
            let log = log.clone();
            async move {
                log.borrow_mut().push("a1");
                yield_now().await;
                log.borrow_mut().push("a2");
            }
        });
        let b = spawn({
            let (log, seen_by_b) = (log.clone(), seen_by_b.clone());
            async move {
                log.borrow_mut().push("b");
                *seen_by_b.borrow_mut() = Some(taketurns::snapshot());
            }
        });
        let c = spawn({
            let log = log.clone();
            async move { log.borrow_mut().push("c") }
        });
        let (a_id, b_id, c_id) = (a.id(), b.id(), c.id());
        a.await.unwrap();
        b.await.unwrap();
        c.await.unwrap();

        // While b ran, a had yielded: it waited behind c.
        let snapshot = seen_by_b.borrow_mut().take().unwrap();
        assert_eq!(snapshot.running, Some(b_id));
        assert_eq!(snapshot.ready, [c_id, a_id]);
    });
    assert_eq!(*log.borrow(), ["a1", "b", "c", "a2"]);
}

// ---------------------------------------------------------------------------------------------
// The waiting list and wakes
// ---------------------------------------------------------------------------------------------

#[test]
fn pending_task_waits_in_the_waiting_list_until_woken() {
    run(async {
        let gate = Gate::new();
        let task = spawn(gate.wait());
        yield_now().await; // the task runs once and parks

        let snapshot = taketurns::snapshot();
        assert_eq!(snapshot.waiting_ids(), [task.id()]);
        assert_eq!(snapshot.waiting[0].1, WaitReason::Other);
        assert!(snapshot.ready.is_empty());

        yield_now().await; // nobody woke it: it is not polled again
        assert_eq!(gate.polls.get(), 1);
        assert_eq!(taketurns::snapshot().waiting_ids(), [task.id()]);

        gate.open();
        let snapshot = taketurns::snapshot();
        assert!(snapshot.waiting.is_empty());
        assert_eq!(snapshot.ready, [task.id()]);
        task.await.unwrap();
        assert_eq!(gate.polls.get(), 2);
    });
}

#[test]
fn woken_many_times_is_queued_once_and_polled_once() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let gate = Gate::new();
    rt.block_on(async {
        let parked = spawn(gate.wait());
        let waker = spawn({
            let gate = gate.clone();
            async move {
                gate.open.set(true);
                for _ in 0..5 {
                    gate.wake();
                }
                taketurns::snapshot().ready
            }
        });
        let ready_after_wakes = waker.await.unwrap();
        assert_eq!(ready_after_wakes, [parked.id()]);
        parked.await.unwrap();
    });
    assert_eq!(
        gate.polls.get(),
        2,
        "one poll to park, one after the five wakes"
    );
    assert_eq!(rt.stats().polls, 3, "parked task twice, waking task once");
}

#[test]
fn woken_during_its_own_poll_is_requeued_once() {
    run(async {
        let polls = Rc::new(Cell::new(0));
        let task = spawn({
            let polls = polls.clone();
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                if polls.get() > 1 {
                    return Poll::Ready(());
                }
                for _ in 0..3 {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            })
        });
        yield_now().await;
        assert_eq!(taketurns::snapshot().ready, [task.id()]);
        task.await.unwrap();
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn wake_after_completion_is_ignored() {
    run(async {
        let kept: Rc<RefCell<Option<Waker>>> = Rc::default();
        let task = spawn({
            let kept = kept.clone();
            poll_fn(move |cx| {
                *kept.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(7)
            })
        });
        yield_now().await; // it runs and finishes; its output waits for the handle
        let polls = taketurns::stats().polls;

        kept.borrow().as_ref().unwrap().wake_by_ref();
        assert!(taketurns::snapshot().ready.is_empty());
        yield_now().await;
        assert_eq!(
            taketurns::stats().polls,
            polls,
            "a finished task was polled again"
        );
        assert_eq!(task.await.unwrap(), 7);
    });
}

#[test]
fn stale_waker_after_slot_reuse_is_ignored() {
    run(async {
        let kept: Rc<RefCell<Option<Waker>>> = Rc::default();
        let old = spawn({
            let kept = kept.clone();
            poll_fn(move |cx| {
                *kept.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(())
            })
        });
        old.await.unwrap(); // joined: its slot is free

        // The only task now, so it takes the freed slot.
        let gate = Gate::new();
        let new = spawn(gate.wait());
        yield_now().await;
        assert_eq!(gate.polls.get(), 1);

        kept.borrow_mut().take().unwrap().wake(); // the old task's waker
        assert!(taketurns::snapshot().ready.is_empty());
        assert_eq!(taketurns::snapshot().waiting_ids(), [new.id()]);
        yield_now().await;
        assert_eq!(
            gate.polls.get(),
            1,
            "a stale waker polled the slot's new task"
        );

        gate.open();
        new.await.unwrap();
        assert_eq!(gate.polls.get(), 2);
    });
}

#[test]
fn wake_after_abort_is_ignored() {
    run(async {
        let gate = Gate::new();
        let task = spawn(gate.wait());
        yield_now().await;
        task.abort();

        gate.open(); // wakes the aborted task's waker
        assert!(taketurns::snapshot().ready.is_empty());
        yield_now().await;
        assert_eq!(gate.polls.get(), 1, "an aborted task was polled");
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn finished_future_is_never_polled_again() {
    run(async {
        let kept: Rc<RefCell<Option<Waker>>> = Rc::default();
        let mut done = false;
        let task = spawn({
            let kept = kept.clone();
            poll_fn(move |cx| {
                assert!(!done, "polled after it returned Ready");
                done = true;
                *kept.borrow_mut() = Some(cx.waker().clone());
                // A wake during the very poll that completes must not queue it again either.
                cx.waker().wake_by_ref();
                Poll::Ready(())
            })
        });
        yield_now().await;
        for _ in 0..3 {
            kept.borrow().as_ref().unwrap().wake_by_ref();
            yield_now().await;
        }
        assert_eq!(taketurns::stats().polls, 1);
        task.await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// Stale wakers: leaf futures keep the waker of their latest poll
// ---------------------------------------------------------------------------------------------

#[test]
fn sleep_keeps_the_latest_waker_when_moved_into_select() {
    run(async {
        let first = Arc::new(CountingWaker::default());
        let mut nap = sleep(Duration::from_millis(20));
        // First poll with another waker, as a combinator or an earlier owner might.
        let first_waker = Waker::from(first.clone());
        let poll = Pin::new(&mut nap).poll(&mut Context::from_waker(&first_waker));
        assert!(poll.is_pending());

        // Now this task polls it. If the timer kept the first waker, only the rescue ends this.
        let start = Instant::now();
        let rescue = sleep(Duration::from_secs(5));
        let winner = select(nap, rescue).await;
        assert!(matches!(winner, Either::Left(_)));
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "the sleep woke the old waker; only the 5 s rescue timer ended the wait"
        );
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn join_handle_keeps_the_latest_waker_when_moved_into_select() {
    run(async {
        let gate = Gate::new();
        let mut task = spawn(gate.wait());
        yield_now().await; // the task parks

        let first = Arc::new(CountingWaker::default());
        let first_waker = Waker::from(first.clone());
        let poll = Pin::new(&mut task).poll(&mut Context::from_waker(&first_waker));
        assert!(poll.is_pending());

        // Another task finishes it once this task is waiting in the select below.
        let opener = spawn({
            let gate = gate.clone();
            async move { gate.open() }
        });
        let start = Instant::now();
        let rescue = sleep(Duration::from_secs(5));
        let winner = select(&mut task, rescue).await;
        assert!(matches!(winner, Either::Left((Ok(()), _))));
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "the JoinHandle woke the old waker; only the 5 s rescue timer ended the wait"
        );
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        opener.await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// Wakes from other threads
// ---------------------------------------------------------------------------------------------

#[test]
fn wakers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Waker>();
    // And a task's own waker really crosses threads (compile-time bounds say nothing about
    // whether a wake from there works; the tests below check that).
    let waker = run(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
    thread::spawn(move || waker.wake()).join().unwrap();
}

#[test]
fn remote_wake_wakes_sleeping_loop() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let loop_thread = kernel_thread_id();
    let (to_waker, from_task) = mpsc::channel::<RemoteWake>();
    let waking_thread = thread::spawn(move || {
        let (flag, waker) = from_task.recv().unwrap();
        // Wake only once the loop is asleep; wake anyway if it never is, so the test fails
        // instead of hanging.
        let was_asleep = wait_until(|| thread_is_blocked_in_epoll(&loop_thread));
        flag.store(true, Ordering::SeqCst);
        let woke_at = Instant::now();
        waker.wake();
        (was_asleep, woke_at)
    });

    rt.block_on(async { spawn(remote_flag(to_waker)).await.unwrap() });
    let done_at = Instant::now();

    let (was_asleep, woke_at) = waking_thread.join().unwrap();
    assert!(was_asleep, "the loop never went to sleep in epoll_wait");
    let latency = done_at.saturating_duration_since(woke_at);
    assert!(
        latency < Duration::from_secs(5),
        "took {latency:?} to notice"
    );
    let stats = rt.stats();
    assert!(stats.remote_wakes >= 1, "{stats}");
    assert!(stats.sleeps >= 1, "{stats}");
}

/// A thread that answers every [`RemoteWake`] at once, racing the loop on its way to sleep.
fn spawn_immediate_waker() -> (mpsc::Sender<RemoteWake>, thread::JoinHandle<()>) {
    let (to_waker, requests) = mpsc::channel::<RemoteWake>();
    let thread = thread::spawn(move || {
        for (flag, waker) in requests {
            flag.store(true, Ordering::SeqCst);
            waker.wake();
        }
    });
    (to_waker, thread)
}

#[test]
fn no_lost_wakeup_when_another_thread_wakes_a_task_as_the_loop_sleeps() {
    const ROUNDS: usize = 2_000;
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let (to_waker, waking_thread) = spawn_immediate_waker();
    rt.block_on(async {
        spawn(async move {
            for _ in 0..ROUNDS {
                remote_flag(to_waker.clone()).await;
            }
        })
        .await
        .unwrap();
    });
    waking_thread.join().unwrap();
    assert_eq!(rt.stats().remote_wakes, ROUNDS as u64);
}

#[test]
fn no_lost_wakeup_when_another_thread_wakes_block_on_as_the_loop_sleeps() {
    const ROUNDS: usize = 2_000;
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let (to_waker, waking_thread) = spawn_immediate_waker();
    rt.block_on(async move {
        for _ in 0..ROUNDS {
            remote_flag(to_waker.clone()).await;
        }
    });
    waking_thread.join().unwrap();
    assert_eq!(rt.stats().remote_wakes, ROUNDS as u64);
}

#[test]
fn wake_between_block_on_calls_is_not_lost() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let gate = Gate::new();
    let task = rt.spawn(gate.wait());
    rt.block_on(yield_now()); // the task runs once and parks
    gate.open(); // on the loop's thread, but no loop is running: the remote path
    assert_eq!(rt.stats().remote_wakes, 1);
    rt.block_on(task).unwrap();
    assert_eq!(gate.polls.get(), 2);
}

#[test]
fn idle_loop_sleeps_instead_of_spinning() {
    const IDLE: Duration = Duration::from_millis(300);
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let (to_waker, from_task) = mpsc::channel::<RemoteWake>();
    let waking_thread = thread::spawn(move || {
        let (flag, waker) = from_task.recv().unwrap();
        thread::sleep(IDLE); // the loop has nothing to do for this long
        flag.store(true, Ordering::SeqCst);
        waker.wake();
    });

    let (wall_start, cpu_start) = (Instant::now(), thread_cpu_time());
    rt.block_on(remote_flag(to_waker));
    let (wall, cpu) = (wall_start.elapsed(), thread_cpu_time() - cpu_start);
    waking_thread.join().unwrap();

    assert!(wall >= IDLE);
    assert!(
        cpu < Duration::from_millis(100),
        "the loop burned {cpu:?} of CPU in {wall:?} of waiting: it spins instead of sleeping"
    );
    assert!(rt.stats().sleeps >= 1);
}

#[test]
fn local_wake_takes_the_fast_path() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let gate = Gate::new();
    rt.block_on(async {
        let parked = spawn(gate.wait());
        yield_now().await;
        let before = taketurns::stats();
        let opener = spawn({
            let gate = gate.clone();
            async move { gate.open() }
        });
        opener.await.unwrap();
        let after = taketurns::stats();
        assert!(after.local_wakes > before.local_wakes);
        parked.await.unwrap();
    });
    assert_eq!(rt.stats().remote_wakes, 0);
}

#[test]
fn remote_wake_is_not_counted_as_a_local_wake() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let (to_waker, waking_thread) = spawn_immediate_waker();
    rt.block_on(async { spawn(remote_flag(to_waker)).await.unwrap() });
    waking_thread.join().unwrap();
    let stats = rt.stats();
    assert_eq!(stats.remote_wakes, 1, "{stats}");
    // The one local wake is the finished task waking the block_on future that awaits it.
    assert_eq!(stats.local_wakes, 1, "{stats}");
}

// ---------------------------------------------------------------------------------------------
// Re-entrancy: tasks use the runtime while it polls them
// ---------------------------------------------------------------------------------------------

#[test]
fn spawn_wake_abort_and_join_from_inside_a_task() {
    run(async {
        let gate = Gate::new();
        let parked = spawn(gate.wait());
        let victim_drops = Rc::new(Cell::new(0));
        let victim = spawn({
            let guard = DropCount(victim_drops.clone());
            async move {
                let _guard = guard;
                pending::<()>().await;
            }
        });
        yield_now().await; // both park

        let outer = spawn({
            let (gate, victim_drops) = (gate.clone(), victim_drops.clone());
            async move {
                let child = spawn(async { 40 });
                gate.open();
                victim.abort();
                assert_eq!(victim_drops.get(), 1);
                let snapshot = taketurns::snapshot();
                assert_eq!(snapshot.ready, [child.id(), parked.id()]);
                let _ = taketurns::stats();
                let detached = spawn(async {});
                drop(detached);
                assert!(!child.is_finished());
                let answer = child.await.unwrap();
                parked.await.unwrap();
                assert!(victim.await.unwrap_err().is_cancelled());
                answer + 2
            }
        });
        assert_eq!(outer.await.unwrap(), 42);
    });
}

#[test]
fn task_spawns_a_thousand_tasks_in_one_poll() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(0));
    let sum = rt.block_on({
        let ran = ran.clone();
        async move {
            spawn(async move {
                let handles: Vec<_> = (0..1_000u64)
                    .map(|i| {
                        let ran = ran.clone();
                        spawn(async move {
                            ran.set(ran.get() + 1);
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await.unwrap();
                }
                sum
            })
            .await
            .unwrap()
        }
    });
    assert_eq!(ran.get(), 1_000);
    assert_eq!(sum, 499_500);
    let stats = rt.stats();
    assert_eq!(stats.tasks_spawned, 1_001);
    assert_eq!(stats.tasks_finished, 1_001);
    assert!(stats.max_ready_len >= 1_000, "{stats}");
}

#[test]
fn aborted_future_destructor_may_spawn_and_wake() {
    run(async {
        let gate = Gate::new();
        let parked = spawn(gate.wait());
        let spawned: Rc<RefCell<Option<JoinHandle<u32>>>> = Rc::default();
        let victim = spawn({
            let (gate, spawned) = (gate.clone(), spawned.clone());
            let on_drop = OnDrop(move || {
                *spawned.borrow_mut() = Some(spawn(async { 9 }));
                gate.open();
            });
            async move {
                let _on_drop = on_drop;
                pending::<()>().await;
            }
        });
        yield_now().await;
        victim.abort(); // the destructor runs here, from inside the block_on future's poll
        assert!(gate.open.get(), "abort did not run the destructor at once");
        parked.await.unwrap();
        let from_destructor = spawned.borrow_mut().take().expect("the destructor ran");
        assert_eq!(from_destructor.await.unwrap(), 9);
    });
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

#[test]
fn panic_in_a_task_comes_back_as_join_error_and_others_carry_on() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let other_done = Rc::new(Cell::new(false));
    rt.block_on(async {
        let other = spawn({
            let other_done = other_done.clone();
            async move {
                yield_now().await; // parked-and-requeued across the panic
                other_done.set(true);
            }
        });
        let bad = spawn(async {
            panic!("task {} exploded", 7);
        });
        let err: taketurns::JoinError = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("task 7 exploded"), "{err}");
        assert_eq!(panic_message(&*err.into_panic()), "task 7 exploded");
        other.await.unwrap();
    });
    assert!(other_done.get());
    // The runtime survived the unwind.
    assert_eq!(rt.block_on(async { spawn(async { 3 }).await.unwrap() }), 3);
}

#[test]
fn panic_in_the_block_on_future_reaches_the_caller() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let _pending = spawn(pending::<()>());
            yield_now().await;
            panic!("main future exploded");
        })
    }));
    let payload = result.unwrap_err();
    assert_eq!(panic_message(&*payload), "main future exploded");
    // Usable afterwards: block_on again, spawn, join.
    assert_eq!(rt.block_on(async { spawn(async { 4 }).await.unwrap() }), 4);
}

#[test]
fn panicking_destructor_of_a_self_aborted_task_stays_in_the_task() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let me: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
            let task = spawn({
                let me = me.clone();
                async move {
                    let _bomb = OnDrop(|| panic!("destructor exploded"));
                    me.borrow().as_ref().unwrap().abort();
                    pending::<()>().await;
                }
            });
            *me.borrow_mut() = Some(task);
            yield_now().await; // the task aborts itself; its destructor panics
            let task = me.borrow_mut().take().unwrap();
            task.await.unwrap_err()
        })
    }));
    let err = outcome.expect("the destructor's panic escaped block_on");
    assert!(
        err.is_panic(),
        "the destructor's panic is the task's outcome: {err}"
    );
    assert_eq!(rt.block_on(async { spawn(async { 5 }).await.unwrap() }), 5);
}

#[test]
#[should_panic(expected = "inside a taketurns runtime")]
fn spawn_outside_a_runtime_panics_with_a_hint() {
    drop(spawn(async {}));
}

#[test]
#[should_panic(expected = "Use `.await`")]
fn block_on_inside_block_on_panics_saying_use_await() {
    taketurns::block_on(async { taketurns::block_on(async {}) });
}

#[test]
fn block_on_inside_a_task_panics_saying_use_await() {
    let err = run(async {
        spawn(async {
            let rt = Runtime::new().unwrap();
            rt.block_on(async {});
        })
        .await
        .unwrap_err()
    });
    assert!(err.is_panic());
    assert!(err.to_string().contains("Use `.await`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// abort()
// ---------------------------------------------------------------------------------------------

#[test]
fn aborting_a_waiting_task_drops_its_future() {
    run(async {
        let drops = Rc::new(Cell::new(0));
        let task = spawn({
            let guard = DropCount(drops.clone());
            async move {
                let _guard = guard;
                pending::<()>().await;
            }
        });
        yield_now().await;
        assert_eq!(taketurns::snapshot().waiting_ids(), [task.id()]);

        task.abort();
        assert_eq!(
            drops.get(),
            1,
            "the future is dropped at once, not when joined"
        );
        assert!(taketurns::snapshot().waiting.is_empty());
        assert!(task.is_finished());
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
    });
}

#[test]
fn aborting_a_queued_task_before_it_runs() {
    run(async {
        let drops = Rc::new(Cell::new(0));
        let ran = Rc::new(Cell::new(false));
        let task = spawn({
            let (guard, ran) = (DropCount(drops.clone()), ran.clone());
            async move {
                let _guard = guard;
                ran.set(true);
            }
        });
        task.abort();
        assert_eq!(drops.get(), 1);
        assert!(taketurns::snapshot().ready.is_empty());
        assert!(task.await.unwrap_err().is_cancelled());

        // Its stale ready-queue entry is still there, and its slot is free: a new task takes the
        // slot; the stale entry must not make it run twice or run the old future.
        let successor_polls = Rc::new(Cell::new(0));
        let successor = spawn({
            let successor_polls = successor_polls.clone();
            poll_fn(move |_| {
                successor_polls.set(successor_polls.get() + 1);
                Poll::Ready(())
            })
        });
        successor.await.unwrap();
        assert!(!ran.get());
        assert_eq!(successor_polls.get(), 1);
    });
}

#[test]
fn task_can_abort_itself() {
    run(async {
        let drops = Rc::new(Cell::new(0));
        let went_on = Rc::new(Cell::new(false));
        let me: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
        let task = spawn({
            let (me, guard, went_on) = (me.clone(), DropCount(drops.clone()), went_on.clone());
            async move {
                let _guard = guard;
                me.borrow().as_ref().expect("handle stored").abort();
                yield_now().await; // cancelled when this poll returns
                went_on.set(true);
            }
        });
        *me.borrow_mut() = Some(task);
        yield_now().await;

        let task = me.borrow_mut().take().unwrap();
        assert!(task.is_finished());
        assert_eq!(drops.get(), 1);
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(!went_on.get());
    });
}

#[test]
fn abort_after_finish_keeps_the_output() {
    run(async {
        let task = spawn(async { 7 });
        yield_now().await;
        assert!(task.is_finished());
        task.abort();
        assert_eq!(task.await.unwrap(), 7);
    });
}

#[test]
fn is_finished_turns_true_only_when_the_task_ends() {
    run(async {
        let gate = Gate::new();
        let task = spawn(gate.wait());
        assert!(!task.is_finished(), "queued");
        yield_now().await;
        assert!(!task.is_finished(), "waiting");
        gate.open();
        assert!(!task.is_finished(), "woken, queued again");
        yield_now().await;
        assert!(task.is_finished(), "completed");
        task.await.unwrap();

        let aborted = spawn(pending::<()>());
        aborted.abort();
        assert!(aborted.is_finished(), "aborted");
    });
}

// ---------------------------------------------------------------------------------------------
// JoinHandle lifetime and shutdown
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_the_join_handle_detaches_the_task() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let done = Rc::new(Cell::new(false));
    let output_drops = Rc::new(Cell::new(0));
    rt.block_on(async {
        drop(spawn({
            let (done, output) = (done.clone(), DropCount(output_drops.clone()));
            async move {
                yield_now().await;
                yield_now().await;
                done.set(true);
                output // nobody will take it: dropped when the task finishes
            }
        }));
        for _ in 0..10 {
            yield_now().await;
        }
    });
    assert!(done.get(), "a detached task did not run to completion");
    assert_eq!(output_drops.get(), 1);
    let stats = rt.stats();
    assert_eq!(stats.tasks_finished, stats.tasks_spawned);
}

#[test]
fn dropping_the_runtime_drops_every_unfinished_future() {
    let drops = Rc::new(Cell::new(0));
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let forever = |drops: &Rc<Cell<usize>>| {
        let guard = DropCount(drops.clone());
        async move {
            let _guard = guard;
            pending::<()>().await;
        }
    };
    let waiting = rt.spawn(forever(&drops));
    let also_waiting = rt.spawn(forever(&drops));
    rt.block_on(yield_now()); // both run once and park
    assert_eq!(rt.snapshot().waiting.len(), 2);
    let never_polled = rt.spawn(forever(&drops));
    assert_eq!(rt.snapshot().ready, [never_polled.id()]);
    assert_eq!(drops.get(), 0);

    drop(rt);
    assert_eq!(drops.get(), 3);
    for handle in [waiting, also_waiting, never_polled] {
        assert!(handle.is_finished());
        let err = futures::executor::block_on(handle).unwrap_err();
        assert!(err.is_cancelled());
    }
}

#[test]
fn dropping_the_runtime_leaves_no_rc_cycle() {
    let shared: Rc<RefCell<Option<Waker>>> = Rc::default();
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let waker_keeper = rt.spawn({
        let shared = shared.clone();
        poll_fn(move |cx| {
            // task → Rc → its own waker
            *shared.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
    });
    let _joiner = rt.spawn({
        let shared = shared.clone();
        // task → another task's JoinHandle, plus the Rc
        async move {
            let _shared = shared;
            waker_keeper.await
        }
    });
    rt.block_on(yield_now());
    assert_eq!(Rc::strong_count(&shared), 3);

    drop(rt);
    assert_eq!(Rc::strong_count(&shared), 1);
    // A waker that outlived its runtime is harmless.
    let waker = shared
        .borrow_mut()
        .take()
        .expect("the task stored its waker");
    waker.wake_by_ref();
    thread::spawn(move || waker.wake()).join().unwrap();
}

#[test]
fn destructor_that_spawns_during_shutdown_is_dropped_too() {
    /// Spawns a task holding its successor when dropped, `depth` times over.
    fn nested(depth: usize, drops: Rc<Cell<usize>>, polled: Rc<Cell<bool>>) -> impl Drop {
        OnDrop(move || {
            drops.set(drops.get() + 1);
            if depth > 0 {
                let next = nested(depth - 1, drops.clone(), polled.clone());
                let polled = polled.clone();
                drop(spawn(async move {
                    let _next = next;
                    polled.set(true);
                }));
            }
        })
    }
    let drops = Rc::new(Cell::new(0));
    let polled = Rc::new(Cell::new(false));
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let guard = nested(2, drops.clone(), polled.clone());
    drop(rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    }));
    rt.block_on(yield_now());

    drop(rt);
    assert_eq!(
        drops.get(),
        3,
        "every future spawned during shutdown was dropped"
    );
    assert!(!polled.get(), "no task runs during shutdown");
}

#[test]
fn block_on_returns_when_its_future_is_done_and_tasks_resume_next_time() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let done = Rc::new(Cell::new(false));
    let task = rt.spawn({
        let done = done.clone();
        async move {
            sleep(Duration::from_millis(5)).await;
            done.set(true);
            7
        }
    });
    // This block_on's own future is done after one yield: it returns although the task,
    // which ran in between, still waits for its timer.
    rt.block_on(yield_now());
    assert!(!done.get());
    let snapshot = rt.snapshot();
    assert_eq!(snapshot.waiting_ids(), [task.id()]);
    assert!(matches!(snapshot.waiting[0].1, WaitReason::Timer { .. }));

    assert_eq!(rt.block_on(task).unwrap(), 7);
    assert!(done.get());
}

// ---------------------------------------------------------------------------------------------
// JoinError, Stats, Builder
// ---------------------------------------------------------------------------------------------

#[test]
fn join_error_is_a_std_error_with_display() {
    fn as_std_error(err: &taketurns::JoinError) -> &dyn std::error::Error {
        err
    }
    run(async {
        let task = spawn(pending::<()>());
        let id = task.id();
        task.abort();
        let err = task.await.unwrap_err();
        assert_eq!(err.id(), id);
        let message = as_std_error(&err).to_string();
        assert!(message.contains("cancelled"), "{message}");
        assert!(message.contains(&id.to_string()), "{message}");
        assert!(!format!("{err:?}").is_empty());
        assert!(err.try_into_panic().is_err());
    });
}

#[test]
fn stats_count_a_small_known_program() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let once = spawn(async {});
        let twice = spawn(yield_now());
        let thrice = spawn(async {
            yield_now().await;
            yield_now().await;
        });
        once.await.unwrap();
        twice.await.unwrap();
        thrice.await.unwrap();
    });
    let stats = rt.stats();
    assert_eq!(stats.tasks_spawned, 3, "{stats}");
    assert_eq!(stats.tasks_finished, 3, "{stats}");
    assert_eq!(stats.polls, 1 + 2 + 3, "{stats}");
    assert_eq!(stats.remote_wakes, 0, "{stats}");
    assert_eq!(stats.max_ready_len, 3, "{stats}");
}

#[test]
fn max_ready_len_is_the_number_spawned_before_the_first_tick() {
    let _watchdog = watchdog();
    let rt = Runtime::new().unwrap();
    let handles: Vec<_> = (0..10).map(|i| rt.spawn(async move { i })).collect();
    let total = rt.block_on(async {
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        total
    });
    assert_eq!(total, 45);
    assert_eq!(rt.stats().max_ready_len, 10);
}

#[test]
#[should_panic(expected = "event_interval must be at least 1")]
fn event_interval_zero_panics() {
    let _ = Runtime::builder().event_interval(0);
}

#[test]
fn event_interval_one_works() {
    let _watchdog = watchdog();
    let rt = Runtime::builder().event_interval(1).build().unwrap();
    let woke = Rc::new(Cell::new(false));
    let spins = rt.block_on({
        let woke = woke.clone();
        async move {
            // An always-ready task and a timer: with a check after every poll, both progress.
            let timer = spawn({
                let woke = woke.clone();
                async move {
                    sleep(Duration::from_millis(5)).await;
                    woke.set(true);
                }
            });
            let spinner = spawn(async move {
                let mut spins = 0u64;
                while !woke.get() {
                    spins += 1;
                    yield_now().await;
                }
                spins
            });
            timer.await.unwrap();
            spinner.await.unwrap()
        }
    });
    assert!(spins >= 1);
    assert!(woke.get());
}

/// The source's layers, read from its imports: the drivers never name the runtime or the
/// observability layer, observability never names the runtime or the drivers, the leaves name
/// nothing but each other, and the core's fields are private to the runtime layer. A text check:
/// it reads `use crate::…` and `crate::…::` paths in each file's code (comments left out).
mod layers {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `src/DIR`.
    fn files(dir: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
        let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "rs"))
            .collect();
        out.sort();
        out
    }

    /// The lines of `path` that are code (not `//` comments), with what they name of the crate.
    fn crate_paths(path: &Path) -> Vec<(usize, String)> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim_start().starts_with("//"))
            .flat_map(|(n, line)| {
                line.match_indices("crate::")
                    .map(|(at, _)| {
                        (
                            n + 1,
                            line[at..]
                                .split(['(', ';', ' ', ',', '}', '{', '<', '>', ')'])
                                .next()
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every use of `crate::FORBIDDEN…` in the files of `dir`.
    fn uses(dir: &str, forbidden: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for file in files(dir) {
            for (line, path) in crate_paths(&file) {
                if forbidden
                    .iter()
                    .any(|f| path.starts_with(&format!("crate::{f}")))
                {
                    found.push(format!("{}:{line}: {path}", file.display()));
                }
            }
        }
        found
    }

    #[test]
    fn drivers_name_neither_the_runtime_nor_observability() {
        let found = uses("driver", &["runtime", "observe", "Runtime", "net", "time"]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn observability_names_neither_the_runtime_nor_the_drivers() {
        let found = uses("observe", &["runtime", "driver", "Runtime", "net", "time"]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn the_leaves_name_only_each_other() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for (leaf, allowed) in [("id.rs", &[][..]), ("lifecycle.rs", &["crate::id"][..])] {
            for (line, path) in crate_paths(&src.join(leaf)) {
                assert!(
                    allowed.iter().any(|a| path.starts_with(a)),
                    "src/{leaf}:{line} names {path}"
                );
            }
        }
    }

    #[test]
    fn the_cores_fields_are_private_to_the_runtime_layer() {
        let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runtime/core.rs");
        let text = std::fs::read_to_string(core).unwrap();
        let body = text
            .split("pub(crate) struct Core {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("struct Core in src/runtime/core.rs");
        let public: Vec<&str> = body
            .lines()
            .filter(|line| {
                line.trim_start().starts_with("pub(crate)") || line.trim_start().starts_with("pub ")
            })
            .collect();
        assert!(
            public.is_empty(),
            "fields visible outside the runtime: {public:#?}"
        );
    }
}
