//! Simulated customers: `--traffic N` requests per second through the app itself, so every
//! request passes the same layer and handlers as a real one.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use crate::inventory::CATALOGUE;
use crate::random;

/// Sends `per_second` requests a second, forever: mostly checkouts (one customer in 200 has a
/// card that is declined), some order lookups and health checks. Each request starts a sampled
/// trace (a W3C `traceparent` header), as a traced front end would send it: the metrics layer
/// makes it current, so the duration buckets of the request and of the functions it runs keep
/// trace ids as exemplars.
pub(crate) async fn run(app: Router, per_second: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(per_second)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let request = next_request();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(response) = app.oneshot(request).await;
            // Read the body through, as a client would: the request ends with it.
            let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
        });
    }
}

fn next_request() -> Request<Body> {
    let roll = random::below(100);
    let (method, uri, body) = if roll < 85 {
        let declined = random::below(200) == 0;
        let customer = format!(
            "{}c{}",
            if declined { "declined-" } else { "" },
            random::below(10_000)
        );
        let items: Vec<serde_json::Value> = (0..1 + random::below(3))
            .map(|_| {
                let (sku, _) = CATALOGUE[random::below(CATALOGUE.len() as u64) as usize];
                serde_json::json!({ "sku": sku, "quantity": 1 + random::below(3) })
            })
            .collect();
        let body = serde_json::json!({ "customer": customer, "items": items }).to_string();
        ("POST", "/checkout".to_owned(), body)
    } else if roll < 95 {
        (
            "GET",
            format!("/orders/{}", 1 + random::below(50)),
            String::new(),
        )
    } else {
        ("GET", "/healthz".to_owned(), String::new())
    };
    // Ids are never zero: `| 1` on the low words.
    let traceparent = format!(
        "00-{:016x}{:016x}-{:016x}-01",
        random::next(),
        random::next() | 1,
        random::next() | 1
    );
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("traceparent", traceparent)
        .body(Body::from(body))
        .unwrap_or_default()
}
