//! The timeline: the trace's events turned into "who was where, when", drawn as text or exported
//! for Perfetto.
//!
//! Every task is in one of four states at every moment of its life: **running** (being polled),
//! **ready** (in the ready queue), **waiting** (in the waiting list) or **done**. The events of
//! the trace say exactly when each task moved, so a task's life is a row of [`Span`]s, and the
//! rows of all tasks, one under the other, are the picture the seed articles draw by hand: bars of
//! "task A / task B" taking turns on one thread.
//!
//! [`Timeline::render_ascii`] draws it in a terminal. [`Timeline::write_chrome_trace`] writes the
//! Chrome Trace Event format (JSON), which Perfetto (`ui.perfetto.dev`) and `chrome://tracing`
//! open: one track per task, a slice per poll, and a mark per wake. asyncio has nothing built in
//! for this (people reach for `viztracer`); tokio's closest is tokio-console's per-task view, and
//! `tracing-chrome` can write the same JSON from tokio's (unstable) `tracing` instrumentation.

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant};

use super::event::{Event, EventKind, LoopEvent, PollResult, TaskInfo, WakeSource};
use super::json::Obj;
use crate::id::TaskId;
pub use crate::lifecycle::TaskState;
use crate::lifecycle::{Outcome, WaitReason};

/// A stretch of time during which a task stayed in one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Start, as time since the runtime was built.
    pub start: Duration,
    /// End (equal to the timeline's end for the last span of a task).
    pub end: Duration,
    /// The state.
    pub state: TaskState,
    /// For a waiting span, what the task waited for.
    pub waiting_for: Option<WaitReason>,
}

/// The legend printed under every drawing.
pub const LEGEND: &str = "legend: # running (polled)   = ready (in the queue)   . waiting   _ done   (blank) not spawned";

/// A copy of a runtime's trace: its tasks and events. Made by [`crate::Runtime::timeline`].
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Every traced task, in spawn order.
    tasks: Vec<TaskInfo>,
    /// The events kept, oldest first.
    events: Vec<Event>,
    /// Events the buffer had no room for.
    dropped: u64,
    /// False if the runtime was built without tracing (the timeline is then empty).
    traced: bool,
    /// What the loop did between the task events (ticks, event checks, timers), oldest first.
    loop_events: Vec<LoopEvent>,
    /// Loop events the buffer had no room for.
    loop_dropped: u64,
    /// When the runtime's recorder started, to turn timer deadlines into times since then;
    /// `None` for a timeline made by hand.
    origin: Option<Instant>,
}

impl Timeline {
    /// A timeline of `tasks` (in spawn order) and `events` (oldest first). Also useful to draw
    /// events made by hand.
    pub fn new(tasks: Vec<TaskInfo>, events: Vec<Event>, dropped: u64) -> Timeline {
        Timeline {
            tasks,
            events,
            dropped,
            traced: true,
            loop_events: Vec::new(),
            loop_dropped: 0,
            origin: None,
        }
    }

    /// This timeline with the loop's own events (see [`LoopEvent`]) and the recorder's start.
    pub(crate) fn with_loop_events(
        mut self,
        loop_events: Vec<LoopEvent>,
        loop_dropped: u64,
        origin: Instant,
    ) -> Timeline {
        self.loop_events = loop_events;
        self.loop_dropped = loop_dropped;
        self.origin = Some(origin);
        self
    }

    /// What the loop did between task events (ticks, event checks, timers), oldest first.
    pub fn loop_events(&self) -> &[LoopEvent] {
        &self.loop_events
    }

    /// How many loop events did not fit in the buffer.
    pub fn loop_dropped(&self) -> u64 {
        self.loop_dropped
    }

    /// When the runtime's recorder started (`None` for a timeline made by hand): a timer's
    /// deadline minus this is its time on the trace's clock, if the clock is the real one.
    pub fn origin(&self) -> Option<Instant> {
        self.origin
    }

    /// The timeline of a runtime built without tracing.
    pub(crate) fn untraced() -> Timeline {
        Timeline::default()
    }

    /// The traced tasks, in spawn order.
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// The events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events did not fit in the buffer (see `Builder::trace_capacity`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The time of the first and of the last event.
    pub fn bounds(&self) -> (Duration, Duration) {
        let start = self.events.first().map_or(Duration::ZERO, |e| e.at);
        let end = self.events.last().map_or(Duration::ZERO, |e| e.at);
        (start, end)
    }

