//! The book shows the build track as diffs: for each step, what its starting point adds to the
//! step before it (the new part declared, its bodies left as `todo!()`), and, folded, the solution
//! (the starting point's gaps filled in); for each wrong version, its one mistake. Those diffs are
//! files in `book/src/steps/`, generated from the programs in `examples/course/`, never typed:
//! this test regenerates every one and fails if a committed file differs, so a step and its diffs
//! cannot drift apart. After changing a step or a starting point, write the files anew with
//!
//! ```text
//! TAKETURNS_WRITE_DIFFS=1 cargo test --test step_diffs
//! ```
//!
//! A diff shows what a reader types, and nothing else: each file's `//!` header (which names the
//! step), the starting point's `#![allow(unused)]` line and any `ANCHOR` line are left out before
//! the files are compared, and so is a hunk in which every changed line is a comment. Hunk headers
//! give the new file's line numbers and, as `git diff` does, the item the hunk is in.
//!
//! The last test reads every page of the book the way mdBook does and checks that no included
//! listing or diff shows an `ANCHOR` line: mdBook leaves them out of a region included by its
//! anchor, but a file included whole is included as it is.

use std::fs;
use std::path::{Path, PathBuf};

/// Each diff in the book: the file it grows from, the file it shows, and the diff's name.
const PAIRS: [(&str, &str, &str); 21] = [
    (
        "start_01_poll_by_hand",
        "step_01_poll_by_hand",
        "step_01_poll_by_hand",
    ),
    (
        "step_01_poll_by_hand",
        "start_02_ready_queue",
        "start_02_ready_queue",
    ),
    (
        "start_02_ready_queue",
        "step_02_ready_queue",
        "step_02_ready_queue",
    ),
    (
        "step_02_ready_queue",
        "step_02b_lifo_starves",
        "step_02b_lifo_starves",
    ),
    ("step_02_ready_queue", "start_03_wakers", "start_03_wakers"),
    ("start_03_wakers", "step_03_wakers", "step_03_wakers"),
    (
        "step_03_wakers",
        "step_03b_queued_twice",
        "step_03b_queued_twice",
    ),
    ("step_03_wakers", "start_04_spawn", "start_04_spawn"),
    ("start_04_spawn", "step_04_spawn", "step_04_spawn"),
    (
        "step_04_spawn",
        "start_05_nonblocking",
        "start_05_nonblocking",
    ),
    (
        "start_05_nonblocking",
        "step_05_nonblocking",
        "step_05_nonblocking",
    ),
    (
        "step_05_nonblocking",
        "start_06_reactor",
        "start_06_reactor",
    ),
    ("start_06_reactor", "step_06_reactor", "step_06_reactor"),
    ("step_06_reactor", "start_07_timers", "start_07_timers"),
    ("start_07_timers", "step_07_timers", "step_07_timers"),
    ("step_07_timers", "step_07b_busy_loop", "step_07b_busy_loop"),
    (
        "step_07_timers",
        "step_07c_timer_early",
        "step_07c_timer_early",
    ),
    ("step_07_timers", "start_08_fairness", "start_08_fairness"),
    ("start_08_fairness", "step_08_fairness", "step_08_fairness"),
    (
        "step_08_fairness",
        "start_09_fetch_many",
        "start_09_fetch_many",
    ),
    (
        "start_09_fetch_many",
        "step_09_fetch_many",
        "step_09_fetch_many",
    ),
];

/// Lines of unchanged context around each change, as `diff -u` shows by default.
const CONTEXT: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn source(name: &str) -> String {
    let path = root().join("examples/course").join(format!("{name}.rs"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines a reader types, with their line numbers in the file (from 1): everything from the
/// first line that is not part of the `//!` header or the `#![allow(unused)]` line, without
/// `ANCHOR` lines.
fn typed_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let skip = lines
        .iter()
        .take_while(|(_, l)| {
            l.starts_with("//!") || l.trim().is_empty() || l.starts_with("#![allow(unused)]")
        })
        .count();
    lines.drain(..skip);
    lines.retain(|(_, l)| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"));
    lines
}

/// One line of an edit script.
#[derive(Clone, Copy, PartialEq)]
enum Edit {
    /// In both files.
    Same,
    /// Only in the old file.
    Removed,
    /// Only in the new file.
    Added,
}

/// The shortest edit script from `a` to `b` by longest common subsequence, as (edit, old line
/// index, new line index) with the index of the side the line comes from.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<(Edit, usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut script) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            script.push((Edit::Same, i, j));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) {
            script.push((Edit::Added, i, j));
            j += 1;
        } else {
            script.push((Edit::Removed, i, j));
            i += 1;
        }
    }
    script
}

/// Whether a line is a comment (or blank): changing only such lines changes no code.
fn is_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.is_empty() || line.starts_with("//")
}

