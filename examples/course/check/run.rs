//! Running a step: the delay server each run gets, the reference build, the reader's program,
//! and what a run printed, read into poll lines and lists.

use super::*;
/// A delay server for one run, and what the run gets to find it.
pub(crate) struct Server {
    /// Stops the server; `None` for steps that fetch nothing.
    pub(crate) handle: Option<ShutdownHandle>,
    /// The arguments the step is run with.
    pub(crate) args: Vec<String>,
}

impl Server {
    /// A server of its own for a run of `step`, if the step fetches from one.
    pub(crate) fn for_step(step: usize) -> std::io::Result<Server> {
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
    pub(crate) fn stop(mut self) -> u64 {
        let handle = self.handle.take();
        handle.map_or(0, |handle| {
            let accepted = handle.connections_accepted();
            let _ = handle.shutdown();
            accepted
        })
    }
}

/// The reference step's run: built from the clone this checker was built from.
pub(crate) fn reference(step: usize) -> Result<Run, String> {
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
pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Your step's run; `Err` says why there is none (it does not compile).
pub(crate) fn yours(step: usize, program: &Program) -> Result<Run, String> {
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
pub(crate) fn head(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What a program did, as the checker saw it.
pub(crate) struct Outcome {
    /// Its standard output, line by line.
    pub(crate) stdout: Vec<String>,
    /// Its standard error.
    pub(crate) stderr: String,
    /// How it ended.
    pub(crate) ended: Ended,
}

/// How a run ended.
pub(crate) enum Ended {
    /// By itself, with this status.
    Status(ExitStatus),
    /// Stopped by the checker, for the reason given.
    Stopped(String),
}

/// Run `command`, reading its output as it comes; stop it after `TIME_LIMIT` or `LINE_LIMIT`.
pub(crate) fn run_command(mut command: Command) -> std::io::Result<Outcome> {
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
pub(crate) struct List {
    /// The task numbers shown.
    pub(crate) tasks: Vec<usize>,
    /// Whether every task is shown.
    pub(crate) complete: bool,
}

impl List {
    pub(crate) fn parse(text: &str) -> Option<List> {
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

    pub(crate) fn contains(&self, task: usize) -> bool {
        self.tasks.contains(&task)
    }
}

/// The line before a poll.
#[derive(Clone, Debug)]
pub(crate) struct PollLine {
    /// Its place among the run's lines.
    pub(crate) at: usize,
    /// The line as printed.
    pub(crate) text: String,
    /// The tick it belongs to, from step 8.
    pub(crate) tick: Option<u64>,
    /// The poll's number.
    pub(crate) number: u64,
    /// The task about to run.
    pub(crate) running: usize,
    /// The ready queue, front first.
    pub(crate) ready: List,
    /// The waiting list.
    pub(crate) waiting: List,
    /// The line without its numbers: what must match the reference.
    pub(crate) lists: String,
}

impl PollLine {
    /// `poll 5: running 2 | ready: [3] | waiting: [1]`, or the same after `tick 3, `.
    pub(crate) fn parse(at: usize, line: &str) -> Option<PollLine> {
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
pub(crate) struct Run {
    /// Every line it printed.
    pub(crate) lines: Vec<String>,
    /// The lines before polls.
    pub(crate) polls: Vec<PollLine>,
    /// What the tasks said (`chef: chop`), in order.
    pub(crate) said: Vec<String>,
    /// `task N: P polls, finished: B`, by task.
    pub(crate) summary: BTreeMap<usize, (u64, bool)>,
    /// `epoll waits that found nothing: N`.
    pub(crate) empty_waits: Option<u64>,
    /// How many polls came before the first line that depends on the clock or the network.
    pub(crate) settled: usize,
    /// Its standard error.
    pub(crate) stderr: String,
    /// How it ended.
    pub(crate) ended: Ended,
    /// Connections its delay server accepted.
    pub(crate) accepted: u64,
}

impl Run {
    pub(crate) fn parse(outcome: Outcome, accepted: u64) -> Run {
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
    pub(crate) fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The first line that starts with `start`.
    pub(crate) fn line_starting(&self, start: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.starts_with(start))
            .map(String::as_str)
    }

    /// How often `task` was polled, by the summary.
    pub(crate) fn polls_of(&self, task: usize) -> Option<u64> {
        self.summary.get(&task).map(|(polls, _)| *polls)
    }

    /// What `speaker` said, in order.
    pub(crate) fn said_by(&self, speaker: &str) -> Vec<&str> {
        let prefix = format!("{speaker}: ");
        (self.said.iter())
            .filter(|line| line.starts_with(&prefix))
            .map(String::as_str)
            .collect()
    }
}
