//! Benchmarks live in `benches/`; run them with `cargo bench -p vitalsign-bench`. This library
//! holds the workload they share: the bucket bounds, the observed values, and the 6 x 3 label set
//! derived once for each crate measured.

// Derived for four crates at once; the variants and fields are read through those derives.
#![allow(missing_docs)]

pub const LATENCY: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Observed values, cycling through several buckets.
pub const VALUES: [f64; 8] = [0.003, 0.02, 0.07, 0.2, 0.4, 0.9, 3.0, 12.0];

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    vitalsign::LabelValue,
    prometheus_client::encoding::EncodeLabelValue,
    measured::FixedCardinalityLabel,
)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    vitalsign::LabelValue,
    prometheus_client::encoding::EncodeLabelValue,
    measured::FixedCardinalityLabel,
)]
pub enum Outcome {
    Ok,
    ClientError,
    ServerError,
}

pub const METHODS: [Method; 6] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Patch,
];
pub const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::ClientError, Outcome::ServerError];
pub const METHOD_STR: [&str; 6] = ["get", "head", "post", "put", "delete", "patch"];
pub const OUTCOME_STR: [&str; 3] = ["ok", "client_error", "server_error"];

#[derive(Debug, vitalsign::LabelSet)]
pub struct VsLabels {
    pub method: Method,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
pub struct PcLabels {
    pub method: Method,
    pub outcome: Outcome,
}

#[derive(Debug, measured::LabelGroup)]
#[label(set = MeasuredSet)]
pub struct MeasuredLabels {
    pub method: Method,
    pub outcome: Outcome,
}
