//! The one support crate of the project's tests (`tests/tests/*.rs` and the checkout's
//! `tests/`): finding and running the external tools (tests that need them are `#[ignore]`d so
//! the plain test command passes on a machine with only Rust; `.ci/run` installs the tools and
//! runs them with `--include-ignored`, where a missing tool is a failure, never a skip), an HTTP
//! client that can set headers, starting Prometheus and the shop, and resident
//! memory.

#![allow(
    missing_docs,
    reason = "test support: each item is documented where its name does not say it"
)]

pub mod echo;
pub mod model;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The path of `tool`, or a panic saying how to install it.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: install {package} (`.ci/run` does) to run this test")
    })
}

/// Python 3 with `prometheus_client` importable.
pub fn python() -> PathBuf {
    let python = require("python3", "Python 3");
    let ok = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Python package `prometheus_client` is not installed: `pip install prometheus_client` (`.ci/run` does)"
    );
    python
}

/// Python 3 with `grpcio` importable (a foreign gRPC implementation for the gRPC layers' tests).
pub fn python_grpc() -> PathBuf {
    let python = require("python3", "Python 3");
    let ok = Command::new(&python)
        .args(["-c", "import grpc"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Python package `grpcio` is not installed: `pip install grpcio` (`.ci/run` does)"
    );
    python
}

/// Runs `cmd` with `input` on stdin; returns (success, stdout, stderr).
pub fn run(cmd: &mut Command, input: &str) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The canonical dumps of several expositions, one Python process for all of them: each dump,
/// or `ERROR <why>` for one that did not parse.
pub fn python_dump_batch(format: &str, texts: &[String]) -> Vec<String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/conformance/dump.py"))
        .find(|p| p.is_file())
        .expect("tests/conformance/dump.py in the workspace");
    let mut input = String::new();
    for t in texts {
        input.push_str(&format!("{}\n{t}", t.len()));
    }
    let (ok, out, err) = run(
        Command::new(python())
            .arg(script)
            .arg(format)
            .arg("--batch"),
        &input,
    );
    assert!(ok, "dump.py failed: {err}");
    let mut dumps: Vec<String> = Vec::new();
    for line in out.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("=== ") {
            let error = rest
                .split_once(" ERROR ")
                .map(|(_, e)| format!("ERROR {e}"));
            dumps.push(error.unwrap_or_default());
        } else if let Some(last) = dumps.last_mut() {
            last.push_str(line);
        }
    }
    dumps
}

/// The canonical dump of `text` by the Python parser for `format` (`openmetrics` or `text`).
pub fn python_dump(format: &str, text: &str) -> String {
    // This module is shared by packages in different folders: find the workspace's script.
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/conformance/dump.py"))
        .find(|p| p.is_file())
        .expect("tests/conformance/dump.py in the workspace");
    let (ok, out, err) = run(Command::new(python()).arg(script).arg(format), text);
    assert!(
        ok,
        "prometheus_client rejected the {format} output: {err}\n--- output ---\n{text}"
    );
    out
}

/// `GET path` over HTTP/1.0 (so the answer is never chunked); returns (status, body).
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, "")
}

/// A request over HTTP/1.0 with an optional body; returns (status, body). Bounded by a 10 s
/// timeout on every read and write.
pub fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http(addr, method, path, &[], body);
    (status, body)
}

