//! The shop's Grafana dashboard and its catalogue are what its registry and objectives
//! generate (`cargo run -p checkout -- dashboard`, `-- catalog`), and the dashboard holds what
//! Grafana needs to import it.

use vitalsign::catalog::assert_committed;

const BIN: &str = env!("CARGO_BIN_EXE_checkout");
const DIR: &str = env!("CARGO_MANIFEST_DIR");

fn generated(args: &[&str]) -> String {
    vitalsign_tests::checkout_output(BIN, args)
}

#[test]
fn committed_dashboard_is_current() {
    assert_committed(
        format!("{DIR}/prometheus/grafana-dashboard.json"),
        &generated(&["dashboard"]),
    );
}

#[test]
fn committed_catalogue_is_current() {
    assert_committed(format!("{DIR}/METRICS.md"), &generated(&["catalog"]));
}

#[test]
fn the_catalogue_names_every_family_and_what_made_it() {
    let json: serde_json::Value = serde_json::from_str(&generated(&["catalog", "--json"])).unwrap();
    let families = json["families"].as_array().unwrap();
    let made_by = |source: &str| {
        families
            .iter()
            .filter(|f| f["source"] == source)
            .map(|f| f["samples"][0].as_str().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(families.len(), 35);
    assert_eq!(
        made_by("function"),
        [
            "function_calls_total",
            "function_calls_duration_seconds_bucket"
        ]
    );
    assert_eq!(
        made_by("http_client"),
        [
            "http_client_active_requests",
            "http_client_request_duration_seconds_bucket"
        ]
    );
    assert_eq!(made_by("grpc_server").len(), 5);
    assert_eq!(made_by("grpc_client").len(), 5);
    assert_eq!(made_by("collector").len(), 12);
    assert_eq!(made_by("facade"), ["checkout_stock_items"]);
    let calls = families
        .iter()
        .find(|f| f["name"] == "function_calls")
        .unwrap();
    assert_eq!(calls["type"], "counter");
    assert_eq!(
        calls["labels"][0],
        serde_json::json!({"name": "function", "values": ["charge_payment", "reserve_inventory"]})
    );
    let label = |family: &str, label: &str| {
        let f = families.iter().find(|f| f["name"] == family).unwrap();
        let l = f["labels"].as_array().unwrap();
        l.iter().find(|l| l["name"] == label).unwrap()["values"].clone()
    };
    assert_eq!(
        label("function_calls", "result"),
        serde_json::json!(["cancelled", "error", "ok"])
    );
    assert_eq!(
        label("function_calls", "error"),
        serde_json::json!([
            "",
            "card_declined",
            "out_of_stock",
            "panic",
            "provider_timeout",
            "provider_unavailable",
            "unavailable",
            "unknown_sku"
        ])
    );
    // gRPC families hold every declared method from the start; HTTP methods are a closed set,
    // routes are open.
    assert_eq!(
        label("grpc_client_handled", "grpc_method"),
        serde_json::json!(["Check", "Release", "Reserve", "Watch", "_OTHER"])
    );
    assert_eq!(
        label(
            "http_server_request_duration_seconds",
            "http_request_method"
        )
        .as_array()
        .map(Vec::len),
        Some(10)
    );
    assert_eq!(
        label("http_server_request_duration_seconds", "http_route"),
        serde_json::Value::Null
    );
}

/// Every panel of the dashboard: its id, type, title and place on the grid; every query a data
/// source, a refId unique in its panel, and an expression.
#[test]
fn the_dashboard_has_what_grafana_needs() {
    let d: serde_json::Value = serde_json::from_str(&generated(&["dashboard"])).unwrap();
    assert_eq!(d["schemaVersion"], 39);
    assert_eq!(d["uid"], "checkout-vitalsign");
    assert_eq!(d["title"], "Checkout (vitalsign)");
    let variables: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["datasource", "job", "instance"]);
    let panels = d["panels"].as_array().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut rows = Vec::new();
    let mut queries = 0;
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "ids are unique");
        assert!(!p["title"].as_str().unwrap().is_empty());
        let grid = &p["gridPos"];
        for k in ["h", "w", "x", "y"] {
            assert!(grid[k].is_u64(), "{p}");
        }
        assert!(grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap() <= 24);
        if p["type"] == "row" {
            rows.push(p["title"].as_str().unwrap());
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}");
        let mut refs = std::collections::HashSet::new();
        for t in p["targets"].as_array().unwrap() {
            assert!(refs.insert(t["refId"].as_str().unwrap()));
            assert_eq!(t["datasource"]["uid"], "${datasource}");
            assert!(!t["expr"].as_str().unwrap().is_empty());
            queries += 1;
        }
    }
    assert_eq!(
        rows,
        [
            "HTTP served",
            "HTTP called",
            "gRPC served",
            "gRPC called",
            "Instrumented functions",
            "Objective: payments",
            "Runtime and process",
            "Other families"
        ]
    );
    assert_eq!(panels.len() - rows.len(), 41);
    assert_eq!(queries, 62);
    // Latency panels ask for exemplars.
    let latency = panels
        .iter()
        .find(|p| p["title"] == "Latency by host")
        .unwrap();
    assert_eq!(latency["targets"][1]["exemplar"], true);
}
