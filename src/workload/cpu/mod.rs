//! CPU-bound work, measured: one job, run every way a Rust or a Python program can run it, and
//! what computing does to an event loop that also waits.
//!
//! The job is the sum of `i * i % 1_000_003` over a range of integers, cut into equal *jobs*: pure
//! arithmetic on machine-sized numbers, with no I/O, no allocation and nothing shared. It is fair
//! to both languages because each runs it as its own plain loop, with no library underneath (no
//! NumPy, whose loops in C let go of the GIL): Python's time is the interpreter's, Rust's the
//! processor's. The two are never compared by wall time. Each language is compared with itself,
//! one job after another against the ways of spreading the jobs, and each gets a job sized to
//! take about the same time one after another on the machine it runs on ([`calibrate`]).
//!
//! Three experiments, each a table that `examples/measure` writes into `book/src/measured/`:
//! - [`cpu_bound_table`] (`cpu_bound.md`): the job six ways in Rust ([`Way`]) and five in Python
//!   (`examples/cpu_bound.py cpu`), with a free-threaded Python where the machine has one.
//! - [`lateness::blocking_table`] (`blocking_the_loop.md`): how late a ticking task runs while
//!   another task computes, on the loop and through `spawn_blocking`.
//! - [`mixed::mixed_table`] (`mixed_job.md`): fetch, then compute on each body: the loop alone,
//!   the loop with `spawn_blocking`, a thread per fetch, and Python's asyncio, threads and
//!   processes.
//!
//! asyncio's counterparts of the ways: `asyncio.gather` over coroutines that never await (the
//! loop), `asyncio.to_thread` (`spawn_blocking`), `ThreadPoolExecutor`, `ProcessPoolExecutor`.
//! tokio's: `tokio::spawn`, `tokio::task::spawn_blocking`, and rayon for a pool. Left out: SIMD
//! and other ways to make one core faster (the question is how work is spread, not how fast one
//! core sums), and processes that share memory (each child gets its range as arguments and
//! prints its sum).

pub mod lateness;
pub mod mixed;
pub mod python;

use std::ops::Range;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::machine;
use super::table::{Table, count, ratio, sig2, time};
use python::{Python, PythonRun};

// ANCHOR: job
/// The job: the sum of `i * i % 1_000_003` over a range. The modulo keeps the compiler from
/// replacing the loop with a closed formula, so the time is real arithmetic; `inline(never)`
/// makes every way run this same machine code.
#[inline(never)]
pub fn sum_of_squares(range: Range<u64>) -> u64 {
    range.map(|i| i * i % 1_000_003).sum()
}

/// `0..n` cut into `parts` ranges of nearly equal length, covering it exactly once.
pub fn chunks(n: u64, parts: u64) -> Vec<Range<u64>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|k| (n * k / parts)..(n * (k + 1) / parts))
        .collect()
}
// ANCHOR_END: job

/// The largest `n` a job may have: `i * i` must fit in a `u64` for every `i` below it.
pub const MAX_N: u64 = 4_000_000_000;

/// How many numbers [`sum_of_squares`] gets through in about `target` on this machine: the
/// fastest of five short trial runs (the fastest is the one least disturbed by other programs),
/// scaled up.
pub fn calibrate(target: Duration) -> u64 {
    let trial = 1_000_000u64;
    let fastest = (0..5)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(sum_of_squares(0..std::hint::black_box(trial)));
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    let per_number = fastest.as_secs_f64().max(1e-12) / trial as f64;
    ((target.as_secs_f64() / per_number) as u64).clamp(1, MAX_N)
}

/// How the job is cut and spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Numbers to sum: the whole job is `0..n`.
    pub n: u64,
    /// Equal jobs the range is cut into: one task, thread or `spawn_blocking` call each.
    pub jobs: u64,
    /// The pool's threads, and the child processes (each sums a contiguous share of the jobs).
    pub workers: u64,
}

impl Split {
    /// The jobs' ranges.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        chunks(self.n, self.jobs)
    }

    /// The ranges the `workers` child processes sum: whole jobs, as evenly shared as they go.
    pub fn shares(&self) -> Vec<Range<u64>> {
        let jobs = self.ranges();
        let workers = self.workers.clamp(1, self.jobs.max(1));
        chunks(jobs.len() as u64, workers)
            .into_iter()
            .filter(|share| share.start < share.end)
            .map(|share| jobs[share.start as usize].start..jobs[share.end as usize - 1].end)
            .collect()
    }
}

