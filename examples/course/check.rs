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

/// The reference program of each step, step 1 first.
const REFERENCE: [&str; 9] = [
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
const CHAPTER: [u32; 9] = [4, 5, 5, 6, 7, 7, 8, 9, 9];

/// How long a run may take before the checker stops it.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// How many lines a run may print before the checker stops it.
const LINE_LIMIT: usize = 1_000_000;

/// How many guests step 9 seats.
const GUESTS: usize = 1000;

/// The chef's task number, from step 4 on.
const CHEF: usize = 2;

/// The guest's task number in steps 5 to 8.
const GUEST: usize = 4;

/// The radio's task number in step 8.
const RADIO: usize = 5;

/// The program to check.
enum Program {
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
fn usage(problem: &str) -> ! {
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
fn parse_args() -> (usize, Program) {
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
fn fail(step: usize, problem: &str) -> ! {
    println!("Step {step} is not there yet.");
    for line in problem.lines() {
        print_wrapped("  ", "  ", line);
    }
    std::process::exit(1);
}

/// Print `text` after `first`, wrapped at 96 columns, the lines after the first indented by
/// `rest`; a line that starts with four spaces (a quoted line of output) is printed as it is.
fn print_wrapped(first: &str, rest: &str, text: &str) {
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

/// A delay server for one run, and what the run gets to find it.
struct Server {
    /// Stops the server; `None` for steps that fetch nothing.
    handle: Option<ShutdownHandle>,
    /// The arguments the step is run with.
    args: Vec<String>,
}

impl Server {
    /// A server of its own for a run of `step`, if the step fetches from one.
    fn for_step(step: usize) -> std::io::Result<Server> {
        if step < 5 {
            return Ok(Server {
                handle: None,
                args: Vec::new(),
            });
        }
        let (addr, handle) = spawn_server_thread("127.0.0.1:0")?;
        let mut args = vec!["--server".to_string(), addr.to_string()];
        if step == 9 {
            args.extend(["--count".to_string(), GUESTS.to_string()]);
        }
        Ok(Server {
            handle: Some(handle),
            args,
        })
    }

    /// Stop the server; how many connections it accepted.
    fn stop(mut self) -> u64 {
        let handle = self.handle.take();
        handle.map_or(0, |handle| {
            let accepted = handle.connections_accepted();
            let _ = handle.shutdown();
            accepted
        })
    }
}

/// The reference step's run: built from the clone this checker was built from.
fn reference(step: usize) -> Result<Run, String> {
    let name = REFERENCE[step - 1];
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .ok_or("the checker does not know its own folder")?;
    let mut build = Command::new(cargo());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    build.args(["build", "--quiet", "--example", name, "--manifest-path"]);
    build.arg(&manifest);
    if dir
        .parent()
        .is_some_and(|profile| profile.ends_with("release"))
    {
        build.arg("--release");
    }
    let built = build
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.status.success() {
        return Err(String::from_utf8_lossy(&built.stderr).into_owned());
    }
    let server = Server::for_step(step).map_err(|e| format!("no delay server: {e}"))?;
    let mut command = Command::new(dir.join(name));
    command.args(&server.args);
    let outcome = run_command(command).map_err(|e| e.to_string())?;
    let accepted = server.stop();
    let run = Run::parse(outcome, accepted);
    match &run.ended {
        Ended::Status(status) if status.success() => Ok(run),
        _ => Err(format!("it did not exit cleanly:\n{}", run.stderr)),
    }
}

/// The cargo that runs this checker, or the one on the `PATH`.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Your step's run; `Err` says why there is none (it does not compile).
fn yours(step: usize, program: &Program) -> Result<Run, String> {
    let server = Server::for_step(step).map_err(|e| format!("no delay server: {e}"))?;
    let mut command = match program {
        Program::Cargo { kind, name } => {
            let built = Command::new(cargo())
                .args(["build", "--quiet", kind, name])
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !built.status.success() {
                let stderr = String::from_utf8_lossy(&built.stderr);
                return Err(format!(
                    "`cargo build {kind} {name}` failed in this folder, so there is nothing to \
                     run yet:\n\n{}",
                    head(&stderr, 40)
                ));
            }
            let mut command = Command::new(cargo());
            command.args(["run", "--quiet", kind, name, "--"]);
            command
        }
        Program::Path { path, args } => {
            let mut command = Command::new(path);
            command.args(args);
            command
        }
    };
    command.args(&server.args);
    let outcome = run_command(command).map_err(|e| format!("cannot start your program: {e}"))?;
    let accepted = server.stop();
    Ok(Run::parse(outcome, accepted))
}

/// The first `n` lines of `text`.
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What a program did, as the checker saw it.
struct Outcome {
    /// Its standard output, line by line.
    stdout: Vec<String>,
    /// Its standard error.
    stderr: String,
    /// How it ended.
    ended: Ended,
}

/// How a run ended.
enum Ended {
    /// By itself, with this status.
    Status(ExitStatus),
    /// Stopped by the checker, for the reason given.
    Stopped(String),
}

/// Run `command`, reading its output as it comes; stop it after `TIME_LIMIT` or `LINE_LIMIT`.
fn run_command(mut command: Command) -> std::io::Result<Outcome> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let (stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reader = thread::spawn({
        let lines = lines.clone();
        move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut lines = lines.lock().unwrap();
                if lines.len() >= LINE_LIMIT {
                    break;
                }
                lines.push(line);
            }
        }
    });
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let ended = loop {
        if let Some(status) = child.try_wait()? {
            break Ended::Status(status);
        }
        if start.elapsed() > TIME_LIMIT {
            let secs = TIME_LIMIT.as_secs();
            break Ended::Stopped(format!("it had not finished after {secs} seconds"));
        }
        if lines.lock().unwrap().len() >= LINE_LIMIT {
            break Ended::Stopped(format!("it printed {LINE_LIMIT} lines and went on"));
        }
        // Polling the child is the only portable way to wait with a time limit in std.
        thread::sleep(Duration::from_millis(10));
    };
    if matches!(ended, Ended::Stopped(_)) {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    let stdout = std::mem::take(&mut *lines.lock().unwrap());
    Ok(Outcome {
        stdout,
        stderr,
        ended,
    })
}

/// A list as a step prints it: `[3, 1]`, or shortened, `[4, 5, 6, 7, 8, ..., 1002, 1003] (1000
/// tasks)`.
#[derive(Clone, PartialEq, Debug)]
struct List {
    /// The task numbers shown.
    tasks: Vec<usize>,
    /// Whether every task is shown.
    complete: bool,
}

impl List {
    fn parse(text: &str) -> Option<List> {
        let (inside, rest) = text.strip_prefix('[')?.split_once(']')?;
        let mut tasks = Vec::new();
        for item in inside.split(", ").filter(|item| !item.is_empty()) {
            if item != "..." {
                tasks.push(item.parse().ok()?);
            }
        }
        Some(List {
            tasks,
            complete: rest.is_empty(),
        })
    }

    fn contains(&self, task: usize) -> bool {
        self.tasks.contains(&task)
    }
}

/// The line before a poll.
#[derive(Clone, Debug)]
struct PollLine {
    /// Its place among the run's lines.
    at: usize,
    /// The line as printed.
    text: String,
    /// The tick it belongs to, from step 8.
    tick: Option<u64>,
    /// The poll's number.
    number: u64,
    /// The task about to run.
    running: usize,
    /// The ready queue, front first.
    ready: List,
    /// The waiting list.
    waiting: List,
    /// The line without its numbers: what must match the reference.
    lists: String,
}

impl PollLine {
    /// `poll 5: running 2 | ready: [3] | waiting: [1]`, or the same after `tick 3, `.
    fn parse(at: usize, line: &str) -> Option<PollLine> {
        let (tick, rest) = match line.strip_prefix("tick ") {
            Some(rest) => {
                let (tick, rest) = rest.split_once(", ")?;
                (Some(tick.parse().ok()?), rest)
            }
            None => (None, line),
        };
        let (number, lists) = rest.strip_prefix("poll ")?.split_once(": ")?;
        let mut parts = lists.split(" | ");
        let running = parts.next()?.strip_prefix("running ")?.parse().ok()?;
        let ready = List::parse(parts.next()?.strip_prefix("ready: ")?)?;
        let waiting = List::parse(parts.next()?.strip_prefix("waiting: ")?)?;
        Some(PollLine {
            at,
            text: line.to_string(),
            tick,
            number: number.parse().ok()?,
            running,
            ready,
            waiting,
            lists: lists.to_string(),
        })
    }
}

/// A run, read.
struct Run {
    /// Every line it printed.
    lines: Vec<String>,
    /// The lines before polls.
    polls: Vec<PollLine>,
    /// What the tasks said (`chef: chop`), in order.
    said: Vec<String>,
    /// `task N: P polls, finished: B`, by task.
    summary: BTreeMap<usize, (u64, bool)>,
    /// `epoll waits that found nothing: N`.
    empty_waits: Option<u64>,
    /// How many polls came before the first line that depends on the clock or the network.
    settled: usize,
    /// Its standard error.
    stderr: String,
    /// How it ended.
    ended: Ended,
    /// Connections its delay server accepted.
    accepted: u64,
}

impl Run {
    fn parse(outcome: Outcome, accepted: u64) -> Run {
        let lines = outcome.stdout;
        let polls: Vec<PollLine> = (lines.iter().enumerate())
            .filter_map(|(at, line)| PollLine::parse(at, line))
            .collect();
        let speakers = ["chef: ", "waiter: ", "guest: ", "main: "];
        let said = (lines.iter())
            .filter(|line| speakers.iter().any(|speaker| line.starts_with(speaker)))
            .cloned()
            .collect();
        let mut summary = BTreeMap::new();
        for line in &lines {
            if let Some((task, rest)) = line.strip_prefix("task ").and_then(|l| l.split_once(": "))
                && let Some((polls, finished)) = rest.split_once(" polls, finished: ")
                && let (Ok(task), Ok(polls)) = (task.parse(), polls.parse())
            {
                summary.insert(task, (polls, finished == "true"));
            }
        }
        let empty_waits = (lines.iter())
            .find_map(|line| line.strip_prefix("epoll waits that found nothing: "))
            .and_then(|n| n.parse().ok());
        let timed = |line: &String| {
            line.starts_with("epoll:")
                || line.starts_with("guest: reads the paper")
                || line.starts_with("guest: no paper")
        };
        let first_timed = lines.iter().position(timed).unwrap_or(lines.len());
        let settled = polls.iter().filter(|poll| poll.at < first_timed).count();
        Run {
            lines,
            polls,
            said,
            summary,
            empty_waits,
            settled,
            stderr: outcome.stderr,
            ended: outcome.ended,
            accepted,
        }
    }

    /// Whether the run printed `line`.
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The first line that starts with `start`.
    fn line_starting(&self, start: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.starts_with(start))
            .map(String::as_str)
    }

    /// How often `task` was polled, by the summary.
    fn polls_of(&self, task: usize) -> Option<u64> {
        self.summary.get(&task).map(|(polls, _)| *polls)
    }

    /// What `speaker` said, in order.
    fn said_by(&self, speaker: &str) -> Vec<&str> {
        let prefix = format!("{speaker}: ");
        (self.said.iter())
            .filter(|line| line.starts_with(&prefix))
            .map(String::as_str)
            .collect()
    }
}

/// Compare your run with the reference's: `Ok` with what went right, or `Err` with what differs
/// and what to look at.
fn compare(step: usize, yours: &Run, reference: &Run) -> Result<Vec<String>, String> {
    stopped_at_todo(yours)?;
    never_right(step, yours)?;
    let settled = if step <= 4 {
        reference.polls.len()
    } else {
        reference.settled.min(yours.settled)
    };
    same_polls(step, yours, reference, settled)?;
    how_it_ended(step, yours)?;
    let mut praise = if step <= 4 {
        same_printout(step, yours, reference)?;
        vec![format!(
            "your lists match the reference's at every poll ({} polls), and so does everything \
             else your step printed",
            reference.polls.len()
        )]
    } else {
        vec![format!(
            "your lists match the reference's at every poll until the clock or the network has a \
             say ({settled} polls)"
        )]
    };
    if step >= 5 {
        praise.extend(relations(step, yours, reference)?);
    }
    Ok(praise)
}

/// A run that stopped at a `todo!()`.
fn stopped_at_todo(yours: &Run) -> Result<(), String> {
    let Some(line) = (yours.stderr.lines()).find(|l| l.contains("not yet implemented")) else {
        return Ok(());
    };
    Err(format!(
        "Your step stopped at a todo!(), which panicked:\n\n    {}\n\nWrite that part (its doc \
         comment says what it must do), and check again.",
        line.trim()
    ))
}

/// What is never right in a printout, whatever the step.
fn never_right(step: usize, yours: &Run) -> Result<(), String> {
    for poll in &yours.polls {
        let (ready, waiting) = (&poll.ready, &poll.waiting);
        let (n, task) = (poll.number, poll.running);
        if ready.contains(task) {
            return Err(format!(
                "At poll {n} task {task} runs, and is in the ready queue as well:\n\n    {}\n\n\
                 A running task is in neither list; this one was queued twice, so it will be \
                 polled again for the same wake, maybe after it has finished.{}",
                poll.text,
                if step >= 3 {
                    " Does `wake` leave a task that is in the ready queue already where it is \
                     (the `Ready` arm does nothing)?"
                } else {
                    ""
                }
            ));
        }
        if waiting.contains(task) {
            return Err(format!(
                "At poll {n} task {task} runs while it is still in the waiting list:\n\n    {}\n\n\
                 A task leaves the waiting list when it is woken, before it is polled. Does \
                 `wake` take it out (`retain`) as it moves it to the ready queue?",
                poll.text
            ));
        }
        let mut seen: Vec<usize> = Vec::new();
        for &t in ready.tasks.iter().chain(&waiting.tasks) {
            if seen.contains(&t) && ready.complete && waiting.complete {
                return Err(format!(
                    "At poll {n} task {t} is in the lists twice:\n\n    {}\n\nA task is in one \
                     list at a time, once.",
                    poll.text
                ));
            }
            seen.push(t);
        }
    }
    if let Some(line) = yours.lines.iter().find(|l| l.contains("is queued twice")) {
        return Err(format!(
            "Your step says so itself:\n\n    {line}\n\nA wake of a task that is queued already \
             must not queue it again."
        ));
    }
    Ok(())
}

/// The poll lines, up to `settled`, against the reference's.
fn same_polls(step: usize, yours: &Run, reference: &Run, settled: usize) -> Result<(), String> {
    if yours.polls.is_empty() && !reference.polls.is_empty() {
        return Err(
            "Your step printed no `poll N: running ...` lines, so there are no lists to compare. \
             Call `show::poll` before each poll (from step 8, `show::tick_poll`)."
                .to_string(),
        );
    }
    for (k, theirs) in reference.polls.iter().take(settled).enumerate() {
        let Some(mine) = yours.polls.get(k) else {
            return Err(stopped_polling(step, yours, theirs));
        };
        if mine.lists != theirs.lists || mine.number != theirs.number || mine.tick != theirs.tick {
            return Err(first_difference(step, yours, mine, theirs, k));
        }
    }
    if step <= 4 && yours.polls.len() > reference.polls.len() {
        let extra = &yours.polls[reference.polls.len()];
        return Err(format!(
            "Your step polled {} times, the reference {}. Its first poll too many:\n\n    {}\n\n\
             {}",
            yours.polls.len(),
            reference.polls.len(),
            extra.text,
            match step {
                1 =>
                    "The chef is ready after its fourth poll: `YieldNow` returns `Ready` the \
                      second time it is polled, and the loop stops at `Ready`.",
                _ =>
                    "A task that returned `Ready` has finished: drop it, and never queue or \
                      poll it again.",
            }
        ));
    }
    Ok(())
}

/// Your run has fewer poll lines than the reference's next one.
fn stopped_polling(step: usize, yours: &Run, theirs: &PollLine) -> String {
    let last = yours.polls.last().map_or(0, |poll| poll.number);
    let end = yours.line_starting("end: ").unwrap_or("");
    let mut text = format!(
        "Your step stopped polling after poll {last}; the reference goes on:\n\n    {}\n",
        theirs.text
    );
    if let Some(left) = end.split("waiting: ").nth(1).and_then(List::parse)
        && let Some(task) = left.tasks.first()
    {
        text += &format!(
            "\nYours ended with task {task} still waiting ({end}): nothing moved it back to the \
             ready queue. {}",
            match step {
                3 =>
                    "A task woken during its own poll (`yield_now` wakes itself) is marked \
                      `rewoken`, and goes back to the ready queue when its poll returns `Pending`.",
                4 =>
                    "The task that awaits a handle is woken by the spawned task when it has \
                      stored its output.",
                5 =>
                    "In step 5 nobody watches the socket: on `WouldBlock`, `io` wakes its own \
                      task before it returns `Pending`.",
                _ => "Whoever ends a wait must call the waker that was left for it.",
            }
        );
    } else if step == 1 {
        text += "\nThe chef needs four polls: `YieldNow` returns `Pending` the first time it is \
                 polled (after waking its task) and `Ready` the second.";
    } else {
        text += "\nA task that returned `Pending` must go back to a list, or it is lost.";
    }
    text
}

/// The first poll at which your lists differ from the reference's, explained.
fn first_difference(
    step: usize,
    yours: &Run,
    mine: &PollLine,
    theirs: &PollLine,
    k: usize,
) -> String {
    let n = theirs.number;
    let mut text = format!(
        "Your lists differ from the reference's at poll {n}:\n\n    yours:         {}\n    \
         the reference: {}\n\n",
        mine.text, theirs.text
    );
    // Before the first difference both loops were in the same state, so the tasks that may run
    // at this poll are the same: the reference's queue before it took its task.
    let queue: Vec<usize> = std::iter::once(theirs.running)
        .chain(theirs.ready.tasks.iter().copied())
        .collect();
    let mut mine_all: Vec<usize> = std::iter::once(mine.running)
        .chain(mine.ready.tasks.iter().copied())
        .collect();
    mine_all.sort_unstable();
    let mut queue_sorted = queue.clone();
    queue_sorted.sort_unstable();
    if mine.number != theirs.number {
        text += "The poll numbers differ: number the polls from 1, one more for each poll.";
    } else if mine.lists == theirs.lists {
        text += &format!(
            "The same lists, in another tick: yours is in tick {}, the reference's in tick {}. \
             A tick starts with a look at sockets and timers, then polls only the tasks that \
             were ready after the look (count them first: `due`); a task spawned or woken \
             during the tick waits for the next one.",
            mine.tick.map_or("(none)".to_string(), |t| t.to_string()),
            theirs.tick.map_or("(none)".to_string(), |t| t.to_string()),
        );
    } else if mine.running != theirs.running && mine_all == queue_sorted {
        let (yours_task, front) = (mine.running, theirs.running);
        text += &format!(
            "Your loop ran task {yours_task} before task {front}, which had been ready longer. "
        );
        if queue.last() == Some(&yours_task) {
            text += "It took the task that joined the ready queue last. Is your ready queue \
                     first in, first out: `pop_front` to take a task, `push_back` to queue one?";
        } else {
            text += "Is your ready queue first in, first out: `pop_front` to take a task, \
                     `push_back` to queue one?";
        }
    } else if mine.running != theirs.running {
        text += &format!(
            "Your loop ran task {}, the reference task {}. {}",
            mine.running,
            theirs.running,
            list_hint(step, mine, theirs)
        );
    } else {
        text += &list_hint(step, mine, theirs);
    }
    if k > 0
        && let Some(previous) = yours.polls.get(k - 1)
    {
        text += &format!(
            "\n\nThe poll before it, the same in both:\n\n    {}",
            previous.text
        );
    }
    text
}

/// What differs between two sets of lists, and what to look at.
fn list_hint(step: usize, mine: &PollLine, theirs: &PollLine) -> String {
    let place = |line: &PollLine, task: usize| {
        if line.running == task {
            "running"
        } else if line.ready.contains(task) {
            "in the ready queue"
        } else if line.waiting.contains(task) {
            "in the waiting list"
        } else {
            "in neither list"
        }
    };
    let tasks = (theirs.ready.tasks.iter())
        .chain(&theirs.waiting.tasks)
        .chain(&mine.ready.tasks)
        .chain(&mine.waiting.tasks)
        .chain([&theirs.running, &mine.running]);
    for &task in tasks {
        let (here, there) = (place(mine, task), place(theirs, task));
        if here == there {
            continue;
        }
        let why = match (here, there) {
            ("in the waiting list", "in the ready queue") => match step {
                3 => "It was woken (or woke itself), and a wake moves a waiting task to the back \
                      of the ready queue; a task woken during its own poll is `rewoken` and goes \
                      back to the ready queue when the poll returns `Pending`."
                    .to_string(),
                4 => "It was woken: the spawned task it awaits stores its output and then calls \
                      the handle's waker, which moves it to the ready queue."
                    .to_string(),
                2 => "Step 2 has no waiting list yet: a task that returned `Pending` goes on \
                      the back of the ready queue, woken or not."
                    .to_string(),
                5 => "In step 5 nobody watches the socket: on `WouldBlock`, `io` wakes its own \
                      task before it returns `Pending`, or the task waits for ever."
                    .to_string(),
                _ => "It was woken, and a wake moves a waiting task to the ready queue.".into(),
            },
            ("in the ready queue", "in the waiting list") => match step {
                6..=9 => "It is waiting for its socket. From step 6, `io` does not wake its own \
                          task on `WouldBlock`: it leaves the task's waker in the reactor and \
                          returns `Pending`, and the task waits until epoll says the socket is \
                          ready."
                    .to_string(),
                _ => "It returned `Pending` without being woken, so it belongs in the waiting \
                      list until its waker is called; only a task woken during its poll goes \
                      back to the ready queue."
                    .to_string(),
            },
            ("in neither list", _) => "Your loop lost it: a task that returned `Pending` goes to \
                 one of the lists, and a spawned task joins the back of the ready queue."
                .to_string(),
            (_, "in neither list") => format!(
                "The reference has no task {task} there{}.",
                if step >= 4 {
                    ": spawned tasks join the loop when it takes its next task"
                } else {
                    ""
                }
            ),
            _ => String::new(),
        };
        return format!("Task {task} is {here} in yours, {there} in the reference's. {why}");
    }
    if mine.ready != theirs.ready {
        return "The same tasks are ready, in another order: a task that becomes ready goes on \
                the back of the ready queue, and the loop takes the front."
            .to_string();
    }
    "The same tasks are waiting, in another order: the waiting list is in the order the tasks \
     began to wait (a task that starts waiting goes on its end)."
        .to_string()
}

/// A run that did not end well.
fn how_it_ended(step: usize, yours: &Run) -> Result<(), String> {
    match &yours.ended {
        Ended::Status(status) if status.success() => Ok(()),
        Ended::Status(status) => Err(format!(
            "Your step exited with {status}. The end of what it said on stderr:\n\n{}",
            tail(&yours.stderr, 12)
        )),
        Ended::Stopped(why) => {
            let last = (yours.lines.iter().rev())
                .find(|l| !l.starts_with("epoll:"))
                .map_or("(nothing)", String::as_str);
            let last_tick = yours.polls.last().and_then(|poll| poll.tick);
            let hint = if step >= 8
                && let Some(tick) = last_tick.filter(|&tick| tick <= 5)
            {
                format!(
                    "Your loop is still in tick {tick}. A tick that polls every ready task, those \
                     woken during it too, never ends while the radio plays. Count the ready \
                     queue when the tick begins (`due`), poll that many (at most \
                     `EVENT_INTERVAL`), and start the next tick with a look outside."
                )
            } else if step >= 8 {
                "The radio never finishes, so a loop that waits for every task never ends: from \
                 step 8, `run` stops after the tick in which task 1 (`main`) finished, as \
                 `asyncio.run` does."
                    .to_string()
            } else {
                "A loop that never ends goes round and round: does it stop when no task is ready \
                 and nothing is left that could wake one?"
                    .to_string()
            };
            Err(format!(
                "The checker stopped your step: {why}. Its last line was:\n\n    {last}\n\n{hint}"
            ))
        }
    }
}

/// Steps 1 to 4: everything else printed, line for line.
fn same_printout(step: usize, yours: &Run, reference: &Run) -> Result<(), String> {
    for (task, (polls, finished)) in &reference.summary {
        match yours.summary.get(task) {
            None => {
                return Err(format!(
                    "Your summary has no line for task {task}: the reference's says `task \
                     {task}: {polls} polls, finished: {finished}`."
                ));
            }
            Some((mine, _)) if mine != polls => {
                return Err(format!(
                    "Task {task} was polled {mine} times in yours, {polls} in the reference. \
                     Count one poll each time you poll a task (`polls`)."
                ));
            }
            Some((_, done)) if done != finished => {
                return Err(format!(
                    "Task {task} finished: {done} in yours, {finished} in the reference. A task \
                     that returned `Ready` has finished: its future is dropped."
                ));
            }
            Some(_) => {}
        }
    }
    let length = yours.lines.len().max(reference.lines.len());
    for k in 0..length {
        let (mine, theirs) = (yours.lines.get(k), reference.lines.get(k));
        if mine != theirs {
            let show = |line: Option<&String>| line.map_or("(no line)".to_string(), |l| l.clone());
            return Err(format!(
                "Your printout differs from the reference's at line {}:\n\n    yours:         \
                 {}\n    the reference: {}\n\n{}",
                k + 1,
                show(mine),
                show(theirs),
                if step == 1 {
                    "Print `poll N: task 1 returned Pending` (or `Ready`) after each poll."
                } else {
                    "The lists matched at every poll, so look at what the tasks and the summary \
                     print."
                }
            ));
        }
    }
    Ok(())
}

/// Steps 5 to 9: what holds on every run, whatever the clock and the network did.
fn relations(step: usize, yours: &Run, reference: &Run) -> Result<Vec<String>, String> {
    let mut praise = Vec::new();
    if let Some(line) = yours.line_starting("guest: no paper") {
        return Err(format!(
            "A guest got no paper:\n\n    {line}\n\nThe checker started a delay server and gave \
             your step its address with `--server`: does your step read it with `show::args()`?"
        ));
    }
    if step >= 7
        && yours.has("chef: the roast is out, early: true")
        && yours.polls_of(CHEF) < reference.polls_of(CHEF)
    {
        return Err(format!(
            "The roast came out early (`chef: the roast is out, early: true`), and the chef was \
             polled {} times where the reference's was polled {}: its sleep was over at its \
             first poll. A `Sleep` is done only when it was put in the timer list and the loop \
             has taken it out: does `Sleep::poll` put its key in (with this poll's waker) and \
             set `registered` before it can return `Ready`?",
            yours.polls_of(CHEF).unwrap_or(0),
            reference.polls_of(CHEF).unwrap_or(0)
        ));
    }
    if step >= 7 && yours.has("chef: the roast is out, early: true") {
        return Err(
            "The roast came out early (`chef: the roast is out, early: true`): a timer fired \
             before its deadline. Does `fire` compare each deadline with the clock (due when it \
             is now or earlier)? `epoll_wait` returns for sockets too, not only when its timeout \
             is over, so returning from it says nothing about the timers."
                .to_string(),
        );
    }
    if let Some(limit) = match step {
        7..=9 => Some(2),
        _ => None,
    } {
        let empty = yours.empty_waits.ok_or(
            "Your summary has no `epoll waits that found nothing: N` line (from step 7 on, \
             `report` prints `empty_waits`).",
        )?;
        if empty > limit {
            return Err(format!(
                "Your loop waited {empty} times for nothing (`epoll waits that found nothing: \
                 {empty}`), where the reference waits at most {limit} times, and usually never. \
                 Does `epoll_wait` get the time until the first deadline as its timeout? With a \
                 zero timeout it returns at once, and the loop goes round and round, a core busy \
                 doing nothing, until the roast is done."
            ));
        }
        praise.push(format!(
            "no wait found nothing ({empty} empty waits; the reference allows at most {limit})"
        ));
    }
    if step <= 8 {
        let guest = yours
            .polls_of(GUEST)
            .ok_or("Your summary has no line for task 4.")?;
        let (low, high) = if step == 5 { (7, u64::MAX) } else { (3, 6) };
        if guest < low {
            return Err(format!(
                "The guest (task 4) was polled {guest} times. Polling blind, it is polled on \
                 every turn while the server takes its 20 ms, hundreds of times or more. Does a \
                 read block the thread? Every socket of the loop must be non-blocking, and \
                 `io` returns `Pending` (after waking its task) on `WouldBlock`."
            ));
        }
        if guest > high {
            return Err(format!(
                "The guest (task 4) was polled {guest} times; with a reactor it is polled only \
                 when epoll says its socket is ready: {low} to {high} times (it sits, starts its \
                 fetch, and is woken once per event). Does `io` still wake its own task on \
                 `WouldBlock`? It should leave its waker in the reactor and return `Pending`."
            ));
        }
        let reference_polls = reference.polls_of(GUEST).unwrap_or(0);
        praise.push(match step {
            5 => format!(
                "the guest was polled {guest} times, blind, as the reference's was ({reference_polls})"
            ),
            _ => format!(
                "the guest was polled {guest} times, only when epoll said so (the reference: \
                 {reference_polls}; {low} to {high} is right)"
            ),
        });
    }
    if step == 8 {
        match yours.summary.get(&RADIO) {
            Some((polls, false)) if *polls > 0 => {}
            _ => {
                return Err(
                    "The radio (task 5) should be polled, and never finish: it plays \
                            until `run` stops after task 1 has finished."
                        .to_string(),
                );
            }
        }
        if yours.polls_of(CHEF) != reference.polls_of(CHEF) {
            return Err(format!(
                "The chef (task 2) was polled {:?} times, the reference's {:?}.",
                yours.polls_of(CHEF),
                reference.polls_of(CHEF)
            ));
        }
        praise.push("the radio played and the paper and the roast still got through".into());
    }
    if step == 9 {
        let papers = format!("main: {GUESTS} of {GUESTS} guests read a paper");
        if !yours.has(&papers) {
            let line = yours
                .line_starting("main: ")
                .unwrap_or("(no line from main)");
            return Err(format!(
                "Not every guest read a paper: `{line}`, where the reference says `{papers}`."
            ));
        }
        if yours.accepted != GUESTS as u64 {
            return Err(format!(
                "The delay server accepted {} connections from your step, not {GUESTS}: one per \
                 guest.",
                yours.accepted
            ));
        }
        let tasks = format!("tasks: {}, finished: {}", GUESTS + 4, GUESTS + 3);
        if yours.line_starting(&tasks).is_none() {
            return Err(format!(
                "Your summary does not start with `{tasks}`: every task but the radio finishes."
            ));
        }
        praise.push(format!(
            "{GUESTS} guests read a paper, over {} connections, on one thread",
            yours.accepted
        ));
    }
    for speaker in ["chef", "waiter", "guest", "main"] {
        let (mine, theirs) = (yours.said_by(speaker), reference.said_by(speaker));
        if mine != theirs {
            return Err(format!(
                "The {speaker} said other things than in the reference:\n\n    yours:         \
                 {mine:?}\n    the reference: {theirs:?}"
            ));
        }
    }
    praise.push("each task said what it says in the reference, in the same order".into());
    if step <= 8 && !yours.has("main returned \"dinner is over\"") {
        return Err("Your step does not end with `main returned \"dinner is over\"`.".to_string());
    }
    Ok(praise)
}
