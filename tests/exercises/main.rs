//! The exercise solutions of appendix B (`examples/exercises/exercise_NN_M.rs`), run as a reader
//! runs them, with small parameters: one module per chapter, `chNN`, so the test of exercise 7.2
//! is `ch07::exercise_07_2_...`. Run them all with `cargo test --test exercises`, one chapter with
//! `cargo test --test exercises ch07::`.
//!
//! An integration test cannot call an example's functions, so each test builds the solution's
//! binary if needed and runs it through the one shared helper, `support::run_example`, then reads
//! what it printed. The tests pin what each solution claims and what holds on any machine: orders,
//! counts, which variant finishes, lower bounds that `sleep` guarantees. None asserts a speed. The
//! solutions that vary build-track steps 6 and 7 fetch from `--server`, as the steps do; their
//! tests start a delay server on a thread (`delay_server`) and pass its address.
//!
//! Feature gating, the same way in every test binary: a binary that needs a feature as a whole
//! says so in Cargo.toml with `required-features`; a part of one that needs a feature is a module
//! (or, in a chapter whose solutions differ, a test) behind `#[cfg(feature = "...")]`. Here most
//! solutions measure with the lab bench (the delay server, reports, getrusage), which is the
//! `workload` feature, so those chapters are behind `#[cfg(feature = "workload")]` below, and
//! `cargo test --no-default-features` still runs the chapters that need only the runtime. No test
//! checks a feature at run time.

#[path = "../support/mod.rs"]
mod support;

mod output;

#[cfg(feature = "workload")]
mod delay_server;

#[cfg(feature = "workload")]
mod ch01;
mod ch02; // exercises 2.1-2.3 and 2.5 need `workload`, 2.4 does not: gated test by test
mod ch03;
mod ch04;
mod ch05;
mod ch06;
#[cfg(feature = "workload")]
mod ch07;
#[cfg(feature = "workload")]
mod ch08;
mod ch09; // exercise 9.1 needs `workload`, 9.2 and 9.3 do not: gated test by test
#[cfg(feature = "workload")]
mod ch10;
#[cfg(feature = "workload")]
mod ch11;
mod ch12;
#[cfg(feature = "workload")]
mod ch13;
#[cfg(feature = "workload")]
mod ch14;
