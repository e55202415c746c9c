//! The timeline: spans, the ASCII drawing (golden output, with a fake clock so that every time is
//! exact), and the Chrome Trace Event JSON, parsed back with serde_json.

use std::cell::Cell;
use std::time::Duration;

use futures::channel::oneshot;
use taketurns::Runtime;
use taketurns::task::Builder;
use taketurns::timeline::{Span, TaskState};

/// A clock that advances 1 ms each time it is read.
fn fake_clock() -> impl Fn() -> Duration + 'static {
    let ticks = Cell::new(0u64);
    move || {
        let now = ticks.get();
        ticks.set(now + 1);
        Duration::from_millis(now)
    }
}

/// A small kitchen on a fake clock: the chef yields twice and then tells the waiter; the guest
/// yields once. Every event is 1 ms after the one before. The clock reads, in order:
/// 0-2 spawn chef, waiter, guest; tick 1: 3 chef polled, 4 wakes itself, 5 poll ends; 6 waiter
/// polled, 7 parks; 8 guest polled, 9 wakes itself, 10 ends; tick 2: 11-13 chef again; 14 guest
/// polled, 15 ends ready, 16 done; tick 3: 17 chef polled, 18 wakes the waiter, 19 ends, 20 done;
/// tick 4: 21 waiter polled, 22 ends, 23 done.
fn kitchen() -> Runtime {
    let rt = Runtime::builder()
        .trace(true)
        .trace_clock(fake_clock())
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<()>();
        let chef = Builder::new().name("chef").spawn(async move {
            taketurns::yield_now().await;
            taketurns::yield_now().await;
            tx.send(()).unwrap();
        });
        let waiter = Builder::new()
            .name("waiter")
            .spawn(async move { rx.await.unwrap() });
        let guest = Builder::new().name("guest").spawn(async {
            taketurns::yield_now().await;
        });
        for task in [chef, waiter, guest] {
            task.await.unwrap();
        }
    });
    rt
}

#[test]
fn the_kitchen_draws_the_same_picture_every_time() {
    let drawing = kitchen().timeline().render_ascii(30);
    let expected = [
        "          0 ns                     23.0 ms",
        "#1 chef   |===####=======###=====###_____|",
        "#2 waiter | ======###.............====##_|",
        "#3 guest  |  ========####====##__________|",
        "          one column = 766.7 us",
        "legend: # running (polled)   = ready (in the queue)   . waiting   _ done   (blank) not spawned",
        "",
    ]
    .join("\n");
    assert_eq!(drawing, expected, "got:\n{drawing}");
}

#[test]
fn spans_follow_the_events() {
    let timeline = kitchen().timeline();
    let waiter = timeline.tasks()[1].id;
    let ms = Duration::from_millis;
    let states: Vec<(TaskState, Duration, Duration)> = timeline
        .spans(waiter)
        .iter()
        .map(|s: &Span| (s.state, s.start, s.end))
        .collect();
    assert_eq!(
        states,
        [
            (TaskState::Ready, ms(1), ms(6)),
            (TaskState::Running, ms(6), ms(7)),
            (TaskState::Waiting, ms(7), ms(18)),
            (TaskState::Ready, ms(18), ms(21)),
            (TaskState::Running, ms(21), ms(22)),
            (TaskState::Done, ms(22), ms(23)),
        ]
    );
}

#[test]
fn a_blocking_task_is_one_long_bar_and_the_others_stay_ready() {
    let rt = Runtime::builder()
        .trace(true)
        .on_warning(|_| {})
        .build()
        .unwrap();
    rt.block_on(async {
        let blocker = Builder::new().name("blocker").spawn(async {
            std::thread::sleep(Duration::from_millis(60)); // blocks the loop's only thread
        });
        let others: Vec<_> = (0..2)
            .map(|i| Builder::new().name(format!("other {i}")).spawn(async {}))
            .collect();
        blocker.await.unwrap();
        for o in others {
            o.await.unwrap();
        }
    });
    let drawing = rt.timeline().render_ascii(40);
    let rows: Vec<&str> = drawing.lines().skip(1).take(3).collect();
    let bar = |row: &str| row.split('|').nth(1).unwrap().to_string();
    let blocker = bar(rows[0]);
    // The blocker is running in most columns; while it runs, the others are only ready.
    let running = blocker.chars().filter(|&c| c == '#').count();
    assert!(running >= 10, "{drawing}"); // 60 ms of a run that takes little more
    for other in &rows[1..] {
        let other = bar(other);
        for (b, o) in blocker.chars().zip(other.chars()).take(running - 2) {
            if b == '#' {
                assert!(o == '=' || o == ' ', "{drawing}");
            }
        }
    }
}

#[test]
fn the_chrome_trace_parses_back_with_one_track_per_task() {
    let timeline = kitchen().timeline();
    let mut json = Vec::new();
    timeline.write_chrome_trace(&mut json).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(parsed["displayTimeUnit"], "ms");
    let events = parsed["traceEvents"].as_array().unwrap();
    // Track names: one thread_name per task, "#id name".
    let names: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [(1, "#1 chef"), (2, "#2 waiter"), (3, "#3 guest")]);
    // One complete event per poll: the chef was polled 3 times, the waiter 2, the guest 2.
    let polls = |tid: u64| -> Vec<(f64, f64)> {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["name"] == "poll" && e["tid"] == tid)
            .map(|e| (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()))
            .collect()
    };
    assert_eq!(polls(1).len(), 3);
    assert_eq!(polls(2).len(), 2);
    assert_eq!(polls(3).len(), 2);
    // The waiter's first poll: from 6 ms to 7 ms, in microseconds.
    assert_eq!(polls(2)[0], (6000.0, 1000.0));
    let waiter_first = events
        .iter()
        .find(|e| e["ph"] == "X" && e["name"] == "poll" && e["tid"] == 2)
        .unwrap();
    assert_eq!(
        waiter_first["args"]["returned"],
        "pending: waiting for a wake (channel or other)"
    );
    // Wakes are instant events named after who woke the task.
    let wakes: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["cat"] == "wake")
        .map(|e| (e["tid"].as_u64().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        wakes,
        [
            (1, "wake: itself"),
            (3, "wake: itself"),
            (1, "wake: itself"),
            (2, "wake: task #1"),
        ]
    );
    // Every event has the fields a viewer needs.
    for e in events {
        assert_eq!(e["pid"], 1, "{e}");
        assert!(e["tid"].is_u64() && e["ph"].is_string() && e["name"].is_string());
        if e["ph"] != "M" {
            assert!(e["ts"].is_f64(), "{e}");
        }
    }
}

#[test]
fn names_are_escaped_in_the_json() {
    let rt = Runtime::builder().trace(true).build().unwrap();
    rt.block_on(async {
        Builder::new()
            .name("a \"quoted\"\\ name\nwith a newline")
            .spawn(async {})
            .await
            .unwrap();
    });
    let mut json = Vec::new();
    rt.timeline().write_chrome_trace(&mut json).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let track = parsed["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "thread_name")
        .unwrap();
    assert_eq!(
        track["args"]["name"],
        "#1 a \"quoted\"\\ name\nwith a newline"
    );
}
