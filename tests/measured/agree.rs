//! The generated tables agree with each other, and the book states no targets.
//!
//! `measure` writes several tables into `book/src/measured/`, and some of them give the same
//! quantity twice: spawn + await on taketurns in `threads.md` (chapter 2) and in `scheduler.md`
//! (chapter 13), the event loop's requests per second in `http_server.md` (chapter 10) and in
//! `hyper.md` (chapter 14), the fetch clients at 1,000 fetches in `fetch_1000.md` and in
//! `fetch_scale.md`. A reader who meets the same figure twice with two values has to guess which
//! to believe. [`SAME`] lists every such pair, as (file, row, column) on each side; each pair must
//! give the same text in both cells, or the later file's generated text (its caption) must
//! explain the difference in a sentence that says `differs from <earlier file>` and `because`.
//!
//! The second rule: no table in the book lists targets (the project's acceptance criteria). A
//! target in the book is a claim its own generated tables can contradict from one run to the next;
//! benches and tests keep theirs as assertions.
//!
//! Left out: figures in captions (ratios such as "2.9×" are derived from the cells checked here),
//! and quantities that only look alike (`threads.md`'s memory per idle task includes its future,
//! `timers.md`'s is beyond it).

use std::path::{Path, PathBuf};

/// One cell of a generated table: the file in `book/src/measured/`, the leading cells that pick
/// the row, and the column's title.
#[derive(Clone, Copy, Debug)]
struct At {
    /// The file's name in `book/src/measured/`.
    file: &'static str,
    /// The row's first cells, in order (a row key can span several columns).
    row: &'static [&'static str],
    /// The column's title, as in the header.
    column: &'static str,
}

/// One quantity two tables both give: the earlier file (in reading order) and the later one,
/// whose caption must explain any difference.
#[derive(Clone, Copy, Debug)]
struct Same {
    /// Where the reader meets it first.
    earlier: At,
    /// Where the reader meets it again.
    later: At,
}

