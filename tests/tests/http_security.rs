//! `/metrics` behind a bearer token, the pattern SECURITY.md documents: without the token or with
//! a wrong one, `401`; with it, the scrape.

use axum::Router;
use axum::body::Body;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn require_token(request: Request<Body>, next: Next) -> Result<Response, StatusCode> {
    match request.headers().get("authorization") {
        Some(v) if same_secret(v.as_bytes(), b"Bearer s3cret") => Ok(next.run(request).await),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given.iter().zip(expected).fold(0, |d, (a, b)| d | (a ^ b)) == 0
}

#[tokio::test]
async fn metrics_behind_a_token() {
    let app: Router = Router::new()
        .route("/metrics", get(vitalsign_tower::metrics_handler))
        .layer(middleware::from_fn(require_token));
    let scrape = |token: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(t) = token {
            request = request.header("authorization", t);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    assert_eq!(
        scrape(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    for wrong in [
        "Bearer guess",
        "Bearer s3cres",
        "bearer s3cret",
        "Bearer s3cret ",
    ] {
        assert_eq!(
            scrape(Some(wrong)).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{wrong}"
        );
    }
    let ok = scrape(Some("Bearer s3cret")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let text =
        String::from_utf8(ok.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        text.contains("# TYPE vitalsign_scrapes_total counter\n"),
        "{text}"
    );
}