/// A program that sums one range in a child process: run as `program ARGS --start S --end E`,
/// it prints the sum of [`sum_of_squares`]`(S..E)` on one line. `examples/cpu_bound.rs` is one,
/// with `ARGS` = `chunk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildProgram {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before `--start S --end E`.
    pub args: Vec<String>,
}

impl ChildProgram {
    /// Start one child per range, all before reading the first, and add up what they print.
    ///
    /// # Errors
    /// A child that cannot start, fails, or prints something other than a number.
    pub fn sum(&self, ranges: &[Range<u64>]) -> Result<u64, String> {
        let mut children = Vec::new();
        for range in ranges {
            let child = Command::new(&self.program)
                .args(&self.args)
                .args(["--start", &range.start.to_string()])
                .args(["--end", &range.end.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
            children.push(child);
        }
        let mut total = 0;
        for child in children {
            let out = child
                .wait_with_output()
                .map_err(|e| format!("cannot wait for a child process: {e}"))?;
            let line = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(format!(
                    "{} {:?} exited with {}",
                    self.program.display(),
                    self.args,
                    out.status
                ));
            }
            total += line.trim().parse::<u64>().map_err(|_| {
                format!(
                    "{} printed {line:?}, not a sum: is it a program that sums one range?",
                    self.program.display()
                )
            })?;
        }
        Ok(total)
    }
}

// ANCHOR: ways
/// The ways Rust runs the jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// Every job on the calling thread, one after another.
    OneAfterAnother,
    /// One taketurns task per job. A task that never awaits runs to its end in one poll, so the
    /// tasks run one after another on the loop's thread.
    EventLoop,
    /// One `spawn_blocking` call per job, awaited from the loop: the runtime's helper threads.
    SpawnBlocking,
    /// One OS thread per job, all started at once.
    ThreadPerJob,
    /// A pool of `workers` threads; each takes the next job when it finishes one.
    ThreadPool,
    /// `workers` child processes, each summing its share of the jobs.
    Processes,
}
// ANCHOR_END: ways

impl Way {
    /// Every way, in the table's order.
    pub const ALL: [Way; 6] = [
        Way::OneAfterAnother,
        Way::EventLoop,
        Way::SpawnBlocking,
        Way::ThreadPerJob,
        Way::ThreadPool,
        Way::Processes,
    ];

    /// The row's name in the table, for a split with `workers` workers.
    pub fn row_name(self, workers: u64) -> String {
        match self {
            Way::OneAfterAnother => "Rust, one after another".into(),
            Way::EventLoop => "Rust, a task per job on the event loop".into(),
            Way::SpawnBlocking => "Rust, `spawn_blocking` per job".into(),
            Way::ThreadPerJob => "Rust, a thread per job".into(),
            Way::ThreadPool => format!("Rust, a pool of {workers} threads"),
            Way::Processes => format!("Rust, {workers} child processes"),
        }
    }
}

