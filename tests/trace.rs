//! The trace recorder: every event kind, every wake source, names and spawn locations, the
//! bounded buffer, per-task stats, and "off means off".

use std::cell::Cell;
use std::io::{Read, Write};
use std::time::Duration;

use futures::channel::oneshot;
use taketurns::task::Builder;
use taketurns::timeline::TaskState;
use taketurns::trace::{Event, EventKind, Outcome, PollResult, WakeSource};
use taketurns::{Runtime, TaskId, WaitReason};

/// A clock that advances 1 ms each time it is read.
fn fake_clock() -> impl Fn() -> Duration + 'static {
    let ticks = Cell::new(0u64);
    move || {
        let now = ticks.get();
        ticks.set(now + 1);
        Duration::from_millis(now)
    }
}

fn traced() -> Runtime {
    Runtime::builder()
        .trace(true)
        .on_warning(|_| {})
        .build()
        .unwrap()
}

fn kinds_of(events: &[Event], task: TaskId) -> Vec<EventKind> {
    events
        .iter()
        .filter(|e| e.task == task)
        .map(|e| e.kind.clone())
        .collect()
}

#[test]
fn a_yielding_task_records_spawn_polls_self_wakes_and_completion() {
    let rt = traced();
    let id = rt.block_on(async {
        let task = Builder::new().name("yielder").spawn(async {
            taketurns::yield_now().await;
        });
        let id = task.id();
        task.await.unwrap();
        id
    });
    let timeline = rt.timeline();
    assert_eq!(timeline.tasks()[0].name, "yielder");
    assert_eq!(
        kinds_of(timeline.events(), id),
        [
            EventKind::Spawn,
            EventKind::PollStart,
            EventKind::Wake(WakeSource::Itself),
            EventKind::PollEnd(PollResult::Ready),
            EventKind::PollStart,
            EventKind::PollEnd(PollResult::Done),
            EventKind::Done(Outcome::Completed),
        ]
    );
    // Timestamps never go backwards.
    let times: Vec<_> = timeline.events().iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn unnamed_tasks_are_named_after_their_spawn_location() {
    let rt = traced();
    let line = line!() + 2;
    rt.block_on(async {
        taketurns::spawn(async {}).await.unwrap();
        rt_spawn_helper().await;
    });
    let tasks = rt.timeline().tasks().to_vec();
    assert_eq!(tasks[0].name, format!("{}:{line}:9", file!()));
    assert_eq!(tasks[0].spawned_at.line(), line);
    // Through Runtime::spawn and task::Builder::spawn_on, too.
    let line = line!() + 1;
    let handle = rt.spawn(async {});
    let named = Builder::new()
        .name(format!("built {}", 7))
        .spawn_on(async {}, &rt);
    rt.block_on(async {
        handle.await.unwrap();
        named.await.unwrap();
    });
    let tasks = rt.timeline().tasks().to_vec();
    assert_eq!(tasks[2].spawned_at.line(), line);
    assert_eq!(tasks[3].name, "built 7");
}

async fn rt_spawn_helper() {
    taketurns::spawn(async {}).await.unwrap();
}

/// A task that finishes wakes whoever awaits its JoinHandle, and the wake names the finishing
/// task, as any wake made during its poll does.
#[test]
fn the_wake_of_a_joiner_names_the_task_that_finished() {
    let rt = traced();
    let (joiner, finisher) = rt.block_on(async {
        let finisher = taketurns::spawn(async {
            taketurns::yield_now().await;
            7
        });
        let finisher_id = finisher.id();
        let joiner = taketurns::spawn(async move { finisher.await.unwrap() });
        let joiner_id = joiner.id();
        assert_eq!(joiner.await.unwrap(), 7);
        (joiner_id, finisher_id)
    });
    let wakes: Vec<WakeSource> = rt
        .timeline()
        .events()
        .iter()
        .filter(|e| e.task == joiner)
        .filter_map(|e| match e.kind {
            EventKind::Wake(source) => Some(source),
            _ => None,
        })
        .collect();
    assert_eq!(wakes, [WakeSource::ThisThread(Some(finisher))]);
}

#[test]
fn wakes_say_who_woke_the_task() {
    let rt = traced();
    let (from_task, from_main, from_thread, timer) = rt.block_on(async {
        // Woken by another task on this thread.
        let (tx, rx) = oneshot::channel::<()>();
        let waiter = taketurns::spawn(async move { rx.await.unwrap() });
        let sender = taketurns::spawn(async move {
            taketurns::yield_now().await;
            tx.send(()).unwrap();
        });
        let sender_id = sender.id();
        let from_task = waiter.id();
        // Woken by the block_on future.
        let (tx2, rx2) = oneshot::channel::<()>();
        let by_main = taketurns::spawn(async move { rx2.await.unwrap() });
        let from_main = by_main.id();
        // Woken from another thread.
        let (tx3, rx3) = oneshot::channel::<()>();
        let by_thread = taketurns::spawn(async move { rx3.await.unwrap() });
        let from_thread = by_thread.id();
        // Woken by a timer.
        let sleeper = taketurns::spawn(taketurns::time::sleep(Duration::from_millis(5)));
        let timer = sleeper.id();
        taketurns::yield_now().await; // let every task park first
        taketurns::yield_now().await;
        tx2.send(()).unwrap();
        let thread = std::thread::spawn(move || tx3.send(()).unwrap());
        for h in [waiter, by_main, by_thread, sleeper] {
            h.await.unwrap();
        }
        sender.await.unwrap();
        thread.join().unwrap();
        ((from_task, sender_id), from_main, from_thread, timer)
    });
    let events = rt.timeline().events().to_vec();
    let wakes = |id| -> Vec<WakeSource> {
        events
            .iter()
            .filter(|e| e.task == id)
            .filter_map(|e| match e.kind {
                EventKind::Wake(source) => Some(source),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        wakes(from_task.0),
        [WakeSource::ThisThread(Some(from_task.1))]
    );
    assert_eq!(wakes(from_main), [WakeSource::ThisThread(None)]);
    assert_eq!(wakes(from_thread), [WakeSource::OtherThread]);
    assert_eq!(wakes(timer), [WakeSource::Timer]);
    // What each waited for, as the poll that parked it said.
    let waited = |id| {
        events.iter().find_map(|e| match &e.kind {
            EventKind::PollEnd(PollResult::Waiting(why)) if e.task == id => Some(why.clone()),
            _ => None,
        })
    };
    assert!(matches!(waited(timer), Some(WaitReason::Timer { .. })));
    assert_eq!(waited(from_main), Some(WaitReason::Other));
}

#[test]
fn a_socket_wake_is_recorded_as_a_socket() {
    let rt = traced();
    let reader = rt.block_on(async {
        let listener = taketurns::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = Builder::new().name("reader").spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            futures::io::AsyncReadExt::read_exact(&mut stream, &mut buf)
                .await
                .unwrap();
            buf
        });
        let id = reader.id();
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"hello").unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        });
        assert_eq!(&reader.await.unwrap(), b"hello");
        client.join().unwrap();
        id
    });
    let events = rt.timeline().events().to_vec();
    let socket_wakes = events
        .iter()
        .filter(|e| e.task == reader && e.kind == EventKind::Wake(WakeSource::Socket))
        .count();
    assert!(socket_wakes >= 1, "{events:#?}");
    assert!(events.iter().any(|e| e.task == reader
        && matches!(
            &e.kind,
            EventKind::PollEnd(PollResult::Waiting(WaitReason::Socket { .. }))
        )));
}

