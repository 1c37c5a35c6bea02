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

/// An error enum as thiserror users write it: variants carry data, which the label ignores.
#[derive(Debug, LabelValue)]
enum ChargeError {
    #[label(rename = "declined")]
    CardDeclined {
        code: u16,
    },
    Provider(String),
    Timeout,
}

#[vitalsign::instrument_metrics(registry = CHARGES)]
fn charge(outcome: u8) -> Result<(), ChargeError> {
    match outcome {
        0 => Ok(()),
        1 => Err(ChargeError::CardDeclined { code: 51 }),
        2 => Err(ChargeError::Provider("bank down".to_owned())),
        _ => Err(ChargeError::Timeout),
    }
}

impl std::fmt::Display for ChargeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CardDeclined { code } => write!(f, "card declined ({code})"),
            Self::Provider(why) => write!(f, "provider failed: {why}"),
            Self::Timeout => f.write_str("provider timed out"),
        }
    }
}

static CHARGES: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::new);

#[test]
fn data_carrying_variants_are_one_label_value_each() {
    assert_eq!(ChargeError::CARDINALITY, 3);
    let values: Vec<&str> = (0..3).map(ChargeError::value_at).collect();
    assert_eq!(values, ["declined", "provider", "timeout"]);
    assert_eq!(ChargeError::Provider(String::new()).index(), 1);
    assert_eq!(ChargeError::CardDeclined { code: 5 }.as_str(), "declined");
    // Only a variant without fields can be rebuilt from its index.
    assert!(ChargeError::from_index(0).is_none());
    assert!(matches!(
        ChargeError::from_index(2),
        Some(ChargeError::Timeout)
    ));

    let said: Vec<String> = [0, 1, 1, 2, 3]
        .into_iter()
        .filter_map(|outcome| charge(outcome).err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        said,
        [
            "card declined (51)",
            "card declined (51)",
            "provider failed: bank down",
            "provider timed out"
        ]
    );
    let text = CHARGES.render(Format::Prometheus);
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("function_calls_total{"))
        .collect();
    assert_eq!(
        calls,
        [
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"ok\",error=\"\"} 1",
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"cancelled\",error=\"\"} 0",
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"error\",error=\"panic\"} 0",
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"error\",error=\"declined\"} 2",
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"error\",error=\"provider\"} 1",
            "function_calls_total{function=\"charge\",module=\"derive\",result=\"error\",error=\"timeout\"} 1",
        ]
    );
}
