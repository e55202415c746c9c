//! The workload the book measures: fetch many HTTP responses from a server that answers slowly.
//!
//! Waiting is what I/O-bound programs mostly do, so the workload is made of waiting: a **delay
//! server** ([`serve`]) answers `GET /?delay_ms=50&size=1024` with 1,024 bytes after 50 ms, and a
//! **fetch plan** ([`FetchPlan`]) says how many such fetches to make. Four [`Client`]s run the same
//! plan: one fetch after another ([`Client::Sequential`]), one OS thread per fetch
//! ([`Client::ThreadPerTask`]), a fixed pool of threads ([`Client::ThreadPool`]), and one task per
//! fetch on our single-threaded event loop ([`Client::EventLoop`]). A [`Report`] per run records
//! what each cost: wall time, CPU time, peak memory, and every failed fetch by the kind of its
//! [`FetchError`]. `examples/fetch_many/` runs all four and prints the table.
//!
//! In Python this is the classic "download many pages" comparison: a loop of `urllib` calls,
//! `threading.Thread` per URL, `ThreadPoolExecutor.map`, and `asyncio.gather` over
//! `asyncio.open_connection`. In tokio it is `tokio::spawn` per request (with hyper or reqwest);
//! the delay server is what `tokio::time::sleep` in an axum handler would be.
//!
//! One module per concept: `plan` (what to fetch), `fetch` (one fetch, blocking or async, and
//! its errors), `client` (the four ways to run a plan), `server` (the delay server), `http` (the
//! bytes on the wire, parsed with httparse), `wire` (reading and writing whole messages on our
//! sockets), `report` (measuring a run), `machine` (what it ran on), `limits` (open files, threads and ports, checked before a
//! run starts), `http_server` (a keep-alive HTTP/1.1 server on the loop and on threads, for
//! load tests), `cpu` (CPU-bound work: one job run every way, Rust's and Python's, the loop's
//! lateness while it computes, and a fetch-then-compute job) and `table` (the book's generated
//! Markdown tables). Deliberately left out of the fetch clients: keep-alive and pipelining (every fetch
//! is a new connection, which is the expensive case we want to measure), TLS, following redirects, and DNS
//! lookups during the run (a target name is resolved once, up front).

mod client;
pub mod cpu;
mod error;
mod fetch;
mod http;
pub mod http_server;
mod json;
mod limits;
pub mod machine;
mod plan;
mod report;
mod server;
pub mod table;
#[cfg(feature = "uring")]
mod uring;
mod wire;

pub use client::{Client, ClientError, ErrorCounts, Tally};
pub use fetch::{FetchError, FetchErrorKind, fetch, fetch_blocking};
pub use limits::{LimitError, check_local_ports, check_thread_limit, raise_fd_limit};
pub use plan::{FetchPlan, TargetError};
pub use report::{ParseReportError, Report};
pub use server::{
    ServerOptions, ShutdownHandle, serve, spawn_server_thread, spawn_server_thread_with,
};
#[cfg(feature = "uring")]
pub use uring::fetch_uring;
