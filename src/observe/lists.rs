//! The lists trace: a traced run exported as the steps that move tasks between the two lists, the
//! file format behind `taketurns::replay` and the book's player.
//!
//! The format and its replay are here, in the observability layer, fed by the trace's
//! [`Timeline`]; the one function that needs the running runtime (`replay::moment`) is in the
//! crate's `replay` module, above both layers.
//!
//! **The format** is a JSON object, versioned by its `format` and `version` fields (see
//! [`FORMAT`], [`VERSION`]); the structs below, with their field docs, are its description.
//! Left out: the task's spawn location and per-poll timings beyond the step times (the Chrome
//! trace export of [`Timeline`] has those), and wakes from other threads are placed where the
//! loop took them out of its inbox, as in the trace itself.

use std::fmt;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::event::{EventKind, LoopEventKind, PollResult};
use super::json::{Obj, array};
use super::stats::Snapshot;
use super::timeline::Timeline;
use crate::lifecycle::{Outcome, WaitReason};

/// The value of [`ListsTrace::format`]: what kind of file this is.
pub const FORMAT: &str = "taketurns-lists";

/// The value of [`ListsTrace::version`] this crate writes and reads. It changes whenever a field
/// changes meaning or a required field is added, so a reader never misreads an older file.
pub const VERSION: u32 = 2;

/// A run of a program, as the steps that move tasks between the two lists (format version 2).
///
/// ```json
/// {"format": "taketurns-lists", "version": 2, "program": "hello",
///  "tasks": [{"id": 1, "name": "chef"}],
///  "steps": [{"at_us": 12, "kind": "spawn", "task": 1}, ...],
///  "marks": [{"after": 4, "label": "chef: chop", "lists": {"running": 1, "ready": [2, 3], "waiting": []}}]}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsTrace {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format's version, [`VERSION`] for the files this crate writes.
    pub version: u32,
    /// The program that made the run (an example's name), for the reader.
    pub program: String,
    /// Every task of the run, in spawn order.
    pub tasks: Vec<TaskEntry>,
    /// What happened, oldest first. Replaying the first `n` steps gives the lists after them.
    pub steps: Vec<Step>,
    /// Moments the program itself looked at the lists (`taketurns::snapshot()`), with what it saw:
    /// a replay of the first `after` steps must give the same lists.
    pub marks: Vec<Mark>,
}

/// A task's id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEntry {
    /// The task's id (`#1` is the first task spawned).
    pub id: u64,
    /// Its name (`task::Builder::name`), or where it was spawned if it has none.
    pub name: String,
}

/// One thing that happened, with when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When, in microseconds since the runtime was built (the trace clock). The loop's own steps
    /// (`tick_start`, `events_check`…) carry the time of the task step before them, so a sleep in
    /// `epoll_wait` shows as the gap before the next task step.
    pub at_us: u64,
    /// What happened (the `kind` field of the JSON object, and the fields beside it).
    #[serde(flatten)]
    pub what: StepKind,
}

/// What a [`Step`] did. In JSON the variant is the `kind` field, in snake case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// A task was created: it joins the back of the ready queue.
    Spawn {
        /// The task.
        task: u64,
    },
    /// The loop took the task off the front of the ready queue and polls it: it is running.
    PollStart {
        /// The task.
        task: u64,
    },
    /// The poll returned; `result` says where the task went.
    PollEnd {
        /// The task.
        task: u64,
        /// The state the task went to: `done` (the future finished), `ready` (woken during the
        /// poll: back of the ready queue) or `waiting` (back of the waiting list).
        result: PollEndResult,
        /// For `waiting`: what the task waits for, in words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waits_for: Option<String>,
    },
    /// A waker of the task was called. A waiting task moves to the back of the ready queue; a
    /// queued task stays where it is; a running one is queued again when its poll returns.
    Wake {
        /// The task.
        task: u64,
        /// Who woke it, in words: `itself`, `task #N`, `the block_on future`, `another thread`,
        /// `a socket` or `a timer`.
        source: String,
    },
    /// The task will never run again; it leaves whichever list holds it.
    Done {
        /// The task.
        task: u64,
        /// `completed`, `panicked` or `cancelled`.
        outcome: DoneOutcome,
    },
    /// A tick began: the loop will run the first `ready` tasks of the ready queue.
    TickStart {
        /// The tick's number, from 1.
        tick: u64,
        /// How many ready-queue entries this tick pops: the tasks queued when it began.
        ready: usize,
    },
    /// The loop checks for events: sleeps in `epoll_wait` for at most `timeout_us` (`null`: until
    /// something happens), or only looks when the timeout is 0.
    EventsCheck {
        /// The longest the loop may sleep, in microseconds; `null` for no limit.
        timeout_us: Option<u64>,
        /// True when no socket is registered and the loop need not block: no system call is made.
        skipped: bool,
    },
    /// `epoll_wait` returned; the socket wakes it caused are the steps just before this one.
    EventsReturned {
        /// Socket events it returned.
        sockets: usize,
        /// Whether another thread's wake had fired the eventfd.
        remote: bool,
    },
    /// Due timers fired; their wakes follow.
    TimersFired {
        /// How many.
        count: usize,
    },
    /// The tick ended; `block_on` polls its own future now if it was woken.
    TickEnd,
}

