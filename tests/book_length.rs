//! The book's density, checked: no chapter over 4,500 words of prose, the introduction and the
//! fourteen chapters under 45,000 together, and no lab-notebook wording in a chapter or in the
//! reference appendices (load averages, commit hashes, "the targets, checked", runs on "the
//! project's machine"). Method, noise and runs belong in appendix E.
//!
//! "Prose" is what a reader reads as text: code blocks, tables, included files, images and the
//! `<details>` blocks that repeat a picture in text are not counted.

use std::fs;
use std::path::PathBuf;

/// Words of prose allowed in one chapter.
const CHAPTER_LIMIT: usize = 4_500;
/// Words of prose allowed in the introduction and chapters 1 to 14 together.
const BOOK_LIMIT: usize = 45_000;

fn chapters() -> Vec<(String, String)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut pages: Vec<_> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name == "introduction.md" || (name.starts_with("ch") && name.ends_with(".md"))
        })
        .collect();
    pages.sort();
    pages
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(src.join(&name)).unwrap();
            (name, text)
        })
        .collect()
}

/// The words of `text` outside code blocks, tables, includes, images and `<details>` blocks.
fn prose_words(text: &str) -> usize {
    let mut words = 0;
    let (mut in_code, mut in_details) = (false, false);
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if trimmed.starts_with("<details") {
            in_details = true;
        }
        let skip = in_code
            || in_details
            || trimmed.starts_with('|')
            || trimmed.starts_with("{{#include")
            || trimmed.starts_with("<img");
        if trimmed.contains("</details>") {
            in_details = false;
        }
        if !skip {
            words += line.split_whitespace().count();
        }
    }
    words
}

#[test]
fn prose_words_skips_code_tables_and_includes() {
    let text = "one two\n```rust\nlet x = 1;\n```\n| a | b |\n{{#include x.md}}\nthree\n";
    assert_eq!(prose_words(text), 3);
}

#[test]
fn no_chapter_is_over_its_length_and_the_book_is_under_its_own() {
    let mut total = 0;
    let mut over = Vec::new();
    for (name, text) in chapters() {
        let words = prose_words(&text);
        // The book-wide limit is the introduction's and chapters 1 to 14's, the path every reader
        // takes; a chapter after them (15: io_uring, behind a cargo feature) has the chapter
        // limit alone.
        if name.as_str() < "ch15" {
            total += words;
        }
        if words > CHAPTER_LIMIT {
            over.push(format!("{name}: {words} words"));
        }
    }
    assert!(
        over.is_empty(),
        "over {CHAPTER_LIMIT} words of prose: {over:?}"
    );
    assert!(
        total < BOOK_LIMIT,
        "the introduction and chapters hold {total} words of prose, the limit is {BOOK_LIMIT}"
    );
}

/// The appendices that are reference, not method: every `appendix-*.md` but appendix E
/// (`appendix-measuring.md`), whose method section is where runs and machines are described.
fn reference_appendices() -> Vec<(String, String)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut pages: Vec<_> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("appendix-")
                && name.ends_with(".md")
                && name != "appendix-measuring.md"
        })
        .collect();
    pages.sort();
    pages
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(src.join(&name)).unwrap();
            (name, text)
        })
        .collect()
}

#[test]
fn chapters_and_reference_appendices_hold_no_lab_notebook_wording() {
    // Runs told as history ("on the project's machine", "an earlier run printed"): a reader's run
    // differs, and the method appendix is where machines and runs are discussed.
    let notebook = [
        "load average",
        "targets, checked",
        "re-run",
        "commit ",
        "project's machine",
        "earlier run",
        "a later run",
        "in this run",
        "on this machine",
    ];
    let mut found = Vec::new();
    let pages = chapters().into_iter().chain(reference_appendices());
    let mut appendices = 0;
    for (name, text) in pages {
        appendices += usize::from(name.starts_with("appendix-"));
        let lower = text.to_lowercase();
        for (number, line) in lower.lines().enumerate() {
            for phrase in notebook {
                if line.contains(phrase) {
                    found.push(format!("{name}:{}: {phrase:?}", number + 1));
                }
            }
        }
    }
    assert!(appendices >= 3, "found {appendices} reference appendices");
    assert!(
        found.is_empty(),
        "lab-notebook wording in chapters or appendices: {found:#?}"
    );
}