/// The item a hunk starting at `lines[at]` is in: the last line before it that starts an item at
/// the left margin or one level in (`impl Executor {`, `    fn run(&mut self) {`), as `git diff`
/// names the function after `@@`.
fn context(lines: &[(usize, &str)], at: usize) -> String {
    lines[..at]
        .iter()
        .rev()
        .map(|(_, l)| *l)
        .find(|l| {
            let item = l.trim_start();
            let depth = l.len() - item.len();
            depth <= 4
                && [
                    "fn ",
                    "async fn ",
                    "impl",
                    "struct ",
                    "enum ",
                    "thread_local!",
                    "pub fn ",
                ]
                .iter()
                .any(|start| item.starts_with(start))
        })
        .map(|l| format!(" {}", l.trim_start()))
        .unwrap_or_default()
}

/// A unified diff of `old` into `new` as the book shows it: the typed lines only, no hunk of
/// comments alone, line numbers of the files themselves.
fn unified_diff(old_name: &str, old: &str, new_name: &str, new: &str) -> String {
    let (old, new) = (typed_lines(old), typed_lines(new));
    let a: Vec<&str> = old.iter().map(|(_, l)| *l).collect();
    let b: Vec<&str> = new.iter().map(|(_, l)| *l).collect();
    let script = edit_script(&a, &b);
    let text = |&(edit, i, j): &(Edit, usize, usize)| if edit == Edit::Added { b[j] } else { a[i] };
    let changed: Vec<usize> = (0..script.len())
        .filter(|&k| script[k].0 != Edit::Same)
        .collect();
    let mut out = format!("--- examples/course/{old_name}.rs\n+++ examples/course/{new_name}.rs\n");
    let mut k = 0;
    while k < changed.len() {
        // A hunk: changes closer than two contexts apart, with context around them.
        let first = k;
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT {
            end = changed[k];
            k += 1;
        }
        if changed[first..k]
            .iter()
            .all(|&c| is_comment(text(&script[c])))
        {
            continue; // comments alone: nothing a reader needs to type
        }
        let start = changed[first].saturating_sub(CONTEXT);
        let end = (end + CONTEXT + 1).min(script.len());
        let hunk = &script[start..end];
        let old_len = hunk.iter().filter(|e| e.0 != Edit::Added).count();
        let new_len = hunk.iter().filter(|e| e.0 != Edit::Removed).count();
        let line_of = |lines: &[(usize, &str)], index: usize| {
            lines
                .get(index)
                .map_or(lines.last().map_or(1, |l| l.0 + 1), |l| l.0)
        };
        let (old_start, new_start) = (line_of(&old, hunk[0].1), line_of(&new, hunk[0].2));
        let item = context(&new, script[changed[first]].2.min(new.len()));
        out += &format!("@@ -{old_start},{old_len} +{new_start},{new_len} @@{item}\n");
        for entry in hunk {
            let sign = match entry.0 {
                Edit::Same => ' ',
                Edit::Removed => '-',
                Edit::Added => '+',
            };
            out += &format!("{sign}{}\n", text(entry));
        }
    }
    out
}

fn diff_file(name: &str) -> PathBuf {
    root().join("book/src/steps").join(format!("{name}.diff"))
}

#[test]
fn the_diff_of_two_small_texts_reads_like_diff_u() {
    let diff = unified_diff("a", "one\ntwo\nthree\n", "b", "one\n2\nthree\nfour\n");
    assert_eq!(
        diff,
        "--- examples/course/a.rs\n+++ examples/course/b.rs\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n three\n+four\n"
    );
}

#[test]
fn a_diff_leaves_out_the_header_anchors_and_comment_only_hunks() {
    let old = "//! Step 1.\n\nmod show;\n// ANCHOR: x\nfn a() {}\n// ANCHOR_END: x\n/// Old words.\nfn b() {}\n";
    let new = "//! Step 2: other words.\n\n#![allow(unused)] // gaps\n\nmod show;\nfn a() {}\n/// New words.\nfn b() {}\nfn c() {}\n";
    let diff = unified_diff("a", old, "b", new);
    assert!(!diff.contains("Step"), "{diff}");
    assert!(!diff.contains("ANCHOR"), "{diff}");
    assert!(!diff.contains("allow(unused)"), "{diff}");
    // The comment changed next to code that changed, so it stays; the added function is there.
    assert!(diff.contains("+fn c() {}"), "{diff}");
    let only_comments = unified_diff(
        "a",
        "fn a() {}\n/// Old.\nfn b() {}\n",
        "b",
        "fn a() {}\n/// New.\nfn b() {}\n",
    );
    assert_eq!(only_comments.lines().count(), 2, "{only_comments}");
}

