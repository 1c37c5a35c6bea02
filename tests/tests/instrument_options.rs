//! `#[instrument_metrics]` options: parameter and static labels, `ok_if`/`error_if`, bucket
//! lists and constants, and error types of generic functions.

use std::sync::LazyLock;

use vitalsign::{Format, LabelValue, Registry, instrument_metrics};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

#[derive(Clone, Copy, Debug, LabelValue)]
enum Region {
    Eu,
    #[label(rename = "us-east")]
    UsEast,
}

const FAST: &[f64] = &[0.001, 0.01];

#[instrument_metrics(registry = REGISTRY, labels(region, tier = "gold", express), buckets = FAST)]
fn ship(region: &Region, express: bool, weight: u32) -> u32 {
    weight
}

fn is_success(code: &u16) -> bool {
    *code < 400
}

fn is_failure(found: &Option<u8>) -> bool {
    found.is_none()
}

#[instrument_metrics(registry = REGISTRY, ok_if = is_success, buckets = [1])]
fn status(code: u16) -> u16 {
    code
}

#[instrument_metrics(registry = REGISTRY, error_if = is_failure, buckets = [1])]
fn lookup(key: u8) -> Option<u8> {
    (key > 0).then_some(key)
}

#[instrument_metrics(registry = REGISTRY, buckets = [1])]
fn convert<E: std::error::Error>(r: Result<u8, E>) -> Result<u8, E> {
    r
}

#[derive(Debug)]
struct Oops;
impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}
impl std::error::Error for Oops {}

fn family(text: &str, prefix: &str, function: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(prefix) && l.contains(&format!("function=\"{function}\"")))
        .map(|l| l.replace(",module=\"instrument_options\"", ""))
        .collect()
}

#[test]
fn parameter_and_static_labels() {
    assert_eq!(ship(&Region::UsEast, true, 3), 3);
    assert_eq!(ship(&Region::UsEast, true, 4), 4);
    assert_eq!(ship(&Region::Eu, false, 5), 5);
    let text = REGISTRY.render(Format::Prometheus);
    let ok: Vec<String> = family(&text, "function_calls_total", "ship")
        .into_iter()
        .filter(|l| l.contains("result=\"ok\""))
        .collect();
    assert_eq!(
        ok,
        [
            "function_calls_total{function=\"ship\",tier=\"gold\",result=\"ok\",error=\"\",region=\"eu\",express=\"false\"} 1",
            "function_calls_total{function=\"ship\",tier=\"gold\",result=\"ok\",error=\"\",region=\"eu\",express=\"true\"} 0",
            "function_calls_total{function=\"ship\",tier=\"gold\",result=\"ok\",error=\"\",region=\"us-east\",express=\"false\"} 0",
            "function_calls_total{function=\"ship\",tier=\"gold\",result=\"ok\",error=\"\",region=\"us-east\",express=\"true\"} 2",
        ]
    );
    assert_eq!(family(&text, "function_calls_total", "ship").len(), 3 * 4);
    assert_eq!(
        family(&text, "function_calls_duration_seconds_count", "ship"),
        [
            "function_calls_duration_seconds_count{function=\"ship\",tier=\"gold\",region=\"eu\",express=\"false\"} 1",
            "function_calls_duration_seconds_count{function=\"ship\",tier=\"gold\",region=\"eu\",express=\"true\"} 0",
            "function_calls_duration_seconds_count{function=\"ship\",tier=\"gold\",region=\"us-east\",express=\"false\"} 0",
            "function_calls_duration_seconds_count{function=\"ship\",tier=\"gold\",region=\"us-east\",express=\"true\"} 2",
        ]
    );
    assert_eq!(
        family(&text, "function_calls_duration_seconds_bucket", "ship")
            .iter()
            .filter(|l| l.contains("region=\"eu\",express=\"false\""))
            .map(|l| l.split_once("le=").unwrap().1.to_owned())
            .collect::<Vec<_>>(),
        ["\"0.001\"} 1", "\"0.01\"} 1", "\"+Inf\"} 1"]
    );
    let _ = Region::Eu.index();
}

#[test]
fn classifiers_decide_the_result() {
    status(200);
    status(503);
    status(404);
    lookup(1);
    lookup(0);
    let text = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        family(&text, "function_calls_total", "status"),
        [
            "function_calls_total{function=\"status\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"status\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"status\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"status\",result=\"error\",error=\"\"} 2",
        ]
    );
    assert_eq!(
        family(&text, "function_calls_total", "lookup"),
        [
            "function_calls_total{function=\"lookup\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"lookup\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"lookup\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"lookup\",result=\"error\",error=\"\"} 1",
        ]
    );
}

#[test]
fn generic_error_types_are_named_per_call() {
    let _ = convert::<Oops>(Err(Oops));
    let _ = convert::<Oops>(Err(Oops));
    let _ = convert("x".parse::<u8>());
    let _ = convert::<Oops>(Ok(1));
    let text = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        family(&text, "function_calls_total", "convert"),
        [
            "function_calls_total{function=\"convert\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"convert\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"convert\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"convert\",result=\"error\",error=\"Oops\"} 2",
            "function_calls_total{function=\"convert\",result=\"error\",error=\"ParseIntError\"} 1",
            // Past eight error type names, further ones share this series.
            "function_calls_total{function=\"convert\",result=\"error\",error=\"other\"} 0",
        ]
    );
}