/// Where a poll sent its task: the state it went to, under [`crate::timeline::TaskState`]'s names
/// (version 1 of the format called these `ready`, `yielded` and `waiting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollEndResult {
    /// The future returned `Ready`: done (a `done` step follows).
    Done,
    /// `Pending`, woken during the poll: ready, at the back of the ready queue.
    Ready,
    /// `Pending`: waiting, at the back of the waiting list.
    Waiting,
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneOutcome {
    /// Its future returned `Ready`.
    Completed,
    /// Its future panicked.
    Panicked,
    /// It was aborted.
    Cancelled,
}

/// The two lists and the running task at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lists {
    /// The task being polled, if any.
    pub running: Option<u64>,
    /// The ready queue, front (runs next) to back.
    pub ready: Vec<u64>,
    /// The waiting list, longest-waiting first.
    pub waiting: Vec<Waiter>,
}

/// A task in the waiting list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    /// The task.
    pub task: u64,
    /// What it waits for, in words (the same words as [`StepKind::PollEnd`]'s `waits_for`).
    pub waits_for: String,
}

/// A moment the program looked at the lists, with what it saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// How many steps had happened.
    pub after: usize,
    /// What the program was doing, in its own words.
    pub label: String,
    /// The lists it saw (its [`Snapshot`]).
    pub lists: Lists,
}

/// Where a traced program is now: how many steps happened, and the lists. Made by [`moment`](crate::replay::moment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moment {
    /// Steps recorded so far (task and loop events).
    pub after: usize,
    /// The lists now, from the runtime's [`Snapshot`].
    pub lists: Lists,
}

/// Why a trace could not be exported, read or replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError(String);

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplayError {}

/// A wait reason in words; timer deadlines as time since `origin` (the recorder's start).
pub fn wait_label(reason: &WaitReason, origin: Option<Instant>) -> String {
    match (reason, origin) {
        (WaitReason::Timer { deadline }, Some(origin)) => {
            let due = deadline.saturating_duration_since(origin);
            format!("timer due at {:.3} ms", due.as_secs_f64() * 1e3)
        }
        (WaitReason::Timer { .. }, None) => "a timer".to_owned(),
        (other, _) => other.to_string(),
    }
}

impl Lists {
    /// The lists of a [`Snapshot`], wait reasons in words (see [`wait_label`]).
    pub fn from_snapshot(snapshot: &Snapshot, origin: Option<Instant>) -> Lists {
        Lists {
            running: snapshot.running.map(|id| id.0),
            ready: snapshot.ready.iter().map(|id| id.0).collect(),
            waiting: snapshot
                .waiting
                .iter()
                .map(|(id, why)| Waiter {
                    task: id.0,
                    waits_for: wait_label(why, origin),
                })
                .collect(),
        }
    }
}

impl fmt::Display for Lists {
    /// The same words as [`Snapshot`]'s `Display`: `running #1 | ready [#2 #3] | waiting [#4]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = self.running {
            write!(f, "running #{id} | ")?;
        }
        let ready: Vec<String> = self.ready.iter().map(|id| format!("#{id}")).collect();
        let waiting: Vec<String> = self
            .waiting
            .iter()
            .map(|w| format!("#{}", w.task))
            .collect();
        write!(
            f,
            "ready [{}] | waiting [{}]",
            ready.join(" "),
            waiting.join(" ")
        )
    }
}

