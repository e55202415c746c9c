//! Blocking the loop, measured: how late a ticking task runs while another task computes, with
//! the computation on the loop's thread and through `spawn_blocking`.
//!
//! A *ticker* asks to run every `period` and records, for every deadline, how late it ran. A
//! deadline that passed while the ticker could not run counts too: it is late by the time until
//! the ticker did run (tokio's `MissedTickBehavior::Burst` accounting), so a stall of 100 ms
//! shows as twenty late ticks of 100, 95, ... 5 ms, as twenty requests arriving during it would
//! have waited. Meanwhile another task runs the CPU job [`super::sum_of_squares`], sized to
//! take about `job` on this machine, `repeats` times with a `pause` between, in one of three
//! [`Place`]s. On the loop's thread nothing interrupts a poll, so the ticker's worst lateness is
//! about the job's length on any machine; on a helper thread the loop stays free. asyncio's debug
//! mode reports the first case after the fact ("Executing <Task …> took 0.100 seconds"); its cure
//! is `asyncio.to_thread`, tokio's `spawn_blocking`. Left out: a job cut into slices with
//! `yield_now` between them (chapter 11's first exercise measures that).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{calibrate, sum_of_squares};
use crate::workload::table::{Table, percentile, ratio, time};

/// Where the other task's job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Nowhere: the other task only sleeps as long as the job would take (the baseline).
    Nowhere,
    /// Inside a task on the loop's thread, with no `.await` in it.
    OnTheLoop,
    /// Through `spawn_blocking`, awaited from the task.
    SpawnBlocking,
}

impl Place {
    /// Every place, in the table's order.
    pub const ALL: [Place; 3] = [Place::Nowhere, Place::OnTheLoop, Place::SpawnBlocking];

    /// The row's name.
    pub fn row_name(self) -> &'static str {
        match self {
            Place::Nowhere => "no job (the ticker alone)",
            Place::OnTheLoop => "the job on the loop",
            Place::SpawnBlocking => "the job through `spawn_blocking`",
        }
    }
}

/// What one run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatenessPlan {
    /// How often the ticker asks to run.
    pub period: Duration,
    /// About how long one job takes (its size is calibrated to this).
    pub job: Duration,
    /// Jobs run one after another.
    pub repeats: u32,
    /// The other task's sleep before each job and after the last.
    pub pause: Duration,
}

impl LatenessPlan {
    /// The quick run's plan or the full run's.
    pub fn new(quick: bool) -> LatenessPlan {
        LatenessPlan {
            period: Duration::from_millis(5),
            job: Duration::from_millis(if quick { 50 } else { 100 }),
            repeats: if quick { 3 } else { 10 },
            pause: Duration::from_millis(15),
        }
    }
}

/// What the ticker saw in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lateness {
    /// Where the job ran.
    pub place: Place,
    /// Each deadline's lateness, sorted.
    pub late: Vec<Duration>,
    /// The median time one job took (zero for [`Place::Nowhere`]).
    pub job: Duration,
}

impl Lateness {
    /// The median lateness.
    pub fn p50(&self) -> Duration {
        percentile(&self.late, 0.50)
    }
    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        percentile(&self.late, 0.99)
    }
    /// The worst.
    pub fn worst(&self) -> Duration {
        self.late.last().copied().unwrap_or_default()
    }
}

// ANCHOR: ticker
/// Run at every deadline `period` apart until `stop` is set, and record how late each deadline
/// was served; deadlines that passed meanwhile are served at once, each with its own lateness.
async fn ticker(period: Duration, stop: Rc<Cell<bool>>, late: Rc<RefCell<Vec<Duration>>>) {
    let mut deadline = Instant::now() + period;
    while !stop.get() {
        crate::time::sleep_until(deadline).await;
        let now = Instant::now();
        while deadline <= now {
            late.borrow_mut().push(now - deadline);
            deadline += period;
        }
    }
}
// ANCHOR_END: ticker

/// Run the job once and say how long it took.
fn timed_job(n: u64) -> Duration {
    let started = Instant::now();
    std::hint::black_box(sum_of_squares(0..std::hint::black_box(n)));
    started.elapsed()
}

