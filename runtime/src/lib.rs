//! Prometheus and OpenMetrics instrumentation: metrics that cost an atomic on the hot path,
//! label sets that are bounded by their types, and exposition that every consumer accepts.
//!
//! ```
//! use vitalsign::{Buckets, Counter, Family, Format, Histogram, LabelSet, LabelValue, Registry};
//!
//! #[derive(Clone, Copy, LabelValue)]
//! enum Outcome { Paid, Declined }
//!
//! #[derive(LabelSet)]
//! struct Checkout { outcome: Outcome }
//!
//! let registry = Registry::new();
//! let checkouts = registry.register("checkouts", "Checkouts by outcome.", Family::<Checkout, Counter>::new())?;
//! let latency = registry.register(
//!     "payment_duration_seconds",
//!     "Time to charge a card.",
//!     Histogram::new(Buckets::new([0.25, 1.0])?),
//! )?;
//!
//! checkouts.get(&Checkout { outcome: Outcome::Paid }).inc();
//! latency.observe(0.2);
//!
//! assert_eq!(registry.render(Format::OpenMetrics), r#"# HELP checkouts Checkouts by outcome.
//! ## TYPE checkouts counter
//! checkouts_total{outcome="paid"} 1
//! checkouts_total{outcome="declined"} 0
//! ## HELP payment_duration_seconds Time to charge a card.
//! ## TYPE payment_duration_seconds histogram
//! ## UNIT payment_duration_seconds seconds
//! payment_duration_seconds_bucket{le="0.25"} 1
//! payment_duration_seconds_bucket{le="1.0"} 1
//! payment_duration_seconds_bucket{le="+Inf"} 1
//! payment_duration_seconds_count 1
//! payment_duration_seconds_sum 0.2
//! ## EOF
//! "#);
//! # Ok::<(), vitalsign::Error>(())
//! ```
//!
//! The derives give each enum variant a dense index and a label value (`paid`), and a struct of
//! them the mixed-radix index of its fields, so a [`Family`] is one array with every
//! combination exported from the start; the traits can be implemented by hand too (see
//! [`LabelValue`](trait@LabelValue)). The [`metrics!`] macro declares statics that register
//! themselves in the [`default_registry`]; `#[instrument_metrics]` does all of this for a
//! function.
//!
//! Features: `macros` (default) brings the derives, `#[instrument_metrics]` and `metrics!` (without
//! it the runtime builds no proc-macro crate: no `vitalsign-macros`, `linkme` or `syn`); `protobuf` (default) adds the Prometheus protobuf
//! exposition, the format that carries native histograms; `protobuf-decode` reads it back (`encoding::protobuf::decode`,
//! with prost's derives); `opentelemetry` takes exemplars from OpenTelemetry's current span;
//! `tokio` adds the tokio runtime collector.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod catalog;
mod clock;
pub use clock::Stopwatch;
mod collectors;
#[cfg(feature = "dashboards")]
pub mod dashboard;
pub mod encoding;
mod error;
mod instrumented;
mod labels;
pub mod lookup;
mod metrics;
mod name;
pub mod objective;
mod registry;
mod sync;
pub mod testing;
pub mod trace;

#[cfg(feature = "tokio")]
pub use collectors::TokioRuntimeCollector;
pub use collectors::{BuildInfo, ProcessCollector};
pub use encoding::{Format, Labels, MetricEncoder, MetricType, Value, gather};
pub use error::{Error, ErrorKind, Result};
pub use labels::{LabelSet, LabelValue};
pub use metrics::{
    Buckets, CallbackGauge, Counter, Family, FloatCounter, FloatGauge, Gauge, Histogram,
    HistogramSnapshot, HistogramTimer, Info, MAX_DENSE_SERIES, Metric, NativeBuckets,
    NativeSnapshot, OVERFLOW_VALUE, Series, SparseFamily, StateSet, Summary, SummarySnapshot,
};
pub use name::{is_valid_label_name, is_valid_metric_name};
pub use objective::{Objective, RuleOptions, alert_rules};
pub use registry::{
    Collect, Collector, Descriptor, EncodeOptions, Registry, SeriesBound, default_registry,
};
/// Makes a struct of label values a [`LabelSet`](trait@LabelSet): each field is one label,
/// named after the field, and the set's index is mixed radix over the fields' indices, so a
/// [`Family`] holds every combination in one array.
///
/// - `#[label(name = "...")]` on a field names its label.
/// - `#[label(flatten)]` on a field whose type is itself a `LabelSet` adds that set's labels.
///   A label name that appears twice, directly or through flattened sets, is a compile error.
/// - `#[label(crate = PATH)]` on the struct says where `vitalsign` is, if renamed.
///
/// ```
/// use vitalsign::{Counter, Family, Format, LabelSet, LabelValue, Registry};
///
/// #[derive(Clone, Copy, LabelValue)]
/// #[label(rename_all = "UPPERCASE")]
/// enum Method { Get, Post }
///
/// #[derive(LabelSet)]
/// struct Route { method: Method, #[label(name = "cache_hit")] cached: bool }
///
/// #[derive(LabelSet)]
/// struct Request { #[label(flatten)] route: Route, retried: bool }
///
/// assert_eq!(Request::NAMES, ["method", "cache_hit", "retried"]);
/// let registry = Registry::new();
/// let requests = registry.register("requests", "Requests.", Family::<Request, Counter>::new())?;
/// requests.get(&Request { route: Route { method: Method::Post, cached: false }, retried: true }).inc();
/// let text = registry.render(Format::Prometheus);
/// assert!(text.contains("requests_total{method=\"POST\",cache_hit=\"false\",retried=\"true\"} 1\n"));
/// assert_eq!(text.lines().filter(|l| l.starts_with("requests_total{")).count(), 8);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[cfg(feature = "macros")]
pub use vitalsign_macros::LabelSet;
/// ```
/// use vitalsign::LabelValue;
///
/// #[derive(Debug, LabelValue)]
/// #[label(rename_all = "kebab-case")]
/// enum PaymentError {
///     CardDeclined { code: u16 },      // "card-declined"
///     #[label(rename = "timeout")]
///     ProviderTimeout(std::time::Duration),
///     Unavailable,
/// }
///
/// assert_eq!(PaymentError::CARDINALITY, 3);
/// assert_eq!(PaymentError::CardDeclined { code: 51 }.as_str(), "card-declined");
/// assert_eq!(PaymentError::value_at(1), "timeout");
/// assert!(matches!(PaymentError::from_index(2), Some(PaymentError::Unavailable)));
/// assert!(PaymentError::from_index(0).is_none()); // it carries data
/// ```
#[cfg(feature = "macros")]
pub use vitalsign_macros::LabelValue;
#[cfg(feature = "macros")]
#[doc = include_str!("../docs/instrument_metrics.md")]
pub use vitalsign_macros::instrument_metrics;

