//! A mixed job, measured: fetch a page, then compute on its body, many times at once. This is
//! the shape of most real programs (a crawler that parses what it downloads, a server that
//! renders what its database returns), and the answer for it is "both": an event loop for the
//! waiting and more cores for the computing.
//!
//! Every fetch goes to a server that answers after a fixed delay; the computation on each body is
//! the CPU job [`super::sum_of_squares`] over `n` numbers starting at the body's length, so it
//! cannot begin before the response has arrived, sized to take about the same time in each
//! language. Three Rust ways ([`MixedWay`]) and four Python ones (`examples/cpu_bound.py mixed`):
//! asyncio alone, asyncio with `asyncio.to_thread`, a thread per fetch, and asyncio with a
//! `ProcessPoolExecutor`. The server is the caller's: `measure` starts one in a child process so
//! that its CPU time is not counted here. tokio's version of the loop with helpers is
//! `tokio::spawn` per fetch and `spawn_blocking` (or rayon) per body. Left out: bodies that differ
//! (every fetch gets the same answer, and the computation only needs one that has arrived).

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::python::Python;
use super::{Timed, calibrate, cpu_so_far, sum_of_squares};
use crate::workload::table::{Table, count, ratio, sig2, time};
use crate::workload::{FetchError, fetch, fetch_blocking};

/// Where to fetch from: a server that answers `GET path` after `delay`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// Path and query, e.g. `/delay?ms=50` (the keep-alive server) or `/?delay_ms=50&size=1024`
    /// (the delay server).
    pub path: String,
    /// How long the server waits before it answers, for the caption.
    pub delay: Duration,
}

impl Target {
    /// The request every fetch sends: one `GET`, then the server closes.
    pub fn request(&self) -> Vec<u8> {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.path, self.addr
        )
        .into_bytes()
    }
}

// ANCHOR: compute
/// The work on one body: the CPU job over `n` numbers, starting at the body's length.
pub fn compute(body_len: u64, n: u64) -> u64 {
    sum_of_squares(body_len..body_len + n)
}
// ANCHOR_END: compute

/// The ways Rust runs the fetches and their computations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixedWay {
    /// A task per fetch on the loop, computing in the task.
    LoopAlone,
    /// A task per fetch on the loop, computing through `spawn_blocking`.
    LoopSpawnBlocking,
    /// An OS thread per fetch, fetching with blocking calls and computing on the same thread.
    ThreadPerFetch,
}

impl MixedWay {
    /// Every way, in the table's order.
    pub const ALL: [MixedWay; 3] = [
        MixedWay::LoopAlone,
        MixedWay::LoopSpawnBlocking,
        MixedWay::ThreadPerFetch,
    ];

    /// The row's name.
    pub fn row_name(self) -> &'static str {
        match self {
            MixedWay::LoopAlone => "Rust, the event loop alone",
            MixedWay::LoopSpawnBlocking => "Rust, the event loop + `spawn_blocking`",
            MixedWay::ThreadPerFetch => "Rust, a thread per fetch",
        }
    }
}

/// One run of the mixed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixedRun {
    /// Wall and CPU time of the whole run.
    pub timed: Timed,
    /// Fetches that got a whole response and were computed on.
    pub ok: u64,
    /// Fetches that failed.
    pub errors: u64,
    /// The first failure's message.
    pub first_error: Option<String>,
}

// ANCHOR: fetch_then_compute
/// One fetch and the computation on its body, as a task on the loop: in the task itself, or on
/// a helper thread while the loop goes on with the other fetches.
async fn fetch_then_compute(
    addr: SocketAddr,
    request: Rc<[u8]>,
    n: u64,
    timeout: Duration,
    off_the_loop: bool,
) -> Result<u64, FetchError> {
    let body_len = fetch(addr, &request, timeout).await?;
    if off_the_loop {
        crate::spawn_blocking(move || compute(body_len, n))
            .await
            .map_err(|e| FetchError::Other(std::io::Error::other(e.to_string())))
    } else {
        Ok(compute(body_len, n))
    }
}
// ANCHOR_END: fetch_then_compute

