//! The checkout's HTTP contract (DESIGN.md, "The checkout example"), against the real binary.

use vitalsign_tests as support;

use std::process::Command;

use support::http_request;

const BIN: &str = env!("CARGO_BIN_EXE_checkout");

#[test]
fn http_contract() {
    let (_shop, addr, peers) = support::start_checkout_with(BIN, 0, &[]);
    let call = |method, path, body| http_request(addr, method, path, body);

    let (status, body) = call(
        "POST",
        "/checkout",
        r#"{"customer": "c1", "items": [{"sku": "tea", "quantity": 2}]}"#,
    );
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            r#"{"id":1,"customer":"c1","items":[{"sku":"tea","quantity":2,"unit_price_cents":350}],"total_cents":700,"payment_id":1,"status":"paid"}"#
        )
    );
    assert_eq!(call("GET", "/orders/1", "").1, body);
    assert_eq!(
        call("GET", "/orders/2", ""),
        (404, r#"{"error":"no order `2`"}"#.to_owned())
    );
    assert_eq!(call("GET", "/healthz", ""), (200, "ok\n".to_owned()));
    // The runtime's metrics: one worker per CPU, each with its busy seconds and parks.
    let metrics = call("GET", "/metrics", "").1;
    // Stock levels through the `metrics` facade: tea is 2 down from a million, after the first
    // order (the declined one put its tea back).
    let stock: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("checkout_stock_items"))
        .collect();
    assert_eq!(
        stock,
        [
            "checkout_stock_items{sku=\"tea\"} 999998",
            "checkout_stock_items{sku=\"coffee\"} 1e+06",
            "checkout_stock_items{sku=\"cake\"} 1e+06",
            "checkout_stock_items{sku=\"mug\"} 1e+06",
            "checkout_stock_items{sku=\"beans\"} 1e+06",
        ]
    );
    assert!(metrics.contains("# TYPE checkout_stock_items gauge\n"));
    let workers = std::thread::available_parallelism().unwrap().get();
    assert!(
        metrics.contains(&format!("\ntokio_runtime_workers {workers}\n")),
        "{metrics}"
    );
    for w in 0..workers {
        for family in ["busy_seconds_total", "parks_total"] {
            let series = format!("\ntokio_runtime_worker_{family}{{worker=\"{w}\"}} ");
            assert_eq!(metrics.matches(&series).count(), 1, "{series}");
        }
    }

    assert_eq!(
        call(
            "POST",
            "/checkout",
            r#"{"customer": "declined-7", "items": [{"sku": "tea", "quantity": 1}]}"#
        ),
        (402, r#"{"error":"card declined"}"#.to_owned())
    );
    for (body, error) in [
        (
            "{not json",
            r#"{"error":"malformed JSON: key must be a string at line 1 column 2"}"#,
        ),
        (
            r#"{"customer": "c", "items": [{"sku": "unicorn", "quantity": 1}]}"#,
            r#"{"error":"an item has an unknown sku"}"#,
        ),
        (
            r#"{"customer": "c", "items": [{"sku": "tea", "quantity": 0}]}"#,
            r#"{"error":"quantity of `tea` must be 1 to 100, got 0"}"#,
        ),
        (
            r#"{"customer": "c", "items": [{"sku": "tea", "quantity": 101}]}"#,
            r#"{"error":"quantity of `tea` must be 1 to 100, got 101"}"#,
        ),
        (
            r#"{"customer": "c", "items": []}"#,
            r#"{"error":"an order has 1 to 20 items"}"#,
        ),
        (
            r#"{"customer": "", "items": [{"sku": "tea", "quantity": 1}]}"#,
            r#"{"error":"customer must be 1 to 64 bytes"}"#,
        ),
    ] {
        assert_eq!(
            call("POST", "/checkout", body),
            (400, error.to_owned()),
            "{body}"
        );
    }
    let huge = format!(r#"{{"customer": "{}"}}"#, "x".repeat(10 << 20));
    assert_eq!(
        call("POST", "/checkout", &huge),
        (
            413,
            r#"{"error":"request body is larger than 65536 bytes"}"#.to_owned()
        )
    );

    assert_eq!(
        call("GET", "/admin/payment-provider", ""),
        (200, r#"{"latency_ms":150,"error_rate":0.0}"#.to_owned())
    );
    assert_eq!(
        call(
            "PUT",
            "/admin/payment-provider",
            r#"{"latency_ms": 400, "error_rate": 1.5}"#
        ),
        (
            400,
            r#"{"error":"error_rate must be between 0 and 1, got 1.5"}"#.to_owned()
        )
    );
    assert_eq!(
        call(
            "PUT",
            "/admin/payment-provider",
            r#"{"latency_ms": 1, "error_rate": 1.0}"#
        ),
        (200, r#"{"latency_ms":1,"error_rate":1.0}"#.to_owned())
    );
    assert_eq!(
        call(
            "POST",
            "/checkout",
            r#"{"customer": "c2", "items": [{"sku": "mug", "quantity": 1}]}"#
        ),
        (
            503,
            r#"{"error":"the payment provider timed out; try again"}"#.to_owned()
        )
    );

    let (status, metrics) = call("GET", "/metrics", "");
    assert_eq!(status, 200);
    let calls: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("function_calls_total{function=\"charge_payment\""))
        .collect();
    assert_eq!(
        calls,
        [
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="ok",error=""} 1"#,
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="cancelled",error=""} 0"#,
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="error",error="panic"} 0"#,
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="error",error="card_declined"} 1"#,
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="error",error="provider_timeout"} 1"#,
            r#"function_calls_total{function="charge_payment",module="checkout::payment",result="error",error="provider_unavailable"} 0"#,
        ]
    );
    // The calls the shop made, as its clients saw them: the provider over HTTP (one charge
    // paid, one declined, one the provider's bank timed out) ...
    let port = peers.provider.rsplit_once(':').unwrap().1;
    let client: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_count{"))
        .collect();
    let provider_call = |status: &str, error: &str| {
        format!(
            "http_client_request_duration_seconds_count{{http_request_method=\"POST\",server_address=\"127.0.0.1\",server_port=\"{port}\",http_response_status_code=\"{status}\",error_type=\"{error}\"}} 1"
        )
    };
    assert_eq!(
        client,
        [
            provider_call("200", ""),
            provider_call("402", "402"),
            provider_call("504", "504")
        ]
    );
    // ... and the inventory over gRPC: four reservations (one for an unknown sku), and two
    // releases after the payments that failed; the inventory server saw the same.
    for side in ["client", "server"] {
        let handled: Vec<String> = metrics
            .lines()
            .filter(|l| {
                l.starts_with(&format!("grpc_{side}_handled_total{{")) && !l.ends_with(" 0")
            })
            .map(|l| l.replace(&format!("grpc_{side}_"), ""))
            .collect();
        assert_eq!(
            handled,
            [
                r#"handled_total{grpc_type="unary",grpc_service="checkout.inventory.v1.Inventory",grpc_method="Reserve",grpc_code="OK"} 3"#,
                r#"handled_total{grpc_type="unary",grpc_service="checkout.inventory.v1.Inventory",grpc_method="Reserve",grpc_code="NotFound"} 1"#,
                r#"handled_total{grpc_type="unary",grpc_service="checkout.inventory.v1.Inventory",grpc_method="Release",grpc_code="OK"} 2"#,
            ],
            "{side}"
        );
    }
    // Every declared method x code exists from the start: two inventory methods and the
    // health service's two, 17 codes each, and the row for undeclared paths.
    let server_series = metrics
        .lines()
        .filter(|l| l.starts_with("grpc_server_handled_total{"))
        .count();
    assert_eq!(server_series, 5 * 17);
    let checkout_400 = r#"http_server_request_duration_seconds_count{http_request_method="POST",http_route="/checkout",http_response_status_code="400"} 6"#;
    assert!(metrics.contains(checkout_400), "{metrics}");
    assert!(
        metrics.contains("\n# TYPE process_resident_memory_bytes gauge\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\ncheckout_build_info{package=\"checkout\",version=\"0.1.0\"} 1\n"),
        "{metrics}"
    );
}

