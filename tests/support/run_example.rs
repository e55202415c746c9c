//! Run an example's binary from a test: build it if needed (with the same cargo, profile and
//! features as the test), run it with arguments, and hand back its exit status and output.
//!
//! An integration test cannot import an example's functions, so the tests of the examples and of
//! the exercise solutions run the binaries with small parameters and read what they print. This is
//! the one place that finds, builds and runs them: a test that runs an example calls [`run_ok`]
//! (it must succeed), [`run`] (any exit status), or [`command`] (to set the environment or read
//! the output while the program runs). It is the same idea as a Python test calling
//! `subprocess.run([...], check=True)`; what it leaves out is a timeout (a test that waits on a
//! program that hangs is stopped by the test harness's own timeout, not here).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

/// The crate's features that change what an example is built with. Each example is built with
/// exactly the ones this test binary was built with, so that it links the same library and cargo
/// builds no second copy of it.
const FEATURES: [(&str, bool); 4] = [
    ("workload", cfg!(feature = "workload")),
    ("hyper", cfg!(feature = "hyper")),
    ("hyper-http2", cfg!(feature = "hyper-http2")),
    ("uring", cfg!(feature = "uring")),
];

/// The example's binary, `target/<profile>/examples/<name>`, built the first time a test of this
/// process asks for it. `cargo test` builds the examples before it runs the tests; `cargo test
/// --test X` alone does not, so this builds it (a no-op when it is up to date). Tests asking for
/// different examples build them one after the other (cargo holds a lock on the target
/// directory); tests asking for the same one wait for its one build.
pub fn binary(name: &str) -> PathBuf {
    /// One cell per example name, filled by the first test that asks for it.
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| build(name)).clone()
}

/// `cargo build --example name` with this test's profile and features; the binary's path.
fn build(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let mut build = Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--no-default-features",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let features: Vec<&str> = FEATURES
        .iter()
        .filter(|(_, on)| *on)
        .map(|(feature, _)| *feature)
        .collect();
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("could not run cargo");
    assert!(
        status.success(),
        "cargo build --example {name} failed (features: {features:?})"
    );
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "no example binary at {}",
        binary.display()
    );
    binary
}

/// A command for example `name`, built if needed, to add arguments, environment or pipes to.
pub fn command(name: &str) -> Command {
    Command::new(binary(name))
}

/// Run example `name` with `args`; its exit status and output, whatever they are.
pub fn run(name: &str, args: &[&str]) -> Output {
    command(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not start example {name}: {e}"))
}

/// Check that `output` (of `what`, for the message) exited with 0, and hand it back. On failure
/// the message shows the exit status and both outputs.
pub fn succeeded(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} exited with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// Run example `name` with `args`, check that it exited with 0, and return its standard output.
pub fn run_ok(name: &str, args: &[&str]) -> String {
    let output = succeeded(run(name, args), &format!("{name} {args:?}"));
    text(&output.stdout)
}

/// Bytes a program printed, as text (invalid UTF-8 replaced, never a panic).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