/// Run `fetches` fetches of `target`, each followed by a computation of `n` numbers, `way`.
///
/// # Errors
/// A runtime or thread that could not start. Failed fetches are counted, not errors.
pub fn run_mixed(
    way: MixedWay,
    target: &Target,
    fetches: usize,
    n: u64,
    timeout: Duration,
) -> Result<MixedRun, String> {
    let addr = target.addr;
    let (cpu0, t0) = (cpu_so_far(), Instant::now());
    let outcomes: Vec<Result<u64, FetchError>> = match way {
        MixedWay::LoopAlone | MixedWay::LoopSpawnBlocking => {
            let rt = crate::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
            let request: Rc<[u8]> = target.request().into();
            let off = way == MixedWay::LoopSpawnBlocking;
            rt.block_on(async {
                let tasks: Vec<_> = (0..fetches)
                    .map(|_| {
                        crate::spawn(fetch_then_compute(addr, request.clone(), n, timeout, off))
                    })
                    .collect();
                let mut outcomes = Vec::new();
                for task in tasks {
                    outcomes.push(task.await.map_err(|e| e.to_string())?);
                }
                Ok::<_, String>(outcomes)
            })?
        }
        MixedWay::ThreadPerFetch => {
            let request: Arc<[u8]> = target.request().into();
            let mut threads = Vec::new();
            for _ in 0..fetches {
                let request = Arc::clone(&request);
                let thread = std::thread::Builder::new()
                    .spawn(move || {
                        fetch_blocking(addr, &request, timeout).map(|len| compute(len, n))
                    })
                    .map_err(|e| format!("cannot start thread {}: {e}", threads.len() + 1))?;
                threads.push(thread);
            }
            let mut outcomes = Vec::new();
            for thread in threads {
                outcomes.push(thread.join().map_err(|_| "a fetch's thread panicked")?);
            }
            outcomes
        }
    };
    let timed = Timed {
        wall: t0.elapsed(),
        cpu: cpu_so_far().saturating_sub(cpu0),
    };
    let mut run = MixedRun {
        timed,
        ok: 0,
        errors: 0,
        first_error: None,
    };
    for outcome in outcomes {
        match outcome {
            Ok(sum) => {
                std::hint::black_box(sum);
                run.ok += 1;
            }
            Err(e) => {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Ok(run)
}

/// How big `mixed_table`'s runs are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MixedSize {
    /// Fetches per run, all in flight at once.
    pub fetches: usize,
    /// About how long the computation on one body takes, in each language.
    pub compute: Duration,
    /// Runs per way (the median is reported).
    pub rounds: usize,
    /// Python's process pool.
    pub workers: u64,
    /// How long one fetch may take.
    pub timeout: Duration,
}

impl MixedSize {
    /// The quick run's sizes or the full run's.
    pub fn new(quick: bool) -> MixedSize {
        MixedSize {
            fetches: if quick { 20 } else { 100 },
            compute: Duration::from_millis(if quick { 5 } else { 10 }),
            rounds: if quick { 1 } else { 3 },
            workers: crate::workload::machine::cpus().max(1) as u64,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The columns of `mixed_job.md`.
pub const MIXED_COLUMNS: [&str; 5] = [
    "how it ran",
    "wall time",
    "CPU time",
    "cores busy",
    "errors",
];

/// A row of the mixed table.
fn mixed_row(table: &mut Table, name: String, timed: Timed, errors: u64) {
    table.row(vec![
        name,
        time(timed.wall),
        time(timed.cpu),
        sig2(timed.cores_busy()),
        errors.to_string(),
    ]);
}

/// `mixed_job.md`: the three Rust ways and, with `python3`, the four Python ones, against
/// `target`.
///
/// # Errors
/// A Rust way that could not run. Python's failures are a sentence under the table.
pub fn mixed_table(target: &Target, size: &MixedSize) -> Result<Table, String> {
    let n = calibrate(size.compute);
    let mut table = Table::new(&MIXED_COLUMNS);
    let mut medians = Vec::new();
    let mut failures = Vec::new();
    for way in MixedWay::ALL {
        let mut runs = Vec::new();
        for _ in 0..size.rounds.max(1) {
            runs.push(run_mixed(way, target, size.fetches, n, size.timeout)?);
        }
        runs.sort_by_key(|r| r.timed.wall);
        let median = runs.swap_remove(runs.len() / 2);
        if let Some(e) = &median.first_error {
            failures.push(format!("{}: a fetch failed ({e}).", way.row_name()));
        }
        mixed_row(
            &mut table,
            way.row_name().to_string(),
            median.timed,
            median.errors,
        );
        medians.push((way, median.timed));
    }
    let per_body = time(size.compute);
    let mut sentences = vec![format!(
        "{} fetches at once, each answered after {} by a server in another process, then a \
         computation on each body sized to take about {} one at a time (Rust summed {} numbers \
         per body): one core needs about {} for the computing alone.",
        size.fetches,
        time(target.delay),
        per_body,
        count(n),
        time(size.compute * size.fetches as u32)
    )];
    let rust = |way| medians.iter().find(|(w, _)| *w == way).map(|m| m.1);
    let mut ratios = Vec::new();
    if let (Some(alone), Some(helped)) =
        (rust(MixedWay::LoopAlone), rust(MixedWay::LoopSpawnBlocking))
    {
        ratios.push(format!(
            "the loop with `spawn_blocking` took {} the wall time of the loop alone",
            ratio(helped.wall.as_secs_f64(), alone.wall.as_secs_f64())
        ));
    }
    match Python::system() {
        None => sentences.push(
            "There are no Python rows: `python3` is not on the PATH (or does not run).".into(),
        ),
        Some(py) => match python_mixed(&py, target, size) {
            Ok(runs) => {
                for run in &runs {
                    let name = match run.way.as_str() {
                        "asyncio" => "Python, asyncio alone".to_string(),
                        "to_thread" => "Python, asyncio + `asyncio.to_thread`".to_string(),
                        "threads" => "Python, a thread per fetch".to_string(),
                        "processes" => {
                            format!("Python, asyncio + a pool of {} processes", size.workers)
                        }
                        other => format!("Python, {other}"),
                    };
                    if let Some(e) = &run.first_error {
                        failures.push(format!("{name}: a fetch failed ({e})."));
                    }
                    mixed_row(&mut table, name, run.timed, run.errors);
                }
                sentences.push(format!(
                    "Python summed {} numbers per body, on {}.",
                    count(runs.first().map_or(0, |r| r.n)),
                    py.describe()
                ));
                let pick = |way: &str| runs.iter().find(|r| r.way == way).map(|r| r.timed);
                if let (Some(alone), Some(pool)) = (pick("asyncio"), pick("processes")) {
                    ratios.push(format!(
                        "Python's asyncio with a process pool {} that of asyncio alone",
                        ratio(pool.wall.as_secs_f64(), alone.wall.as_secs_f64())
                    ));
                }
            }
            Err(e) => sentences.push(format!("The Python rows could not run ({e}).")),
        },
    }
    if !ratios.is_empty() {
        sentences.push(format!("On this run {}.", ratios.join(", and ")));
    }
    sentences.push(match size.rounds.max(1) {
        1 => "Each row is one run.".to_string(),
        rounds => format!("Each row is the median of {rounds} runs."),
    });
    sentences.extend(failures);
    table.sentences = sentences;
    Ok(table)
}

/// Run `examples/cpu_bound.py mixed` against `target` and return each way's median run.
fn python_mixed(
    py: &Python,
    target: &Target,
    size: &MixedSize,
) -> Result<Vec<super::python::PythonRun>, String> {
    let args = [
        "mixed".to_string(),
        "--addr".into(),
        target.addr.to_string(),
        "--path".into(),
        target.path.clone(),
        "--count".into(),
        size.fetches.to_string(),
        "--compute-ms".into(),
        size.compute.as_millis().to_string(),
        "--workers".into(),
        size.workers.to_string(),
        "--rounds".into(),
        size.rounds.max(1).to_string(),
        "--timeout-ms".into(),
        size.timeout.as_millis().to_string(),
    ];
    py.medians(&args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_fetches_and_computes_every_body() {
        let delay = Duration::from_millis(5);
        let (addr, server) = crate::workload::spawn_server_thread("127.0.0.1:0").unwrap();
        let target = Target {
            addr,
            path: format!("/?delay_ms={}&size=100", delay.as_millis()),
            delay,
        };
        for way in MixedWay::ALL {
            let run = run_mixed(way, &target, 8, 1000, Duration::from_secs(20)).unwrap();
            assert_eq!((run.ok, run.errors), (8, 0), "{way:?}: {run:?}");
            assert!(run.timed.wall >= delay, "{way:?}: {run:?}");
        }
        server.shutdown().unwrap();
    }

    #[test]
    fn a_server_that_is_gone_is_counted_as_failed_fetches() {
        let (addr, server) = crate::workload::spawn_server_thread("127.0.0.1:0").unwrap();
        server.shutdown().unwrap();
        let target = Target {
            addr,
            path: "/".into(),
            delay: Duration::ZERO,
        };
        let run = run_mixed(MixedWay::LoopAlone, &target, 3, 10, Duration::from_secs(5)).unwrap();
        assert_eq!((run.ok, run.errors), (0, 3));
        assert!(run.first_error.unwrap().contains("refused"));
    }
}
