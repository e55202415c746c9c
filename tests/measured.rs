//! The measured numbers have one source: `cargo run --release --example measure` writes
//! `book/src/measured/*.md`, and everything else includes those files. These tests hold that in
//! place: the README's measured block is the generated fetch table byte for byte; every generated
//! file exists with its columns and a caption naming `measure`; no page of the book types a
//! measured figure by hand; and `measure` itself runs and writes a well-formed table.

mod support;
// Tables that give the same quantity must agree, or say why (a module of this binary).
#[path = "measured/agree.rs"]
mod agree;

use support::run_example;

use std::path::{Path, PathBuf};

/// The source tree.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file and its column titles, in order.
const FILES: [(&str, &[&str]); 7] = [
    (
        "fetch_1000.md",
        &[
            "client",
            "wall time",
            "CPU per fetch",
            "peak memory per fetch",
            "errors",
        ],
    ),
    (
        "fetch_scale.md",
        &[
            "fetches",
            "CPU per fetch: event loop",
            "CPU per fetch: thread per fetch",
            "CPU per fetch: pool (64)",
            "memory per fetch: event loop",
            "memory per fetch: thread per fetch",
            "threads ÷ loop, CPU",
            "threads ÷ loop, memory",
        ],
    ),
    (
        "fetch_peers.md",
        &[
            "client",
            "wall time",
            "CPU per fetch",
            "of it, in the kernel",
            "peak memory per fetch",
            "system calls per fetch",
        ],
    ),
    (
        "http_server.md",
        &[
            "server",
            "connections",
            "requests/s",
            "p50",
            "p99",
            "CPU per request",
            "peak memory",
        ],
    ),
    (
        "scheduler.md",
        &[
            "operation",
            "taketurns",
            "tokio current_thread",
            "tokio, no drivers",
            "futures LocalPool",
            "smol LocalExecutor",
        ],
    ),
    ("threads.md", &["what", "thread", "task"]),
    ("timers.md", &["what", "taketurns", "tokio current_thread"]),
];

/// Generated files that only some builds of `measure` write, checked like the others when they
/// exist: `hyper.md` needs `--features hyper`, which CI's measure run does not build, and
/// `fetch_uring.md` needs `--features uring`; `hyper_wrk.md` needs `--features hyper` too.
const OPTIONAL_FILES: [(&str, &[&str]); 3] = [
    (
        "hyper_wrk.md",
        &[
            "server",
            "connections",
            "requests/s",
            "p50",
            "p99",
            "CPU per request",
        ],
    ),
    (
        "fetch_uring.md",
        &[
            "client",
            "fetches",
            "wall time",
            "CPU per fetch",
            "memory per fetch",
            "system calls per fetch",
            "operations per io_uring_enter",
        ],
    ),
    (
        "hyper.md",
        &[
            "server",
            "connections",
            "route",
            "requests/s",
            "p50",
            "p99",
            "CPU per request",
            "peak memory",
            "peak heap",
        ],
    ),
];

/// The CPU-bound tables (chapter 11), checked like the others when they exist. `measure` writes
/// them with `--only cpu,blocking,mixed`; the book includes them, so `mdbook build` needs them.
const CPU_FILES: [(&str, &[&str]); 3] = [
    (
        "cpu_bound.md",
        &[
            "how the jobs ran",
            "wall time",
            "CPU time",
            "speed-up",
            "cores busy",
        ],
    ),
    (
        "blocking_the_loop.md",
        &[
            "beside the ticker",
            "one job took",
            "ticks",
            "p50 lateness",
            "p99 lateness",
            "worst lateness",
        ],
    ),
    (
        "mixed_job.md",
        &[
            "how it ran",
            "wall time",
            "CPU time",
            "cores busy",
            "errors",
        ],
    ),
];