// ANCHOR: measure
/// One run: the ticker beside `plan.repeats` jobs of `n` numbers in `place`.
///
/// # Errors
/// A runtime that cannot be created, or a job that panicked.
pub fn measure(place: Place, plan: &LatenessPlan, n: u64) -> Result<Lateness, String> {
    let rt = crate::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
    let stop = Rc::new(Cell::new(false));
    let late = Rc::new(RefCell::new(Vec::new()));
    let mut jobs = rt.block_on(async {
        let ticking = crate::spawn(ticker(plan.period, stop.clone(), late.clone()));
        let mut jobs = Vec::new();
        for _ in 0..plan.repeats {
            crate::time::sleep(plan.pause).await;
            let took = match place {
                Place::Nowhere => {
                    crate::time::sleep(plan.job).await;
                    Ok(Duration::ZERO)
                }
                // A task that computes without an `.await`: the loop's thread is busy until it
                // returns.
                Place::OnTheLoop => crate::spawn(async move { timed_job(n) }).await,
                // A task that waits for a helper thread: the loop is free meanwhile.
                Place::SpawnBlocking => crate::spawn_blocking(move || timed_job(n)).await,
            };
            jobs.push(took.map_err(|e| e.to_string())?);
        }
        crate::time::sleep(plan.pause).await;
        stop.set(true);
        ticking.await.map_err(|e| e.to_string())?;
        Ok::<_, String>(jobs)
    })?;
    jobs.sort();
    let mut late = late.take();
    late.sort();
    Ok(Lateness {
        place,
        late,
        job: jobs.get(jobs.len() / 2).copied().unwrap_or_default(),
    })
}
// ANCHOR_END: measure

/// The columns of `blocking_the_loop.md`.
pub const BLOCKING_COLUMNS: [&str; 6] = [
    "beside the ticker",
    "one job took",
    "ticks",
    "p50 lateness",
    "p99 lateness",
    "worst lateness",
];

/// `blocking_the_loop.md`: the ticker alone, beside the job on the loop, and beside the job
/// through `spawn_blocking`.
///
/// # Errors
/// A run that could not happen.
pub fn blocking_table(plan: &LatenessPlan) -> Result<Table, String> {
    let n = calibrate(plan.job);
    let mut table = Table::new(&BLOCKING_COLUMNS);
    let mut seen = Vec::new();
    for place in Place::ALL {
        let run = measure(place, plan, n)?;
        table.row(vec![
            place.row_name().to_string(),
            if place == Place::Nowhere {
                "–".to_string()
            } else {
                time(run.job)
            },
            run.late.len().to_string(),
            time(run.p50()),
            time(run.p99()),
            time(run.worst()),
        ]);
        seen.push(run);
    }
    table.sentences.push(format!(
        "A task on a taketurns loop asked to tick every {}, while another task slept {} and then \
         ran a job sized to take about {}, {} times over. Every deadline counts: one that passed \
         while the ticker could not run is late by the time until it ran.",
        time(plan.period),
        time(plan.pause),
        time(plan.job),
        plan.repeats
    ));
    if let (Some(inline), Some(helper)) = (
        seen.iter().find(|r| r.place == Place::OnTheLoop),
        seen.iter().find(|r| r.place == Place::SpawnBlocking),
    ) {
        table.sentences.push(format!(
            "On this run the worst tick was {} late with the job on the loop, {} the job's own \
             length, and {} late with the job through `spawn_blocking`.",
            time(inline.worst()),
            ratio(inline.worst().as_secs_f64(), inline.job.as_secs_f64()),
            time(helper.worst())
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticker_counts_every_deadline_a_stall_swallowed() {
        let plan = LatenessPlan {
            period: Duration::from_millis(2),
            job: Duration::from_millis(30),
            repeats: 1,
            pause: Duration::from_millis(4),
        };
        let n = calibrate(plan.job);
        let run = measure(Place::OnTheLoop, &plan, n).unwrap();
        // On one thread the deadlines that fell inside the job were served after it: the worst
        // is at least the job's length minus one period, whatever the machine.
        assert!(
            run.worst() + plan.period >= run.job,
            "worst {:?}, job {:?}",
            run.worst(),
            run.job
        );
        let during = (run.job.as_millis() as usize / 2).saturating_sub(1);
        assert!(
            run.late.len() >= during,
            "{} ticks for a {:?} job",
            run.late.len(),
            run.job
        );
    }
}
