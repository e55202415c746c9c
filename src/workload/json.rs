//! A [`Report`] as one line of JSON and back: the field names are the ones the examples and their
//! readers use (`wall_us`, `cpu_per_fetch_us`, `errors.refused`, ...). The line is written by the
//! crate's small JSON writer and read through `serde` (`Report` implements `Deserialize`), by
//! whichever JSON library the reader uses; the examples use `serde_json`. The library itself
//! depends on no JSON library: see `observe::json` for why.
//!
//! [`ReportJson`] is the report as it appears on the wire: durations in whole microseconds, the
//! failed fetches as an object keyed by [`FetchErrorKind::name`], and the derived numbers
//! (`delay_floor_us`, `wall_minus_delay_us`, `cpu_per_fetch_us`, `rss_growth_kib`,
//! `kib_per_fetch`) written for whoever reads the line and ignored when it is read back. Python's
//! counterpart is `json.dumps(dataclasses.asdict(report))`. Left out: a schema version (the
//! writer and the reader are always the same build).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::client::ErrorCounts;
use super::error::FetchErrorKind;
use super::report::{ParseReportError, Report};
use crate::observe::json::Obj;

/// One report on the wire, as it is read (the derived fields are written, never read).
#[derive(Deserialize)]
struct ReportJson {
    /// [`Report::client`].
    client: String,
    /// [`Report::fetches`].
    fetches: u64,
    /// [`Report::ok`].
    ok: u64,
    /// [`Report::bytes`].
    bytes: u64,
    /// [`Report::concurrency`].
    concurrency: u64,
    /// [`Report::errors`], every kind by its name, zeros included.
    errors: Errors,
    /// [`Report::first_error`].
    first_error: Option<String>,
    /// [`Report::wall`], in microseconds.
    wall_us: u64,
    /// [`Report::server_delay`], in microseconds.
    server_delay_us: Option<u64>,
    /// [`Report::cpu_user`], in microseconds.
    cpu_user_us: u64,
    /// [`Report::cpu_system`], in microseconds.
    cpu_system_us: u64,
    /// [`Report::rss_before_kib`].
    rss_before_kib: u64,
    /// [`Report::peak_rss_kib`].
    peak_rss_kib: u64,
    /// [`Report::ring`]: absent or `null` for a client that does not run on io_uring.
    #[cfg(feature = "uring")]
    #[serde(default)]
    ring: Option<RingJson>,
}

/// [`crate::uring::RingStats`] on the wire: the counters a reader divides by fetches or by
/// enters.
#[cfg(feature = "uring")]
#[derive(Deserialize)]
struct RingJson {
    /// [`crate::uring::RingStats::enters`].
    enters: u64,
    /// [`crate::uring::RingStats::submitted`].
    submitted: u64,
    /// [`crate::uring::RingStats::completions`].
    completions: u64,
    /// [`crate::uring::RingStats::cancels`].
    cancels: u64,
}

/// The ring's counters as a JSON object.
#[cfg(feature = "uring")]
fn ring_json(ring: &crate::uring::RingStats) -> String {
    Obj::new()
        .num("enters", ring.enters)
        .num("submitted", ring.submitted)
        .num("completions", ring.completions)
        .num("cancels", ring.cancels)
        .end()
}

/// Failed fetches by kind name, read in any order.
struct Errors(Vec<(String, u64)>);

impl<'de> Deserialize<'de> for Errors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Errors, D::Error> {
        let counts = BTreeMap::<String, u64>::deserialize(deserializer)?;
        Ok(Errors(counts.into_iter().collect()))
    }
}

/// Whole microseconds, saturating (a report never lasts 584,000 years).
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `x` rounded to `decimals` places, so that the line stays readable.
fn rounded(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// `report` as one line of JSON: its fields, the failed fetches by kind in
/// [`FetchErrorKind::ALL`]'s order (`refused` first, zeros included, so the line reads the same as
/// the table), and the derived numbers.
pub(super) fn to_json(report: &Report) -> String {
    let errors = report
        .errors
        .iter()
        .fold(Obj::new(), |obj, (kind, n)| obj.num(kind.name(), n))
        .end();
    let obj = Obj::new()
        .str("client", &report.client)
        .num("fetches", report.fetches)
        .num("ok", report.ok)
        .num("bytes", report.bytes)
        .num("concurrency", report.concurrency)
        .raw("errors", &errors);
    let obj = match &report.first_error {
        Some(e) => obj.str("first_error", e),
        None => obj.raw("first_error", "null"),
    };
    let optional = |obj: Obj, key: &str, value: Option<Duration>| match value {
        Some(d) => obj.num(key, micros(d)),
        None => obj.raw(key, "null"),
    };
    let obj = obj.num("wall_us", micros(report.wall));
    let obj = optional(obj, "server_delay_us", report.server_delay);
    let obj = optional(obj, "delay_floor_us", report.delay_floor());
    let obj = optional(obj, "wall_minus_delay_us", report.wall_minus_delay());
    let obj = obj
        .num("cpu_user_us", micros(report.cpu_user))
        .num("cpu_system_us", micros(report.cpu_system))
        .float(
            "cpu_per_fetch_us",
            rounded(report.cpu_per_fetch().as_secs_f64() * 1e6, 2),
        )
        .num("rss_before_kib", report.rss_before_kib)
        .num("peak_rss_kib", report.peak_rss_kib)
        .num("rss_growth_kib", report.rss_growth_kib())
        .float("kib_per_fetch", rounded(report.kib_per_fetch(), 3));
    #[cfg(feature = "uring")]
    let obj = match &report.ring {
        Some(ring) => obj.raw("ring", &ring_json(ring)),
        None => obj,
    };
    obj.end()
}

impl<'de> Deserialize<'de> for Report {
    /// Read a line written by [`Report::to_json`]; the derived fields are ignored.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Report, D::Error> {
        let wire = ReportJson::deserialize(deserializer)?;
        from_wire(wire).map_err(serde::de::Error::custom)
    }
}

