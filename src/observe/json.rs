//! A small JSON writer for the runtime's two exports: the Chrome trace of a timeline and the
//! lists trace of the replay.
//!
//! Where we simplify: a JSON library would do this, and the examples and tests use `serde_json`
//! to read both files back (which checks this writer). But every crate the runtime depends on is
//! a dependency of every program that uses it, and `serde_json`'s comparisons between its `Value`
//! and plain numbers are enough to make `assert_eq!(n, (0..10u64).sum())` ambiguous in such a
//! program. Writing objects of strings and numbers, with strings escaped as JSON requires, takes
//! the few lines below. Python's `json.dumps` and tokio's `tracing-chrome` do the same job with a
//! full library.

use std::fmt::Write as _;

/// One JSON object, written as its members are added, in the order they are added.
pub(crate) struct Obj(String);

impl Obj {
    /// `{`, nothing yet.
    pub(crate) fn new() -> Obj {
        Obj(String::from("{"))
    }

    /// The key and its colon, after a comma if a member came before.
    fn key(mut self, key: &str) -> Obj {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_json_string(&mut self.0, key);
        self.0.push(':');
        self
    }

    /// A member whose value is a string.
    pub(crate) fn str(self, key: &str, value: &str) -> Obj {
        let mut obj = self.key(key);
        push_json_string(&mut obj.0, value);
        obj
    }

    /// A member whose value is an integer (or a bool: `true`, `false`).
    pub(crate) fn num(self, key: &str, value: impl std::fmt::Display) -> Obj {
        let mut obj = self.key(key);
        let _ = write!(obj.0, "{value}");
        obj
    }

    /// A member whose value is a finite float, always written with a point or an exponent
    /// (`0.0`, `12.5`, `1e-7`), so that a reader sees a float even when it is whole.
    pub(crate) fn float(self, key: &str, value: f64) -> Obj {
        let mut obj = self.key(key);
        let _ = write!(obj.0, "{value:?}");
        obj
    }

    /// A member whose value is JSON already (an object or array built the same way).
    pub(crate) fn raw(self, key: &str, json: &str) -> Obj {
        let mut obj = self.key(key);
        obj.0.push_str(json);
        obj
    }

    /// `s` alone, as a JSON string.
    pub(crate) fn string(s: &str) -> String {
        let mut out = String::new();
        push_json_string(&mut out, s);
        out
    }

    /// The object, closed.
    pub(crate) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// `s` as a JSON string, quotes included: `"` and backslash escaped, control characters as `\n`,
/// `\t`, … or `\u00XX`, everything else (any Unicode) as it is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `items`, each already JSON, as a JSON array.
pub(crate) fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}
