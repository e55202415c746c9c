//! A generated table of the book: a Markdown table, a blank line, and a caption in italics
//! followed by sentences computed from the numbers.
//!
//! `examples/measure` writes one such file per question into `book/src/measured/`, and the
//! chapters include them whole, so that no measured figure is ever typed by hand. The lab bench's
//! own experiments ([`super::cpu`]) build their tables with this type; the caption (machine,
//! command, date, load) is `measure`'s, passed to [`Table::render`]. The number formats below are
//! the ones every generated file uses: three significant digits for times and sizes, two for
//! ratios. Python has no counterpart in its standard library (a `tabulate` or `pandas` table);
//! left out: alignment, because the book renders the Markdown.

use std::time::Duration;

/// A Markdown table and the sentences under it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Cells, row by row, as many as `header`.
    pub rows: Vec<Vec<String>>,
    /// Sentences computed from the numbers, appended to the caption line.
    pub sentences: Vec<String>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Add a row (as many cells as columns).
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

/// A time in the unit that suits it, three significant digits (whole nanoseconds): `143 ns`,
/// `1.52 µs`, `2.54 s`.
pub fn time(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if unit == "ns" {
        return format!("{value:.0} ns");
    }
    format!("{} {unit}", sig3(value))
}

/// A number with three significant digits (no fewer than its integer digits).
pub fn sig3(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.decimals$}")
}

/// Two significant digits, for ratios.
pub fn sig2(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// `a ÷ b` as `3.1×`, or `–` when it means nothing.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && a > 0.0 {
        format!("{}×", sig2(a / b))
    } else {
        "–".to_string()
    }
}

/// A whole number with thousands separators: `100,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The value below which `fraction` of the sorted samples lie (nearest rank); zero for none.
pub fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table_its_caption_and_sentences() {
        let mut table = Table::new(&["a", "b"]);
        table.row(vec!["1".into(), "2".into()]);
        table.sentences.push("One sentence.".into());
        assert_eq!(
            table.render("Measured by `x`."),
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n*Measured by `x`.* One sentence.\n"
        );
    }

    #[test]
    fn formats_like_the_other_generated_files() {
        assert_eq!(time(Duration::from_nanos(143)), "143 ns");
        assert_eq!(time(Duration::from_micros(1520)), "1.52 ms");
        assert_eq!(time(Duration::from_millis(2540)), "2.54 s");
        assert_eq!(ratio(31.0, 10.0), "3.1×");
        assert_eq!(ratio(1.0, 0.0), "–");
        assert_eq!(count(100_000), "100,000");
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