/// A shop charging through another shop's provider: it serves orders, and its admin endpoint
/// says the provider is not its own to change.
#[test]
fn a_provider_elsewhere_cannot_be_changed_here() {
    let (_a, _, peers) = support::start_checkout_with(BIN, 0, &[]);
    let (_b, b, b_peers) =
        support::start_checkout_with(BIN, 0, &["--provider-url", &peers.provider]);
    assert_eq!(b_peers.provider, peers.provider);
    let not_ours = format!(
        r#"{{"error":"the payment provider at {} is not run by this shop; change it there"}}"#,
        peers.provider
    );
    assert_eq!(
        http_request(b, "GET", "/admin/payment-provider", ""),
        (409, not_ours.clone())
    );
    assert_eq!(
        http_request(
            b,
            "PUT",
            "/admin/payment-provider",
            r#"{"latency_ms": 1, "error_rate": 0.0}"#
        ),
        (409, not_ours)
    );
    let (status, _) = http_request(
        b,
        "POST",
        "/checkout",
        r#"{"customer": "c1", "items": [{"sku": "tea", "quantity": 1}]}"#,
    );
    assert_eq!(status, 200);
}

#[test]
#[ignore = "needs promtool (Debian package prometheus) and python3 with prometheus_client"]
fn metrics_pass_promtool_and_the_openmetrics_parser() {
    let (_shop, addr) = support::start_checkout(BIN, 50);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (_, text) = http_request(addr, "GET", "/metrics", "");
    let promtool = support::require("promtool", "the Debian package `prometheus`");
    let (ok, out, err) = support::run(Command::new(promtool).args(["check", "metrics"]), &text);
    assert_eq!((ok, out.as_str(), err.as_str()), (true, "", ""), "{text}");

    let accept = ("Accept", "application/openmetrics-text;version=1.0.0");
    let (status, _, openmetrics) = support::http(addr, "GET", "/metrics", &[accept], "");
    assert_eq!(status, 200);
    assert!(openmetrics.ends_with("# EOF\n"));
    let dump = support::python_dump("openmetrics", &openmetrics);
    assert!(dump.contains("F function_calls counter "), "{dump}");
    assert!(
        dump.contains("F http_server_request_duration_seconds histogram "),
        "{dump}"
    );
}

