//! `cpu_bound.md`: chapter 11's question, what spreads a CPU-bound job over the cores. The lab
//! bench's job (`taketurns::workload::cpu`) runs six ways in Rust, in this process and, for the
//! processes' row, in this binary's hidden `child-chunk` subcommand; and five ways in Python,
//! through `examples/cpu_bound.py cpu` on the system's `python3` (plus two rows on a free-threaded
//! `python3.13t` where one is installed).
//!
//! Python's own comparison is the same script run by hand; tokio's would be `spawn_blocking`
//! against rayon. The measuring, the rows and the sentences are the lab bench's; this module
//! hands it the child program and turns its table into this program's.

use std::process::ExitCode;

use taketurns::workload::cpu::{self, ChildProgram, CpuSize};

use crate::Experiment;
use crate::children::this_binary;
use crate::output::Table;

/// `--only cpu`.
pub const EXPERIMENT: Experiment = Experiment {
    name: "cpu",
    file: "cpu_bound.md",
    about: "one CPU-bound job every way, in Rust and in Python",
    skip: None,
    run: |run| {
        let child = ChildProgram {
            program: this_binary()?,
            args: vec!["child-chunk".into()],
        };
        cpu::cpu_bound_table(&CpuSize::new(run.size.quick), &child).map(from_lab)
    },
};

/// The `child-chunk` subcommand: print the job's sum over `start..end`.
pub fn child_chunk(start: u64, end: u64) -> ExitCode {
    if start > end || end > cpu::MAX_N {
        eprintln!(
            "measure child-chunk: expected --start S --end E with S <= E <= {}",
            cpu::MAX_N
        );
        return ExitCode::from(2);
    }
    println!("{}", cpu::sum_of_squares(start..end));
    ExitCode::SUCCESS
}

/// The lab bench's table as this program's.
pub fn from_lab(lab: taketurns::workload::table::Table) -> Table {
    let header: Vec<&str> = lab.header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for row in lab.rows {
        table.row(row);
    }
    table.sentences = lab.sentences;
    table
}
