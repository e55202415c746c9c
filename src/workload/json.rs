//! A [`Report`] as one line of JSON and back, through serde: the field names are the ones the
//! examples and their readers use (`wall_us`, `cpu_per_fetch_us`, `errors.refused`, ...).
//!
//! [`ReportJson`] is the report as it appears on the wire: durations in whole microseconds, the
//! failed fetches as an object keyed by [`FetchErrorKind::name`], and the derived numbers
//! (`delay_floor_us`, `wall_minus_delay_us`, `cpu_per_fetch_us`, `rss_growth_kib`,
//! `kib_per_fetch`) written for whoever reads the line and ignored when it is read back. Python's
//! counterpart is `json.dumps(dataclasses.asdict(report))`. Left out: a schema version (the
//! writer and the reader are always the same build).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::ErrorCounts;
use super::fetch::FetchErrorKind;
use super::report::{ParseReportError, Report};

/// One report on the wire. Written by [`to_json`], read by [`from_json`].
#[derive(Serialize, Deserialize)]
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
    /// Derived: [`Report::delay_floor`], in microseconds.
    #[serde(default, skip_deserializing)]
    delay_floor_us: Option<u64>,
    /// Derived: [`Report::wall_minus_delay`], in microseconds.
    #[serde(default, skip_deserializing)]
    wall_minus_delay_us: Option<u64>,
    /// [`Report::cpu_user`], in microseconds.
    cpu_user_us: u64,
    /// [`Report::cpu_system`], in microseconds.
    cpu_system_us: u64,
    /// Derived: [`Report::cpu_per_fetch`], in microseconds, two decimals.
    #[serde(default, skip_deserializing)]
    cpu_per_fetch_us: f64,
    /// [`Report::rss_before_kib`].
    rss_before_kib: u64,
    /// [`Report::peak_rss_kib`].
    peak_rss_kib: u64,
    /// Derived: [`Report::rss_growth_kib`].
    #[serde(default, skip_deserializing)]
    rss_growth_kib: u64,
    /// Derived: [`Report::kib_per_fetch`], three decimals.
    #[serde(default, skip_deserializing)]
    kib_per_fetch: f64,
}

/// Failed fetches by kind name. Written in [`FetchErrorKind::ALL`]'s order (`refused` first), so
/// that the line reads the same as the table; read in any order.
struct Errors(Vec<(String, u64)>);

impl Serialize for Errors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(kind, n)| (kind, n)))
    }
}

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

/// `report` as one line of JSON.
pub(super) fn to_json(report: &Report) -> String {
    let wire = ReportJson {
        client: report.client.clone(),
        fetches: report.fetches,
        ok: report.ok,
        bytes: report.bytes,
        concurrency: report.concurrency,
        errors: Errors(
            report
                .errors
                .iter()
                .map(|(kind, n)| (kind.name().to_string(), n))
                .collect(),
        ),
        first_error: report.first_error.clone(),
        wall_us: micros(report.wall),
        server_delay_us: report.server_delay.map(micros),
        delay_floor_us: report.delay_floor().map(micros),
        wall_minus_delay_us: report.wall_minus_delay().map(micros),
        cpu_user_us: micros(report.cpu_user),
        cpu_system_us: micros(report.cpu_system),
        cpu_per_fetch_us: rounded(report.cpu_per_fetch().as_secs_f64() * 1e6, 2),
        rss_before_kib: report.rss_before_kib,
        peak_rss_kib: report.peak_rss_kib,
        rss_growth_kib: report.rss_growth_kib(),
        kib_per_fetch: rounded(report.kib_per_fetch(), 3),
    };
    // Strings, integers, finite floats and string-keyed maps: nothing here can fail to serialize.
    serde_json::to_string(&wire).expect("a report always serializes")
}

/// Read back a line written by [`to_json`]; the derived fields are ignored.
pub(super) fn from_json(text: &str) -> Result<Report, ParseReportError> {
    let wire: ReportJson =
        serde_json::from_str(text.trim()).map_err(|e| ParseReportError::new(e.to_string()))?;
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn a_report_round_trips_with_a_tricky_name() {
        let report = sample();
        let line = to_json(&report);
        assert!(!line.contains('\n'), "one line: {line}");
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