/// Declares metrics in `static`s that register themselves in the [`default_registry`] before
/// its first scrape. The doc comment is the HELP text; the name is checked at compile time.
/// Without `= init`, the metric is its type's `Default`; [`buckets!`] gives a histogram bounds
/// checked at compile time.
///
/// ```
/// use vitalsign::{Buckets, Counter, Format, Histogram, default_registry};
///
/// vitalsign::metrics! {
///     /// Orders placed.
///     pub static ORDERS: Counter as "shop_orders";
///     /// Time to charge a card.
///     static PAYMENT: Histogram as "shop_payment_duration_seconds" = Histogram::new(Buckets::latency());
/// }
///
/// ORDERS.inc();
/// PAYMENT.observe(0.02);
/// let text = default_registry().render(Format::Prometheus);
/// assert!(text.contains("# HELP shop_orders_total Orders placed.\n# TYPE shop_orders_total counter\nshop_orders_total 1\n"));
/// assert!(text.contains("shop_payment_duration_seconds_bucket{le=\"0.025\"} 1\n"));
/// ```
///
/// An invalid name does not compile, nor do two statics of one name in one block:
///
/// ```compile_fail
/// vitalsign::metrics! {
///     /// Oops.
///     static BAD: vitalsign::Counter as "bad-name";
/// }
/// ```
///
/// ```compile_fail
/// vitalsign::metrics! {
///     /// Orders.
///     static ORDERS: vitalsign::Counter as "orders";
///     /// Orders again.
///     static ORDERS_AGAIN: vitalsign::Gauge as "orders";
/// }
/// ```
///
/// Statics in different blocks or crates are checked when their registry is first used (before
/// any registration at run time): a clash is printed to stderr, kept in
/// [`Registry::registration_errors`], and makes `vitalsign_tower::serve` refuse to start.
///
/// Behind the `macros` feature (on by default): the statics register through link-time lists.
#[cfg(feature = "macros")]
#[macro_export]
macro_rules! metrics {
    ($(
        $(#[doc = $doc:literal])*
        $vis:vis static $ident:ident : $ty:ty as $name:literal $(= $init:expr)? ;
    )*) => {
        const _: () = ::core::assert!(
            $crate::__private::names_are_unique(&[$($name),*]),
            "two statics in one `metrics!` block have the same name",
        );
        $(
        $(#[doc = $doc])*
        $vis static $ident: $crate::__private::LazyLock<$ty> =
            $crate::__private::LazyLock::new(|| $crate::metrics!(@init $ty $(, $init)?));

        const _: () = {
            ::core::assert!(
                $crate::is_valid_metric_name($name),
                ::core::concat!("invalid metric name `", $name, "`: metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*` and do not start with `__`"),
            );
            #[$crate::__private::linkme::distributed_slice($crate::__private::STATIC_REGISTRATIONS)]
            #[linkme(crate = $crate::__private::linkme)]
            static ENTRY: $crate::__private::StaticRegistration = $crate::__private::StaticRegistration {
                registry: $crate::default_registry,
                register: |registry| registry.register_static(
                    $crate::Descriptor::new($name, $crate::__private::help_from_doc(&[$($doc),*])),
                    &*$ident,
                ),
            };
        };
    )*};
    (@init $ty:ty) => { <$ty as ::core::default::Default>::default() };
    (@init $ty:ty, $init:expr) => { $init };
}

/// Histogram [`Buckets`] from literal bounds, checked at compile time (finite, strictly
/// increasing, at least one), so a `static` needs no `.expect()`.
///
/// ```
/// use vitalsign::{Histogram, buckets};
///
/// vitalsign::metrics! {
///     /// Time to charge a card.
///     static PAYMENT: Histogram as "payment_duration_seconds" = Histogram::new(buckets![0.05, 0.25, 1.0]);
/// }
/// assert_eq!(PAYMENT.buckets().bounds(), [0.05, 0.25, 1.0]);
/// ```
///
/// ```compile_fail
/// let _ = vitalsign::buckets![1.0, 0.5];
/// ```
#[macro_export]
macro_rules! buckets {
    ($($bound:expr),+ $(,)?) => {{
        const BOUNDS: &[f64] = &[$($bound as f64),+];
        const _: () = ::core::assert!(
            $crate::__private::buckets_are_valid(BOUNDS),
            "bucket bounds must be finite and strictly increasing",
        );
        $crate::__private::checked_buckets(BOUNDS)
    }};
}

#[doc(hidden)]
pub mod __private;

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
