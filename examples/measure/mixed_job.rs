//! `mixed_job.md`: the case real programs are, fetch and then compute on each body, many at
//! once: the event loop alone, the loop with `spawn_blocking`, a thread per fetch, and Python's
//! asyncio, `asyncio.to_thread`, threads and a process pool (`examples/cpu_bound.py mixed`). The
//! server is this binary's `child-http` on the event loop, answering `/delay?ms=50`, in a
//! process of its own so that its CPU time is not the clients'; the measuring is the lab
//! bench's (`taketurns::workload::cpu::mixed`).

use std::time::Duration;

use taketurns::workload::cpu::mixed::{MixedSize, Target, mixed_table};

use crate::Experiment;
use crate::children::ServerChild;
use crate::cpu_bound::from_lab;

/// `--only mixed`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "mixed",
    file: "mixed_job.md",
    about: "fetch, then compute on each body: the loop, helpers, threads, Python",
    skip: None,
    run: |run| {
        let server = ServerChild::start(&[])?;
        let target = Target {
            addr: server.addr,
            path: "/delay?ms=50".into(),
            delay: Duration::from_millis(50),
        };
        mixed_table(&target, &MixedSize::new(run.size.quick)).map(from_lab)
    },
};
