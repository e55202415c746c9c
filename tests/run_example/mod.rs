//! The helper that builds and runs an example's binary, under the name `tests/steps.rs` still
//! takes it by (`mod run_example;`). It lives in `tests/support/run_example.rs`, with the other
//! shared test helpers; this file goes once `tests/steps.rs` takes `mod support;` instead.

#[path = "../support/run_example.rs"]
mod shared;

pub use shared::*;
