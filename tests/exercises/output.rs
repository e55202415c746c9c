//! How the exercise tests read what a solution printed: a table row's cells or milliseconds, the
//! number after a word, the `key=value` pairs of a line. Only readers that more than one chapter
//! uses are here; a chapter's own stay in its module.

#![allow(dead_code)] // a chapter behind a feature that is off leaves some readers unused

use std::collections::HashMap;
use std::process::Output;

use crate::support::run_example;

/// Run solution `name` with `args`, check that it exited with 0, and return all it printed (for
/// the tests that read its standard error too).
pub fn run_succeeding(name: &str, args: &[&str]) -> Output {
    run_example::succeeded(run_example::run(name, args), &format!("{name} {args:?}"))
}

/// The numbers (in ms) of the table row that starts with `label`.
pub fn millis(stdout: &str, label: &str) -> Vec<f64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{stdout}"));
    let words: Vec<&str> = line[label.len()..].split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[1] == "ms")
        .map(|w| w[0].parse().unwrap())
        .collect()
}

/// The number right after `word` in `line`, e.g. `after("counted 5 of 6", "counted") == 5`.
pub fn after(line: &str, word: &str) -> u64 {
    let mut words = line.split_whitespace();
    words
        .by_ref()
        .find(|w| *w == word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    words
        .next()
        .and_then(|w| w.trim_end_matches([',', ')']).parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in {line:?}"))
}

/// The first line of `stdout` that starts with `start`.
pub fn first_line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{stdout}"))
}

/// The one line of `out` that starts with `prefix` (fails if there are more).
pub fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    let found: Vec<_> = out.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(
        found.len(),
        1,
        "want one line starting with {prefix:?} in:\n{out}"
    );
    found[0]
}

/// The `key=value` pairs of the line of `out` that starts with `prefix`.
pub fn pairs(out: &str, prefix: &str) -> HashMap<String, String> {
    line(out, prefix)
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches([',', ';']).to_string()))
        .collect()
}

/// The value of `key` on the line starting with `prefix`, parsed.
pub fn get<T: std::str::FromStr>(out: &str, prefix: &str, key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    let map = pairs(out, prefix);
    let value = map
        .get(key)
        .unwrap_or_else(|| panic!("no {key}= on the {prefix:?} line of:\n{out}"));
    value
        .parse()
        .unwrap_or_else(|e| panic!("{key}={value} on the {prefix:?} line: {e:?}"))
}

/// The whitespace-separated cells of the first line of `stdout` that starts with `prefix`
/// (after leading spaces), with the prefix's own words removed.
pub fn row(stdout: &str, prefix: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix:?} in:\n{stdout}"));
    line[prefix.len()..]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Cell `i` of a row, as a number.
pub fn num(cells: &[String], i: usize) -> f64 {
    cells[i]
        .parse()
        .unwrap_or_else(|_| panic!("cell {i} of {cells:?} is not a number"))
}
