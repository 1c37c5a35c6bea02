//! After warm-up, an instrumented call (sync or async, ok, error or with labels) and every
//! hot-path metric operation allocate nothing: counted by a global allocator, per thread. (A
//! series allocates once, on its first observation: its native bucket table, its exemplar
//! cells in a trace.)

#![allow(
    unsafe_code,
    reason = "a counting allocator must implement the unsafe `GlobalAlloc`; it only forwards to `System`"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vitalsign::{
    Buckets, Counter, Family, Gauge, Histogram, LabelSet, LabelValue, Summary, instrument_metrics,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Tier {
    Free,
    Paid,
}

#[derive(Debug, LabelValue)]
enum PayError {
    Declined,
}

#[derive(LabelSet)]
struct Labels {
    tier: Tier,
    retry: bool,
}

#[instrument_metrics(labels(tier))]
fn charge(tier: Tier, amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[instrument_metrics(concurrency)]
async fn reserve(n: u32) -> Result<u32, std::io::Error> {
    Ok(n)
}

/// `charge` again, for the traced test: tests run at once, and two threads calling one function
/// together grow its stripes (an allocation the other test would count).
#[instrument_metrics(labels(tier))]
fn charge_traced(tier: Tier, amount: u32) -> Result<u32, PayError> {
    let _ = tier;
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[test]
fn hot_paths_allocate_nothing_after_warm_up() {
    let counter = Counter::new();
    let gauge = Gauge::new();
    let histogram = Histogram::new(Buckets::latency());
    let summary = Summary::new();
    let family = Family::<Labels, Counter>::new();
    let timed = Family::<Labels, Histogram>::new_with(|| Histogram::new(Buckets::latency()));

    // Warm-up: statics are built on first use, each label combination's histogram makes its
    // native bucket table on its first observation, and a classic histogram or summary makes the
    // observing thread's cell on that thread's first observation.
    let _ = charge(Tier::Free, 1);
    let _ = charge(Tier::Paid, 1);
    let _ = vitalsign::testing::now_or_never(reserve(1)).expect("ready at once");
    histogram.observe(0.0);
    summary.observe(0.0);
    let warm = Labels {
        tier: Tier::Free,
        retry: true,
    };
    timed.get(&warm).observe(0.0);

    let n = allocations_during(|| {
        for i in 0..1_000u32 {
            let _ = charge(if i % 2 == 0 { Tier::Free } else { Tier::Paid }, i % 3);
            let _ = vitalsign::testing::now_or_never(reserve(i)).expect("ready at once");
            counter.inc();
            gauge.add(2);
            histogram.observe(f64::from(i) / 1000.0);
            histogram.observe_ns(u64::from(i) * 1000);
            summary.observe(1.0);
            family
                .get(&Labels {
                    tier: Tier::Paid,
                    retry: i % 2 == 0,
                })
                .inc();
            timed
                .get(&Labels {
                    tier: Tier::Free,
                    retry: true,
                })
                .observe(0.1);
        }
    });
    assert_eq!(n, 0, "allocations in 1,000 rounds of hot-path calls");
    assert_eq!(counter.get(), 1_000);
    let _ = (Tier::Free.index(), PayError::Declined.index());
}

/// In a sampled trace context, observations and traced increments keep exemplars without
/// allocating, once each series has made its exemplar cells (its first traced observation).
#[test]
fn exemplars_allocate_nothing_after_a_series_first_one() {
    let counter = Counter::new();
    let histogram = Histogram::new(Buckets::latency());
    let cx = vitalsign::trace::TraceContext::new([3; 16], [4; 8], true).unwrap();
    cx.scope(|| {
        for tier in [Tier::Free, Tier::Paid] {
            let _ = charge_traced(tier, 0);
            let _ = charge_traced(tier, 1);
        }
        histogram.observe(0.0);
        counter.inc_traced();
    });
    let n = allocations_during(|| {
        cx.scope(|| {
            for i in 0..1_000u32 {
                let tier = if i % 2 == 0 { Tier::Free } else { Tier::Paid };
                let _ = charge_traced(tier, i % 3);
                histogram.observe(f64::from(i) / 100.0);
                histogram.observe_ns(u64::from(i) * 1_000_000);
                counter.inc_by_traced(2);
            }
        });
    });
    assert_eq!(n, 0, "allocations in 1,000 rounds of traced hot-path calls");
    assert_eq!(counter.get(), 2_001);
    assert_eq!(histogram.snapshot().count, 2_001);
}

/// One unary gRPC call through `svc`, polled to the end of its response with a no-op waker:
/// the service answers at once, so nothing waits.
fn grpc_call<S, B>(svc: &mut S)
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<B>,
        >,
    S::Error: std::fmt::Debug,
    B: http_body::Body + Unpin,
{
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    let mut request = http::Request::new(http_body_util::Full::new(bytes::Bytes::from_static(
        b"\0\0\0\0\x03abc",
    )));
    *request.uri_mut() = http::Uri::from_static("/bench.v1.Echo/Unary");
    let mut future = std::pin::pin!(svc.call(request));
    let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) else {
        panic!("the service answers at once");
    };
    let mut body = std::pin::pin!(response.into_body());
    while let Poll::Ready(Some(frame)) = http_body::Body::poll_frame(body.as_mut(), &mut cx) {
        assert!(frame.is_ok());
    }
}

/// A response body: one message, then trailers.
struct Reply {
    data: Option<bytes::Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl http_body::Body for Reply {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let frame = match self.data.take() {
            Some(data) => Some(http_body::Frame::data(data)),
            None => self.trailers.take().map(http_body::Frame::trailers),
        };
        std::task::Poll::Ready(frame.map(Ok))
    }
}

/// Answers with one message and `grpc-status: 0` trailers. The service's own allocations (its
/// trailers) are the same with and without the layer.
fn answer<B>(
    _: http::Request<B>,
) -> std::future::Ready<Result<http::Response<Reply>, std::convert::Infallible>> {
    static TRAILERS: std::sync::LazyLock<http::HeaderMap> = std::sync::LazyLock::new(|| {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        trailers
    });
    std::future::ready(Ok(http::Response::new(Reply {
        data: Some(bytes::Bytes::from_static(b"\0\0\0\0\x03abc")),
        trailers: Some(TRAILERS.clone()),
    })))
}

#[test]
fn a_grpc_server_call_allocates_nothing_in_the_layer() {
    use tower::Layer;
    use vitalsign_tower::grpc::{GrpcMethods, GrpcServerLayer, GrpcType};
    let registry = vitalsign::Registry::new();
    let methods = GrpcMethods::new().method("bench.v1.Echo", "Unary", GrpcType::Unary);
    let layer = GrpcServerLayer::builder(methods)
        .registry(&registry)
        .build()
        .unwrap();
    let mut plain = tower::service_fn(answer);
    let mut layered = layer.layer(tower::service_fn(answer));
    // Warm-up: the series' native table is made on its first observation.
    grpc_call(&mut layered);
    let without = allocations_during(|| grpc_call(&mut plain));
    let with = allocations_during(|| grpc_call(&mut layered));
    assert_eq!(with, without, "the layer allocated");
    assert!(registry.render(vitalsign::Format::Prometheus).contains(
        "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"bench.v1.Echo\",grpc_method=\"Unary\",grpc_code=\"OK\"} 2\n"
    ));
}

/// What `MetricsLayer` adds to a request allocates nothing once its route's series exist: the
/// requests are built before counting, and the service answers with an empty body (an empty
/// `String` and a response's empty header map allocate nothing either).
#[test]
fn a_request_through_the_http_layer_allocates_nothing_after_warm_up() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower::{Layer, Service};

    async fn hello(
        _: http::Request<String>,
    ) -> Result<http::Response<String>, std::convert::Infallible> {
        Ok(http::Response::new(String::new()))
    }
    let registry: &'static vitalsign::Registry = Box::leak(Box::default());
    let layer = vitalsign_tower::MetricsLayer::builder()
        .registry(registry)
        .classify_route(|r: &http::Request<String>| {
            Some(vitalsign_tower::Route::from_static(match r.uri().path() {
                "/a" => "/a",
                _ => "/b",
            }))
        })
        .build()
        .unwrap();
    let mut svc = layer.layer(tower::service_fn(hello));
    let mut request = |path: &str| {
        let request = http::Request::get(path).body(String::new()).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let mut future = std::pin::pin!(svc.call(request));
        let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) else {
            panic!("the service answers at once");
        };
        drop(response);
    };
    // Warm-up: each route's entry and series, and this thread's histogram cells.
    request("/a");
    request("/b");
    let paths: Vec<&str> = (0..1_000)
        .map(|i| if i % 3 == 0 { "/a" } else { "/b" })
        .collect();
    let requests: Vec<http::Request<String>> = paths
        .iter()
        .map(|p| http::Request::get(*p).body(String::new()).unwrap())
        .collect();
    let mut answered = 0;
    let n = allocations_during(|| {
        let mut cx = Context::from_waker(Waker::noop());
        for request in requests {
            let mut future = std::pin::pin!(svc.call(request));
            if let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) {
                // Dropped here: the layer records the request when its body is dropped.
                drop(response);
                answered += 1;
            }
        }
    });
    assert_eq!((n, answered), (0, 1_000));
    let text = registry.render(vitalsign::Format::Prometheus);
    let count = |route: &str| {
        let line = format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",http_route=\"{route}\",http_response_status_code=\"200\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .map(str::to_owned)
    };
    assert_eq!(
        (count("/a"), count("/b")),
        (Some("335".into()), Some("667".into()))
    );
}