// ANCHOR: run
/// Run the whole job `way`, and return its sum (the same for every way).
///
/// # Errors
/// A runtime, thread or process that could not start, or [`Way::Processes`] without `child`.
pub fn run(way: Way, split: &Split, child: Option<&ChildProgram>) -> Result<u64, String> {
    let ranges = split.ranges();
    match way {
        Way::OneAfterAnother => Ok(ranges.into_iter().map(sum_of_squares).sum()),
        Way::EventLoop => loop_runtime()?.block_on(async move {
            let tasks: Vec<_> = ranges
                .into_iter()
                .map(|range| crate::spawn(async move { sum_of_squares(range) }))
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.map_err(|e| e.to_string())?;
            }
            Ok(total)
        }),
        Way::SpawnBlocking => loop_runtime()?.block_on(async move {
            let calls: Vec<_> = ranges
                .into_iter()
                .map(|range| crate::spawn_blocking(move || sum_of_squares(range)))
                .collect();
            let mut total = 0;
            for call in calls {
                total += call.await.map_err(|e| e.to_string())?;
            }
            Ok(total)
        }),
        Way::ThreadPerJob => std::thread::scope(|s| {
            let mut threads = Vec::new();
            for range in ranges {
                let thread = std::thread::Builder::new()
                    .spawn_scoped(s, move || sum_of_squares(range))
                    .map_err(|e| format!("cannot start a thread: {e}"))?;
                threads.push(thread);
            }
            let mut total = 0;
            for thread in threads {
                total += thread.join().map_err(|_| "a job's thread panicked")?;
            }
            Ok(total)
        }),
        Way::ThreadPool => {
            let pool = crate::threaded::ThreadPool::new(split.workers.max(1) as usize)
                .map_err(|e| e.to_string())?;
            let handles: Vec<_> = ranges
                .into_iter()
                .map(|range| pool.spawn(move || sum_of_squares(range)))
                .collect();
            let mut total = 0;
            for handle in handles {
                total += handle.join().map_err(|_| "a pool job panicked")?;
            }
            Ok(total)
        }
        Way::Processes => child
            .ok_or("the processes' way needs a program that sums one range")?
            .sum(&split.shares()),
    }
}
// ANCHOR_END: run

/// A taketurns runtime for one run.
fn loop_runtime() -> Result<crate::Runtime, String> {
    crate::Runtime::new().map_err(|e| format!("cannot create a taketurns runtime: {e}"))
}

/// CPU time (user + system) used so far by this process and by its waited-for children.
pub fn cpu_so_far() -> Duration {
    machine::cpu_time() + machine::children_cpu_time()
}

/// One timed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Wall time, start to finish.
    pub wall: Duration,
    /// CPU time of this process and its children over the run.
    pub cpu: Duration,
}

impl Timed {
    /// CPU time ÷ wall time: how many cores were busy on average.
    pub fn cores_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// The run of median wall time among `runs` (the upper one of an even count).
    pub fn median(runs: &[Timed]) -> Option<Timed> {
        let mut sorted = runs.to_vec();
        sorted.sort_by_key(|t| t.wall);
        sorted.get(sorted.len() / 2).copied()
    }
}

/// Run `ways` in `rounds`, each round every way once (so that a burst of load from other
/// programs falls on all ways alike), check that every run gave the same sum as the first, and
/// return each way's median run.
///
/// # Errors
/// A run that failed, or two runs that disagree on the sum (a bug).
pub fn measure_ways(
    ways: &[Way],
    split: &Split,
    child: Option<&ChildProgram>,
    rounds: usize,
) -> Result<Vec<(Way, Timed)>, String> {
    let mut want: Option<u64> = None;
    let mut runs: Vec<Vec<Timed>> = vec![Vec::new(); ways.len()];
    for _ in 0..rounds.max(1) {
        for (way, runs) in ways.iter().zip(&mut runs) {
            let (cpu0, t0) = (cpu_so_far(), Instant::now());
            let sum = run(*way, split, child)?;
            let wall = t0.elapsed();
            let cpu = cpu_so_far().saturating_sub(cpu0);
            match want {
                Some(want) if want != sum => {
                    return Err(format!(
                        "{way:?} summed {sum}, the first way {want}: a way lost or repeated \
                         part of the range"
                    ));
                }
                _ => want = Some(sum),
            }
            runs.push(Timed { wall, cpu });
        }
    }
    Ok(ways
        .iter()
        .zip(runs)
        .map(|(way, runs)| (*way, Timed::median(&runs).expect("at least one round")))
        .collect())
}

/// How big `cpu_bound_table`'s runs are: `--quick` or the full run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuSize {
    /// About how long the whole job takes one after another, in each language.
    pub target: Duration,
    /// Rounds of the Rust ways (the median is reported).
    pub rounds: usize,
    /// Rounds of the Python ways.
    pub python_rounds: usize,
    /// Workers (pool threads, processes); the jobs are four per worker.
    pub workers: u64,
}

impl CpuSize {
    /// The quick run's sizes or the full run's, with a worker per core.
    pub fn new(quick: bool) -> CpuSize {
        let workers = machine::cpus().max(1) as u64;
        if quick {
            CpuSize {
                target: Duration::from_millis(200),
                rounds: 2,
                python_rounds: 1,
                workers,
            }
        } else {
            CpuSize {
                target: Duration::from_secs(1),
                rounds: 5,
                python_rounds: 3,
                workers,
            }
        }
    }

