//! Benchmarks live in `benches/`; run them with `cargo bench -p vitalsign-bench`. This library
//! holds the workload they share: the bucket bounds, the observed values, and the 6 x 3 label set
//! derived once for each crate measured.

#![allow(
    missing_docs,
    reason = "derived for four crates at once; the variants and fields are read through those derives"
)]

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

/// The histogram row's histogram in each crate: the bounds of [`LATENCY`].
pub fn vs_histogram() -> vitalsign::Histogram {
    vitalsign::Histogram::new(vitalsign::Buckets::latency())
}

pub fn pc_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(LATENCY.iter().copied())
}

pub fn prom_histogram() -> prometheus::Histogram {
    prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new("h", "h").buckets(LATENCY.to_vec()),
    )
    .expect("valid buckets")
}

pub fn measured_histogram() -> measured::Histogram<11> {
    let mut bounds = [0.0; 11];
    bounds.copy_from_slice(LATENCY);
    measured::Histogram::with_metadata(measured::metric::histogram::Thresholds::with_buckets(
        bounds,
    ))
}

pub fn fm_histogram() -> fastmetrics::metrics::histogram::Histogram {
    fastmetrics::metrics::histogram::Histogram::new(LATENCY.iter().copied())
}

// The function rows: one small body bare and instrumented (autometrics' in `benches/peers.rs`).

#[derive(Debug, vitalsign::LabelValue)]
pub enum PayError {
    Declined,
}

impl std::fmt::Display for PayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

impl std::error::Error for PayError {}

#[inline(never)]
pub fn bare(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[inline(never)]
#[vitalsign::instrument_metrics]
pub fn with_vitalsign(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

/// The same with classic buckets only (no native buckets).
#[inline(never)]
#[vitalsign::instrument_metrics(classic_only)]
pub fn with_vitalsign_classic(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

/// The gRPC rows' workload: one unary call of a service that reads the request's one message
/// and answers one message and `grpc-status: 0` trailers.
pub mod grpc {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http::{HeaderMap, Request, Response};
    use http_body::{Body, Frame};
    use http_body_util::combinators::UnsyncBoxBody;
    use http_body_util::{BodyExt, Full};
    use vitalsign_tower::grpc::{GrpcMethods, GrpcType};

    pub const PATH: &str = "/bench.v1.Echo/Unary";

    /// One message (a 5-byte prefix and 3 bytes), then `grpc-status: 0` trailers.
    #[derive(Debug)]
    pub struct UnaryBody {
        state: u8,
    }

    impl Body for UnaryBody {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.state += 1;
            Poll::Ready(match self.state {
                1 => Some(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x03abc")))),
                2 => {
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                    Some(Ok(Frame::trailers(trailers)))
                }
                _ => None,
            })
        }
    }

    pub type ReqBody = UnsyncBoxBody<Bytes, Infallible>;

    /// Reads the request's message, answers one.
    pub async fn echo<B: Body>(request: Request<B>) -> Result<Response<UnaryBody>, Infallible> {
        let _ = request.into_body().collect().await;
        let mut response = Response::new(UnaryBody { state: 0 });
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/grpc"),
        );
        Ok(response)
    }

    /// The call's request: one message.
    pub fn request() -> Request<ReqBody> {
        let body = Full::new(Bytes::from_static(b"\0\0\0\0\x03abc")).boxed_unsync();
        Request::post(PATH).body(body).expect("a valid request")
    }

    /// The one method the layers declare.
    pub fn methods() -> GrpcMethods {
        GrpcMethods::new().method("bench.v1.Echo", "Unary", GrpcType::Unary)
    }
}
