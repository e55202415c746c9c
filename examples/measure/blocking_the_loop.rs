//! `blocking_the_loop.md`: chapter 11's first question, how late everything else on the loop
//! gets while one task computes. A ticker asks to run every few milliseconds beside another task
//! that runs the CPU job again and again: not at all (the baseline), on the loop's thread, and
//! through `spawn_blocking`. All of it runs in this process; the measuring is the lab bench's
//! (`taketurns::workload::cpu::lateness`).
//!
//! asyncio's debug mode reports the same stall as "Executing <Task …> took … seconds"; this table
//! says how late every tick was. Left out: Python rows (asyncio's loop stalls the same way, for
//! the same reason).

use taketurns::workload::cpu::lateness::{LatenessPlan, blocking_table};

use crate::Experiment;
use crate::cpu_bound::from_lab;

/// `--only blocking`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "blocking",
    file: "blocking_the_loop.md",
    about: "how late a ticking task runs while another computes",
    skip: None,
    run: |run| blocking_table(&LatenessPlan::new(run.size.quick)).map(from_lab),
};
