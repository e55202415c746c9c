//! The build track's checker: runs your step and the reference step, each against a delay server
//! of its own, and says in plain words where your step differs.
//!
//! ```console
//! $ cargo run --example check -- 3 --bin step_03       # your project's src/bin/step_03.rs
//! $ cargo run --example check -- 3 path/to/program     # any program, with its arguments
//! $ cargo run --example check -- 3 --example step_03_wakers
//! ```
//!
//! `--bin NAME` and `--example NAME` build and run that program of the cargo project in the
//! current folder, so from your own project you run the checker with `--manifest-path` pointing at
//! a clone of taketurns (chapter 4 shows it, and an alias for it). The reference is the step in
//! `examples/course/`, built from that clone.
//!
//! Every step prints one line before each poll (`poll 5: running 2 | ready: [3, 1] | waiting:
//! [4]`), what the tasks say, and a summary. Steps 1 to 4 involve no clock and no network, so your
//! printout must be the reference's, line for line. Steps 5 to 9 fetch from a server, and from the
//! first moment the network or the clock has a say (the first `epoll:` line, or the paper
//! arriving), runs differ: there the checker compares relations that hold on every run: each
//! task's lines in order, the right tasks finished, counts in a range (the guest's polls with a
//! reactor, empty waits), the roast never early, one connection per guest.
//!
//! It checks your printout for what is never right, too: a task that runs while it is queued, a
//! task queued twice, a task in both lists. It stops a program after 20 seconds or a million
//! lines. Exit code 0: your step works; 1: it does not yet; 2: the command line or the reference
//! could not be used. It uses the crate's delay server (`taketurns::workload`), as chapter 10 does;
//! what a reader's step uses is only std, futures, mio and slab.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use taketurns::workload::{ShutdownHandle, raise_fd_limit, spawn_server_thread};

mod compare;
mod run;

use compare::*;
use run::*;

/// The reference program of each step, step 1 first.
pub(crate) const REFERENCE: [&str; 9] = [
    "step_01_poll_by_hand",
    "step_02_ready_queue",
    "step_03_wakers",
    "step_04_spawn",
    "step_05_nonblocking",
    "step_06_reactor",
    "step_07_timers",
    "step_08_fairness",
    "step_09_fetch_many",
];

/// The chapter that builds each step, step 1 first.
pub(crate) const CHAPTER: [u32; 9] = [4, 5, 5, 6, 7, 7, 8, 9, 9];

/// How long a run may take before the checker stops it.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(20);

/// How many lines a run may print before the checker stops it.
pub(crate) const LINE_LIMIT: usize = 1_000_000;

/// How many guests step 9 seats.
pub(crate) const GUESTS: usize = 1000;

/// The chef's task number, from step 4 on.
pub(crate) const CHEF: usize = 2;

/// The guest's task number in steps 5 to 8.
pub(crate) const GUEST: usize = 4;

/// The radio's task number in step 8.
pub(crate) const RADIO: usize = 5;

/// The program to check.
pub(crate) enum Program {
    /// `--bin NAME` or `--example NAME`: a program of the cargo project in the current folder.
    Cargo {
        /// `--bin` or `--example`.
        kind: String,
        /// The program's name.
        name: String,
    },
    /// A path to a program, and arguments to give it before the checker's own.
    Path {
        /// The program.
        path: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// A bad command line: say so, show the usage, exit with code 2.
pub(crate) fn usage(problem: &str) -> ! {
    eprintln!(
        "check: {problem}\n\
         usage: check STEP --bin NAME          (a program of the cargo project in this folder)\n\
         \x20      check STEP --example NAME\n\
         \x20      check STEP PATH [ARGS...]     (any program)\n\
         STEP is a step of the build track, 1 to 9: `check 3 --bin step_03`"
    );
    std::process::exit(2);
}

/// Read the command line: a step number, then the program.
pub(crate) fn parse_args() -> (usize, Program) {
    let mut args = std::env::args().skip(1);
    let step = match args.next() {
        None => usage("no step given"),
        Some(step) => match step.parse::<usize>() {
            Ok(step @ 1..=9) => step,
            _ => usage(&format!("{step:?} is not a step: the steps are 1 to 9")),
        },
    };
    let program = match args.next() {
        None => usage("no program given"),
        Some(kind) if kind == "--bin" || kind == "--example" => match args.next() {
            Some(name) => {
                if let Some(extra) = args.next() {
                    usage(&format!(
                        "{extra:?} after `{kind} {name}`: nothing may follow it"
                    ));
                }
                Program::Cargo { kind, name }
            }
            None => usage(&format!(
                "`{kind}` needs a name, such as `{kind} step_0{step}`"
            )),
        },
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file()
                && Path::new("src/bin")
                    .join(format!("{}.rs", path.display()))
                    .is_file()
            {
                usage(&format!(
                    "there is no program at {0}, but there is src/bin/{0}.rs: did you mean \
                     `--bin {0}`?",
                    path.display()
                ));
            }
            if !path.is_file() {
                usage(&format!(
                    "there is no program at {}: give its path, or `--bin NAME` to run a program \
                     of the cargo project in this folder",
                    path.display()
                ));
            }
            Program::Path {
                path,
                args: args.collect(),
            }
        }
    };
    (step, program)
}

fn main() {
    let (step, program) = parse_args();
    // Step 9 opens a thousand sockets in each program, and the servers here accept them all;
    // programs started from here inherit the limit.
    if let Err(e) = raise_fd_limit(4 * GUESTS as u64 + 64) {
        eprintln!("check: {e}");
    }
    let reference = match reference(step) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("check: the reference step {step} could not be run: {e}");
            std::process::exit(2);
        }
    };
    let yours = match yours(step, &program) {
        Ok(run) => run,
        Err(problem) => fail(step, &problem),
    };
    match compare(step, &yours, &reference) {
        Ok(praise) => {
            println!("Step {step} works.");
            for line in praise {
                print_wrapped("  - ", "    ", &line);
            }
            match step {
                9 => println!("That was the last step: the whole small runtime is yours."),
                _ => print_wrapped(
                    "",
                    "",
                    &format!(
                        "Next: step {}, in chapter {} (its starting point is \
                         examples/course/{}.rs).",
                        step + 1,
                        CHAPTER[step],
                        REFERENCE[step].replacen("step_", "start_", 1)
                    ),
                ),
            }
        }
        Err(problem) => fail(step, &problem),
    }
}

/// Say what is wrong with the step, and exit with code 1.
pub(crate) fn fail(step: usize, problem: &str) -> ! {
    println!("Step {step} is not there yet.");
    for line in problem.lines() {
        print_wrapped("  ", "  ", line);
    }
    std::process::exit(1);
}

/// Print `text` after `first`, wrapped at 96 columns, the lines after the first indented by
/// `rest`; a line that starts with four spaces (a quoted line of output) is printed as it is.
pub(crate) fn print_wrapped(first: &str, rest: &str, text: &str) {
    if text.is_empty() {
        println!();
        return;
    }
    if text.starts_with("    ") {
        println!("{first}{text}");
        return;
    }
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > 96 {
            println!("{line}");
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    println!("{line}");
}
