//! The clients' requests as a server on loopback reads them, and their errors.

use std::io::{Read, Write};
use std::time::Duration;

use vitalsign::Registry;

use crate::pushgateway::base64_url;
use crate::{PushError, PushErrorKind, Pushgateway};

#[test]
fn grouping_keys_as_the_pushgateway_reads_them() {
    let g = Pushgateway::new("http://gw:9091/", "backup")
        .unwrap()
        .grouping("instance", "db-1")
        .grouping("path", "/var/lib")
        .grouping("empty", "")
        .grouping("odd", "a b%");
    assert_eq!(
        g.path(),
        "/metrics/job/backup/instance/db-1/path@base64/L3Zhci9saWI=/empty@base64/=/odd/a%20b%25"
    );
    assert_eq!(
        Pushgateway::new("http://gw/prefix/", "j@b").unwrap().path(),
        "/prefix/metrics/job/j%40b"
    );
    assert_eq!(base64_url(b"a/b?"), "YS9iPw==");
    assert_eq!(base64_url(b"\xfb\xff"), "-_8=");
}

#[test]
fn bad_urls_say_what_is_wrong() {
    let err = |u: &str| Pushgateway::new(u, "j").unwrap_err().to_string();
    assert_eq!(
        err("https://gw:9091"),
        "invalid Pushgateway URL \"https://gw:9091\": it must start with http:// (https is not supported)"
    );
    assert_eq!(
        err("http://gw:port"),
        "invalid Pushgateway URL \"http://gw:port\": the port is not a number from 0 to 65535"
    );
    assert_eq!(
        err("http://:9091"),
        "invalid Pushgateway URL \"http://:9091\": no host"
    );
    assert_eq!(
        Pushgateway::new("http://gw", "").unwrap_err().to_string(),
        "invalid Pushgateway job: a job name must not be empty"
    );
    let e = Pushgateway::new("http://gw:port", "j").unwrap_err();
    assert_eq!(e.kind(), PushErrorKind::InvalidUrl);
}

#[test]
fn an_unreachable_gateway_is_named_in_the_error() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let g = Pushgateway::new(&format!("http://127.0.0.1:{port}"), "j").unwrap();
    let e = g.delete().unwrap_err();
    // A refusal is a connection error, with the I/O error as its source (not an HTTP 400).
    assert_eq!((e.kind(), e.status()), (PushErrorKind::Connect, None));
    let io = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused));
    assert!(
        e.to_string().starts_with(&format!(
            "DELETE http://127.0.0.1:{port}/metrics/job/j failed: cannot connect: "
        )),
        "{e}"
    );
}
/// A gateway on loopback that answers `202` to each of `n` requests and hands back their
/// heads and bodies.
fn recorder(n: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    answering(vec![
        "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
        n
    ])
}

/// A server on loopback that gives `answers`, one to each request, and hands back the
/// requests.
fn answering(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let n = answers.len();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then as many body bytes as Content-Length says.
            loop {
                let n = conn.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|l| l.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len || n == 0 {
                        break;
                    }
                }
            }
            conn.write_all(answers[seen.len()].as_bytes()).unwrap();
            seen.push(String::from_utf8_lossy(&request).into_owned());
        }
        seen
    });
    (url, thread)
}

#[test]
fn credentials_and_headers_go_with_every_request() {
    let (url, gateway) = recorder(2);
    let g = Pushgateway::new(&url, "j")
        .unwrap()
        .basic_auth("ci", "s3cret")
        .unwrap()
        .header("X-Scope-OrgID", "tenant-1")
        .unwrap();
    g.delete().unwrap();
    g.clone()
        .bearer_token("abc.DEF-123_~+/=")
        .unwrap()
        .delete()
        .unwrap();
    let seen = gateway.join().unwrap();
    let head = |r: &str| r.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    let port = url.rsplit_once(':').unwrap().1;
    assert_eq!(
        head(&seen[0]),
        [
            format!("Host: 127.0.0.1:{port}"),
            "Connection: close".to_owned(),
            "Authorization: Basic Y2k6czNjcmV0".to_owned(),
            "X-Scope-OrgID: tenant-1".to_owned(),
            "Content-Length: 0".to_owned(),
            String::new(),
        ]
    );
    assert_eq!(head(&seen[1])[2], "Authorization: Bearer abc.DEF-123_~+/=");
    // Debug output names the headers and never the credentials.
    let debug = format!("{g:?}");
    assert!(
        !debug.contains("Y2k6") && debug.contains("<redacted>"),
        "{debug}"
    );
    assert!(debug.contains("X-Scope-OrgID"), "{debug}");
}

