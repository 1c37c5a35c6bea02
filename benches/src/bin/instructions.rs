//! The hot-path rows as instruction counts, which machine noise does not move.
//!
//! `instructions list` names the rows (`row/crate`); `instructions ROW N` sets the row up and runs
//! its operation `N` times. `benches/run.sh` runs every row under callgrind (Debian's `valgrind`)
//! with `N` = 0 and `N` = 1,000,000: the difference over a million is the instructions one
//! operation costs, setup and process start cancelled out. Single-thread rows only (callgrind
//! runs one thread at a time).

use std::hint::black_box;
use std::process::ExitCode;

use vitalsign_bench::*;

/// Every row and crate, in report order.
const ROWS: &[&str] = &[
    "counter_unlabelled/vitalsign",
    "counter_unlabelled/prometheus_client",
    "counter_unlabelled/prometheus",
    "counter_unlabelled/measured",
    "counter_unlabelled/fastmetrics",
    "counter_labelled/vitalsign",
    "counter_labelled/prometheus_client",
    "counter_labelled/prometheus",
    "counter_labelled/measured",
    "histogram_observe/vitalsign",
    "histogram_observe/prometheus_client",
    "histogram_observe/prometheus",
    "histogram_observe/measured",
    "histogram_observe/fastmetrics",
    "native_observe/vitalsign",
    "native_observe/prometheus_client",
    "instrumented_fn/bare",
    "instrumented_fn/vitalsign",
    "instrumented_fn/vitalsign_classic_only",
    "http_request/no_layer",
    "http_request/vitalsign",
    "http_client_request/no_layer",
    "http_client_request/vitalsign",
    "grpc_call/no_layer",
    "grpc_call/vitalsign_server",
    "grpc_call/vitalsign_client",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => ROWS.iter().for_each(|r| println!("{r}")),
        [row, n] if ROWS.contains(&row.as_str()) && n.parse::<u64>().is_ok() => {
            run(row, n.parse().unwrap_or(0));
        }
        _ => {
            eprintln!(
                "usage: instructions list | instructions ROW N (a row `list` names, N operations)"
            );
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// The value of operation `i`, cycling through several buckets.
fn value(i: u64) -> f64 {
    VALUES[i as usize % VALUES.len()]
}

/// Runs `op` for `i` in `0..n`.
#[inline(always)]
fn repeat(n: u64, mut op: impl FnMut(u64)) {
    for i in 0..n {
        op(black_box(i));
    }
}

fn run(row: &str, n: u64) {
    match row {
        "counter_unlabelled/vitalsign" => {
            let c = vitalsign::Counter::new();
            repeat(n, |_| c.inc());
        }
        "counter_unlabelled/prometheus_client" => {
            let c = prometheus_client::metrics::counter::Counter::<u64>::default();
            repeat(n, |_| {
                c.inc();
            });
        }
        "counter_unlabelled/prometheus" => {
            let c = prometheus::IntCounter::new("c", "c").expect("valid");
            repeat(n, |_| c.inc());
        }
        "counter_unlabelled/measured" => {
            let c = measured::Counter::new();
            repeat(n, |_| c.inc());
        }
        "counter_unlabelled/fastmetrics" => {
            let c = fastmetrics::metrics::counter::Counter::<u64>::default();
            repeat(n, |_| c.inc());
        }
        "counter_labelled/vitalsign" => {
            let family = vitalsign::Family::<VsLabels, vitalsign::Counter>::new();
            repeat(n, |i| {
                let (m, o) = combo(i);
                family
                    .get(&VsLabels {
                        method: METHODS[m],
                        outcome: OUTCOMES[o],
                    })
                    .inc();
            });
        }
        "counter_labelled/prometheus_client" => {
            let family = prometheus_client::metrics::family::Family::<
                PcLabels,
                prometheus_client::metrics::counter::Counter,
            >::default();
            repeat(n, |i| {
                let (m, o) = combo(i);
                family
                    .get_or_create(&PcLabels {
                        method: METHODS[m],
                        outcome: OUTCOMES[o],
                    })
                    .inc();
            });
        }
        "counter_labelled/prometheus" => {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new("c", "c"),
                &["method", "outcome"],
            )
            .expect("valid");
            repeat(n, |i| {
                let (m, o) = combo(i);
                vec.with_label_values(&[METHOD_STR[m], OUTCOME_STR[o]])
                    .inc();
            });
        }
        "counter_labelled/measured" => {
            let vec = measured::CounterVec::<MeasuredSet>::dense();
            repeat(n, |i| {
                let (m, o) = combo(i);
                vec.inc(MeasuredLabels {
                    method: METHODS[m],
                    outcome: OUTCOMES[o],
                });
            });
        }
        "histogram_observe/vitalsign" => {
            let h = vs_histogram();
            repeat(n, |i| h.observe(value(i)));
        }
        "histogram_observe/prometheus_client" => {
            let h = pc_histogram();
            repeat(n, |i| h.observe(value(i)));
        }
        "histogram_observe/prometheus" => {
            let h = prom_histogram();
            repeat(n, |i| h.observe(value(i)));
        }
        "histogram_observe/measured" => {
            let h = measured_histogram();
            repeat(n, |i| h.get_metric().observe(value(i)));
        }
        "histogram_observe/fastmetrics" => {
            let h = fm_histogram();
            repeat(n, |i| h.observe(value(i)));
        }
        "native_observe/vitalsign" => {
            let h = vitalsign::Histogram::with_native(
                vitalsign::Buckets::latency(),
                vitalsign::NativeBuckets::default(),
            );
            repeat(n, |i| h.observe(value(i)));
        }
        "native_observe/prometheus_client" => {
            use prometheus_client::metrics::histogram::{Histogram, NativeHistogramConfig};
            let h = Histogram::new_classic_and_native(
                LATENCY.iter().copied(),
                NativeHistogramConfig::new(1.1),
            );
            repeat(n, |i| h.observe(value(i)));
        }
        "instrumented_fn/bare" => repeat(n, |i| {
            let _ = black_box(bare(i as u32 | 1));
        }),
        "instrumented_fn/vitalsign" => repeat(n, |i| {
            let _ = black_box(with_vitalsign(i as u32 | 1));
        }),
        "instrumented_fn/vitalsign_classic_only" => repeat(n, |i| {
            let _ = black_box(with_vitalsign_classic(i as u32 | 1));
        }),
        "http_request/no_layer" => {
            let mut svc = tower::service_fn(hello);
            repeat(n, |_| http_request(&mut svc));
        }
        "http_request/vitalsign" => {
            use tower::Layer;
            let layer =
                vitalsign_tower::MetricsLayer::new().classify_route(|_: &http::Request<String>| {
                    Some(vitalsign_tower::Route::from_static("/hello"))
                });
            let mut svc = layer.layer(tower::service_fn(hello));
            // The first request creates the series.
            http_request(&mut svc);
            repeat(n, |_| http_request(&mut svc));
        }
        "http_client_request/no_layer" => {
            let mut svc = tower::service_fn(hello);
            repeat(n, |_| {
                http_request_to(&mut svc, "http://payments.example.com/v1/charges")
            });
        }
        "http_client_request/vitalsign" => {
            use tower::Layer;
            let registry: &'static vitalsign::Registry = Box::leak(Box::default());
            let layer = vitalsign_tower::client::HttpClientLayer::builder()
                .registry(registry)
                .hosts(["payments.example.com"])
                .build()
                .expect("the families register");
            let mut svc = layer.layer(tower::service_fn(hello));
            let uri = "http://payments.example.com/v1/charges";
            http_request_to(&mut svc, uri);
            repeat(n, |_| http_request_to(&mut svc, uri));
        }
        "grpc_call/no_layer" => {
            let mut svc = tower::service_fn(grpc::echo::<grpc::ReqBody>);
            repeat(n, |_| grpc_call(&mut svc));
        }
        "grpc_call/vitalsign_server" => {
            use tower::Layer;
            let registry: &'static vitalsign::Registry = Box::leak(Box::default());
            let layer = vitalsign_tower::grpc::GrpcServerLayer::builder(grpc::methods())
                .registry(registry)
                .build()
                .expect("the families register");
            let mut svc = layer.layer(tower::service_fn(grpc::echo));
            grpc_call(&mut svc);
            repeat(n, |_| grpc_call(&mut svc));
        }
        "grpc_call/vitalsign_client" => {
            use tower::Layer;
            let registry: &'static vitalsign::Registry = Box::leak(Box::default());
            let layer = vitalsign_tower::grpc::GrpcClientLayer::builder(grpc::methods())
                .registry(registry)
                .build()
                .expect("the families register");
            let mut svc = layer.layer(tower::service_fn(grpc::echo::<grpc::ReqBody>));
            grpc_call(&mut svc);
            repeat(n, |_| grpc_call(&mut svc));
        }
        _ => unreachable!("`main` runs listed rows only"),
    }
}

/// Operation `i`'s label combination, as indices.
fn combo(i: u64) -> (usize, usize) {
    let i = i as usize;
    (i % 6, (i / 6) % 3)
}

/// The service of the HTTP rows: answers at once, with an empty body (an empty `String`
/// allocates nothing).
async fn hello(
    _: http::Request<String>,
) -> Result<http::Response<String>, std::convert::Infallible> {
    Ok(http::Response::new(String::new()))
}

/// One request through `svc`: called, its future polled once (the service answers at once),
/// its response dropped, which is when the layer records it. No runtime: a no-op waker.
fn http_request<S, B>(svc: &mut S)
where
    S: tower::Service<http::Request<String>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    http_request_to(svc, "/hello");
}

/// [`http_request`] to `uri`.
#[inline(always)]
fn http_request_to<S, B>(svc: &mut S, uri: &str)
where
    S: tower::Service<http::Request<String>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let request = http::Request::get(uri)
        .body(String::new())
        .expect("a valid request");
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = std::pin::pin!(svc.call(black_box(request)));
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(response) => drop(black_box(response.expect("the service answers"))),
        Poll::Pending => unreachable!("the service answers at once"),
    }
}

/// One unary gRPC call through `svc`, its response read to the trailers (when the layers
/// record it), polled with a no-op waker: the service and the bodies are ready at once.
fn grpc_call<S, B>(svc: &mut S)
where
    S: tower::Service<http::Request<grpc::ReqBody>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    use http_body_util::BodyExt;
    use vitalsign::testing::now_or_never;
    let response = now_or_never(svc.call(black_box(grpc::request())))
        .expect("the service answers at once")
        .expect("the service answers");
    let body = now_or_never(response.into_body().collect()).expect("the body is ready");
    drop(black_box(body.expect("the body reads")));
}
