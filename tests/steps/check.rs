//! The build track's checker (`examples/course/check/`): it accepts every reference step, and
//! it catches each wrong version with a message that names the mistake.
//!
//! Each test runs the checker's binary on a step's binary, as a reader runs it on theirs; the
//! checker runs the reference itself, each against a delay server of its own. Steps 5 to 9
//! depend on timing and the network, and the checker compares orders, counts in ranges and
//! relations there, so these tests hold on a slow or busy machine too.

use std::path::Path;
use std::process::{Command, Output};

use super::support::run_example::binary;

/// The reference step of each step number, step 1 first.
const STEPS: [&str; 9] = [
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

/// Run `check STEP PROGRAM ARGS...`: its exit code and what it printed (stdout, then stderr),
/// with every run of whitespace made one space, since the checker wraps its sentences.
fn check(step: &str, program: &str, args: &[&str]) -> (Option<i32>, String) {
    let output: Output = Command::new(binary("check"))
        .arg(step)
        .arg(program)
        .args(args)
        .output()
        .expect("the checker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (output.status.code(), text)
}

/// Check step `step` with the binary of example `name`.
fn check_example(step: usize, name: &str) -> (Option<i32>, String) {
    let program = binary(name);
    check(&step.to_string(), program.to_str().unwrap(), &[])
}

#[test]
fn every_reference_step_passes() {
    for (index, name) in STEPS.iter().enumerate() {
        let step = index + 1;
        let (code, text) = check_example(step, name);
        assert_eq!(code, Some(0), "check {step} {name}:\n{text}");
        assert!(text.contains(&format!("Step {step} works.")), "{text}");
    }
}

#[test]
fn a_ready_queue_that_pops_from_the_back_is_told_to_be_first_in_first_out() {
    let (code, text) = check_example(2, "step_02b_lifo_starves");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("ran task 3 before task 1"), "{text}");
    assert!(text.contains("joined the ready queue last"), "{text}");
    assert!(text.contains("first in, first out"), "{text}");
}

#[test]
fn a_wake_that_queues_a_task_twice_is_named() {
    let (code, text) = check_example(3, "step_03b_queued_twice");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("At poll 9 task 2 runs, and is in the ready queue as well"),
        "{text}"
    );
    assert!(text.contains("queued twice"), "{text}");
    assert!(text.contains("the `Ready` arm does nothing"), "{text}");
}

#[test]
fn a_loop_that_never_sleeps_is_told_about_its_timeout() {
    let (code, text) = check_example(7, "step_07b_busy_loop");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("times for nothing"), "{text}");
    assert!(
        text.contains("the time until the first deadline as its timeout"),
        "{text}"
    );
}

#[test]
fn a_timer_that_fires_early_is_told_to_read_the_clock() {
    let (code, text) = check_example(7, "step_07c_timer_early");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("The roast came out early"), "{text}");
    assert!(
        text.contains("compare each deadline with the clock"),
        "{text}"
    );
}

#[test]
fn a_starting_point_is_told_which_todo_it_reached() {
    let (code, text) = check_example(3, "start_03_wakers");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("stopped at a todo!()"), "{text}");
    assert!(text.contains("not yet implemented: write "), "{text}");
}

#[test]
fn a_step_that_still_polls_blind_is_told_where_the_waker_goes() {
    // Step 5's program checked as step 6: the guest wakes itself instead of waiting for epoll.
    let (code, text) = check_example(6, "step_05_nonblocking");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("Task 4 is in the ready queue in yours"),
        "{text}"
    );
    assert!(
        text.contains("leaves the task's waker in the reactor"),
        "{text}"
    );
}

#[test]
fn a_step_without_a_waiting_list_is_told_where_a_waiting_task_goes() {
    // Step 2's program checked as step 3: the waiter goes back to the ready queue, unwoken.
    let (code, text) = check_example(3, "step_02_ready_queue");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("Task 2 is in the ready queue in yours"),
        "{text}"
    );
    assert!(text.contains("belongs in the waiting list"), "{text}");
}

#[test]
fn a_program_that_never_stops_printing_is_stopped() {
    let (code, text) = check(
        "1",
        "/bin/sh",
        &["-c", "while true; do echo chef: chop; done"],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("printed no `poll N: running"), "{text}");
}

#[test]
fn a_bad_command_line_says_what_is_wrong_with_exit_code_2() {
    let (code, text) = check("12", "--bin", &["step_12"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("\"12\" is not a step: the steps are 1 to 9"),
        "{text}"
    );
    let (code, text) = check("3", "/no/such/program", &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("there is no program at /no/such/program"),
        "{text}"
    );
    let (code, text) = check("3", "--bin", &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("`--bin` needs a name"), "{text}");
}

/// The first ```` ```text ```` block after `chapter`'s "## Try it" heading, with every run of
/// whitespace made one space (as [`check`] does to the checker's output).
fn try_it_block(chapter: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src")
        .join(chapter);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let section = &text[text.find("## Try it").expect("a Try it section")..];
    let start = section.find("```text\n").expect("a text block in Try it") + "```text\n".len();
    let end = start + section[start..].find("```").expect("the block's end");
    section[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The "Try it" blocks that quote the checker are what it prints for the wrong version the
/// chapter describes, word for word, so the book cannot drift from the checker.
#[test]
fn each_try_it_block_is_what_the_checker_prints() {
    for (chapter, step, program) in [
        // Step 2 checked as step 3: no waiting list yet.
        ("ch05-two-list-loop.md", 3, "step_02_ready_queue"),
        // Step 3b: a wake that queues a task twice.
        ("ch06-wakers.md", 3, "step_03b_queued_twice"),
        // Step 5's blind wake checked as step 6.
        ("ch07-reactor.md", 6, "step_05_nonblocking"),
        // Step 7c: a timer that fires early.
        ("ch08-timers.md", 7, "step_07c_timer_early"),
    ] {
        let block = try_it_block(chapter);
        let (code, text) = check_example(step, program);
        assert_eq!(code, Some(1), "check {step} {program}:\n{text}");
        assert!(
            text.contains(&block),
            "{chapter}'s Try it block is not what `check {step}` prints for {program}:\n\
             the book: {block}\nthe checker: {text}"
        );
    }
}
