//! The seed story with the real tools: the shop under simulated traffic, a real Prometheus
//! evaluating the rules generated from its objectives (windows scaled 60x, scrape and evaluation
//! every second), a real Alertmanager, and a webhook receiver in this test. The payment provider
//! slows down, the latency alert fires and reaches the webhook, and resolves when it recovers; the
//! same for errors. Then three shops aggregated by one Prometheus.

use vitalsign_tests as support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Process, TempDir, free_port, http_get, http_request, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");

/// Receives Alertmanager's webhook posts; stops when dropped.
struct Webhook {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Webhook {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                // Read headers, then as many body bytes as Content-Length says.
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                }
                let body = String::from_utf8_lossy(&request)
                    .split_once("\r\n\r\n")
                    .map(|(_, b)| b.to_owned())
                    .unwrap_or_default();
                r.lock().unwrap().push(body);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Self {
            addr,
            received,
            stop,
        }
    }

    /// Whether a notification with this top-level status for this alert arrived.
    fn got(&self, alert: &str, status: &str) -> bool {
        self.received.lock().unwrap().iter().any(|b| {
            // The group's status is the payload's first `status`; alerts' own come after it.
            let top = b
                .split(r#""status":""#)
                .nth(1)
                .and_then(|r| r.split('"').next());
            top == Some(status)
                && b.contains(&format!(r#""groupLabels":{{"alertname":"{alert}"}}"#))
        })
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn start_alertmanager(webhook: SocketAddr) -> (Process, SocketAddr, TempDir) {
    let binary = support::require(
        "prometheus-alertmanager",
        "the Debian package `prometheus-alertmanager`",
    );
    let dir = TempDir::new("alertmanager");
    let config = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{webhook}/alerts\n        send_resolved: true\n"
    );
    std::fs::write(dir.0.join("alertmanager.yml"), config).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.0.join("alertmanager.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.0.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.0.join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let process = Process(child);
    let ready = wait_for(Duration::from_secs(30), || {
        (http_get(addr, "/-/ready").0 == 200).then_some(())
    });
    assert!(
        ready.is_some(),
        "{}",
        std::fs::read_to_string(dir.0.join("alertmanager.log")).unwrap_or_default()
    );
    (process, addr, dir)
}

/// Whether Prometheus reports `alert` in `state`.
fn alert_state(prometheus: SocketAddr, alert: &str, state: &str) -> bool {
    let (_, body) = http_get(prometheus, "/api/v1/alerts");
    body.split(r#"{"labels":"#).any(|a| {
        a.contains(&format!(r#""alertname":"{alert}""#))
            && a.contains(&format!(r#""state":"{state}""#))
    })
}

fn firing_alerts(prometheus: SocketAddr) -> Vec<String> {
    let (_, body) = http_get(prometheus, "/api/v1/alerts");
    body.split(r#"{"labels":"#)
        .filter(|a| a.contains(r#""state":"firing""#))
        .filter_map(|a| {
            a.split(r#""alertname":""#)
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect()
}

fn set_provider(shop: SocketAddr, latency_ms: u64, error_rate: f64) {
    let body = format!(r#"{{"latency_ms": {latency_ms}, "error_rate": {error_rate}}}"#);
    let (status, answer) = http_request(shop, "PUT", "/admin/payment-provider", &body);
    assert_eq!(status, 200, "{answer}");
}

/// Seconds until `alert` is firing in Prometheus and its notification reached the webhook.
fn seconds_until_fired(
    prometheus: SocketAddr,
    hook: &Webhook,
    alert: &str,
    within: Duration,
) -> f64 {
    let start = Instant::now();
    let fired = wait_for(within, || {
        (alert_state(prometheus, alert, "firing") && hook.got(alert, "firing")).then_some(())
    });
    assert!(
        fired.is_some(),
        "{alert} did not fire and notify within {within:?}; firing: {:?}",
        firing_alerts(prometheus)
    );
    start.elapsed().as_secs_f64()
}

fn seconds_until_resolved(
    prometheus: SocketAddr,
    hook: &Webhook,
    alert: &str,
    within: Duration,
) -> f64 {
    let start = Instant::now();
    let resolved = wait_for(within, || {
        (!alert_state(prometheus, alert, "firing") && hook.got(alert, "resolved")).then_some(())
    });
    assert!(
        resolved.is_some(),
        "{alert} did not resolve within {within:?}"
    );
    start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "needs prometheus and prometheus-alertmanager (Debian packages)"]
fn slow_payments_page_and_recover() {
    let (_shop, shop) = support::start_checkout(BIN, 20);
    let (_rules, rules_path) = support::checkout_rules(BIN, "60");

    let hook = Webhook::start();
    let (_alertmanager, alertmanager, _amdir) = start_alertmanager(hook.addr);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n\
         scrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n",
        rules_path.display()
    );
    let (_prometheus, prometheus, _pdir) = support::start_prometheus(&config, &[]);
    let up = wait_for(Duration::from_secs(30), || {
        http_get(prometheus, "/api/v1/query?query=up")
            .1
            .contains(r#","1"]"#)
            .then_some(())
    });
    assert!(up.is_some(), "the shop is scraped");

    // Baseline: 70 s without an alert firing or a notification: long enough for the
    // regression alert's offset (1 h scaled to 1 m) to have history to compare with. Declined
    // cards (one customer in 200) are answers of a working provider, not errors of it: they
    // never fire the error alerts, however few payments the first windows hold.
    let baseline = Instant::now();
    while baseline.elapsed() < Duration::from_secs(70) {
        assert_eq!(
            firing_alerts(prometheus),
            Vec::<String>::new(),
            "at baseline"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(hook.count(), 0, "no notification at baseline");

    // The provider slows down: 150 ms becomes 400 ms, past the 250 ms objective, and the
    // p95 of the calls to it more than doubles (about 0.24 s to 0.8 s in the classic buckets).
    set_provider(shop, 400, 0.0);
    let fired = seconds_until_fired(
        prometheus,
        &hook,
        "PaymentsLatencyBudgetBurn",
        Duration::from_secs(60),
    );
    let doubled = seconds_until_fired(
        prometheus,
        &hook,
        "PaymentsLatencyRegression",
        Duration::from_secs(60),
    );
    set_provider(shop, 150, 0.0);
    let resolved = seconds_until_resolved(
        prometheus,
        &hook,
        "PaymentsLatencyBudgetBurn",
        Duration::from_secs(60),
    );
    println!(
        "provider slowed: burn alert firing and notified after {fired:.1} s, regression {doubled:.1} s later; resolved {resolved:.1} s after recovery"
    );

    // A fifth of payments fail.
    set_provider(shop, 150, 0.2);
    let fired = seconds_until_fired(
        prometheus,
        &hook,
        "PaymentsErrorRatioHigh",
        Duration::from_secs(60),
    );
    set_provider(shop, 150, 0.0);
    let resolved = seconds_until_resolved(
        prometheus,
        &hook,
        "PaymentsErrorRatioHigh",
        Duration::from_secs(60),
    );
    println!(
        "error rate 0.2: firing and notified after {fired:.1} s; resolved {resolved:.1} s after recovery"
    );
}

/// `function_calls_total` summed per function from one scrape of a shop.
fn calls_by_function(metrics: &str) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64)> = Vec::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("function_calls_total{"))
    {
        let function = line
            .split("function=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("");
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        match sums.iter_mut().find(|(f, _)| f == function) {
            Some((_, s)) => *s += value,
            None => sums.push((function.to_owned(), value)),
        }
    }
    sums.sort_by(|a, b| a.0.cmp(&b.0));
    sums
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn three_shops_aggregate_in_one_prometheus() {
    let shops: Vec<_> = (0..3).map(|_| support::start_checkout(BIN, 10)).collect();
    let targets: Vec<String> = shops.iter().map(|(_, a)| format!("'{a}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    let (_prometheus, prometheus, _dir) = support::start_prometheus(&config, &[]);
    let three = wait_for(Duration::from_secs(30), || {
        http_get(prometheus, "/api/v1/query?query=count(up%20%3D%3D%201)")
            .1
            .contains(r#","3"]"#)
            .then_some(())
    });
    assert!(three.is_some(), "count(up == 1) == 3");
    std::thread::sleep(Duration::from_secs(5));

    // Each shop's own counters, read directly 20 s apart, against Prometheus' rate over them.
    let direct = || -> Vec<(String, f64)> {
        let per_shop: Vec<Vec<(String, f64)>> = shops
            .iter()
            .map(|(_, a)| calls_by_function(&http_get(*a, "/metrics").1))
            .collect();
        let mut total = per_shop[0].clone();
        for other in &per_shop[1..] {
            for (t, (_, v)) in total.iter_mut().zip(other) {
                t.1 += v;
            }
        }
        total
    };
    let before = direct();
    std::thread::sleep(Duration::from_secs(20));
    let after = direct();
    let (_, body) = http_get(
        prometheus,
        "/api/v1/query?query=sum%20by%20(function)%20(rate(function_calls_total%5B20s%5D))",
    );
    for ((function, b), (_, a)) in before.iter().zip(&after) {
        let own = (a - b) / 20.0;
        let needle = format!(r#""function":"{function}"}},"value":["#);
        let aggregated: f64 = body
            .split(&needle)
            .nth(1)
            .and_then(|r| r.split('"').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no rate for {function} in {body}"));
        println!(
            "{function}: {own:.2} calls/s from the shops' own counters, {aggregated:.2} from Prometheus"
        );
        assert!(own > 1.0, "{function} has traffic");
        assert!(
            (aggregated - own).abs() <= 0.15 * own,
            "{function}: {aggregated} vs {own}"
        );
    }
}

/// Starts Prometheus in agent mode: scrapes `config`'s targets and remote-writes them, stores
/// nothing it could query.
fn start_agent(config: &str) -> (Process, SocketAddr, TempDir) {
    let prometheus = support::require("prometheus", "the Debian package `prometheus`");
    let dir = TempDir::new("agent");
    let config_path = dir.0.join("agent.yml");
    std::fs::write(&config_path, config).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.0.join("agent.log")).unwrap();
    let child = Command::new(prometheus)
        .arg("--enable-feature=agent")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.agent.path={}",
            dir.0.join("wal").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus --enable-feature=agent");
    let process = Process(child);
    let ready = wait_for(Duration::from_secs(30), || {
        (http_get(addr, "/-/ready").0 == 200).then_some(())
    });
    if ready.is_none() {
        let log = std::fs::read_to_string(dir.0.join("agent.log")).unwrap_or_default();
        panic!("the agent did not become ready on {addr}:\n{log}");
    }
    (process, addr, dir)
}

/// Scale-out as DESIGN.md describes it: two Prometheus agents each scrape a shop and
/// remote-write to a central Prometheus, which evaluates the objective's rules (windows scaled
/// 60x) over both. One shop's provider slows down; the latency alert fires centrally.
#[test]
#[ignore = "needs prometheus (Debian package)"]
fn agents_remote_write_and_the_central_prometheus_alerts() {
    let shops: Vec<_> = (0..2).map(|_| support::start_checkout(BIN, 20)).collect();
    let (_rules, rules_path) = support::checkout_rules(BIN, "60");
    let central_config = format!(
        "global:\n  evaluation_interval: 1s\nrule_files:\n  - {}\n",
        rules_path.display()
    );
    let (_central, central, _cdir) =
        support::start_prometheus(&central_config, &["--web.enable-remote-write-receiver"]);
    let agents: Vec<_> = shops
        .iter()
        .enumerate()
        .map(|(i, (_, shop))| {
            start_agent(&format!(
                "global:\n  scrape_interval: 1s\n  external_labels:\n    agent: a{i}\n\
                 scrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n\
                 remote_write:\n  - url: http://{central}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n"
            ))
        })
        .collect();
    // Both agents' series arrive: `up` from each.
    let both = wait_for(Duration::from_secs(60), || {
        http_get(central, "/api/v1/query?query=count(up%20%3D%3D%201)")
            .1
            .contains(r#","2"]"#)
            .then_some(())
    });
    assert!(
        both.is_some(),
        "both agents' `up` reached the central Prometheus"
    );
    // The recorded ratios exist centrally, over both shops' calls.
    let recorded = wait_for(Duration::from_secs(60), || {
        http_get(
            central,
            "/api/v1/query?query=vitalsign%3Aobjective_slow_ratio%3Arate1m",
        )
        .1
        .contains(r#""objective":"payments""#)
        .then_some(())
    });
    assert!(
        recorded.is_some(),
        "the central Prometheus records the slow ratio"
    );
    assert_eq!(firing_alerts(central), Vec::<String>::new(), "at baseline");

    // One shop's provider slows to 600 ms: half of all payments are over 250 ms.
    set_provider(shops[0].1, 600, 0.0);
    let start = Instant::now();
    let fired = wait_for(Duration::from_secs(120), || {
        alert_state(central, "PaymentsLatencyBudgetBurn", "firing").then_some(())
    });
    assert!(
        fired.is_some(),
        "PaymentsLatencyBudgetBurn fired centrally; firing: {:?}",
        firing_alerts(central)
    );
    println!(
        "one of two shops slowed: the central Prometheus fired after {:.1} s",
        start.elapsed().as_secs_f64()
    );
    drop(agents);
}