    /// The life of task `id` as spans, from its spawn to the end of the timeline.
    pub fn spans(&self, id: TaskId) -> Vec<Span> {
        let (_, end) = self.bounds();
        let mut spans: Vec<Span> = Vec::new();
        let mut open: Option<Span> = None;
        let mut switch = |open: &mut Option<Span>, at: Duration, state, why| {
            if let Some(mut span) = open.take() {
                span.end = at;
                spans.push(span);
            }
            *open = Some(Span {
                start: at,
                end: at,
                state,
                waiting_for: why,
            });
        };
        for event in self.events.iter().filter(|e| e.task == id) {
            let current = open.as_ref().map(|s| s.state);
            match &event.kind {
                EventKind::Spawn => switch(&mut open, event.at, TaskState::Ready, None),
                EventKind::PollStart => switch(&mut open, event.at, TaskState::Running, None),
                EventKind::PollEnd(PollResult::Done) => {
                    switch(&mut open, event.at, TaskState::Done, None)
                }
                EventKind::PollEnd(PollResult::Ready) => {
                    switch(&mut open, event.at, TaskState::Ready, None)
                }
                EventKind::PollEnd(PollResult::Waiting(why)) => {
                    switch(&mut open, event.at, TaskState::Waiting, Some(why.clone()))
                }
                EventKind::Wake(_) if current == Some(TaskState::Waiting) => {
                    switch(&mut open, event.at, TaskState::Ready, None)
                }
                EventKind::Wake(_) => {}
                EventKind::Done(_) if current != Some(TaskState::Done) => {
                    switch(&mut open, event.at, TaskState::Done, None)
                }
                EventKind::Done(_) => {}
            }
        }
        if let Some(mut span) = open {
            span.end = end.max(span.start);
            spans.push(span);
        }
        spans
    }

    // ANCHOR: render_ascii
    /// Draw the timeline: one row per task in spawn order, time left to right in `width`
    /// columns (at least 10), one symbol per state and a legend.
    ///
    /// A column covers `(end − start) / width` of time. It shows the busiest state the task was
    /// in at any moment of that slice (running over ready over waiting over done), so every poll
    /// shows, however short: a `#` means "was polled at some point in this column".
    pub fn render_ascii(&self, width: usize) -> String {
        if !self.traced {
            return "no timeline: this runtime was built without tracing; build it with \
                    Runtime::builder().trace(true).build()\n"
                .to_string();
        }
        if self.tasks.is_empty() {
            return "no timeline: no task was spawned while tracing\n".to_string();
        }
        let width = width.max(10);
        let (start, end) = self.bounds();
        let total = end.saturating_sub(start).as_nanos().max(1);
        // Column `c` covers [edge(c), edge(c + 1)); the last one also takes the end instant.
        let edge = |c: usize| start + nanos(total * c as u128 / width as u128);
        let labels: Vec<String> = self
            .tasks
            .iter()
            .map(|t| truncate(&format!("{} {}", t.id, t.name), 28))
            .collect();
        let pad = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);

