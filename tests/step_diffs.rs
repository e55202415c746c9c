//! The book shows each build-track step as a diff from the step before it. Those diffs are files
//! in `book/src/steps/`, generated from the step programs themselves, never typed: this test
//! regenerates every one and fails if a committed file differs, so a step and its diff cannot
//! drift apart. After changing a step, write the files anew with
//!
//! ```text
//! TAKETURNS_WRITE_DIFFS=1 cargo test --test step_diffs
//! ```

use std::fs;
use std::path::{Path, PathBuf};

/// Each step and the step it grows from (the wrong versions grow from the step they break).
const PAIRS: [(&str, &str); 12] = [
    ("step_01_poll_by_hand", "step_02_ready_queue"),
    ("step_02_ready_queue", "step_02b_lifo_starves"),
    ("step_02_ready_queue", "step_03_wakers"),
    ("step_03_wakers", "step_03b_queued_twice"),
    ("step_03_wakers", "step_04_spawn"),
    ("step_04_spawn", "step_05_nonblocking"),
    ("step_05_nonblocking", "step_06_reactor"),
    ("step_06_reactor", "step_07_timers"),
    ("step_07_timers", "step_07b_busy_loop"),
    ("step_07_timers", "step_07c_timer_early"),
    ("step_07_timers", "step_08_fairness"),
    ("step_08_fairness", "step_09_fetch_many"),
];

/// Lines of unchanged context around each change, as `diff -u` shows by default.
const CONTEXT: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn step_source(name: &str) -> String {
    let path = root().join("examples").join(format!("{name}.rs"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

/// A unified diff of `old` into `new`, with file names as the book shows them.
fn unified_diff(old_name: &str, old: &str, new_name: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let script = edit_script(&a, &b);
    let changed: Vec<usize> = (0..script.len())
        .filter(|&k| script[k].0 != Edit::Same)
        .collect();
    let mut out = format!("--- examples/{old_name}.rs\n+++ examples/{new_name}.rs\n");
    let mut k = 0;
    while k < changed.len() {
        // A hunk: changes closer than two contexts apart, with context around them.
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(script.len());
        let hunk = &script[start..end];
        let old_len = hunk.iter().filter(|e| e.0 != Edit::Added).count();
        let new_len = hunk.iter().filter(|e| e.0 != Edit::Removed).count();
        let (old_start, new_start) = (hunk[0].1 + 1, hunk[0].2 + 1);
        out += &format!("@@ -{old_start},{old_len} +{new_start},{new_len} @@\n");
        for &(edit, i, j) in hunk {
            match edit {
                Edit::Same => out += &format!(" {}\n", a[i]),
                Edit::Removed => out += &format!("-{}\n", a[i]),
                Edit::Added => out += &format!("+{}\n", b[j]),
            }
        }
    }
    out
}

fn diff_file(new_name: &str) -> PathBuf {
    root()
        .join("book/src/steps")
        .join(format!("{new_name}.diff"))
}

#[test]
fn the_diff_of_two_small_texts_reads_like_diff_u() {
    let diff = unified_diff("a", "one\ntwo\nthree\n", "b", "one\n2\nthree\nfour\n");
    assert_eq!(
        diff,
        "--- examples/a.rs\n+++ examples/b.rs\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n three\n+four\n"
    );
}

#[test]
fn every_step_diff_in_the_book_is_generated_from_the_steps() {
    let write = std::env::var_os("TAKETURNS_WRITE_DIFFS").is_some();
    let mut stale = Vec::new();
    for (old, new) in PAIRS {
        let diff = unified_diff(old, &step_source(old), new, &step_source(new));
        let path = diff_file(new);
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

fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
