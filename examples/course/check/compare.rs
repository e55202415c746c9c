//! Comparing a reader's run with the reference's: line for line where nothing outside decides
//! (steps 1 to 4, and steps 5 to 9 until the clock or the network has a say), relations after,
//! and the words that name a mistake.

use super::*;
/// Compare your run with the reference's: `Ok` with what went right, or `Err` with what differs
/// and what to look at.
pub(crate) fn compare(step: usize, yours: &Run, reference: &Run) -> Result<Vec<String>, String> {
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
pub(crate) fn stopped_at_todo(yours: &Run) -> Result<(), String> {
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
pub(crate) fn never_right(step: usize, yours: &Run) -> Result<(), String> {
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
pub(crate) fn same_polls(
    step: usize,
    yours: &Run,
    reference: &Run,
    settled: usize,
) -> Result<(), String> {
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
pub(crate) fn stopped_polling(step: usize, yours: &Run, theirs: &PollLine) -> String {
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
pub(crate) fn first_difference(
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
pub(crate) fn list_hint(step: usize, mine: &PollLine, theirs: &PollLine) -> String {
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
pub(crate) fn how_it_ended(step: usize, yours: &Run) -> Result<(), String> {
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
pub(crate) fn same_printout(step: usize, yours: &Run, reference: &Run) -> Result<(), String> {
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
pub(crate) fn relations(step: usize, yours: &Run, reference: &Run) -> Result<Vec<String>, String> {
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
