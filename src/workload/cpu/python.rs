//! The Python side of the CPU experiments: find an interpreter, run `examples/cpu_bound.py` in its
//! machine-readable mode, and read back its runs.
//!
//! The script prints one JSON object per line: one per run, with the way's name, the round, the
//! wall and CPU time it measured itself (`time.perf_counter`, `resource.getrusage` of the process
//! and its children), and, for the mixed job, how many fetches succeeded. This module picks each
//! way's median run, as the Rust side does. Which interpreter ran is part of every table: the
//! system's `python3` (with the GIL, unless it is a free-threaded build), and a free-threaded
//! build (`python3.13t`, PEP 703) for extra rows where one is installed. Nothing is installed or
//! downloaded: a machine without `python3` gets tables without Python rows and a sentence saying
//! so. Left out: other interpreters (PyPy) and virtual environments.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::Timed;

/// The script, in the source tree this crate was built from.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cpu_bound.py");

/// The names a free-threaded CPython is installed under, tried in this order.
pub const FREE_THREADED: [&str; 4] = ["python3.13t", "python3.14t", "python3.15t", "python3t"];

/// Asks an interpreter for its version, its implementation and whether its GIL is on.
const PROBE: &str = "import sys; print(sys.version.split()[0], sys.implementation.name, \
                     int(getattr(sys, '_is_gil_enabled', lambda: True)()))";

/// A Python interpreter that runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    /// The command, as looked up on the PATH (`python3`, `python3.13t`).
    pub program: String,
    /// The first word of `sys.version`, e.g. `3.11.7`.
    pub version: String,
    /// `sys.implementation.name`, e.g. `cpython`.
    pub implementation: String,
    /// Whether the GIL is on: `sys._is_gil_enabled()`, always true before 3.13.
    pub gil: bool,
}

impl Python {
    /// Run `program` and ask it what it is; `None` if it is not there or does not run.
    pub fn probe(program: &str) -> Option<Python> {
        let out = Command::new(program)
            .args(["-c", PROBE])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        let (version, implementation, gil) = (words.next()?, words.next()?, words.next()?);
        Some(Python {
            program: program.to_string(),
            version: version.to_string(),
            implementation: implementation.to_string(),
            gil: gil != "0",
        })
    }

    /// The system's `python3`, if it runs.
    pub fn system() -> Option<Python> {
        Python::probe("python3")
    }

    /// The first free-threaded interpreter of [`FREE_THREADED`] that runs with its GIL off.
    pub fn free_threaded() -> Option<Python> {
        FREE_THREADED
            .iter()
            .filter_map(|name| Python::probe(name))
            .find(|py| !py.gil)
    }

    /// `3.13` from `3.13.1`.
    pub fn short_version(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// For a caption: "CPython 3.11.7 (`python3`), with the GIL".
    pub fn describe(&self) -> String {
        let name = match self.implementation.as_str() {
            "cpython" => "CPython".to_string(),
            "pypy" => "PyPy".to_string(),
            other => other.to_string(),
        };
        format!(
            "{name} {} (`{}`), {} the GIL",
            self.version,
            self.program,
            if self.gil { "with" } else { "without" }
        )
    }

    /// Run `examples/cpu_bound.py ARGS` and read every line it prints: tab-separated
    /// `key=value` pairs (the script's `report`).
    ///
    /// # Errors
    /// The script is missing, fails, or prints a line that is not `key=value` pairs.
    pub fn run(&self, args: &[String]) -> Result<Vec<Fields>, String> {
        if !std::path::Path::new(SCRIPT).is_file() {
            return Err(format!(
                "{SCRIPT} is missing: the Python rows run the script from the source tree"
            ));
        }
        let out = Command::new(&self.program)
            .arg(SCRIPT)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.program))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("no message");
            return Err(format!(
                "{} {SCRIPT} {} exited with {}: {last}",
                self.program,
                args.join(" "),
                out.status
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                Fields::parse(line).ok_or_else(|| {
                    format!("cpu_bound.py printed {line:?}, not tab-separated key=value pairs")
                })
            })
            .collect()
    }

    /// Run the script and return each way's median run, in the order the ways first appear.
    ///
    /// # Errors
    /// As [`Python::run`], and a run line without its fields.
    pub fn medians(&self, args: &[String]) -> Result<Vec<PythonRun>, String> {
        let mut ways: Vec<(String, Vec<PythonRun>)> = Vec::new();
        for value in self.run(args)? {
            let Some(run) = PythonRun::from_fields(&value) else {
                continue;
            };
            match ways.iter_mut().find(|(w, _)| *w == run.way) {
                Some((_, runs)) => runs.push(run),
                None => ways.push((run.way.clone(), vec![run])),
            }
        }
        if ways.is_empty() {
            return Err("cpu_bound.py reported no runs".into());
        }
        Ok(ways
            .into_iter()
            .map(|(_, mut runs)| {
                runs.sort_by_key(|r| r.timed.wall);
                runs.swap_remove(runs.len() / 2)
            })
            .collect())
    }
}

