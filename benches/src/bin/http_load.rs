//! The HTTP row of BENCHMARKS.md: an axum hello-world served with no layer, a no-op layer,
//! vitalsign's `MetricsLayer`, or axum-prometheus' layer, and a load generator that keeps
//! connections busy on loopback for a bounded time. `benches/run.sh` pins the two to different
//! cores.
//!
//! Usage: http_load serve (none|noop|vitalsign|axum_prometheus) PORT
//!        http_load load ADDR SECONDS CONNECTIONS

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", variant, port] => runtime.block_on(serve(variant, port.parse().expect("port"))),
        ["load", addr, seconds, connections] => {
            let rps = runtime.block_on(load(
                addr.parse().expect("addr"),
                Duration::from_secs(seconds.parse().expect("seconds")),
                connections.parse().expect("connections"),
            ));
            println!("{rps:.0}");
        }
        _ => {
            eprintln!(
                "usage: http_load serve (none|noop|vitalsign|axum_prometheus) PORT | load ADDR SECONDS CONNECTIONS"
            );
            std::process::exit(2);
        }
    }
}

async fn serve(variant: &str, port: u16) {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let app = match variant {
        "none" => app,
        "noop" => app.layer(tower::layer::util::Identity::new()),
        "vitalsign" => app.layer(vitalsign_tower::MetricsLayer::new()),
        "axum_prometheus" => {
            let (layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
            app.layer(layer)
        }
        other => panic!("unknown variant {other}"),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

/// Requests per second over `duration`, from `connections` keep-alive connections each sending
/// one request at a time.
async fn load(addr: std::net::SocketAddr, duration: Duration, connections: usize) -> f64 {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(addr, deadline)))
        .collect();
    let mut total = 0u64;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / duration.as_secs_f64()
}

async fn connection(addr: std::net::SocketAddr, deadline: Instant) -> u64 {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let _ = stream.set_nodelay(true);
    let request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    let mut done = 0;
    while Instant::now() < deadline {
        if stream.write_all(request).await.is_err() {
            break;
        }
        // Read one whole response: headers, then Content-Length bytes of body.
        let mut have = 0;
        loop {
            let Ok(n) = stream.read(&mut buf[have..]).await else {
                return done;
            };
            if n == 0 {
                return done;
            }
            have += n;
            let text = &buf[..have];
            if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&text[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if have >= end + 4 + length {
                    break;
                }
            }
        }
        done += 1;
    }
    done
}
