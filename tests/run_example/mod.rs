//! Run an example's binary from a test: build it if needed (with the same cargo and profile as
//! the test), run it with arguments, and hand back its exit status and output.
//!
//! An integration test cannot import an example's functions, so the tests of
//! the examples and of the exercise solutions run the binaries with small parameters and read what they print.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example's binary, `target/<profile>/examples/<name>`. `cargo test` builds the examples
/// before it runs the tests; `cargo test --test X` alone does not, so this builds it (a no-op
/// when it is up to date), with the features of this test.
pub fn binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    // Build the example against the library this test was built with, not the default one: under
    // `cargo test --no-default-features` that avoids building a second library with the workload.
    if !cfg!(feature = "workload") {
        build.arg("--no-default-features");
    }
    let status = build.status().expect("could not run cargo");
    assert!(status.success(), "cargo build --example {name} failed");
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.is_file(),
        "no example binary at {}",
        binary.display()
    );
    binary
}

/// Run example `name` with `args`; its exit status and output, whatever they are.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(binary(name))
        .args(args)
        .output()
        .expect("could not start the example")
}

/// Run example `name` with `args`, check that it exited with 0, and return its standard output.
pub fn run_ok(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} {args:?} exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The whitespace-separated cells of the first line of `stdout` that starts with `label`
/// (after leading spaces), without the label itself.
pub fn row<'a>(stdout: &'a str, label: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .map(str::trim_start)
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"));
    line[label.len()..].split_whitespace().collect()
}
