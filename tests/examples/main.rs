//! The example programs (`examples/*.rs`) run as a reader runs them, with small parameters: one
//! module per example, named after it, so the tests of `examples/scan_loop.rs` are
//! `scan_loop::...`, and `tracing_flags` for the `--timeline`/`--trace` flags several examples
//! share. Run them all with `cargo test --test examples`, one example's with
//! `cargo test --test examples scan_loop::`. The exercise solutions have their own binary,
//! `tests/exercises/`; the build track's steps are in `tests/steps.rs`.
//!
//! An integration test cannot call an example's functions, so each test builds the example's
//! binary if needed and runs it through the one shared helper, `support::run_example`, then reads
//! what it printed: tables, JSON, exit codes, messages. The tests check what holds on any machine
//! (counts, orders, which run finished, lower bounds that `sleep` guarantees), never a speed.
//!
//! Feature gating, the same way in every test binary: a binary that needs a feature as a whole
//! says so in Cargo.toml with `required-features`; a part of one that needs a feature is a module
//! (or, where one example's runs differ, a test) behind `#[cfg(feature = "...")]`. Most examples
//! here measure with the lab bench (the delay server, reports, getrusage), the `workload` feature,
//! so their modules are behind `#[cfg(feature = "workload")]` below, and
//! `cargo test --no-default-features` still runs the ones that need only the runtime. No test
//! checks a feature at run time.

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "workload")]
mod blocking_the_loop;
#[cfg(feature = "workload")]
mod combinators;
#[cfg(feature = "workload")]
mod cpu_bound;
#[cfg(feature = "workload")]
mod fetch_many;
#[cfg(feature = "workload")]
mod fetch_many_python;
#[cfg(feature = "workload")]
mod fetch_many_real_server;
#[cfg(feature = "workload")]
mod http_server;
#[cfg(feature = "workload")]
mod poll_by_hand;
mod provoke_warnings;
#[cfg(feature = "workload")]
mod race_condition;
#[cfg(feature = "workload")]
mod scan_loop;
#[cfg(feature = "workload")]
mod sweep;
#[cfg(feature = "workload")]
mod thread_cost;
#[cfg(feature = "workload")]
mod thread_local;
#[cfg(feature = "uring")]
mod uring_steps;
// hello, roast_dinner and trace_cost need only the runtime; fetch_many's two tests are gated one
// by one.
mod tracing_flags;
#[cfg(feature = "workload")]
mod two_lists;
