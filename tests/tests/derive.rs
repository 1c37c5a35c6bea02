//! `#[derive(LabelValue)]` and `#[derive(LabelSet)]` generate the impls the runtime expects.

use vitalsign::{Counter, Family, Format, LabelSet, LabelValue, Registry};

#[derive(Clone, Copy, Debug, PartialEq, LabelValue)]
enum PaymentError {
    CardDeclined,
    HTTPTimeout,
    #[label(rename = "quote\"and\\back\nslash")]
    Weird,
}

#[derive(Clone, Copy, Debug, PartialEq, LabelValue)]
#[label(rename_all = "SCREAMING_SNAKE_CASE")]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Route {
    method: Method,
    #[label(name = "cache_hit")]
    cached: bool,
}

#[derive(LabelSet)]
struct Request {
    #[label(flatten)]
    route: Route,
    error: PaymentError,
}

#[test]
fn label_value_indices_and_strings() {
    assert_eq!(PaymentError::CARDINALITY, 3);
    let all: Vec<(usize, &str)> = (0..3)
        .map(|i| {
            (
                PaymentError::from_index(i).unwrap().index(),
                PaymentError::value_at(i),
            )
        })
        .collect();
    assert_eq!(
        all,
        [
            (0, "card_declined"),
            (1, "http_timeout"),
            (2, "quote\"and\\back\nslash")
        ]
    );
    assert_eq!(PaymentError::escaped_at(2), "quote\\\"and\\\\back\\nslash");
    assert_eq!(PaymentError::from_index(3), None);
    assert_eq!(PaymentError::value_at(3), "");
    assert_eq!(Method::Post.as_str(), "POST");
}

#[test]
fn label_set_mixed_radix_and_flatten() {
    assert_eq!(Route::CARDINALITY, 4);
    assert_eq!(Route::NAMES, ["method", "cache_hit"]);
    assert_eq!(Request::CARDINALITY, 12);
    assert_eq!(Request::NAMES, ["method", "cache_hit", "error"]);
    let r = Request {
        route: Route {
            method: Method::Post,
            cached: false,
        },
        error: PaymentError::Weird,
    };
    assert_eq!(r.index(), 2 * 3 + 2);
    let mut seen = Vec::new();
    Request::visit(r.index(), &mut |k, v| seen.push(format!("{k}={v}")));
    assert_eq!(
        seen,
        [
            "method=POST",
            "cache_hit=false",
            "error=quote\"and\\back\nslash"
        ]
    );

    let registry = Registry::new();
    let family = registry
        .register("routes", "Routes.", Family::<Route, Counter>::new())
        .unwrap();
    family
        .get(&Route {
            method: Method::Get,
            cached: true,
        })
        .inc();
    assert_eq!(
        registry.render(Format::Prometheus),
        "# HELP routes_total Routes.\n# TYPE routes_total counter\n\
         routes_total{method=\"GET\",cache_hit=\"false\"} 0\n\
         routes_total{method=\"GET\",cache_hit=\"true\"} 1\n\
         routes_total{method=\"POST\",cache_hit=\"false\"} 0\n\
         routes_total{method=\"POST\",cache_hit=\"true\"} 0\n"
    );
}