/// A request over HTTP/1.0 with extra headers and an optional body; returns (status, response
/// headers, body), status 0 if the server could not be reached or answered nothing.
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::Read;
    use std::time::Duration;
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return (0, String::new(), String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    // A server may answer and close before reading all of a large body (413): read what it said.
    let _ = stream.write_all(request.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return (0, String::new(), response);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// Sends `request` (raw HTTP, as written) over a new connection inside a tokio runtime and reads
/// until the server closes it, for at most 10 s; returns the status line and the body.
pub async fn raw_request(addr: std::net::SocketAddr, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        Some(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// This process's resident memory, in bytes, as Linux reports it.
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kb * 1024
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("vitalsign-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed and reaped when dropped, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` every 250 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(
    timeout: std::time::Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// Starts Prometheus on a free loopback port with `config` (YAML) and a temp data dir.
pub fn start_prometheus(
    config: &str,
    extra_args: &[&str],
) -> (Process, std::net::SocketAddr, TempDir) {
    let prometheus = require("prometheus", "the Debian package `prometheus`");
    let dir = TempDir::new("prometheus");
    let config_path = dir.0.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write prometheus.yml");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let log = std::fs::File::create(dir.0.join("prometheus.log")).expect("log file");
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.0.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .args(extra_args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let process = Process(child);
    let ready = wait_for(std::time::Duration::from_secs(30), || {
        (http_get(addr, "/-/ready").0 == 200).then_some(())
    });
    if ready.is_none() {
        let log = std::fs::read_to_string(dir.0.join("prometheus.log")).unwrap_or_default();
        panic!("prometheus did not become ready on {addr}:\n{log}");
    }
    (process, addr, dir)
}

/// Starts VictoriaMetrics (the Debian package `victoria-metrics`), scraping as `config` says, on
/// a free loopback port, and waits until it is healthy. Queries see data as soon as it is
/// stored (no latency offset).
pub fn start_victoria_metrics(config: &str) -> (Process, std::net::SocketAddr, TempDir) {
    let vm = require("victoria-metrics", "the Debian package `victoria-metrics`");
    let dir = TempDir::new("victoria-metrics");
    let config_path = dir.0.join("scrape.yml");
    std::fs::write(&config_path, config).expect("write scrape.yml");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let log = std::fs::File::create(dir.0.join("victoria-metrics.log")).expect("log file");
    let child = Command::new(vm)
        .arg(format!("-promscrape.config={}", config_path.display()))
        .arg(format!("-storageDataPath={}", dir.0.join("data").display()))
        .arg(format!("-httpListenAddr={addr}"))
        .arg("-search.latencyOffset=0s")
        .arg("-search.disableCache")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start victoria-metrics");
    let process = Process(child);
    let ready = wait_for(std::time::Duration::from_secs(30), || {
        (http_get(addr, "/health").0 == 200).then_some(())
    });
    if ready.is_none() {
        let log = std::fs::read_to_string(dir.0.join("victoria-metrics.log")).unwrap_or_default();
        panic!("victoria-metrics did not become healthy on {addr}:\n{log}");
    }
    (process, addr, dir)
}

/// Starts a `checkout` binary on a free loopback port and waits for its start line.
pub fn start_checkout(binary: &str, traffic: u32) -> (Process, std::net::SocketAddr) {
    let (process, addr, _) = start_checkout_with(binary, traffic, &[]);
    (process, addr)
}

/// Where a shop's payment provider and inventory listen, from its start line.
#[derive(Debug, Clone)]
pub struct ShopPeers {
    /// The provider's base URL.
    pub provider: String,
    /// The inventory's gRPC address.
    pub inventory: std::net::SocketAddr,
}

/// Starts a `checkout` binary with `args` besides `--listen` and `--traffic`, waits for its
/// start line, checks it names every address, and returns them.
pub fn start_checkout_with(
    binary: &str,
    traffic: u32,
    args: &[&str],
) -> (Process, std::net::SocketAddr, ShopPeers) {
    use std::io::BufRead;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut child = Command::new(binary)
        .args([
            "--listen",
            &addr.to_string(),
            "--traffic",
            &traffic.to_string(),
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start checkout");
    let stdout = child.stdout.take().expect("stdout");
    let process = Process(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("checkout printed its start line");
    let start = format!(
        "checkout listening on http://{addr} (metrics: curl http://{addr}/metrics; payment provider: "
    );
    let end = format!("; simulated traffic: {traffic} req/s)\n");
    let middle = line
        .strip_prefix(&start)
        .and_then(|l| l.strip_suffix(&end))
        .unwrap_or_else(|| panic!("unexpected start line: {line}"));
    let (provider, inventory) = middle
        .split_once("; inventory (gRPC): http://")
        .unwrap_or_else(|| panic!("no inventory address in: {line}"));
    let inventory = inventory.parse().expect("the inventory's address");
    let peers = ShopPeers {
        provider: provider.to_owned(),
        inventory,
    };
    (process, addr, peers)
}

/// `s` percent-encoded for a URL's query string (everything but letters, digits and `_`).
pub fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The answer body of the instant query `query` to the Prometheus at `addr`.
pub fn prometheus_query(addr: std::net::SocketAddr, query: &str) -> String {
    http_get(
        addr,
        &format!("/api/v1/query?query={}", query_encode(query)),
    )
    .1
}

/// What the checkout `binary` prints when run with `args` (a subcommand: `alert-rules`,
/// `dashboard`, `catalog`), failing the test if it fails.
pub fn checkout_output(binary: &str, args: &[&str]) -> String {
    let out = Command::new(binary)
        .args(args)
        .output()
        .expect("run checkout");
    assert!(
        out.status.success(),
        "checkout {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("checkout prints UTF-8")
}

/// The checkout `binary`'s alert rules with windows scaled `time_scale` times, written to a
/// file in a new temporary folder: the folder (removed when dropped) and the file's path.
pub fn checkout_rules(binary: &str, time_scale: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new("rules");
    let rules = Command::new(binary)
        .args(["alert-rules", "--time-scale", time_scale])
        .output()
        .expect("run alert-rules");
    assert!(rules.status.success(), "alert-rules failed");
    let path = dir.0.join("alerts.yml");
    std::fs::write(&path, rules.stdout).expect("write the rules");
    (dir, path)
}