impl ListsTrace {
    /// The steps of `timeline` (from a runtime built with `Builder::trace(true)`), for `program`.
    ///
    /// # Errors
    /// If the timeline was not traced, or its buffer filled and dropped events: the lists could
    /// not be replayed exactly, so nothing is exported.
    pub fn from_timeline(program: &str, timeline: &Timeline) -> Result<ListsTrace, ReplayError> {
        let Some(origin) = timeline.origin() else {
            return Err(ReplayError(
                "this timeline has no loop events (it was not recorded by a runtime built with \
                 `Builder::trace(true)`), so its lists cannot be replayed: build the runtime with \
                 `.trace(true)`"
                    .to_owned(),
            ));
        };
        if timeline.dropped() > 0 || timeline.loop_dropped() > 0 {
            return Err(ReplayError(format!(
                "the trace buffer filled and {} events were not kept, so the lists cannot be \
                 replayed: raise `Builder::trace_capacity` above {}",
                timeline.dropped() + timeline.loop_dropped(),
                timeline.events().len().max(timeline.loop_events().len()),
            )));
        }
        let mut steps = Vec::with_capacity(timeline.events().len() + timeline.loop_events().len());
        let mut loops = timeline.loop_events().iter().peekable();
        for (index, event) in timeline.events().iter().enumerate() {
            while let Some(l) = loops.next_if(|l| l.before <= index as u64) {
                steps.push(loop_step(l.at, &l.kind));
            }
            let task = event.task.0;
            let what = match &event.kind {
                EventKind::Spawn => StepKind::Spawn { task },
                EventKind::PollStart => StepKind::PollStart { task },
                EventKind::PollEnd(result) => {
                    let (result, waits_for) = match result {
                        PollResult::Done => (PollEndResult::Done, None),
                        PollResult::Ready => (PollEndResult::Ready, None),
                        PollResult::Waiting(why) => {
                            (PollEndResult::Waiting, Some(wait_label(why, Some(origin))))
                        }
                    };
                    StepKind::PollEnd {
                        task,
                        result,
                        waits_for,
                    }
                }
                EventKind::Wake(source) => StepKind::Wake {
                    task,
                    source: source.to_string(),
                },
                EventKind::Done(outcome) => StepKind::Done {
                    task,
                    outcome: match outcome {
                        Outcome::Completed => DoneOutcome::Completed,
                        Outcome::Panicked => DoneOutcome::Panicked,
                        Outcome::Cancelled => DoneOutcome::Cancelled,
                    },
                },
            };
            steps.push(Step {
                at_us: micros(event.at),
                what,
            });
        }
        steps.extend(loops.map(|l| loop_step(l.at, &l.kind)));
        Ok(ListsTrace {
            format: FORMAT.to_owned(),
            version: VERSION,
            program: program.to_owned(),
            tasks: timeline
                .tasks()
                .iter()
                .map(|t| TaskEntry {
                    id: t.id.0,
                    name: t.name.clone(),
                })
                .collect(),
            steps,
            marks: Vec::new(),
        })
    }

    /// Add a moment the program looked at the lists (see [`moment`](crate::replay::moment)), with its label.
    pub fn mark(&mut self, label: impl Into<String>, moment: &Moment) {
        self.marks.push(Mark {
            after: moment.after,
            label: label.into(),
            lists: moment.lists.clone(),
        });
    }

