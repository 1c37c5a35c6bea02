//! `#[instrument_metrics]` on plain functions: ok and error results, error kinds from a
//! `LabelValue` enum or the error type's name, panics, and series at zero before any call.

use std::sync::LazyLock;

use vitalsign::{Format, LabelValue, Registry, instrument_metrics};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

#[derive(Debug, LabelValue)]
enum PaymentError {
    CardDeclined,
    ProviderTimeout,
}

#[instrument_metrics(registry = REGISTRY, buckets = [0.5])]
fn charge(amount: u32) -> Result<u32, PaymentError> {
    match amount {
        0 => Err(PaymentError::CardDeclined),
        1 => Err(PaymentError::ProviderTimeout),
        n => Ok(n),
    }
}

#[instrument_metrics(registry = REGISTRY, buckets = [0.5])]
fn parse(s: &str) -> Result<u8, std::num::ParseIntError> {
    s.parse()
}

#[instrument_metrics(registry = REGISTRY, buckets = [0.5])]
fn explode(really: bool) -> u8 {
    if really {
        panic!("boom");
    }
    7
}

fn calls(text: &str, function: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            l.starts_with("function_calls_total{")
                && l.contains(&format!("function=\"{function}\""))
        })
        .map(|l| l.replace(",module=\"instrument_sync\"", ""))
        .collect()
}

#[test]
fn every_series_exists_at_zero_then_counts_exactly() {
    let before = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        calls(&before, "charge"),
        [
            "function_calls_total{function=\"charge\",result=\"ok\",error=\"\"} 0",
            "function_calls_total{function=\"charge\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"card_declined\"} 0",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"provider_timeout\"} 0",
        ]
    );

    assert_eq!(charge(5).ok(), Some(5));
    assert!(charge(0).is_err());
    assert!(charge(1).is_err());
    assert!(charge(1).is_err());
    assert_eq!(parse("12").ok(), Some(12));
    assert!(parse("x").is_err());
    assert_eq!(explode(false), 7);
    let panicked = std::panic::catch_unwind(|| explode(true));
    assert!(panicked.is_err());

    let after = REGISTRY.render(Format::Prometheus);
    assert_eq!(
        calls(&after, "charge"),
        [
            "function_calls_total{function=\"charge\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"charge\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"card_declined\"} 1",
            "function_calls_total{function=\"charge\",result=\"error\",error=\"provider_timeout\"} 2",
        ]
    );
    assert_eq!(
        calls(&after, "parse"),
        [
            "function_calls_total{function=\"parse\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"parse\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"parse\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"parse\",result=\"error\",error=\"ParseIntError\"} 1",
        ]
    );
    assert_eq!(
        calls(&after, "explode"),
        [
            "function_calls_total{function=\"explode\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"explode\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"explode\",result=\"error\",error=\"panic\"} 1",
        ]
    );
    assert!(after.contains(
        "function_calls_duration_seconds_bucket{function=\"charge\",module=\"instrument_sync\",le=\"0.5\"} 4\n"
    ), "{after}");
    assert!(after.contains(
        "function_calls_duration_seconds_count{function=\"explode\",module=\"instrument_sync\"} 2\n"
    ), "{after}");
    let _ = PaymentError::CardDeclined.index();
}