/// The cells of a Markdown table row (`| a | b |`), trimmed.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// Check that `text` is a generated table with `columns`: a header, a separator, at least one
/// row with as many cells, a blank line, and an italic caption that names `measure`. The
/// problems found, each a sentence.
fn table_problems(name: &str, text: &str, columns: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let rows: Vec<&str> = lines
        .iter()
        .take_while(|l| l.starts_with('|'))
        .copied()
        .collect();
    if rows.len() < 3 {
        problems.push(format!(
            "{name}: expected a table (header, separator, rows) at the top, found {} table lines",
            rows.len()
        ));
        return problems;
    }
    let header = cells(rows[0]);
    if header != columns {
        problems.push(format!(
            "{name}: columns are {header:?}, the spec says {columns:?}"
        ));
    }
    if !cells(rows[1])
        .iter()
        .all(|c| c.chars().all(|ch| ch == '-' || ch == ':') && !c.is_empty())
    {
        problems.push(format!(
            "{name}: the second line is not a separator: {}",
            rows[1]
        ));
    }
    for row in &rows[2..] {
        if cells(row).len() != columns.len() {
            problems.push(format!(
                "{name}: a row has {} cells, not {}: {row}",
                cells(row).len(),
                columns.len()
            ));
        }
    }
    let rest = &lines[rows.len()..];
    match rest {
        ["", caption, ..] if caption.starts_with('*') && caption.contains("--example measure") => {
            if rest.len() != 2 {
                problems.push(format!(
                    "{name}: more than one line after the table's caption"
                ));
            }
        }
        _ => problems.push(format!(
            "{name}: after the table, a blank line and a caption in italics naming `cargo run \
             … --example measure` are expected"
        )),
    }
    problems
}

#[test]
fn the_readme_block_is_the_generated_fetch_table() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let open = "<!-- measured: fetch_1000.md -->\n";
    let close = "<!-- /measured -->";
    let start = readme
        .find(open)
        .expect("README.md has a `<!-- measured: fetch_1000.md -->` line")
        + open.len();
    let end = readme[start..]
        .find(close)
        .expect("README.md closes its measured block with `<!-- /measured -->`")
        + start;
    let generated = std::fs::read_to_string(root().join("book/src/measured/fetch_1000.md"))
        .expect("book/src/measured/fetch_1000.md (run `cargo run --release --example measure`)");
    assert!(
        readme[start..end] == generated,
        "README.md's measured block differs from book/src/measured/fetch_1000.md: run `cargo \
         run --release --example measure -- --only fetch`, which rewrites both"
    );
}

#[test]
fn every_generated_file_is_a_table_with_its_columns_and_caption() {
    let mut problems = Vec::new();
    for (name, columns) in FILES {
        let path = root().join("book/src/measured").join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => problems.extend(table_problems(name, &text, columns)),
            Err(e) => problems.push(format!(
                "{}: {e} (run `cargo run --release --example measure`)",
                path.display()
            )),
        }
    }
    for (name, columns) in OPTIONAL_FILES.iter().chain(&CPU_FILES) {
        let path = root().join("book/src/measured").join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            problems.extend(table_problems(name, &text, columns));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The units a measured figure is quoted in.
const UNITS: [&str; 12] = [
    "ns", "µs", "us", "ms", "s", "KiB", "MiB", "GiB", "KB", "MB", "req/s", "%",
];

/// Where `line` quotes a figure by hand: a number with a decimal point followed by a unit, or a
/// ratio such as `3.4×`. The offending text of each.
fn hand_typed_figures(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number =
            chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let decimal = i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit();
        if !decimal {
            continue;
        }
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let mut j = i;
        while j < chars.len() && matches!(chars[j], ' ' | '\u{a0}' | '\u{202f}') {
            j += 1;
        }
        let after: String = chars[j..].iter().collect();
        let unit = UNITS.iter().find(|u| {
            after.starts_with(**u)
                && !after[u.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric())
        });
        let figure = match unit {
            Some(u) => Some(u.chars().count()),
            None if after.starts_with('×') => Some(1),
            None => None,
        };
        if let Some(len) = figure {
            found.push(chars[start..j + len].iter().collect());
        }
    }
    found
}

/// The book's pages that may not type figures: every `book/src/*.md` (chapters, introduction,
/// appendices) and the method appendix, not the generated `book/src/measured/`.
fn prose_pages() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    for dir in ["book/src", "book/src/measuring"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// Every hand-typed figure in `text`, outside fenced code blocks and `{{#include …}}` lines, as
/// `file:line: figure`.
fn figures_in(name: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fence: Option<&str> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        for marker in ["```", "~~~"] {
            if trimmed.starts_with(marker) {
                match fence {
                    None => fence = Some(marker),
                    Some(open) if open == marker => fence = None,
                    Some(_) => {}
                }
            }
        }
        if fence.is_some() || trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            continue;
        }
        if trimmed.starts_with("{{#include") {
            continue;
        }
        for figure in hand_typed_figures(line) {
            found.push(format!("{name}:{}: {figure}", n + 1));
        }
    }
    found
}

