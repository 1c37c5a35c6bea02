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