    /// Jobs per whole job.
    pub fn jobs(&self) -> u64 {
        self.workers * 4
    }
}

/// The columns of `cpu_bound.md`.
pub const CPU_COLUMNS: [&str; 5] = [
    "how the jobs ran",
    "wall time",
    "CPU time",
    "speed-up",
    "cores busy",
];

/// A row of the CPU table: name, the run, and the run it is compared with.
fn cpu_row(table: &mut Table, name: String, run: Timed, baseline: Timed) {
    table.row(vec![
        name,
        time(run.wall),
        time(run.cpu),
        ratio(baseline.wall.as_secs_f64(), run.wall.as_secs_f64()),
        sig2(run.cores_busy()),
    ]);
}

/// `cpu_bound.md`: the job six ways in Rust and five in Python (and two in a free-threaded
/// Python, where one is installed). Python's rows need `python3` on the PATH; without it the
/// table says so under the Rust rows. `child` sums one range in a child process.
///
/// # Errors
/// A Rust way that could not run. A Python failure is a sentence under the table instead.
pub fn cpu_bound_table(size: &CpuSize, child: &ChildProgram) -> Result<Table, String> {
    let n = calibrate(size.target);
    let split = Split {
        n,
        jobs: size.jobs(),
        workers: size.workers,
    };
    let rust = measure_ways(&Way::ALL, &split, Some(child), size.rounds)?;
    let mut table = Table::new(&CPU_COLUMNS);
    let base = rust[0].1;
    for (way, run) in &rust {
        cpu_row(&mut table, way.row_name(split.workers), *run, base);
    }
    let found = |way| rust.iter().find(|(w, _)| *w == way).map(|r| r.1);
    table.sentences.push(format!(
        "The job: the sum of `i * i % 1000003` over {} numbers in Rust, cut into {} equal jobs \
         for {} workers on {} cores.",
        count(n),
        split.jobs,
        split.workers,
        machine::cpus()
    ));
    let mut speedups = vec![format!(
        "{} for Rust's pool of threads",
        speedup(base, found(Way::ThreadPool))
    )];
    let python = Python::system();
    match &python {
        None => table.sentences.push(
            "There are no Python rows: `python3` is not on the PATH (or does not run).".into(),
        ),
        Some(py) => match python_cpu(py, size, &split, &["all"]) {
            Ok(runs) => {
                let py_base = runs.first().map(|r| r.timed);
                for run in &runs {
                    cpu_row(
                        &mut table,
                        python_cpu_row(&run.way, size.workers, None),
                        run.timed,
                        py_base.unwrap_or(run.timed),
                    );
                }
                let py_n = runs.first().map_or(0, |r| r.n);
                table.sentences.push(format!(
                    "Python summed {} numbers, the same job sized to take about as long one \
                     after another as Rust's {}; it ran on {}.",
                    count(py_n),
                    count(n),
                    py.describe()
                ));
                let pick = |way: &str| runs.iter().find(|r| r.way == way).map(|r| r.timed);
                if let Some(b) = py_base {
                    speedups.push(format!(
                        "{} for Python's pool of threads",
                        speedup(b, pick("threads"))
                    ));
                    speedups.push(format!(
                        "{} for Python's pool of processes",
                        speedup(b, pick("processes"))
                    ));
                }
            }
            Err(e) => table
                .sentences
                .push(format!("The Python rows could not run ({e}).")),
        },
    }
    match Python::free_threaded() {
        Some(ft) => match python_cpu(&ft, size, &split, &["sequential", "threads"]) {
            Ok(runs) => {
                let base = runs.first().map(|r| r.timed);
                for run in &runs {
                    cpu_row(
                        &mut table,
                        python_cpu_row(&run.way, size.workers, Some(&ft)),
                        run.timed,
                        base.unwrap_or(run.timed),
                    );
                }
                table.sentences.push(format!(
                    "The rows marked without the GIL ran on {}.",
                    ft.describe()
                ));
            }
            Err(e) => table.sentences.push(format!(
                "The free-threaded Python ({}) could not run ({e}).",
                ft.program
            )),
        },
        None if python.is_some() => table.sentences.push(
            "No free-threaded Python (`python3.13t` or later) was found, so every Python row \
             ran with the GIL."
                .into(),
        ),
        None => {}
    }
    table.sentences.push(format!(
        "On this run the speed-up over one after another was {}.",
        and_list(&speedups)
    ));
    table.sentences.push(format!(
        "Each row is the median of {} in Rust and {} in Python, a round running every way once; \
         CPU time includes the child processes'.",
        rounds(size.rounds),
        rounds(size.python_rounds)
    ));
    Ok(table)
}

