//! The vitalsign demo: an axum shop whose payment provider can be slowed down live, with
//! simulated customers, a live scoreboard at `/metrics`, and alert rules generated from the
//! objectives declared in code.
//!
//! Run with: cargo run --release -p checkout -- --listen 127.0.0.1:3000 --traffic 20
//! Alert rules: cargo run -p checkout -- alert-rules [--time-scale 60]

mod inventory;
mod objectives;
mod payment;
mod random;
mod server;
mod shop;
mod traffic;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use vitalsign::{ProcessCollector, RuleOptions, TokioRuntimeCollector, default_registry};

/// The vitalsign demo shop: checkout, orders, a payment provider you can slow down, and a live
/// scoreboard at /metrics.
#[derive(Parser)]
#[command(name = "checkout")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to serve on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Simulated requests per second, 0 for none.
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    traffic: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Prometheus rules generated from the objectives.
    AlertRules {
        /// Divide every rule window by N (60: an hour passes in a minute).
        #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = time_scale)]
        time_scale: f64,
    },
}

fn time_scale(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| *s >= 1.0)
        .ok_or_else(|| "a number of at least 1".to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::AlertRules { time_scale }) => {
            let options = RuleOptions::default().time_scale(time_scale);
            match vitalsign::alert_rules(&options) {
                Ok(rules) => {
                    print!("{rules}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("checkout: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        None => match serve(cli.listen, cli.traffic) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("checkout: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

#[tokio::main]
async fn serve(listen: SocketAddr, traffic: u32) -> Result<(), Box<dyn std::error::Error>> {
    random::seed();
    let registry = default_registry();
    registry.register_collector(ProcessCollector::new())?;
    // Libraries' `metrics::counter!`/`gauge!`/`histogram!` (and the shop's stock levels) go
    // into the same registry.
    vitalsign_metrics::install()?;
    // The runtime's workers, tasks and queues, read at every scrape.
    registry.register_collector(TokioRuntimeCollector::new(tokio::runtime::Handle::current()))?;
    registry.register(
        "checkout_build",
        "Build information.",
        vitalsign::build_info!().into_info(),
    )?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let app = shop::router(Arc::new(shop::Shop::new()));
    println!(
        "checkout listening on http://{listen} (metrics: curl http://{listen}/metrics; simulated traffic: {traffic} req/s)"
    );
    // Supervisors and tests wait for this line; don't leave it in a pipe's buffer.
    std::io::Write::flush(&mut std::io::stdout())?;
    if traffic > 0 {
        tokio::spawn(traffic::run(app.clone(), traffic));
    }
    server::serve(listener, app, shutdown()).await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