#[test]
fn the_rule_finds_figures_and_spares_the_rest() {
    assert_eq!(hand_typed_figures("took 135.2 ms on"), ["135.2 ms"]);
    assert_eq!(hand_typed_figures("3.4× less CPU"), ["3.4×"]);
    assert_eq!(
        hand_typed_figures("0.84 KiB and 12.5%"),
        ["0.84 KiB", "12.5%"]
    );
    assert!(hand_typed_figures("mio 1.0 and Rust 1.95, 1,000 fetches of 50 ms").is_empty());
    assert!(hand_typed_figures("version 0.3.34 sells").is_empty());
    let page = "a 1.5 s wait\n```text\n2.5 ms\n```\n{{#include measured/x.md}} 3.5 ms\n";
    assert_eq!(figures_in("p.md", page), ["p.md:1: 1.5 s"]);
}

#[test]
fn no_page_of_the_book_types_a_measured_figure_by_hand() {
    let mut found = Vec::new();
    for page in prose_pages() {
        let text = std::fs::read_to_string(&page).expect("a book page");
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        found.extend(figures_in(&name, &text));
    }
    assert!(
        found.is_empty(),
        "measured figures typed by hand (include a file of book/src/measured/ instead, or state \
         the conclusion so that it holds on any machine):\n{}",
        found.join("\n")
    );
}

