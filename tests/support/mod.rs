//! What the test binaries share, in one place: [`run_example`] builds and runs an example's binary
//! (every test of an example or of an exercise solution goes through it), [`watchdog`] aborts a
//! test that hangs on a lost wake, and [`sockets`] has an echo server and a listener on a free
//! port for the socket tests.
//!
//! A test binary takes it with `mod support;` (a file in `tests/`) or
//! `#[path = "../support/mod.rs"] mod support;` (a `main.rs` in a folder of `tests/`). Like a
//! pytest `conftest.py`, but included by each binary that wants it rather than found by name.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod run_example;
pub mod sockets;
pub mod watchdog;