#[derive(Debug, LabelValue)]
enum FetchError {
    NotFound,
    Timeout,
}

/// A missing key is an answer, not a failure of the fetch.
fn not_a_failure(r: &Result<u8, FetchError>) -> bool {
    !matches!(r, Err(FetchError::Timeout))
}

/// Errors, and values too large to use.
fn unusable(r: &Result<u8, FetchError>) -> bool {
    matches!(r, Ok(v) if *v > 100) || r.is_err()
}

fn fetch_result(key: u8) -> Result<u8, FetchError> {
    match key {
        0 => Err(FetchError::NotFound),
        1 => Err(FetchError::Timeout),
        key => Ok(key),
    }
}

#[instrument_metrics(registry = REGISTRY, ok_if = not_a_failure, buckets = [1])]
fn fetch(key: u8) -> Result<u8, FetchError> {
    fetch_result(key)
}

#[instrument_metrics(registry = REGISTRY, error_if = unusable, buckets = [1])]
fn fetch_small(key: u8) -> Result<u8, FetchError> {
    fetch_result(key)
}

#[test]
fn classifiers_keep_the_error_kind() {
    for key in [0, 1, 5, 0] {
        let _ = fetch(key);
    }
    for key in [0, 200, 5] {
        let _ = fetch_small(key);
    }
    let text = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        family(&text, "function_calls_total", "fetch"),
        [
            "function_calls_total{function=\"fetch\",result=\"ok\",error=\"\"} 3",
            "function_calls_total{function=\"fetch\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"fetch\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"fetch\",result=\"error\",error=\"not_found\"} 0",
            "function_calls_total{function=\"fetch\",result=\"error\",error=\"timeout\"} 1",
            "function_calls_total{function=\"fetch\",result=\"error\",error=\"\"} 0",
        ]
    );
    assert_eq!(
        family(&text, "function_calls_total", "fetch_small"),
        [
            "function_calls_total{function=\"fetch_small\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"fetch_small\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"fetch_small\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"fetch_small\",result=\"error\",error=\"not_found\"} 1",
            "function_calls_total{function=\"fetch_small\",result=\"error\",error=\"timeout\"} 0",
            "function_calls_total{function=\"fetch_small\",result=\"error\",error=\"\"} 1",
        ]
    );
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Names a dynamic error by what it wraps.
fn kind_of(e: &BoxError) -> &'static str {
    if e.is::<std::num::ParseIntError>() {
        "parse"
    } else if e.is::<std::io::Error>() {
        "io"
    } else {
        "unknown"
    }
}

fn load_result(s: &str) -> Result<u8, BoxError> {
    if s == "io" {
        return Err(std::io::Error::other("disk").into());
    }
    Ok(s.parse()?)
}

#[instrument_metrics(registry = REGISTRY, error_label = kind_of, buckets = [1])]
fn load(s: &str) -> Result<u8, BoxError> {
    load_result(s)
}

#[instrument_metrics(registry = REGISTRY, buckets = [1])]
fn load_unlabelled(s: &str) -> Result<u8, BoxError> {
    load_result(s)
}

#[instrument_metrics(registry = REGISTRY, buckets = [1])]
fn read_missing() -> std::io::Result<String> {
    std::fs::read_to_string("/nonexistent/vitalsign")
}

#[test]
fn foreign_and_dynamic_errors_are_named_truthfully_or_mapped() {
    for s in ["io", "x", "7", "io"] {
        let _ = load(s);
        let _ = load_unlabelled(s);
    }
    let _ = read_missing();
    let text = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        family(&text, "function_calls_total", "load"),
        [
            "function_calls_total{function=\"load\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"load\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"load\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"load\",result=\"error\",error=\"io\"} 2",
            "function_calls_total{function=\"load\",result=\"error\",error=\"parse\"} 1",
            "function_calls_total{function=\"load\",result=\"error\",error=\"other\"} 0",
        ]
    );
    let boxed = "Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";
    assert_eq!(
        family(&text, "function_calls_total", "load_unlabelled"),
        [
            "function_calls_total{function=\"load_unlabelled\",result=\"ok\",error=\"\"} 1"
                .to_owned(),
            "function_calls_total{function=\"load_unlabelled\",result=\"cancelled\",error=\"\"} 0"
                .to_owned(),
            "function_calls_total{function=\"load_unlabelled\",result=\"error\",error=\"panic\"} 0"
                .to_owned(),
            format!(
                "function_calls_total{{function=\"load_unlabelled\",result=\"error\",error=\"{boxed}\"}} 3"
            ),
        ]
    );
    assert_eq!(
        family(&text, "function_calls_total", "read_missing")[3],
        "function_calls_total{function=\"read_missing\",result=\"error\",error=\"std::io::error::Error\"} 1"
    );
}
