//! The observability layer: what the loop can tell about itself.
//!
//! Counters and the two lists ([`stats`]), the recorder of every spawn, poll, wake and completion
//! ([`trace`], with its vocabulary in `event`), the drawing and export of a trace ([`timeline`]),
//! the warnings ([`warnings`]) and the lists export behind the book's player (`lists`).
//!
//! The runtime feeds this layer through a narrow interface: the recorder's methods
//! (`Tracer::spawned`, `poll_start`, `poll_end`, `woken`, `done`, `loop_event`), the plain
//! `Stats` and `Snapshot` values the task table fills in, and `warnings::report`. Nothing here
//! names the runtime: the layer knows tasks by their ids and states (`crate::id`,
//! `crate::lifecycle`), not by the runtime's types. asyncio's counterparts are its debug mode and
//! `asyncio.all_tasks()`; tokio's are `RuntimeMetrics`, task hooks and tokio-console.

mod event;
pub(crate) mod json;
pub(crate) mod lists;
pub mod stats;
pub mod timeline;
pub mod trace;
pub mod warnings;