    /// The lists after the first `steps` steps, replayed from the start.
    ///
    /// # Errors
    /// If `steps` is more than there are, or a step contradicts the lists so far (a poll of a task
    /// that is not at the front of the ready queue, a step for a task never spawned): the file
    /// was not written by this crate's recorder, or was edited.
    pub fn replay(&self, steps: usize) -> Result<Lists, ReplayError> {
        if steps > self.steps.len() {
            return Err(ReplayError(format!(
                "asked for the lists after {steps} steps, but the trace has only {}",
                self.steps.len()
            )));
        }
        let mut lists = Lists::default();
        let mut spawned = std::collections::HashSet::new();
        for (index, step) in self.steps[..steps].iter().enumerate() {
            let bad = |what: String| ReplayError(format!("step {index}: {what}"));
            let task = match &step.what {
                StepKind::Spawn { task }
                | StepKind::PollStart { task }
                | StepKind::PollEnd { task, .. }
                | StepKind::Wake { task, .. }
                | StepKind::Done { task, .. } => Some(*task),
                _ => None,
            };
            if let Some(task) = task
                && !matches!(step.what, StepKind::Spawn { .. })
                && !spawned.contains(&task)
            {
                return Err(bad(format!("task #{task} was never spawned")));
            }
            match &step.what {
                StepKind::Spawn { task } => {
                    if !spawned.insert(*task) {
                        return Err(bad(format!("task #{task} is spawned twice")));
                    }
                    lists.ready.push(*task);
                }
                StepKind::PollStart { task } => {
                    if lists.ready.first() != Some(task) {
                        return Err(bad(format!(
                            "task #{task} is polled but the front of the ready queue is {:?}",
                            lists.ready.first()
                        )));
                    }
                    lists.ready.remove(0);
                    lists.running = Some(*task);
                }
                StepKind::PollEnd {
                    task,
                    result,
                    waits_for,
                } => {
                    if lists.running != Some(*task) {
                        return Err(bad(format!("task #{task} ends a poll it did not start")));
                    }
                    lists.running = None;
                    match result {
                        PollEndResult::Done => {}
                        PollEndResult::Ready => lists.ready.push(*task),
                        PollEndResult::Waiting => lists.waiting.push(Waiter {
                            task: *task,
                            waits_for: waits_for.clone().unwrap_or_default(),
                        }),
                    }
                }
                StepKind::Wake { task, .. } => {
                    if let Some(at) = lists.waiting.iter().position(|w| w.task == *task) {
                        lists.waiting.remove(at);
                        lists.ready.push(*task);
                    }
                }
                StepKind::Done { task, .. } => {
                    lists.ready.retain(|id| id != task);
                    lists.waiting.retain(|w| w.task != *task);
                }
                StepKind::TickStart { .. }
                | StepKind::EventsCheck { .. }
                | StepKind::EventsReturned { .. }
                | StepKind::TimersFired { .. }
                | StepKind::TickEnd => {}
            }
        }
        Ok(lists)
    }

    /// Replay every step, and check every mark against the replay.
    ///
    /// # Errors
    /// The first step that contradicts the lists, or the first mark whose lists differ from the
    /// replay's at that moment.
    pub fn check(&self) -> Result<(), ReplayError> {
        self.replay(self.steps.len())?;
        for mark in &self.marks {
            let replayed = self.replay(mark.after)?;
            if replayed != mark.lists {
                return Err(ReplayError(format!(
                    "mark {:?} after {} steps: the program saw {:?}, the replay gives {:?}",
                    mark.label, mark.after, mark.lists, replayed
                )));
            }
        }
        Ok(())
    }

    /// The JSON text: the header fields, then one step per line (so a diff shows which step
    /// changed), then the marks. Written by the observability layer's small JSON writer; read it
    /// back with any JSON library through `serde` (the structs here implement `Deserialize`),
    /// checking [`Header::check`] first.
    pub fn to_json(&self) -> String {
        let tasks = array(
            self.tasks
                .iter()
                .map(|t| Obj::new().num("id", t.id).str("name", &t.name).end()),
        );
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| format!("    {}", s.json()))
            .collect();
        let marks: Vec<String> = self
            .marks
            .iter()
            .map(|m| format!("    {}", m.json()))
            .collect();
        let mut out = String::from("{\n");
        out += &format!("  \"format\": {},\n", Obj::string(&self.format));
        out += &format!("  \"version\": {},\n", self.version);
        out += &format!("  \"program\": {},\n", Obj::string(&self.program));
        out += &format!("  \"tasks\": {tasks},\n");
        out += "  \"steps\": [\n";
        out += &steps.join(",\n");
        out += "\n  ],\n  \"marks\": [\n";
        out += &marks.join(",\n");
        out += "\n  ]\n}\n";
        out
    }
}

/// The two fields every version of the format has: read them first, and [`Header::check`] them,
/// so that a file of another version is refused with a clear message rather than misread.
///
/// ```
/// # let text = r#"{"format": "taketurns-lists", "version": 99, "steps": []}"#;
/// # fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
/// #     serde_json::from_str(text).unwrap()
/// # }
/// let header: taketurns::replay::Header = parse(text);
/// assert!(header.check().unwrap_err().to_string().contains("version 99"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// The kind of file; [`FORMAT`] for ours.
    pub format: Option<String>,
    /// Its version; [`VERSION`] is the one this crate reads.
    pub version: Option<u64>,
}

