//! The two lists, replayed: a trace exported so that a reader can step through a real run.
//!
//! A traced runtime records every move a task makes between the ready queue and the waiting list
//! (spawn, poll start and end, wake, done) and what the loop itself did (tick start and end, each
//! check for events and what it returned, timers fired). [`ListsTrace`] puts both in one ordered
//! list of [`Step`]s and writes it as JSON; replaying the steps from the start rebuilds both lists
//! at any moment, and [`ListsTrace::replay`] does exactly that. The book's player (`book/player/`)
//! does the same in the browser, and the tests check that the replay and the runtime's own
//! [`Snapshot`](crate::Snapshot) never disagree. asyncio has no counterpart; tokio-console shows
//! each task's state live but keeps no list order, and its recordings are not a documented format.
//!
//! **The format** is a JSON object, versioned by its `format` and `version` fields (see
//! [`FORMAT`], [`VERSION`]); the structs, with their field docs, are its description. The runtime
//! writes it ([`ListsTrace::to_json`]); any JSON library reads it through `serde`, after
//! [`Header::check`]. Left out: the task's spawn location and per-poll timings beyond the step
//! times (the Chrome trace export of [`Timeline`](crate::Timeline) has those), and wakes from
//! other threads are placed where the loop took them out of its inbox, as in the trace itself.
//!
//! This module only gathers the public pieces: the format and its replay live in the
//! observability layer, and [`moment`] asks the runtime running on this thread.

pub use crate::observe::lists::{
    DoneOutcome, FORMAT, Header, Lists, ListsTrace, Mark, Moment, PollEndResult, ReplayError, Step,
    StepKind, TaskEntry, VERSION, Waiter, wait_label,
};

/// The number of steps so far and the two lists, seen from inside the runtime on this thread.
/// Returns `None` if the runtime was built without `Builder::trace(true)`.
///
/// # Panics
/// Outside a runtime.
pub fn moment() -> Option<Moment> {
    crate::runtime::moment()
}