#[test]
fn every_step_diff_in_the_book_is_generated_from_the_steps() {
    let write = std::env::var_os("TAKETURNS_WRITE_DIFFS").is_some();
    let mut stale = Vec::new();
    for (old, new, name) in PAIRS {
        let diff = unified_diff(old, &source(old), new, &source(new));
        let path = diff_file(name);
        if write {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &diff).unwrap();
        } else if fs::read_to_string(&path).ok().as_deref() != Some(diff.as_str()) {
            stale.push(display(&path));
        }
    }
    assert!(
        stale.is_empty(),
        "these diffs differ from the steps they are made of: {stale:?}. Write them anew with \
         TAKETURNS_WRITE_DIFFS=1 cargo test --test step_diffs"
    );
}

#[test]
fn no_diff_file_is_left_over() {
    let dir = root().join("book/src/steps");
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let stem = name.trim_end_matches(".diff");
        assert!(
            PAIRS.iter().any(|(_, _, diff)| *diff == stem),
            "{}/{name} is not generated from any step: delete it",
            display(&dir)
        );
    }
}

/// A starting point is its step with the new bodies taken out: the solution diff (starting point
/// to step) removes nothing but `todo!()` lines.
#[test]
fn each_starting_point_is_its_step_with_todos_for_the_new_part() {
    for (old, new, _) in PAIRS.iter().filter(|(old, _, _)| old.starts_with("start_")) {
        let diff = unified_diff(old, &source(old), new, &source(new));
        let removed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect();
        assert!(!removed.is_empty(), "{old} leaves nothing to write");
        for line in removed {
            assert!(
                line.trim_start_matches('-')
                    .trim()
                    .starts_with("todo!(\"write "),
                "{old} differs from {new} outside its gaps: {line:?}"
            );
        }
    }
}

/// The text a `{{#include path[:selector]}}` in `page` puts into the rendered page, as mdBook
/// builds it: the whole file; the lines of an anchored region without any `ANCHOR` line in it; or
/// a range of lines (`path:3:9`, `path:3:`, `path::9`, `path:3`).
fn included(page: &Path, spec: &str) -> String {
    let (path, selector) = spec.split_once(':').unwrap_or((spec, ""));
    let file = page.parent().unwrap().join(path);
    let text = fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: cannot read {}: {e}", display(page), file.display()));
    let lines: Vec<&str> = text.lines().collect();
    let is_anchor = |l: &&str| l.contains("ANCHOR:") || l.contains("ANCHOR_END:");
    if selector.is_empty() {
        return text;
    }
    if selector.chars().all(|c| c.is_ascii_digit() || c == ':') {
        let mut bounds = selector.splitn(2, ':');
        let number = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(|s| s.parse::<usize>());
        let start = number(bounds.next()).map_or(1, Result::unwrap);
        let end = match bounds.next() {
            Some(end) => number(Some(end)).map_or(lines.len(), Result::unwrap),
            None => start,
        };
        return lines[start.saturating_sub(1)..end.min(lines.len())].join("\n");
    }
    let begin = lines
        .iter()
        .position(|l| l.contains(&format!("ANCHOR: {selector}")))
        .unwrap_or_else(|| panic!("{}: no anchor {selector} in {path}", display(page)));
    lines[begin + 1..]
        .iter()
        .take_while(|l| !l.contains(&format!("ANCHOR_END: {selector}")))
        .filter(|l| !is_anchor(l))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_listing_in_the_book_shows_an_anchor_line() {
    fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pages(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    pages(&root().join("book/src"), &mut all);
    let mut shown = Vec::new();
    let mut includes = 0;
    for page in &all {
        let text = fs::read_to_string(page).unwrap();
        for (number, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("{{#include ") {
                let escaped = rest[..start].ends_with('\\');
                let after = &rest[start + "{{#include ".len()..];
                let Some(end) = after.find("}}") else { break };
                let spec = after[..end].trim();
                rest = &after[end..];
                if escaped {
                    continue;
                }
                includes += 1;
                if included(page, spec).contains("ANCHOR") {
                    shown.push(format!(
                        "{}:{}: {{{{#include {spec}}}}}",
                        display(page),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        includes > 100,
        "found only {includes} includes in the book: is the search broken?"
    );
    assert!(
        shown.is_empty(),
        "these includes put an ANCHOR line into the rendered book (include a region by its \
         anchor, or leave anchors out of files included whole): {shown:#?}"
    );
}

#[test]
fn the_include_reader_takes_what_mdbook_takes() {
    let page = root().join("book/src/ch04-futures.md");
    let show = included(&page, "../../examples/course/show.rs");
    assert!(show.starts_with("//! The printing"), "{show}");
    let two = included(&page, "../../examples/course/show.rs:1:2");
    assert_eq!(two.lines().count(), 2, "{two}");
}

fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
