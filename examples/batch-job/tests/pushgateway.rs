//! Against the real Pushgateway (Debian's `prometheus-pushgateway`, 1.5), started here: the
//! client's PUT, POST, DELETE, gzip, grouping keys and errors; then the `batch-job` example
//! pushing, a Prometheus scraping the gateway with `honor_labels: true`, and `--delete`.

use vitalsign_tests as support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Process, TempDir, http_get, wait_for};
use vitalsign::{Counter, Gauge, Registry};
use vitalsign_push::Pushgateway;

const BIN: &str = env!("CARGO_BIN_EXE_batch-job");

fn start_pushgateway() -> (Process, SocketAddr, TempDir) {
    start_pushgateway_with(None)
}

/// A gateway, with `web_config` (exporter-toolkit's `--web.config.file`) if given.
fn start_pushgateway_with(web_config: Option<&str>) -> (Process, SocketAddr, TempDir) {
    let gateway = support::require(
        "prometheus-pushgateway",
        "the Debian package `prometheus-pushgateway`",
    );
    let dir = TempDir::new("pushgateway");
    let mut extra = Vec::new();
    if let Some(config) = web_config {
        let path = dir.0.join("web.yml");
        std::fs::write(&path, config).unwrap();
        extra.push(format!("--web.config.file={}", path.display()));
    }
    let addr: SocketAddr = format!("127.0.0.1:{}", support::free_port())
        .parse()
        .unwrap();
    let child = Command::new(gateway)
        .arg(format!("--web.listen-address={addr}"))
        .arg(format!(
            "--persistence.file={}",
            dir.0.join("data").display()
        ))
        .args(&extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus-pushgateway");
    let process = Process(child);
    // Behind basic auth the readiness endpoint answers 401: the gateway is up either way.
    let ready = wait_for(Duration::from_secs(30), || {
        matches!(http_get(addr, "/-/ready").0, 200 | 401).then_some(())
    });
    assert!(ready.is_some(), "the pushgateway became ready on {addr}");
    (process, addr, dir)
}

/// A group: its labels, and per metric name its samples' values.
type Group = (Vec<(String, String)>, Vec<(String, Vec<String>)>);

/// The gateway's groups.
fn groups(gateway: SocketAddr) -> Vec<Group> {
    let (status, body) = http_get(gateway, "/api/v1/metrics");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut out = Vec::new();
    for group in answer["data"].as_array().unwrap() {
        let mut labels: Vec<(String, String)> = group["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        labels.sort();
        let mut metrics: Vec<(String, Vec<String>)> = group
            .as_object()
            .unwrap()
            .iter()
            // The gateway's own bookkeeping is left out: the push times and the success flag.
            .filter(|(k, _)| *k != "push_time_seconds" && *k != "push_failure_time_seconds")
            .filter_map(|(name, m)| {
                let values = m["metrics"]
                    .as_array()?
                    .iter()
                    .map(|s| s["value"].as_str().unwrap_or("?").to_owned())
                    .collect();
                Some((name.clone(), values))
            })
            .collect();
        metrics.sort();
        out.push((labels, metrics));
    }
    out.sort();
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn metrics(m: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    m.iter()
        .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
#[ignore = "needs prometheus-pushgateway (Debian package)"]
fn put_post_delete_gzip_and_errors() {
    let (_gw, gateway, _dir) = start_pushgateway();
    let url = format!("http://{gateway}");
    let group = Pushgateway::new(&url, "j")
        .unwrap()
        .grouping("instance", "a/b")
        .grouping("shard", "");
    let labels = pairs(&[("instance", "a/b"), ("job", "j"), ("shard", "")]);

    let first = Registry::new();
    first.register("a", "A.", Counter::new()).unwrap().inc_by(1);
    first.register("b", "B.", Counter::new()).unwrap().inc_by(2);
    group.push(&first).unwrap();
    assert_eq!(
        groups(gateway),
        [(
            labels.clone(),
            metrics(&[("a_total", &["1"]), ("b_total", &["2"])])
        )]
    );

    // POST replaces the metrics it carries and keeps the others; PUT replaces the group.
    let second = Registry::new();
    second
        .register("a", "A.", Counter::new())
        .unwrap()
        .inc_by(5);
    group.push_add(&second).unwrap();
    assert_eq!(
        groups(gateway),
        [(
            labels.clone(),
            metrics(&[("a_total", &["5"]), ("b_total", &["2"])])
        )]
    );
    group.push(&second).unwrap();
    assert_eq!(
        groups(gateway),
        [(labels.clone(), metrics(&[("a_total", &["5"])]))]
    );

    // Compressed, and on drop.
    group.clone().gzip(true).push(&first).unwrap();
    assert_eq!(
        groups(gateway),
        [(
            labels.clone(),
            metrics(&[("a_total", &["1"]), ("b_total", &["2"])])
        )]
    );
    {
        let _guard = group.push_on_drop(&second);
    }
    assert_eq!(
        groups(gateway),
        [(labels.clone(), metrics(&[("a_total", &["5"])]))]
    );

    // A metric another group has with another type: the gateway refuses, and says why.
    let clash = Registry::new();
    clash
        .register("a_total", "A.", Gauge::new())
        .unwrap()
        .set(1);
    let err = Pushgateway::new(&url, "k")
        .unwrap()
        .push(&clash)
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let err = err.to_string();
    let expected = format!(
        "PUT http://127.0.0.1:{}/metrics/job/k failed: the gateway answered 400: ",
        gateway.port()
    );
    assert!(err.starts_with(&expected), "{err}");
    assert!(err.contains("a_total"), "{err}");

    group.delete().unwrap();
    Pushgateway::new(&url, "k").unwrap().delete().unwrap();
    assert_eq!(groups(gateway), []);
}

/// Runs the example as job `nightly`, instance `db/1`, with `extra` arguments.
fn batch_job(gateway: &str, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args([
            "--pushgateway",
            gateway,
            "--job",
            "nightly",
            "--instance",
            "db/1",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs prometheus-pushgateway and prometheus (Debian packages)"]
fn the_batch_job_pushes_and_prometheus_keeps_its_labels() {
    let (_gw, gateway, _dir) = start_pushgateway();
    let url = format!("http://{gateway}");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let out = batch_job(&url, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pushed 990 processed, 10 failed to /metrics/job/nightly/instance@base64/ZGIvMQ==\n"
    );
    let found = groups(gateway);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].0,
        pairs(&[("instance", "db/1"), ("job", "nightly")])
    );
    let names: Vec<&str> = found[0].1.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "batch_duration_seconds",
            "batch_last_success_timestamp_seconds",
            "batch_records_failed_total",
            "batch_records_processed_total",
        ]
    );

    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{gateway}']\n"
    );
    let (_p, prometheus, _pdir) = support::start_prometheus(&config, &[]);
    let query = |q: &str| support::prometheus_query(prometheus, q);
    let processed = wait_for(Duration::from_secs(30), || {
        let body = query(r#"batch_records_processed_total{job="nightly",instance="db/1"}"#);
        body.contains(r#","990"]"#).then_some(body)
    });
    assert!(
        processed.is_some(),
        "{}",
        query("batch_records_processed_total")
    );
    // The gateway's own `job` is not used: `honor_labels` keeps the pushed one.
    assert!(query(r#"batch_records_processed_total{exported_job!=""}"#).contains(r#""result":[]"#));
    let last = query(r#"batch_last_success_timestamp_seconds{job="nightly"}"#);
    let value: f64 = last
        .rsplit_once(",\"")
        .and_then(|(_, v)| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(value >= before.floor() && value <= before + 60.0, "{last}");

    let out = batch_job(&url, &["--delete"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deleted /metrics/job/nightly/instance@base64/ZGIvMQ==\n"
    );
    assert_eq!(groups(gateway), []);
}

/// The password `s3cret-push`, bcrypt-hashed (cost 4) for the gateway's web config.
const PASSWORD_HASH: &str = "$2b$04$cYXzeDIjP9RxFZwYT/XBu.2/gw/Ju6s7T083Kv2VFPjM9GKZW.z3q";

#[test]
#[ignore = "needs prometheus-pushgateway (Debian package)"]
fn a_gateway_behind_basic_auth_takes_the_push_with_the_password_only() {
    let config = format!("basic_auth_users:\n  ci: {PASSWORD_HASH}\n");
    let (_gw, gateway, _dir) = start_pushgateway_with(Some(&config));
    let registry = Registry::new();
    let jobs = registry
        .register("jobs", "Jobs run.", Counter::new())
        .unwrap();
    jobs.inc_by(7);
    let url = format!("http://{gateway}");
    let client = || Pushgateway::new(&url, "authed").unwrap();
    // Without credentials, and with the wrong password: refused, with the gateway's status.
    let none = client().push(&registry).unwrap_err();
    let wrong = client()
        .basic_auth("ci", "guess")
        .unwrap()
        .push(&registry)
        .unwrap_err();
    assert_eq!((none.status(), wrong.status()), (Some(401), Some(401)));
    // With the password: taken, and there for a reader with the same credentials.
    client()
        .basic_auth("ci", "s3cret-push")
        .unwrap()
        .push(&registry)
        .unwrap();
    let basic = "Basic Y2k6czNjcmV0LXB1c2g=";
    let (status, _, body) =
        support::http(gateway, "GET", "/metrics", &[("Authorization", basic)], "");
    assert_eq!(status, 200, "{body}");
    let pushed: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("jobs_total{"))
        .collect();
    assert_eq!(pushed, [r#"jobs_total{instance="",job="authed"} 7"#]);
}