        let mut out = String::new();
        let first = ascii_duration(start);
        let last = ascii_duration(end);
        let gap = (width + 2).saturating_sub(first.len() + last.len()).max(1);
        let _ = writeln!(out, "{:pad$} {first}{:gap$}{last}", "", "");
        for (task, label) in self.tasks.iter().zip(&labels) {
            let spans = self.spans(task.id);
            let row: String = (0..width)
                .map(|c| {
                    let (a, b) = (edge(c), edge(c + 1));
                    let last_column = c + 1 == width;
                    spans
                        .iter()
                        .filter(|s| {
                            let starts_before_b = s.start < b || (last_column && s.start <= b);
                            let instant_inside = s.start == s.end && s.start >= a;
                            starts_before_b && (s.end > a || instant_inside)
                        })
                        .map(|s| s.state)
                        .max()
                        .map_or(' ', TaskState::symbol)
                })
                .collect();
            let _ = writeln!(out, "{label:pad$} |{row}|");
        }
        let per_column = nanos(total / width as u128);
        let _ = writeln!(
            out,
            "{:pad$} one column = {}",
            "",
            ascii_duration(per_column)
        );
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "({} events after these were dropped: the trace buffer was full)",
                self.dropped
            );
        }
        out.push_str(LEGEND);
        out.push('\n');
        out
    }
    // ANCHOR_END: render_ascii

    // ANCHOR: chrome_trace
    /// Write the timeline in the Chrome Trace Event format (JSON), for Perfetto
    /// (`ui.perfetto.dev`, "Open trace file") or `chrome://tracing`.
    ///
    /// One process ("taketurns runtime") with one track per task, named `#id name` and sorted
    /// in spawn order. On each track: a complete event (`"ph":"X"`) named `poll` for every poll,
    /// with what the poll returned in its arguments; complete events `ready` and `waiting: …`
    /// for the time between polls; and instant events (`"ph":"i"`) for the spawn, each wake
    /// (named after who woke it) and the end. Times are in microseconds since the runtime was
    /// built, with nanosecond decimals. The document is written on one line, keys in sorted order,
    /// by the observability layer's small JSON writer that escapes task names as JSON requires (quotes,
    /// backslashes, newlines and other control characters).
    ///
    /// # Errors
    /// Whatever `writer` returns.
    pub fn write_chrome_trace(&self, mut writer: impl io::Write) -> io::Result<()> {
        let mut records = vec![
            Obj::new()
                .raw("args", &Obj::new().str("name", "taketurns runtime").end())
                .str("name", "process_name")
                .str("ph", "M")
                .num("pid", 1)
                .num("tid", 0)
                .end(),
        ];
        for task in &self.tasks {
            let tid = task.id.as_u64();
            let track = format!("{} {}", task.id, task.name);
            records.push(
                Obj::new()
                    .raw("args", &Obj::new().str("name", &track).end())
                    .str("name", "thread_name")
                    .str("ph", "M")
                    .num("pid", 1)
                    .num("tid", tid)
                    .end(),
            );
            records.push(
                Obj::new()
                    .raw("args", &Obj::new().num("sort_index", tid).end())
                    .str("name", "thread_sort_index")
                    .str("ph", "M")
                    .num("pid", 1)
                    .num("tid", tid)
                    .end(),
            );
            for span in self.spans(task.id) {
                let name = match (&span.state, &span.waiting_for) {
                    (TaskState::Running, _) => continue, // polls are written from the events
                    (TaskState::Done, _) => continue,
                    (TaskState::Ready, _) => "ready".to_string(),
                    (TaskState::Waiting, Some(why)) => format!("waiting: {}", wait_name(why)),
                    (TaskState::Waiting, None) => "waiting".to_string(),
                };
                records.push(
                    Obj::new()
                        .str("cat", "state")
                        .float("dur", micros(span.end.saturating_sub(span.start)))
                        .str("name", &name)
                        .str("ph", "X")
                        .num("pid", 1)
                        .num("tid", tid)
                        .float("ts", micros(span.start))
                        .end(),
                );
            }
        }
        let mut poll_started: Vec<(TaskId, Duration)> = Vec::new();
        for event in &self.events {
            let tid = event.task.as_u64();
            let ts = micros(event.at);
            let instant = |name: &str, cat: &str| {
                Obj::new()
                    .str("cat", cat)
                    .str("name", name)
                    .str("ph", "i")
                    .num("pid", 1)
                    .str("s", "t")
                    .num("tid", tid)
                    .float("ts", ts)
                    .end()
            };
            match &event.kind {
                EventKind::Spawn => records.push(instant("spawn", "task")),
                EventKind::PollStart => poll_started.push((event.task, event.at)),
                EventKind::PollEnd(result) => {
                    let Some(i) = poll_started.iter().position(|(t, _)| *t == event.task) else {
                        continue;
                    };
                    let (_, started) = poll_started.swap_remove(i);
                    let then = match result {
                        PollResult::Done => "ready: finished".to_string(),
                        PollResult::Ready => "pending, woken during the poll: ready".to_string(),
                        PollResult::Waiting(why) => {
                            format!("pending: waiting for {}", wait_name(why))
                        }
                    };
                    records.push(
                        Obj::new()
                            .raw("args", &Obj::new().str("returned", &then).end())
                            .str("cat", "poll")
                            .float("dur", micros(event.at.saturating_sub(started)))
                            .str("name", "poll")
                            .str("ph", "X")
                            .num("pid", 1)
                            .num("tid", tid)
                            .float("ts", micros(started))
                            .end(),
                    );
                }
                EventKind::Wake(source) => {
                    records.push(instant(&format!("wake: {}", source_name(*source)), "wake"))
                }
                EventKind::Done(outcome) => {
                    let what = match outcome {
                        Outcome::Completed => "done: completed",
                        Outcome::Panicked => "done: panicked",
                        Outcome::Cancelled => "done: cancelled",
                    };
                    records.push(instant(what, "task"));
                }
            }
        }
        let other = Obj::new()
            .num("dropped_events", self.dropped)
            .str("generator", "taketurns")
            .end();
        let trace = Obj::new()
            .str("displayTimeUnit", "ms")
            .raw("otherData", &other)
            .raw("traceEvents", &format!("[{}]", records.join(",")))
            .end();
        writeln!(writer, "{trace}")?;
        writer.flush()
    }
    // ANCHOR_END: chrome_trace
}

/// A duration from nanoseconds.
fn nanos(n: u128) -> Duration {
    Duration::from_nanos(n.min(u64::MAX as u128) as u64)
}

/// Microseconds, with the nanoseconds as decimals, as the trace format wants. An `f64` holds every
/// nanosecond exactly for the first 104 days of a runtime's life.
fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

/// A duration in plain ASCII (`us`, not `µs`), rounded for a ruler: the task-stats table's
/// format, so that the two read alike.
fn ascii_duration(d: Duration) -> String {
    super::stats::short_duration(d).replace('µ', "u")
}

/// `s` cut to `max` characters, with `..` at the end when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max - 2).collect();
    cut.push_str("..");
    cut
}

/// What a task waited for, in a few words that stay true after the fact.
fn wait_name(why: &WaitReason) -> String {
    match why {
        WaitReason::Socket { direction, .. } => format!("socket ({direction})"),
        WaitReason::Timer { .. } => "timer".to_string(),
        WaitReason::Task(id) => format!("task {id}"),
        WaitReason::Other => "a wake (channel or other)".to_string(),
    }
}

/// Who woke a task, for event names.
fn source_name(source: WakeSource) -> String {
    source.to_string()
}