impl Header {
    /// `Ok` if the file is a lists trace of the version this crate reads.
    ///
    /// # Errors
    /// Another format or version, with what to do.
    pub fn check(&self) -> Result<(), ReplayError> {
        if self.format.as_deref() == Some(FORMAT) && self.version == Some(u64::from(VERSION)) {
            return Ok(());
        }
        let format = self.format.as_deref().unwrap_or("(none)");
        let version = self.version.map_or("(none)".to_owned(), |v| v.to_string());
        Err(ReplayError(format!(
            "expected format {FORMAT:?} version {VERSION}, found format {format:?} version \
             {version}: regenerate the file with this crate's examples (`--trace-lists`)"
        )))
    }
}

impl Step {
    /// The step as one JSON object: `at_us`, `kind`, then the kind's fields.
    fn json(&self) -> String {
        let obj = Obj::new().num("at_us", self.at_us);
        let obj = match &self.what {
            StepKind::Spawn { task } => obj.str("kind", "spawn").num("task", task),
            StepKind::PollStart { task } => obj.str("kind", "poll_start").num("task", task),
            StepKind::PollEnd {
                task,
                result,
                waits_for,
            } => {
                let obj = obj
                    .str("kind", "poll_end")
                    .num("task", task)
                    .str("result", result.name());
                match waits_for {
                    Some(why) => obj.str("waits_for", why),
                    None => obj,
                }
            }
            StepKind::Wake { task, source } => obj
                .str("kind", "wake")
                .num("task", task)
                .str("source", source),
            StepKind::Done { task, outcome } => obj
                .str("kind", "done")
                .num("task", task)
                .str("outcome", outcome.name()),
            StepKind::TickStart { tick, ready } => obj
                .str("kind", "tick_start")
                .num("tick", tick)
                .num("ready", ready),
            StepKind::EventsCheck {
                timeout_us,
                skipped,
            } => {
                let obj = obj.str("kind", "events_check");
                let obj = match timeout_us {
                    Some(us) => obj.num("timeout_us", us),
                    None => obj.raw("timeout_us", "null"),
                };
                obj.num("skipped", skipped)
            }
            StepKind::EventsReturned { sockets, remote } => obj
                .str("kind", "events_returned")
                .num("sockets", sockets)
                .num("remote", remote),
            StepKind::TimersFired { count } => obj.str("kind", "timers_fired").num("count", count),
            StepKind::TickEnd => obj.str("kind", "tick_end"),
        };
        obj.end()
    }
}

impl PollEndResult {
    /// The name the format writes.
    fn name(self) -> &'static str {
        match self {
            PollEndResult::Done => "done",
            PollEndResult::Ready => "ready",
            PollEndResult::Waiting => "waiting",
        }
    }
}

impl DoneOutcome {
    /// The name the format writes.
    fn name(self) -> &'static str {
        match self {
            DoneOutcome::Completed => "completed",
            DoneOutcome::Panicked => "panicked",
            DoneOutcome::Cancelled => "cancelled",
        }
    }
}

impl Lists {
    /// The lists as one JSON object.
    fn json(&self) -> String {
        let obj = Obj::new();
        let obj = match self.running {
            Some(id) => obj.num("running", id),
            None => obj.raw("running", "null"),
        };
        let waiting = array(self.waiting.iter().map(|w| {
            Obj::new()
                .num("task", w.task)
                .str("waits_for", &w.waits_for)
                .end()
        }));
        obj.raw("ready", &array(self.ready.iter().map(u64::to_string)))
            .raw("waiting", &waiting)
            .end()
    }
}

impl Mark {
    /// The mark as one JSON object.
    fn json(&self) -> String {
        Obj::new()
            .num("after", self.after)
            .str("label", &self.label)
            .raw("lists", &self.lists.json())
            .end()
    }
}

/// A loop event as a step.
fn loop_step(at: std::time::Duration, kind: &LoopEventKind) -> Step {
    let what = match kind {
        LoopEventKind::TickStart { tick, ready } => StepKind::TickStart {
            tick: *tick,
            ready: *ready,
        },
        LoopEventKind::EventsCheck { timeout, skipped } => StepKind::EventsCheck {
            timeout_us: timeout.map(micros),
            skipped: *skipped,
        },
        LoopEventKind::EventsReturned { sockets, remote } => StepKind::EventsReturned {
            sockets: *sockets,
            remote: *remote,
        },
        LoopEventKind::TimersFired { count } => StepKind::TimersFired { count: *count },
        LoopEventKind::TickEnd => StepKind::TickEnd,
    };
    Step {
        at_us: micros(at),
        what,
    }
}

/// Whole microseconds.
fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
