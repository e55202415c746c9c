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

/// The fast path: the introduction and chapters 1 to 10 with every deep dive and folded solution
/// skipped (`prose_words` leaves `<details>` blocks out). It was about 31,000 words before the
/// deep dives were folded away; it must stay about half that.
const FAST_PATH_LIMIT: usize = 17_000;

#[test]
fn the_fast_path_from_the_introduction_to_chapter_10_reads_in_about_half_the_words() {
    let words: usize = chapters()
        .iter()
        .filter(|(name, _)| name == "introduction.md" || name.as_str() < "ch11")
        .map(|(_, text)| prose_words(text))
        .sum();
    assert!(
        words <= FAST_PATH_LIMIT,
        "the fast path holds {words} words of prose, the limit is {FAST_PATH_LIMIT}: fold what \
         a reader may skip into a deep dive"
    );
}

/// Every deep dive wears the one marker: `<details class="deep-dive">`, then a `<summary>` that
/// starts "Deep dive (optional):", no `<details>` inside it (the word count and the fold both
/// assume none), and no deep dive marked another way (a heading or a blockquote).
#[test]
fn every_deep_dive_wears_the_one_marker() {
    let mut problems = Vec::new();
    for (name, text) in chapters() {
        let lines: Vec<&str> = text.lines().collect();
        let mut open: Option<usize> = None;
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("<details class=\"deep-dive\">") {
                if open.is_some() {
                    problems.push(format!("{name}:{}: a deep dive inside a deep dive", i + 1));
                }
                open = Some(i);
                let summary = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
                if !summary.starts_with("<summary>Deep dive (optional):") {
                    problems.push(format!(
                        "{name}:{}: the summary must start \"Deep dive (optional):\"",
                        i + 2
                    ));
                }
            } else if trimmed.starts_with("<details") && open.is_some() {
                problems.push(format!("{name}:{}: <details> inside a deep dive", i + 1));
            } else if trimmed.starts_with("</details>") {
                open = None;
            }
            let lower = trimmed.to_lowercase();
            if (lower.starts_with("#") || lower.starts_with(">")) && lower.contains("deep dive") {
                problems.push(format!(
                    "{name}:{}: a deep dive marked without `<details class=\"deep-dive\">`",
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