/// `1 round`, `3 rounds`.
fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".into()
    } else {
        format!("{n} rounds")
    }
}

/// `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `a.wall ÷ b.wall` as a ratio, or `–` without `b`.
fn speedup(base: Timed, run: Option<Timed>) -> String {
    run.map_or("–".into(), |r| {
        ratio(base.wall.as_secs_f64(), r.wall.as_secs_f64())
    })
}

/// Run `examples/cpu_bound.py cpu` on `py` with `ways` and return each way's median run, in the
/// order the script reports them.
fn python_cpu(
    py: &Python,
    size: &CpuSize,
    split: &Split,
    ways: &[&str],
) -> Result<Vec<PythonRun>, String> {
    let args = [
        "cpu".to_string(),
        "--target-ms".into(),
        size.target.as_millis().to_string(),
        "--jobs".into(),
        split.jobs.to_string(),
        "--workers".into(),
        split.workers.to_string(),
        "--rounds".into(),
        size.python_rounds.to_string(),
        "--ways".into(),
        ways.join(","),
    ];
    py.medians(&args)
}

/// The row's name of a Python way in the CPU table; `free` names a free-threaded interpreter.
fn python_cpu_row(way: &str, workers: u64, free: Option<&Python>) -> String {
    let what = match way {
        "sequential" => "one after another".to_string(),
        "asyncio" => "an asyncio task per job".to_string(),
        "threads" => format!("a pool of {workers} threads"),
        "to_thread" => "`asyncio.to_thread` per job".to_string(),
        "processes" => format!("a pool of {workers} processes"),
        other => other.to_string(),
    };
    match free {
        Some(py) => format!("Python {} without the GIL, {what}", py.short_version()),
        None => format!("Python, {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_once() {
        for (n, parts) in [(10, 3), (1_000_001, 8), (3, 5), (0, 2)] {
            let ranges = chunks(n, parts);
            assert_eq!(ranges.len() as u64, parts);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, n);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        }
    }

    #[test]
    fn shares_are_whole_jobs_covering_the_range() {
        let split = Split {
            n: 1_000_003,
            jobs: 8,
            workers: 3,
        };
        let shares = split.shares();
        assert_eq!(shares.len(), 3);
        assert_eq!(shares[0].start, 0);
        assert_eq!(shares[2].end, split.n);
        assert!(shares.windows(2).all(|w| w[0].end == w[1].start));
        let starts: Vec<u64> = split.ranges().iter().map(|r| r.start).collect();
        assert!(shares.iter().all(|s| starts.contains(&s.start)));
    }

    #[test]
    fn every_way_but_processes_gives_the_same_sum() {
        let split = Split {
            n: 300_001,
            jobs: 7,
            workers: 3,
        };
        let want: u64 = (0..split.n).map(|i| i * i % 1_000_003).sum();
        for way in Way::ALL.into_iter().filter(|w| *w != Way::Processes) {
            assert_eq!(run(way, &split, None), Ok(want), "{way:?}");
        }
        let err = run(Way::Processes, &split, None).unwrap_err();
        assert!(err.contains("needs a program"), "{err}");
    }

    #[test]
    fn a_child_program_that_prints_no_number_is_a_clear_error() {
        let child = ChildProgram {
            program: "echo".into(),
            args: vec!["not-a-sum".into()],
        };
        let err = child.sum(&[0..10, 10..20]).unwrap_err();
        assert!(err.contains("not a sum"), "{err}");
    }

    #[test]
    fn calibrate_gives_a_usable_size() {
        let n = calibrate(Duration::from_millis(5));
        assert!((1..=MAX_N).contains(&n));
    }
}