#[test]
fn panics_and_aborts_are_recorded_as_such() {
    let rt = traced();
    let (panicked, aborted) = rt.block_on(async {
        let p = taketurns::spawn(async { panic!("on purpose") });
        let a = taketurns::spawn(std::future::pending::<()>());
        let ids = (p.id(), a.id());
        taketurns::yield_now().await;
        a.abort();
        assert!(p.await.unwrap_err().is_panic());
        assert!(a.await.unwrap_err().is_cancelled());
        ids
    });
    let timeline = rt.timeline();
    let done = |id| {
        timeline.events().iter().find_map(|e| match e.kind {
            EventKind::Done(outcome) if e.task == id => Some(outcome),
            _ => None,
        })
    };
    assert_eq!(done(panicked), Some(Outcome::Panicked));
    assert_eq!(done(aborted), Some(Outcome::Cancelled));
    let stats = rt.task_stats();
    assert_eq!(stats.rows()[0].outcome, Some(Outcome::Panicked));
    assert!(stats.to_string().contains("panicked"), "{stats}");
}

#[test]
fn the_buffer_keeps_the_first_events_and_counts_the_rest() {
    let rt = Runtime::builder()
        .trace(true)
        .trace_capacity(10)
        .build()
        .unwrap();
    rt.block_on(async {
        let t = Builder::new().name("busy").spawn(async {
            for _ in 0..100 {
                taketurns::yield_now().await;
            }
        });
        t.await.unwrap();
    });
    let timeline = rt.timeline();
    assert_eq!(timeline.events().len(), 10);
    assert_eq!(timeline.events()[0].kind, EventKind::Spawn);
    // spawn + 101 × (start, end) + 100 self-wakes + done = 304 events in all.
    assert_eq!(timeline.dropped(), 304 - 10);
    assert!(
        timeline
            .render_ascii(40)
            .contains("294 events after these were dropped")
    );
    // The stats do not depend on the buffer.
    let stats = rt.task_stats();
    let row = &stats.rows()[0];
    assert_eq!((row.polls, row.wakes, row.self_wakes), (101, 100, 100));
}