/// One line the script printed: its `key=value` pairs, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The pairs of one line; `None` if a part has no `=`.
    pub fn parse(line: &str) -> Option<Fields> {
        line.split('\t')
            .map(|part| {
                let (key, value) = part.split_once('=')?;
                Some((key.to_string(), value.to_string()))
            })
            .collect::<Option<Vec<_>>>()
            .map(Fields)
    }

    /// The value of `key`, if the line has it.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` as a whole number.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.str(key)?.parse().ok()
    }
}

/// One run the script reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonRun {
    /// The way's name in the script (`sequential`, `threads`, `asyncio`, ...).
    pub way: String,
    /// Numbers summed: the whole job (CPU table) or one fetch's computation (mixed job).
    pub n: u64,
    /// Wall and CPU time as the script measured them.
    pub timed: Timed,
    /// Fetches that succeeded (mixed job; 0 otherwise).
    pub ok: u64,
    /// Fetches that failed (mixed job; 0 otherwise).
    pub errors: u64,
    /// The first failure's message, if any.
    pub first_error: Option<String>,
}

impl PythonRun {
    /// A run line; `None` for another kind of line (the script's opening line has no `way`).
    pub fn from_fields(fields: &Fields) -> Option<PythonRun> {
        let micros = |key: &str| fields.u64(key).map(Duration::from_micros);
        Some(PythonRun {
            way: fields.str("way")?.to_string(),
            n: fields.u64("n").unwrap_or(0),
            timed: Timed {
                wall: micros("wall_us")?,
                cpu: micros("cpu_us")?,
            },
            ok: fields.u64("ok").unwrap_or(0),
            errors: fields.u64("errors").unwrap_or(0),
            first_error: fields
                .str("first_error")
                .filter(|e| *e != "None")
                .map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interpreter_is_none() {
        assert_eq!(Python::probe("no-such-python-here"), None);
    }

    #[test]
    fn describes_itself() {
        let py = Python {
            program: "python3.13t".into(),
            version: "3.13.1".into(),
            implementation: "cpython".into(),
            gil: false,
        };
        assert_eq!(
            py.describe(),
            "CPython 3.13.1 (`python3.13t`), without the GIL"
        );
        assert_eq!(py.short_version(), "3.13");
    }

    #[test]
    fn reads_a_run_line_and_skips_others() {
        let line = Fields::parse("way=threads\tround=0\tn=5\twall_us=2000\tcpu_us=1900").unwrap();
        let run = PythonRun::from_fields(&line).unwrap();
        assert_eq!(run.way, "threads");
        assert_eq!(run.timed.wall, Duration::from_millis(2));
        assert_eq!(run.first_error, None);
        let opening = Fields::parse("python=3.11.7\tgil=True").unwrap();
        assert_eq!(PythonRun::from_fields(&opening), None);
        assert_eq!(Fields::parse("no pairs here"), None);
    }
}
