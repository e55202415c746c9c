//! The book's links into the code still hold.
//!
//! The chapters in `book/src/` pull real code in with mdBook's `{{#include path:anchor}}`, and
//! tell the reader to run `cargo run --example name`. Both break silently when code moves: mdBook
//! renders a missing anchor as an empty block, and a renamed example only fails when a reader
//! types the command. These tests fail first, with the page and the line to fix.
//!
//! They also check the two rules that keep the book's code blocks honest as doctests (see
//! `src/book.rs`): every page is listed there, and every code fence says its language (an
//! untagged fence would be compiled as Rust).

use std::fs;
use std::path::{Path, PathBuf};

/// Examples the book announces before they exist. Remove a name once its example lands: the test
/// `planned_examples_are_still_missing` fails as a reminder.
const PLANNED_EXAMPLES: &[&str] = &[];

/// The repository root (where `Cargo.toml` is).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every markdown file under `book/src`, recursively, sorted.
/// Folders of `book/src` whose files are included into pages rather than linked as pages.
const FRAGMENT_DIRS: [&str; 2] = ["measured/", "measuring/"];

fn book_pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {dir:?}: {e}"));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                out.push(path);
            }
        }
    }
    let mut pages = Vec::new();
    walk(&root().join("book/src"), &mut pages);
    pages.sort();
    assert!(!pages.is_empty(), "no markdown files found under book/src");
    pages
}

/// `path` with `..` resolved (without touching the file system) and relative to the repository
/// root, for messages.
fn shown(path: &Path) -> String {
    use std::path::Component;
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    clean
        .strip_prefix(root())
        .unwrap_or(&clean)
        .display()
        .to_string()
}

/// One `{{#include ...}}`-style directive found in a page.
struct Directive {
    /// The page's line number (1-based).
    line: usize,
    /// The whole directive, for messages.
    text: String,
    /// The file it names, resolved against the page's directory.
    file: PathBuf,
    /// What part of the file it takes.
    part: Part,
}

/// The part of a file a directive includes.
enum Part {
    Whole,
    /// `path:start:end` forms; `None` for an open end.
    Lines(Option<usize>, Option<usize>),
    Anchor(String),
}

/// Find the directives that name a file: `include`, `rustdoc_include` and `playground`.
/// An escaped directive (`\{{#include ...}}`) is text, not a directive, and is skipped.
fn directives(page: &Path, text: &str) -> Vec<Directive> {
    let dir = page.parent().unwrap();
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(start) = rest.find("{{#") {
            let escaped = line[..offset + start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let inner = after[..end].trim();
            offset += start + 3 + end + 2;
            rest = &line[offset..];
            if escaped {
                continue;
            }
            let mut words = inner.split_whitespace();
            let kind = words.next().unwrap_or("");
            if !matches!(kind, "include" | "rustdoc_include" | "playground") {
                continue;
            }
            let spec = words.next().unwrap_or_else(|| {
                panic!(
                    "{}:{}: `{{{{#{kind}}}}}` names no file",
                    shown(page),
                    index + 1
                )
            });
            let (path, selector) = match spec.split_once(':') {
                Some((path, selector)) => (path, selector),
                None => (spec, ""),
            };
            let part = if selector.is_empty() {
                Part::Whole
            } else if selector.chars().all(|c| c.is_ascii_digit() || c == ':') {
                let mut bounds = selector.splitn(2, ':');
                let number =
                    |s: Option<&str>| s.filter(|s| !s.is_empty()).map(|s| s.parse().unwrap());
                let start = number(bounds.next());
                let end = match bounds.next() {
                    Some(end) => number(Some(end)),
                    None => start, // `path:7` is line 7 only
                };
                Part::Lines(start, end)
            } else {
                Part::Anchor(selector.to_string())
            };
            found.push(Directive {
                line: index + 1,
                text: format!("{{{{#{inner}}}}}"),
                file: dir.join(path),
                part,
            });
        }
    }
    found
}