/// Run `measure --quick --only ONLY` into a fresh folder (with `PATH` set to `path` when given),
/// check that it succeeded and that `file` is a table with its spec's columns, and hand back the
/// file's text and the names of everything the run wrote. The folder is removed.
fn quick_table(only: &str, file: &str, path: Option<&str>) -> (String, Vec<std::ffi::OsString>) {
    let out = std::env::temp_dir().join(format!(
        "taketurns-{only}-{}-{}",
        std::process::id(),
        path.is_some()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let mut command = std::process::Command::new(run_example::binary("measure"));
    command.args(["--quick", "--only", only, "--out"]).arg(&out);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let output = command.output().expect("measure runs");
    assert!(
        output.status.success(),
        "measure exited with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out.join(file))
        .unwrap_or_else(|e| panic!("{file} not written: {e}"));
    let written = std::fs::read_dir(&out)
        .expect("the out dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    let columns = FILES
        .iter()
        .chain(&CPU_FILES)
        .chain(&OPTIONAL_FILES)
        .find(|f| f.0 == file)
        .unwrap_or_else(|| panic!("no spec for {file}"))
        .1;
    let problems = table_problems(file, &text, columns);
    assert!(problems.is_empty(), "{}\n{text}", problems.join("\n"));
    (text, written)
}

#[test]
fn measure_quick_writes_a_well_formed_scheduler_table() {
    let (text, written) = quick_table("scheduler", "scheduler.md", None);
    assert_eq!(
        text.lines().filter(|l| l.starts_with('|')).count(),
        4,
        "{text}"
    );
    assert!(text.contains("--quick --only scheduler --out"), "{text}");
    assert_eq!(written.len(), 1, "--only scheduler wrote {written:?}");
}

/// Run `measure --quick --only peers` into a fresh folder, with `PATH` set to `path` when given,
/// and check the table's shape: its columns, one row per client with figures in its first four
/// measured columns, and the sentence comparing taketurns with the others. Returns the file's
/// text and the system-call cells.
fn quick_peers_table(path: Option<&str>) -> (String, Vec<String>) {
    let (text, _) = quick_table("peers", "fetch_peers.md", path);
    let mut calls = Vec::new();
    for client in [
        "taketurns (event loop)",
        "raw mio loop (the floor)",
        "tokio current_thread (I/O and time drivers)",
    ] {
        let row = text
            .lines()
            .map(cells)
            .find(|c| c[0] == client)
            .unwrap_or_else(|| panic!("no row {client:?}:\n{text}"));
        for cell in &row[1..5] {
            assert!(
                cell.starts_with(|c: char| c.is_ascii_digit()),
                "{client}: {cell:?} is not a figure:\n{text}"
            );
        }
        calls.push(row[5].clone());
    }
    assert!(
        text.contains("On this run taketurns used ")
            && text.contains("the raw mio loop's CPU per fetch and ")
            && text.contains("tokio's."),
        "{text}"
    );
    (text, calls)
}

#[test]
fn without_strace_the_peers_table_has_every_row_and_says_how_to_get_it() {
    let (text, calls) = quick_peers_table(Some(""));
    assert!(calls.iter().all(|c| c == "–"), "{calls:?}\n{text}");
    assert!(text.contains("`strace` is not on the PATH"), "{text}");
    assert!(text.contains("apt-get install strace"), "{text}");
}

#[test]
fn with_strace_the_peers_table_counts_a_few_system_calls_per_fetch() {
    let traced = std::process::Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .output();
    if !traced.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: `strace -f -c true` does not run here (not installed, or no ptrace)");
        return;
    }
    let (text, calls) = quick_peers_table(None);
    for cell in &calls {
        // A fetch is at least a socket, a connect, a write, a read and a close; start-up is
        // subtracted, so a figure far above a few dozen means the subtraction failed.
        let n: f64 = cell
            .parse()
            .unwrap_or_else(|_| panic!("{cell:?} is not a count:\n{text}"));
        assert!((4.0..40.0).contains(&n), "{n} calls per fetch:\n{text}");
    }
    assert!(text.contains("counted by `strace -f -c`"), "{text}");
}

#[test]
fn the_cpu_tables_columns_are_the_lab_bench_s() {
    use taketurns::workload::cpu;
    let spec = |file: &str| CPU_FILES.iter().find(|f| f.0 == file).expect("spec").1;
    assert_eq!(spec("cpu_bound.md"), cpu::CPU_COLUMNS);
    assert_eq!(
        spec("blocking_the_loop.md"),
        cpu::lateness::BLOCKING_COLUMNS
    );
    assert_eq!(spec("mixed_job.md"), cpu::mixed::MIXED_COLUMNS);
}

#[test]
fn measure_quick_writes_a_well_formed_blocking_table() {
    let (text, _) = quick_table("blocking", "blocking_the_loop.md", None);
    for row in [
        "no job (the ticker alone)",
        "the job on the loop",
        "the job through `spawn_blocking`",
    ] {
        assert!(
            text.contains(&format!("| {row} |")),
            "no row {row:?}:\n{text}"
        );
    }
    assert!(text.contains("worst tick was"), "{text}");
}

#[test]
fn without_python3_the_mixed_table_has_rust_rows_and_says_why_python_s_are_missing() {
    let (text, _) = quick_table("mixed", "mixed_job.md", Some(""));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("| Rust, ")).count(),
        3,
        "{text}"
    );
    assert!(!text.contains("| Python"), "{text}");
    assert!(text.contains("`python3` is not on the PATH"), "{text}");
}

#[test]
fn a_bad_flag_is_a_clear_message_and_exit_code_2() {
    let output = run_example::run("measure", &["--only", "nothing"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing") && stderr.contains("fetch"),
        "{stderr}"
    );
}

/// The io_uring table (`--features uring`): both loops' rows and the floor's, the ratio to the
/// floor, and a sentence per loop listing its
/// system calls per fetch (or saying why they were not counted: no strace). Where io_uring is
/// unavailable, measure fails the table with the message, and this test skips.
#[cfg(feature = "uring")]
#[test]
fn measure_quick_writes_a_well_formed_uring_table() {
    if taketurns::uring::skip_without_io_uring() {
        return;
    }
    let (text, _) = quick_table("uring", "fetch_uring.md", None);
    for row in [
        "| event loop on epoll | 1,000 |",
        "| event loop on io_uring | 1,000 |",
        "| raw mio loop (the floor) | 1,000 |",
    ] {
        assert!(text.contains(row), "{row} missing:\n{text}");
    }
    assert!(
        text.contains("On this run the loop on io_uring used "),
        "no ratio to the floor:\n{text}"
    );
    assert!(
        text.contains("Per fetch, event loop on io_uring: ")
            || text.contains("System calls were not counted: "),
        "{text}"
    );
}

/// Without `wrk` on the PATH, `measure --only wrk` (built with `--features hyper`) still writes
/// the table: every row, "–" where a figure would be, and a sentence saying how to install it.
#[cfg(feature = "hyper")]
#[test]
fn without_wrk_the_wrk_table_says_how_to_get_it() {
    let (text, _) = quick_table("wrk", "hyper_wrk.md", Some(""));
    assert!(text.contains("| hyper on taketurns | 100 | – |"), "{text}");
    assert!(text.contains("apt-get install wrk"), "{text}");
}
