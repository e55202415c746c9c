//! What every experiment hands back and how it reaches the disk: a [`Table`] (a Markdown table
//! plus sentences computed from its numbers), the caption line every file ends with (the exact
//! command, the machine, the date, the load average), and the README's measured block, which
//! holds a copy of the fetch table.
//!
//! The caption is what makes a number quotable: the book includes these files whole and never
//! types a figure by hand, so each one says where and how it was measured. A benchmark harness
//! (criterion, pytest-benchmark) keeps its results in its own folder; here the results are the
//! book's text. No history is kept: a new run overwrites the files.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use taketurns::workload::machine;

/// One generated file: a Markdown table and what follows its caption.
#[derive(Debug, Default)]
pub struct Table {
    /// Column titles.
    header: Vec<String>,
    /// Cells, row by row, as many as `header`.
    rows: Vec<Vec<String>>,
    /// Sentences computed from the numbers, appended to the caption line.
    pub sentences: Vec<String>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            ..Table::default()
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// The file's text: the table, a blank line, the caption in italics and the sentences.
    pub fn render(&self, caption: &str) -> String {
        let mut out = String::new();
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line(&self.header));
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out.push('\n');
        out.push_str(&format!("*{caption}*"));
        for sentence in &self.sentences {
            out.push(' ');
            out.push_str(sentence);
        }
        out.push('\n');
        out
    }
}

/// The caption line every file ends with: the command, the machine, the date, the load.
pub fn caption() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    let on: Vec<&str> = [
        ("hyper", cfg!(feature = "hyper")),
        ("uring", cfg!(feature = "uring")),
    ]
    .into_iter()
    .filter_map(|(feature, built)| built.then_some(feature))
    .collect();
    let features = match on.is_empty() {
        true => String::new(),
        false => format!(" --features {}", on.join(",")),
    };
    let mut command = format!("cargo run{release}{features} --example measure");
    if !args.is_empty() {
        command.push_str(" -- ");
        command.push_str(&args.join(" "));
    }
    let cores = machine::cpus();
    let linux = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| {
            let parts: Vec<&str> = r.trim().split(['.', '-']).take(2).collect();
            format!("Linux {}", parts.join("."))
        })
        .unwrap_or_else(|_| "an unknown kernel".to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());
    format!(
        "Measured by `{command}` on {cores} cores ({}), {linux}, {}; load average {load} when \
         it started.",
        machine::cpu_model(),
        today()
    )
}

/// Today's date in UTC, `YYYY-MM-DD` (the civil-from-days algorithm; no time zone database).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The generated file the README's measured block holds.
pub const README_TABLE: &str = "fetch_1000.md";

/// The README's measured block opens with this line, naming the file it holds.
const README_OPEN: &str = "<!-- measured: fetch_1000.md -->\n";
/// And closes with this one.
const README_CLOSE: &str = "<!-- /measured -->";

/// Put `text` (the fetch table) between the README's markers.
pub fn update_readme(text: &str) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (Some(open), Some(close)) = (readme.find(README_OPEN), readme.find(README_CLOSE)) else {
        return Err(format!(
            "{} has no measured block: put the lines `{}` and `{README_CLOSE}` where the fetch \
             table goes",
            path.display(),
            README_OPEN.trim_end()
        ));
    };
    let start = open + README_OPEN.len();
    if close < start {
        return Err(format!(
            "{}: `{README_CLOSE}` comes before its opening marker",
            path.display()
        ));
    }
    let updated = format!("{}{text}{}", &readme[..start], &readme[close..]);
    std::fs::write(&path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