#[test]
fn sigterm_during_scrapes_shuts_down_gracefully() {
    let (mut shop, addr) = support::start_checkout(BIN, 20);
    // Scrapes in flight from another thread while the signal arrives.
    let scraper = std::thread::spawn(move || {
        let mut answered = 0;
        for _ in 0..200 {
            match support::http_get(addr, "/metrics") {
                (200, body) if body.contains("\n# TYPE function_calls_total counter\n") => {
                    answered += 1
                }
                (0, _) => break, // the listener is gone: shut down
                (status, body) => panic!("scrape answered {status}: {body}"),
            }
        }
        answered
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = shop.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let exited = support::wait_for(std::time::Duration::from_secs(10), || {
        shop.0.try_wait().ok().flatten()
    });
    let status = exited.expect("the shop exits within 10 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "graceful exit");
    assert!(
        scraper.join().unwrap() > 0,
        "scrapes were answered until the end"
    );
}

/// Connections that never send a request are closed once the header timeout (10 s) passes, so
/// idle sockets cannot pile up; the shop still answers afterwards.
#[test]
fn idle_connections_are_closed() {
    use std::io::Read;
    use std::time::{Duration, Instant};

    let (_shop, addr) = support::start_checkout(BIN, 0);
    let mut idle: Vec<std::net::TcpStream> = (0..200)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    let opened = Instant::now();
    let mut closed_after = Vec::new();
    for stream in &mut idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        let mut buf = [0u8; 64];
        // The server closes without a response: a read of 0 bytes, or a reset; a read that
        // times out means the connection was still open after 20 s.
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("an idle connection was still open: {e}"),
        };
        assert_eq!(n, 0, "an idle connection got {:?}", &buf[..n]);
        closed_after.push(opened.elapsed());
    }
    let last = closed_after.iter().max().copied().unwrap_or_default();
    assert!(
        last >= Duration::from_secs(9) && last < Duration::from_secs(15),
        "the last idle connection closed after {last:?}"
    );
    assert_eq!(
        http_request(addr, "GET", "/healthz", ""),
        (200, "ok\n".to_owned())
    );
}

/// The shop states the most series its `/metrics` can ever hold (DESIGN.md, "Series that come
/// and go"): every family bounded, the gRPC ones by the methods declared, the rest by caps:
/// one line per family, then the total.
#[test]
fn the_shop_states_its_series_bound() {
    let (_shop, addr, _peers) = support::start_checkout_with(BIN, 0, &[]);
    // Everything is registered before the first scrape (the endpoint's own families too), so
    // the bound a scrape finds is the one stated at start. vitalsign's own counts: an overflow
    // count for each of the 15 capped families, a removal count for the one whose series the
    // shop's code could remove (the facade's stock levels), a collect-error count for each of
    // the 12 collector families (nothing else can be left out of a scrape).
    let (status, body) = http_request(addr, "GET", "/admin/series-bound", "");
    assert_eq!(status, 200);
    assert_eq!(http_request(addr, "GET", "/metrics", "").0, 200);
    assert_eq!(
        http_request(addr, "GET", "/admin/series-bound", ""),
        (200, body.clone())
    );
    let workers = std::thread::available_parallelism().unwrap().get() as u64;
    let tokio = 3 + 2 * workers;
    let expected = format!(
        "\
function_calls 12
function_calls_duration_seconds 2
checkout_build 1
checkout_stock_items 2001
http_client_request_duration_seconds 2001
http_client_active_requests 2001
grpc_server_started 5
grpc_server_handled 85
grpc_server_msg_received 5
grpc_server_msg_sent 5
grpc_server_handling_seconds 5
grpc_client_started 5
grpc_client_handled 85
grpc_client_msg_received 5
grpc_client_msg_sent 5
grpc_client_handling_seconds 5
http_server_request_duration_seconds 2001
http_server_active_requests 2001
vitalsign_scrapes 4
vitalsign_scrape_encode_duration_seconds 1
process_cpu_seconds, process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds, process_threads 7
tokio_runtime_workers, tokio_runtime_alive_tasks, tokio_runtime_global_queue_depth, tokio_runtime_worker_busy_seconds, tokio_runtime_worker_parks {tokio}
vitalsign_series_overflow 15
vitalsign_series_removed 1
vitalsign_collect_errors 12
at most {} series
",
        10270 + tokio
    );
    // The shop's parts start concurrently: families register in no fixed order.
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&body), sorted(&expected));
}
