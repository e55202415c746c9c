//! A delay server on a thread of the test, for the solutions that are variants of build-track
//! steps 6 and 7. Like the steps, they fetch from `--server HOST:PORT` (where a reader runs
//! `cargo run --example delay_server`), so each test starts a server of its own on a free port and
//! passes its address, as `tests/steps.rs` does for the steps.

use std::process::Output;

use taketurns::workload::{ShutdownHandle, spawn_server_thread};

use crate::support::run_example::{run, run_ok};

/// A delay server on a free port; it stops when this is dropped.
pub struct DelayServer {
    /// Stops the server on drop.
    _handle: ShutdownHandle,
    /// Its address, as `--server` takes it.
    addr: String,
}

impl DelayServer {
    /// Start a delay server on a thread of its own.
    pub fn start() -> DelayServer {
        let (addr, handle) = spawn_server_thread("127.0.0.1:0").expect("a delay server");
        DelayServer {
            _handle: handle,
            addr: addr.to_string(),
        }
    }

    /// `--server ADDR` and then `args`.
    fn with_server<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--server", self.addr.as_str()];
        all.extend_from_slice(args);
        all
    }

    /// Run solution `name` against this server with `args`, check that it exited with 0, and
    /// return its standard output.
    pub fn run_ok(&self, name: &str, args: &[&str]) -> String {
        run_ok(name, &self.with_server(args))
    }

    /// Run solution `name` against this server with `args`, whatever its exit code.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        run(name, &self.with_server(args))
    }
}