/// The report a wire line describes; every error kind must be there.
fn from_wire(wire: ReportJson) -> Result<Report, ParseReportError> {
    let mut errors = ErrorCounts::default();
    for kind in FetchErrorKind::ALL {
        let (_, count) = wire
            .errors
            .0
            .iter()
            .find(|(name, _)| name == kind.name())
            .ok_or_else(|| ParseReportError::new(format!("errors.{} is missing", kind.name())))?;
        errors.set(kind, *count);
    }
    Ok(Report {
        client: wire.client,
        fetches: wire.fetches,
        ok: wire.ok,
        bytes: wire.bytes,
        concurrency: wire.concurrency,
        errors,
        first_error: wire.first_error,
        wall: Duration::from_micros(wire.wall_us),
        server_delay: wire.server_delay_us.map(Duration::from_micros),
        cpu_user: Duration::from_micros(wire.cpu_user_us),
        cpu_system: Duration::from_micros(wire.cpu_system_us),
        rss_before_kib: wire.rss_before_kib,
        peak_rss_kib: wire.peak_rss_kib,
        #[cfg(feature = "uring")]
        ring: wire.ring.map(|ring| crate::uring::RingStats {
            enters: ring.enters,
            submitted: ring.submitted,
            completions: ring.completions,
            cancels: ring.cancels,
            ..Default::default()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read a line back as the examples do.
    fn from_json(text: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(text.trim())
    }

    fn sample() -> Report {
        let mut errors = ErrorCounts::default();
        errors.set(FetchErrorKind::Refused, 2);
        Report {
            client: "a \"quoted\" \\ name\nwith é".to_string(),
            fetches: 10,
            ok: 8,
            bytes: 8192,
            concurrency: 10,
            errors,
            first_error: Some("connection refused".to_string()),
            wall: Duration::from_micros(61_234),
            server_delay: Some(Duration::from_millis(50)),
            cpu_user: Duration::from_micros(1_500),
            cpu_system: Duration::from_micros(2_500),
            rss_before_kib: 4_000,
            peak_rss_kib: 4_100,
            #[cfg(feature = "uring")]
            ring: None,
        }
    }

    #[test]
    fn a_report_round_trips_with_a_tricky_name() {
        let report = sample();
        let line = to_json(&report);
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(from_json(&line).unwrap(), report);
    }

    #[cfg(feature = "uring")]
    #[test]
    fn a_ring_s_counters_round_trip() {
        let mut report = sample();
        report.ring = Some(crate::uring::RingStats {
            enters: 12,
            submitted: 300,
            completions: 299,
            cancels: 1,
            ..Default::default()
        });
        let line = to_json(&report);
        assert!(
            line.contains(r#""ring":{"enters":12,"submitted":300,"#),
            "{line}"
        );
        assert_eq!(from_json(&line).unwrap(), report);
    }

    #[test]
    fn derived_fields_are_written_for_readers() {
        let value: serde_json::Value = serde_json::from_str(&to_json(&sample())).unwrap();
        assert_eq!(value["delay_floor_us"], 50_000);
        assert_eq!(value["wall_minus_delay_us"], 11_234);
        assert_eq!(value["cpu_per_fetch_us"], 400.0);
        assert_eq!(value["rss_growth_kib"], 100);
        assert_eq!(value["kib_per_fetch"], 10.0);
        assert_eq!(value["errors"]["refused"], 2);
        assert_eq!(value["errors"]["reset"], 0);
        let line = to_json(&sample());
        assert!(line.contains(r#""errors":{"refused":2,"#), "{line}");
    }

    #[test]
    fn missing_or_malformed_fields_are_named() {
        let mut value: serde_json::Value = serde_json::from_str(&to_json(&sample())).unwrap();
        value["errors"].as_object_mut().unwrap().remove("reset");
        let err = from_json(&value.to_string()).unwrap_err().to_string();
        assert!(err.contains("errors.reset"), "{err}");
        value.as_object_mut().unwrap().remove("wall_us");
        let err = from_json(&value.to_string()).unwrap_err().to_string();
        assert!(err.contains("wall_us"), "{err}");
        assert!(from_json("{} x").is_err());
        assert!(from_json("not json").is_err());
    }
}