/// The anchor name on a line holding `marker` (`ANCHOR:` or `ANCHOR_END:`), as mdBook reads it.
fn anchor_on(line: &str, marker: &str) -> Option<String> {
    let at = line.find(marker)?;
    let name: String = line[at + marker.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Check one anchor: a start line, an end line after it, and something in between.
fn check_anchor(source: &str, name: &str) -> Result<(), String> {
    let lines: Vec<&str> = source.lines().collect();
    let start = lines
        .iter()
        .position(|l| anchor_on(l, "ANCHOR:").as_deref() == Some(name))
        .ok_or_else(|| format!("no `ANCHOR: {name}` line"))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| anchor_on(l, "ANCHOR_END:").as_deref() == Some(name))
        .map(|i| start + 1 + i)
        .ok_or_else(|| {
            format!(
                "`ANCHOR: {name}` at line {} has no `ANCHOR_END: {name}` after it",
                start + 1
            )
        })?;
    let body = lines[start + 1..end]
        .iter()
        .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
        .count();
    if body == 0 {
        return Err(format!(
            "anchor `{name}` (lines {}..{}) is empty",
            start + 1,
            end + 1
        ));
    }
    Ok(())
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in book_pages() {
        let text = fs::read_to_string(&page).unwrap();
        for d in directives(&page, &text) {
            checked += 1;
            let at = format!("{}:{}: {}", shown(&page), d.line, d.text);
            let source = match fs::read_to_string(&d.file) {
                Ok(source) => source,
                Err(e) => {
                    problems.push(format!("{at}\n    cannot read {}: {e}", shown(&d.file)));
                    continue;
                }
            };
            match d.part {
                Part::Whole => {}
                Part::Anchor(name) => {
                    if let Err(why) = check_anchor(&source, &name) {
                        problems.push(format!("{at}\n    in {}: {why}", shown(&d.file)));
                    }
                }
                Part::Lines(start, end) => {
                    let len = source.lines().count();
                    for n in [start, end].into_iter().flatten() {
                        if n == 0 || n > len {
                            problems.push(format!(
                                "{at}\n    line {n} is outside {} ({len} lines)",
                                shown(&d.file)
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} includes in the book are broken:\n\n{}\n",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Every `cargo run ... --example NAME` in `text`, with its line number.
fn example_commands(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("cargo run") {
            rest = &rest[start + "cargo run".len()..];
            // The command ends at the end of an inline code span, or of the line.
            let command = rest.split('`').next().unwrap_or("");
            let mut words = command.split_whitespace();
            while let Some(word) = words.next() {
                let name = match word.strip_prefix("--example") {
                    Some("") => words.next(),
                    Some(value) => value.strip_prefix('='),
                    None => None,
                };
                if let Some(name) = name {
                    let name: String = name
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                        .collect();
                    found.push((index + 1, name));
                }
            }
        }
    }
    found
}

/// The `[[example]]` entries of `Cargo.toml` that name a `path`: (name, path relative to the
/// root). Read line by line: an entry is `[[example]]` followed by `name = "..."` and
/// `path = "..."` lines, in any order, up to the next `[` header.
fn declared_examples() -> Vec<(String, String)> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut found = Vec::new();
    let mut entry: Option<(Option<String>, Option<String>)> = None;
    let value = |line: &str, key: &str| -> Option<String> {
        let rest = line
            .strip_prefix(key)?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        Some(rest.trim_matches('"').to_string())
    };
    for line in manifest
        .lines()
        .map(str::trim)
        .chain(std::iter::once("[end]"))
    {
        if line.starts_with('[') {
            if let Some((Some(name), Some(path))) = entry.take() {
                found.push((name, path));
            }
            if line == "[[example]]" {
                entry = Some((None, None));
            }
        } else if let Some((name, path)) = entry.as_mut() {
            if let Some(v) = value(line, "name") {
                *name = Some(v);
            } else if let Some(v) = value(line, "path") {
                *path = Some(v);
            }
        }
    }
    found
}

/// Whether `cargo run --example NAME` finds a program: `examples/NAME.rs`,
/// `examples/NAME/main.rs`, or an `[[example]]` entry whose `path` exists (the exercise
/// solutions in `examples/exercises/`).
fn example_exists(name: &str) -> bool {
    let examples = root().join("examples");
    examples.join(format!("{name}.rs")).is_file()
        || examples.join(name).join("main.rs").is_file()
        || declared_examples()
            .iter()
            .any(|(n, path)| n == name && root().join(path).is_file())
}

/// Cargo finds `examples/*.rs` by itself, but nothing in a subfolder: a solution file without an
/// `[[example]]` entry is never built, never tested, and `cargo run --example` says it does not
/// exist.
#[test]
fn every_exercise_solution_is_declared_in_cargo_toml() {
    let declared = declared_examples();
    let dir = root().join("examples/exercises");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir:?}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| shown(&path))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no solutions found in {dir:?}");
    let missing: Vec<&String> = files
        .iter()
        .filter(|file| !declared.iter().any(|(_, path)| path == *file))
        .collect();
    assert!(
        missing.is_empty(),
        "no [[example]] entry in Cargo.toml with these paths: {missing:?}\n\
         add `[[example]] name = \"NAME\" path = \"examples/exercises/NAME.rs\"` for each"
    );
    for (name, path) in &declared {
        assert!(
            root().join(path).is_file(),
            "Cargo.toml's example {name:?} names {path}, which does not exist"
        );
    }
}

#[test]
fn every_example_the_book_runs_exists() {
    let mut documents = book_pages();
    let readme = root().join("README.md");
    if readme.is_file() {
        documents.push(readme);
    }
    let mut problems = Vec::new();
    let mut checked = 0;
    for document in documents {
        let text = fs::read_to_string(&document).unwrap();
        for (line, name) in example_commands(&text) {
            checked += 1;
            if !example_exists(&name) && !PLANNED_EXAMPLES.contains(&name.as_str()) {
                problems.push(format!(
                    "{}:{line}: `cargo run --example {name}`, but there is no examples/{name}.rs, \
                     examples/{name}/main.rs or [[example]] entry for it in Cargo.toml",
                    shown(&document)
                ));
            }
        }
    }
    assert!(
        checked > 0,
        "found no `cargo run --example` in the book: is the search broken?"
    );
    assert!(problems.is_empty(), "{}\n", problems.join("\n"));
}

#[test]
fn planned_examples_are_still_missing() {
    for name in PLANNED_EXAMPLES {
        assert!(
            !example_exists(name),
            "examples/{name} exists now: remove \"{name}\" from PLANNED_EXAMPLES in {}",
            file!()
        );
    }
}

#[test]
fn every_page_is_in_the_summary_and_is_a_doctest() {
    let summary = fs::read_to_string(root().join("book/src/SUMMARY.md")).unwrap();
    let doctests = fs::read_to_string(root().join("src/book.rs")).unwrap();
    let src = root().join("book/src");
    let mut problems = Vec::new();
    for page in book_pages() {
        let relative = page
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // The generated tables of book/src/measured/ are included whole by the pages, not pages.
        if relative == "SUMMARY.md" || relative.starts_with("measured/") {
            continue;
        }
        // Fragments (the generated tables, the appendix's sections) are pages' parts: each must
        // be included by a page, and is tested as part of it.
        if FRAGMENT_DIRS.iter().any(|dir| relative.starts_with(dir)) {
            let include = format!("{{{{#include {relative}}}}}");
            let included = book_pages()
                .iter()
                .any(|p| fs::read_to_string(p).is_ok_and(|text| text.contains(&include)));
            if !included {
                problems.push(format!(
                    "book/src/{relative} is a fragment that no page includes ({include})"
                ));
            }
            continue;
        }
        if !summary.contains(&format!("]({relative})")) {
            problems.push(format!("book/src/{relative} is not linked from SUMMARY.md"));
        }
        if !doctests.contains(&format!("include_str!(\"../book/src/{relative}\")")) {
            problems.push(format!(
                "book/src/{relative} has no `#[doc = include_str!(\"../book/src/{relative}\")]` \
                 item in src/book.rs, so its code blocks are never tested"
            ));
        }
    }
    // And the other way: every page SUMMARY.md links to exists.
    for (index, line) in summary.lines().enumerate() {
        if let Some((_, after)) = line.split_once("](")
            && let Some((target, _)) = after.split_once(')')
            && !target.is_empty()
            && !src.join(target).is_file()
        {
            problems.push(format!(
                "SUMMARY.md:{}: links to missing page {target}",
                index + 1
            ));
        }
    }
    assert!(problems.is_empty(), "{}\n", problems.join("\n"));
}

#[test]
fn every_code_fence_names_its_language() {
    let mut problems = Vec::new();
    for page in book_pages() {
        let text = fs::read_to_string(&page).unwrap();
        // The fence that is open, if any: its character and length.
        let mut open: Option<(char, usize)> = None;
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let Some(fence_char) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
                continue;
            };
            let length = trimmed.chars().take_while(|c| *c == fence_char).count();
            if length < 3 {
                continue;
            }
            let info = trimmed[length..].trim();
            match open {
                Some((c, n)) if c == fence_char && length >= n && info.is_empty() => open = None,
                Some(_) => {}
                None => {
                    if info.is_empty() {
                        problems.push(format!(
                            "{}:{}: a code fence with no language (rustdoc would compile it as \
                             Rust): use rust, text, console, toml, ...",
                            shown(&page),
                            index + 1
                        ));
                    }
                    open = Some((fence_char, length));
                }
            }
        }
        if open.is_some() {
            problems.push(format!("{}: a code fence is never closed", shown(&page)));
        }
    }
    assert!(problems.is_empty(), "{}\n", problems.join("\n"));
}

#[test]
fn the_checks_find_what_they_look_for() {
    // The parsers above, on known input, so a bug in them cannot make every test pass.
    let page = root().join("book/src/example.md");
    let text = "```rust,ignore\n{{#include ../../src/ready.rs:push_pop}}\n```\n\
                \\{{#include not/a/directive.rs}}\n{{#rustdoc_include a.rs:3:9}} {{#include b.rs}}\n";
    let found = directives(&page, text);
    assert_eq!(found.len(), 3);
    assert!(matches!(&found[0].part, Part::Anchor(name) if name == "push_pop"));
    assert!(found[0].file.ends_with("book/src/../../src/ready.rs"));
    assert!(matches!(found[1].part, Part::Lines(Some(3), Some(9))));
    assert!(matches!(found[2].part, Part::Whole));

    let source = "a\n    // ANCHOR: x\n    body\n    // ANCHOR_END: x\n// ANCHOR: empty\n// ANCHOR_END: empty\n";
    assert!(check_anchor(source, "x").is_ok());
    assert!(check_anchor(source, "empty").is_err());
    assert!(check_anchor(source, "missing").is_err());
    assert!(check_anchor("// ANCHOR: y\nbody\n", "y").is_err());

    let commands = example_commands(
        "run `cargo run --release --example fetch_many` or\n$ cargo run --example=hello -- --help\n",
    );
    assert_eq!(
        commands,
        [(1, "fetch_many".to_string()), (2, "hello".to_string())]
    );
}
