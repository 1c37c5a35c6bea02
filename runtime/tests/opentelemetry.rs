//! With the `opentelemetry` feature, OpenTelemetry's current context is an exemplar source:
//! `cargo test -p vitalsign --features opentelemetry --test opentelemetry` (`.ci/run` does).

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use vitalsign::trace::{self, TraceContext};
use vitalsign::{Buckets, Format, Histogram, Registry};

fn otel(trace: u8, span: u8, flags: TraceFlags) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_bytes([trace; 16]),
        SpanId::from_bytes([span; 8]),
        flags,
        true,
        TraceState::default(),
    ))
}

/// The exemplar parts of each line that has one: `sample # {labels} value`.
fn exemplars(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(" # "))
        .map(|l| l.rsplit_once(' ').map_or(l, |(head, _ts)| head).to_owned())
        .collect()
}

#[test]
fn the_current_opentelemetry_span_is_the_exemplar() {
    let registry = Registry::new();
    let h = registry
        .register(
            "payment_seconds",
            "Payment latency.",
            Histogram::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    assert_eq!(trace::current(), None);
    {
        let _attached = otel(0x11, 0x22, TraceFlags::SAMPLED).attach();
        assert_eq!(
            trace::current(),
            TraceContext::new([0x11; 16], [0x22; 8], true)
        );
        h.observe(0.05);
        // A vitalsign scope is asked first.
        TraceContext::new([0x33; 16], [0x44; 8], true)
            .unwrap()
            .scope(|| h.observe(0.5));
    }
    {
        // Not sampled: not recorded.
        let _attached = otel(0x55, 0x66, TraceFlags::default()).attach();
        assert_eq!(trace::current().map(|c| c.is_sampled()), Some(false));
        h.observe(5.0);
    }
    assert_eq!(trace::current(), None);
    assert_eq!(
        exemplars(&registry.render(Format::OpenMetrics)),
        [
            format!(
                r#"payment_seconds_bucket{{le="0.1"}} 1 # {{trace_id="{}",span_id="{}"}} 0.05"#,
                "11".repeat(16),
                "22".repeat(8)
            ),
            format!(
                r#"payment_seconds_bucket{{le="1.0"}} 2 # {{trace_id="{}",span_id="{}"}} 0.5"#,
                "33".repeat(16),
                "44".repeat(8)
            ),
        ]
    );
}