/// A pair of cells in two files: a short way to write the list below.
const fn same(
    earlier: (&'static str, &'static [&'static str], &'static str),
    later: (&'static str, &'static [&'static str], &'static str),
) -> Same {
    Same {
        earlier: At {
            file: earlier.0,
            row: earlier.1,
            column: earlier.2,
        },
        later: At {
            file: later.0,
            row: later.1,
            column: later.2,
        },
    }
}

/// The event loop and the threads of `http_server.md`, and the same servers in `hyper.md`.
const HTTP_ROWS: [(&[&str], &[&str]); 4] = [
    (
        &["event loop", "100"],
        &["http_server on taketurns", "100", "`/`"],
    ),
    (
        &["thread per connection", "100"],
        &["thread per connection", "100", "`/`"],
    ),
    (
        &["event loop", "1,000"],
        &["http_server on taketurns", "1,000", "`/`"],
    ),
    (
        &["thread per connection", "1,000"],
        &["thread per connection", "1,000", "`/`"],
    ),
];

/// The columns `http_server.md` and `hyper.md` share.
const HTTP_COLUMNS: [&str; 5] = ["requests/s", "p50", "p99", "CPU per request", "peak memory"];

/// Every quantity given by two generated tables.
fn pairs() -> Vec<Same> {
    let mut pairs = vec![
        same(
            ("fetch_scale.md", &["10,000"], "CPU per fetch: event loop"),
            (
                "fetch_peers.md",
                &["taketurns (event loop)"],
                "CPU per fetch",
            ),
        ),
        same(
            (
                "threads.md",
                &["start and join (a task: spawn and await)"],
                "task",
            ),
            ("scheduler.md", &["spawn + await one task"], "taketurns"),
        ),
        same(
            (
                "fetch_1000.md",
                &["event loop (taketurns)"],
                "CPU per fetch",
            ),
            ("fetch_scale.md", &["1,000"], "CPU per fetch: event loop"),
        ),
        same(
            ("fetch_1000.md", &["thread per fetch"], "CPU per fetch"),
            (
                "fetch_scale.md",
                &["1,000"],
                "CPU per fetch: thread per fetch",
            ),
        ),
        same(
            ("fetch_1000.md", &["thread pool (64)"], "CPU per fetch"),
            ("fetch_scale.md", &["1,000"], "CPU per fetch: pool (64)"),
        ),
        same(
            (
                "fetch_1000.md",
                &["event loop (taketurns)"],
                "peak memory per fetch",
            ),
            ("fetch_scale.md", &["1,000"], "memory per fetch: event loop"),
        ),
        same(
            (
                "fetch_1000.md",
                &["thread per fetch"],
                "peak memory per fetch",
            ),
            (
                "fetch_scale.md",
                &["1,000"],
                "memory per fetch: thread per fetch",
            ),
        ),
    ];
    for (earlier, later) in HTTP_ROWS {
        for column in HTTP_COLUMNS {
            pairs.push(same(
                ("http_server.md", earlier, column),
                ("hyper.md", later, column),
            ));
        }
    }
    pairs
}

/// A generated file, read: the header, the rows, and the text after the table.
struct Table {
    /// The column titles.
    header: Vec<String>,
    /// Every row's cells.
    rows: Vec<Vec<String>>,
    /// The generated text under the table (the caption and its notes).
    caption: String,
}

/// The cells of a Markdown table row (`| a | b |`), trimmed.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// Read a generated file's text: the table at its top and the caption under it.
fn parse(text: &str) -> Table {
    let lines: Vec<&str> = text.lines().collect();
    let table: Vec<&str> = lines
        .iter()
        .take_while(|l| l.starts_with('|'))
        .copied()
        .collect();
    Table {
        header: table.first().map(|l| cells(l)).unwrap_or_default(),
        rows: table.iter().skip(2).map(|l| cells(l)).collect(),
        caption: lines[table.len()..].join("\n"),
    }
}

impl Table {
    /// The text of the cell `at` names, or why there is none.
    fn cell(&self, at: &At) -> Result<&str, String> {
        let column = self
            .header
            .iter()
            .position(|c| c == at.column)
            .ok_or_else(|| format!("{}: no column {:?}", at.file, at.column))?;
        let row = self
            .rows
            .iter()
            .find(|r| r.len() >= at.row.len() && r.iter().zip(at.row).all(|(c, k)| c == k))
            .ok_or_else(|| format!("{}: no row starting {:?}", at.file, at.row))?;
        row.get(column)
            .map(String::as_str)
            .ok_or_else(|| format!("{}: the row {:?} is short", at.file, at.row))
    }

    /// Whether the caption has a sentence saying why a figure differs from `earlier`'s: it holds
    /// `differs from`, the earlier file's name, and `because`.
    fn explains_difference_from(&self, earlier: &str) -> bool {
        self.caption.split(". ").any(|sentence| {
            sentence.contains("differs from")
                && sentence.contains(earlier)
                && sentence.contains("because")
        })
    }
}

/// The disagreements among `pairs`, each a sentence naming both cells and both values; `read`
/// gives a file's table, or `None` for a file this build of `measure` did not write. Missing rows
/// or columns are problems too, so the list cannot silently stop checking anything.
fn disagreements(pairs: &[Same], read: impl Fn(&str) -> Option<Table>) -> Vec<String> {
    let mut found = Vec::new();
    for pair in pairs {
        let (Some(earlier), Some(later)) = (read(pair.earlier.file), read(pair.later.file)) else {
            continue;
        };
        let (a, b) = match (earlier.cell(&pair.earlier), later.cell(&pair.later)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                found.push(e);
                continue;
            }
        };
        if a != b && !later.explains_difference_from(pair.earlier.file) {
            found.push(format!(
                "{} {:?} / {:?} = {a}, but {} {:?} / {:?} = {b}, and {} does not say why \
                 (\"differs from {} because …\")",
                pair.earlier.file,
                pair.earlier.row,
                pair.earlier.column,
                pair.later.file,
                pair.later.row,
                pair.later.column,
                pair.later.file,
                pair.earlier.file,
            ));
        }
    }
    found
}

/// The source tree.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed generated file `name`, parsed, if this build of `measure` writes it.
fn committed(name: &str) -> Option<Table> {
    let path = root().join("book/src/measured").join(name);
    std::fs::read_to_string(path).ok().map(|t| parse(&t))
}

#[test]
fn the_rule_finds_a_disagreement_and_accepts_equal_cells_or_a_note() {
    let first = "| what | x |\n|---|---|\n| spawn | 139 ns |\n\n*Measured by `measure`.*\n";
    let equal = "| op | y |\n|---|---|\n| spawn | 139 ns |\n\n*Measured by `measure`.*\n";
    let differ = "| op | y |\n|---|---|\n| spawn | 163 ns |\n\n*Measured by `measure`.*\n";
    let noted = "| op | y |\n|---|---|\n| spawn | 163 ns |\n\n*Measured by `measure`.* The spawn \
                 differs from first.md because it runs in another loop. More.\n";
    let pair = [same(
        ("first.md", &["spawn"], "x"),
        ("second.md", &["spawn"], "y"),
    )];
    let with = |second: &'static str| {
        move |name: &str| match name {
            "first.md" => Some(parse(first)),
            "second.md" => Some(parse(second)),
            _ => None,
        }
    };
    assert!(disagreements(&pair, with(equal)).is_empty());
    assert!(disagreements(&pair, with(noted)).is_empty());
    let found = disagreements(&pair, with(differ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("139 ns") && found[0].contains("163 ns"),
        "{found:?}"
    );
    // A file that was not generated skips its pairs; a missing row is a problem.
    assert!(disagreements(&pair, |_: &str| None).is_empty());
    let moved = [same(
        ("first.md", &["yield"], "x"),
        ("second.md", &["spawn"], "y"),
    )];
    assert_eq!(disagreements(&moved, with(equal)).len(), 1);
}

#[test]
fn every_pair_names_a_row_and_a_column_its_tables_have() {
    let mut problems = Vec::new();
    for pair in pairs() {
        for at in [pair.earlier, pair.later] {
            if let Some(table) = committed(at.file)
                && let Err(e) = table.cell(&at)
            {
                problems.push(e);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn tables_that_give_the_same_figure_agree_or_say_why() {
    let found = disagreements(&pairs(), committed);
    assert!(
        found.is_empty(),
        "generated tables give the same quantity differently, without a note: make `measure` \
         write one figure in both, or a sentence in the later caption that says why:\n{}",
        found.join("\n")
    );
}

/// Every Markdown file under `dir`, recursively.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(markdown_under(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `line` without its code spans: a flag such as `--target` is not a target.
fn without_code(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// Where `text` lists targets: a table whose header has a column titled "target" or "targets",
/// or a heading that names targets (code spans aside). `file:line: the line` for each.
fn target_tables(name: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_code = false;
    let mut previous_was_table = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let is_table = !in_code && trimmed.starts_with('|');
        let header = is_table && !previous_was_table;
        previous_was_table = is_table;
        if in_code {
            continue;
        }
        let lower = without_code(trimmed).to_lowercase();
        let heading = lower.starts_with('#')
            && lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "target" || w == "targets");
        let titled = header
            && cells(&lower)
                .iter()
                .any(|c| c == "target" || c == "targets");
        if heading || titled {
            found.push(format!("{name}:{}: {trimmed}", n + 1));
        }
    }
    found
}

#[test]
fn the_target_rule_finds_a_table_and_a_heading_and_spares_the_rest() {
    let page = "### The targets, and how to check them\n\n| target | how |\n|---|---|\n| a | b |\n";
    assert_eq!(target_tables("p.md", page).len(), 2);
    let fine = "| client | wall |\n|---|---|\n| target | x |\n\n`--target ADDR` and \
                `target/release`\n```text\n| target |\n```\n## Another server: `--target`\n";
    assert!(target_tables("p.md", fine).is_empty(), "{fine}");
}

#[test]
fn the_book_lists_no_targets() {
    let src = root().join("book/src");
    let mut found = Vec::new();
    for page in markdown_under(&src) {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        found.extend(target_tables(&name, &text));
    }
    assert!(
        found.is_empty(),
        "the book lists targets, which its own generated tables can contradict from one run to \
         the next; keep them in a bench or a test as assertions instead:\n{}",
        found.join("\n")
    );
}
