//! `fetch_many`: finding it, building it, running it. Every measurement is one run of the
//! `fetch_many` example (`--runner X --count N --json`), which starts the delay server in a child
//! process and the client in another; this module finds that binary next to this one in cargo's
//! target directory, brings it up to date with `cargo build` when started by cargo (`--no-build`
//! skips that), runs it and cuts the first report out of its JSON.
//!
//! The same in Python would be `subprocess.run([...], capture_output=True)` and `json.loads`;
//! here the report is cut out with a small brace matcher and parsed as a `Report` with `serde_json`, so
//! the sweep needs no JSON library of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use taketurns::workload::{Client, Report};

use crate::BODY_SIZE;

/// Where this program sits in cargo's target directory: `<target>/<profile>/examples/sweep`.
pub struct Layout {
    /// The target directory (`target/`, or `$CARGO_TARGET_DIR`).
    pub target: PathBuf,
    /// The profile directory's name: `release`, `debug`, or a custom profile's.
    pub profile: String,
    /// This program's directory, where cargo puts fetch_many too.
    examples: PathBuf,
}

impl Layout {
    /// Where `exe` sits, or an error that says how to run it.
    pub fn of(exe: &Path) -> Result<Layout, String> {
        let examples = exe.parent();
        let profile_dir = examples.and_then(Path::parent);
        let target = profile_dir.and_then(Path::parent);
        match (examples, profile_dir, target) {
            (Some(examples), Some(profile_dir), Some(target)) => Ok(Layout {
                target: target.to_path_buf(),
                profile: profile_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                examples: examples.to_path_buf(),
            }),
            _ => Err(format!(
                "{} is not in cargo's target/<profile>/examples/; run it with \
                 `cargo run --release --example sweep`",
                exe.display()
            )),
        }
    }

    /// The fetch_many binary, brought up to date by cargo when we were started by cargo (or
    /// when it is missing), used as it is otherwise.
    pub fn fetch_many(&self, no_build: bool) -> Result<PathBuf, String> {
        let binary = self
            .examples
            .join(format!("fetch_many{}", std::env::consts::EXE_SUFFIX));
        // `cargo run` sets CARGO for the program it runs; its absence means we were started by
        // hand, and then a binary that is there is taken as it is.
        let under_cargo = std::env::var_os("CARGO").is_some();
        let build = !no_build && (under_cargo || !binary.is_file());
        if build {
            self.build_fetch_many()?;
        }
        if binary.is_file() {
            Ok(binary)
        } else {
            Err(format!(
                "{} is missing: build it with `cargo build --release --examples` (or \
                 `cargo build --release --example fetch_many`), then run the sweep again",
                binary.display()
            ))
        }
    }

    /// `cargo build --example fetch_many` in this profile and target directory.
    fn build_fetch_many(&self) -> Result<(), String> {
        let cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .or_else(|| option_env!("CARGO").map(PathBuf::from))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from("cargo"));
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut command = Command::new(&cargo);
        command
            .args(["build", "--example", "fetch_many", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&self.target);
        match self.profile.as_str() {
            "debug" => {}
            "release" => {
                command.arg("--release");
            }
            other => {
                command.args(["--profile", other]);
            }
        }
        eprintln!(
            "sweep: building fetch_many, which makes each measurement ({} profile)...",
            self.profile
        );
        // cargo's own progress goes straight to the terminal.
        let status = command
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| {
                format!(
                    "cannot run {} to build fetch_many ({e}); build it yourself with \
                     `cargo build --release --examples` and run the sweep again",
                    cargo.display()
                )
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "building fetch_many failed ({status}); its errors are above. Fix them, or run \
                 `cargo build --release --examples` yourself"
            ))
        }
    }
}

/// The flag fetch_many's `--runner` takes for `client`.
fn runner_flag(client: Client) -> &'static str {
    match client {
        Client::Sequential => "sequential",
        Client::ThreadPerTask => "thread-per-task",
        Client::ThreadPool(_) => "thread-pool",
        Client::EventLoop => "event-loop",
        #[cfg(feature = "uring")]
        Client::Uring => "uring",
    }
}

/// One measurement: run fetch_many for one client and count, and read the report it prints.
pub fn measure(
    fetch_many: &Path,
    client: Client,
    count: u64,
    delay_ms: u64,
) -> Result<Report, String> {
    let mut command = Command::new(fetch_many);
    command
        .args(["--runner", runner_flag(client), "--json"])
        .args(["--count", &count.to_string()])
        .args(["--delay-ms", &delay_ms.to_string()])
        .args(["--size", &BODY_SIZE.to_string()]);
    if let Client::ThreadPool(n) = client {
        command.args(["--pool-size", &n.to_string()]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", fetch_many.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // fetch_many exits 1 when some fetches failed but still prints its JSON: take the report
    // whenever there is one, and let the caller count the failures.
    if let Some(report) = first_report(&stdout) {
        return serde_json::from_str::<Report>(report)
            .map_err(|e| format!("fetch_many's report: {e}"));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "fetch_many printed no report ({}): {why}",
        output.status
    ))
}

/// The first object of the `"reports":[...]` array in fetch_many's JSON, as text for
/// `serde_json::from_str::<Report>`: the braces are matched, skipping those inside strings.
fn first_report(json: &str) -> Option<&str> {
    let after = json.find("\"reports\":[")? + "\"reports\":[".len();
    let rest = &json[after..];
    if !rest.trim_start().starts_with('{') {
        return None;
    }
    let open = rest.find('{')?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in rest[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[open..=open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_report_is_cut_out_with_braces_in_strings_skipped() {
        let json = r#"{"plan":{"count":1},"reports":[{"client":"a","first_error":"x } {","errors":{"refused":0}}],"failures":[]}"#;
        assert_eq!(
            first_report(json),
            Some(r#"{"client":"a","first_error":"x } {","errors":{"refused":0}}"#)
        );
        assert_eq!(first_report(r#"{"reports":[],"failures":[]}"#), None);
    }
}