#[test]
fn task_stats_add_up_with_a_fake_clock() {
    let rt = Runtime::builder()
        .trace(true)
        .trace_clock(fake_clock())
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<()>();
        let waiter = Builder::new()
            .name("waiter")
            .spawn(async move { rx.await.unwrap() });
        let sender = Builder::new().name("sender").spawn(async move {
            taketurns::yield_now().await;
            tx.send(()).unwrap();
        });
        waiter.await.unwrap();
        sender.await.unwrap();
    });
    // Clock reads, 1 ms apart: 0 spawn waiter, 1 spawn sender, 2 poll waiter, 3 end (waiting),
    // 4 poll sender, 5 self-wake, 6 end (yielded), 7 poll sender, 8 wake waiter, 9 end (ready),
    // 10 sender done, 11 poll waiter, 12 end, 13 done.
    let stats = rt.task_stats();
    let waiter = stats.get("waiter").unwrap();
    assert_eq!(waiter.polls, 2);
    assert_eq!(waiter.busy, Duration::from_millis(2)); // 2→3, 11→12
    assert_eq!(waiter.scheduled, Duration::from_millis(2 + 3)); // 0→2, 8→11
    assert_eq!(waiter.idle, Duration::from_millis(5)); // 3→8
    assert_eq!((waiter.wakes, waiter.self_wakes), (1, 0));
    assert_eq!(waiter.longest_poll, Duration::from_millis(1));
    assert_eq!(waiter.state, TaskState::Done);
    let sender = stats.get("sender").unwrap();
    assert_eq!(sender.polls, 2);
    assert_eq!(sender.busy, Duration::from_millis(2 + 2)); // 4→6, 7→9
    assert_eq!(sender.scheduled, Duration::from_millis(3 + 1)); // 1→4, 6→7
    assert_eq!(sender.idle, Duration::ZERO);
    assert_eq!((sender.wakes, sender.self_wakes), (1, 1));
    assert_eq!(sender.longest_poll, Duration::from_millis(2));
}

#[test]
fn task_stats_print_an_aligned_table() {
    let rt = traced();
    rt.block_on(async {
        Builder::new()
            .name("a task with a long name")
            .spawn(async {})
            .await
            .unwrap();
        taketurns::spawn(async { taketurns::yield_now().await })
            .await
            .unwrap();
    });
    let table = rt.task_stats().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("task  name"), "{table}");
    // Every column starts at the same place on every line: compare where "polls" ends with
    // where each row's poll count ends.
    let polls_end = lines[0].find("polls").unwrap() + "polls".len();
    for line in &lines[1..] {
        let before: String = line.chars().take(polls_end).collect();
        assert!(
            before.ends_with(char::is_numeric),
            "column misaligned in:\n{table}"
        );
    }
    assert!(lines[1].contains("a task with a long name"));
    assert!(lines[2].contains("tests/trace.rs:"), "{table}");
}

#[test]
fn without_tracing_nothing_is_recorded_and_the_reports_say_why() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        Builder::new()
            .name("ignored")
            .spawn(async {})
            .await
            .unwrap();
    });
    let timeline = rt.timeline();
    assert!(timeline.events().is_empty() && timeline.tasks().is_empty());
    assert!(timeline.render_ascii(40).contains(".trace(true)"));
    assert!(rt.task_stats().rows().is_empty());
    assert!(rt.task_stats().to_string().contains(".trace(true)"));
    let mut json = Vec::new();
    timeline.write_chrome_trace(&mut json).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed["traceEvents"].as_array().unwrap().len(), 1); // the process name only
}