#[test]
fn headers_that_cannot_be_sent_are_refused() {
    let g = || Pushgateway::new("http://gw", "j").unwrap();
    let err = |r: Result<Pushgateway, PushError>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), PushErrorKind::InvalidHeader);
        e.to_string()
    };
    assert_eq!(
        err(g().basic_auth("a:b", "p")),
        "invalid push header: a basic-auth user name cannot hold `:`"
    );
    assert_eq!(
        err(g().basic_auth("a", "p\r\nX-Evil: 1")),
        "invalid push header: a basic-auth user name or password cannot hold control characters"
    );
    assert_eq!(
        err(g().bearer_token("two words")),
        "invalid push header: a bearer token is letters, digits and `-._~+/=` (RFC 6750), and not empty"
    );
    assert_eq!(
        err(g().header("Bad Name", "v")),
        "invalid push header: \"Bad Name\" is not an HTTP header name"
    );
    assert_eq!(
        err(g().header("content-length", "9")),
        "invalid push header: the client writes the content-length header itself"
    );
    assert_eq!(
        err(g().header("X-A", "1\r\nX-B: 2")),
        "invalid push header: the value of header X-A cannot hold control characters"
    );
}

#[test]
fn a_periodic_push_pushes_now_and_once_more_when_stopped() {
    let (url, gateway) = recorder(2);
    let registry = std::sync::Arc::new(Registry::new());
    let jobs = registry
        .register("jobs", "Jobs.", vitalsign::Counter::new())
        .unwrap();
    jobs.inc();
    // An hour apart: the first push, then only the last one, at `stop`.
    let periodic = Pushgateway::new(&url, "j")
        .unwrap()
        .push_every(registry.clone(), Duration::from_secs(3600))
        .unwrap();
    // However the thread is scheduled: its first push, then (stopped before the hour is
    // up) its last, which carries what was counted before `stop`.
    jobs.inc();
    periodic.stop().unwrap();
    let seen = gateway.join().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.starts_with("PUT /metrics/job/j HTTP/1.1\r\n"))
    );
    assert!(seen[1].ends_with("jobs_total 2\n"), "{}", seen[1]);
}

#[test]
fn a_periodic_push_counts_its_failures_and_reports_the_last() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let periodic = Pushgateway::new(&format!("http://127.0.0.1:{port}"), "j")
        .unwrap()
        .push_every(
            &*Box::leak(Box::new(Registry::new())),
            Duration::from_secs(3600),
        )
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while periodic.failures() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(periodic.failures(), 1);
    let last = periodic.stop().unwrap_err();
    assert_eq!(last.kind(), PushErrorKind::Connect);
}

const UNAVAILABLE: &str =
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nbusy";
const ACCEPTED: &str = "HTTP/1.1 204 No Content\r\n\r\n";

#[test]
fn remote_write_retries_a_busy_receiver_when_it_asks() {
    let (url, receiver) = answering(vec![UNAVAILABLE, ACCEPTED]);
    let client = crate::RemoteWrite::new(&format!("{url}/api/v1/write")).unwrap();
    client.push(&Registry::new()).unwrap();
    let seen = receiver.join().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.starts_with("POST /api/v1/write HTTP/1.1\r\n"))
    );
    assert!(
        seen[0].contains("\r\nContent-Encoding: snappy\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains("\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"));
}

#[test]
fn remote_write_gives_up_after_its_retries_and_never_retries_a_4xx() {
    let (url, receiver) = answering(vec![UNAVAILABLE; 3]);
    let client = crate::RemoteWrite::new(&format!("{url}/w"))
        .unwrap()
        .retries(2, Duration::from_millis(1));
    let e = client.push(&Registry::new()).unwrap_err();
    assert_eq!(receiver.join().unwrap().len(), 3);
    assert_eq!(
        (e.kind(), e.retry_after(), e.is_retryable()),
        (PushErrorKind::Rejected(503), Some(Duration::ZERO), true)
    );
    assert!(
        e.to_string()
            .ends_with("failed: the receiver answered 503: busy"),
        "{e}"
    );

    let bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 8\r\n\r\nout of o";
    let (url, receiver) = answering(vec![bad]);
    let e = crate::RemoteWrite::new(&format!("{url}/w"))
        .unwrap()
        .push(&Registry::new())
        .unwrap_err();
    assert_eq!(receiver.join().unwrap().len(), 1);
    assert_eq!(
        (e.kind(), e.is_retryable()),
        (PushErrorKind::Rejected(400), false)
    );
}
