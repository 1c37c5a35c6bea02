//! The vitalsign demo: an axum shop whose payment provider can be slowed down live, with
//! simulated customers, a live scoreboard at `/metrics`, and alert rules generated from the
//! objectives declared in code.
//!
//! Run with: cargo run --release -p checkout -- --listen 127.0.0.1:3000 --traffic 20
//! Alert rules: cargo run -p checkout -- alert-rules [--time-scale 60]

mod inventory;
mod objectives;
mod payment;
mod provider;
mod random;
mod shop;
mod traffic;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use vitalsign::{ProcessCollector, RuleOptions, TokioRuntimeCollector, default_registry};
use vitalsign_tower::{ServeLimits, serve_service};

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
    /// Address of the simulated payment provider this process runs (default: a free loopback
    /// port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        conflicts_with = "provider_url"
    )]
    provider_listen: SocketAddr,
    /// Charge through a payment provider running elsewhere (`http://host:port`) instead of one
    /// of this process's own.
    #[arg(long, value_name = "URL")]
    provider_url: Option<String>,
    /// Address of the inventory gRPC service (default: a free loopback port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    inventory_listen: SocketAddr,
}

/// Where the shop, its provider and its inventory listen.
struct Addresses {
    listen: SocketAddr,
    provider_listen: SocketAddr,
    provider_url: Option<String>,
    inventory_listen: SocketAddr,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Prometheus rules generated from the objectives.
    AlertRules {
        /// Divide every rule window by N (60: an hour passes in a minute).
        #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = time_scale)]
        time_scale: f64,
        /// The payment provider's host, as the shop's calls name it (`server_address`).
        #[arg(long, value_name = "HOST", default_value = objectives::PROVIDER_HOST)]
        provider_host: String,
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
        Some(Command::AlertRules {
            time_scale,
            provider_host,
        }) => {
            let options = RuleOptions::default().time_scale(time_scale);
            let targets = objectives::targets(&provider_host);
            match vitalsign::objective::alert_rules_with(&options, &targets) {
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
        None => match serve(
            Addresses {
                listen: cli.listen,
                provider_listen: cli.provider_listen,
                provider_url: cli.provider_url,
                inventory_listen: cli.inventory_listen,
            },
            cli.traffic,
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("checkout: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))
}

#[tokio::main]
async fn serve(addrs: Addresses, traffic: u32) -> Result<(), Box<dyn std::error::Error>> {
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

    // One signal stops the shop, its provider and its inventory.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };

    let listener = bind(addrs.listen, "the shop").await?;
    let inventory_listener = bind(addrs.inventory_listen, "the inventory").await?;
    let inventory_addr = inventory_listener.local_addr()?;
    let inventory = tokio::spawn(inventory::serve(inventory_listener, until_stopped()));

    let (provider, provider_url, provider_task) = match addrs.provider_url {
        Some(url) => (None, url, None),
        None => {
            let provider_listener = bind(addrs.provider_listen, "the payment provider").await?;
            let url = format!("http://{}", provider_listener.local_addr()?);
            let provider = Arc::new(provider::Provider::new());
            let app = provider::router(provider.clone());
            let task = tokio::spawn(serve_service(
                provider_listener,
                app,
                ServeLimits::default(),
                until_stopped(),
            ));
            (Some(provider), url, Some(task))
        }
    };
    let payments = payment::PaymentClient::new(&provider_url)?;
    let inventory_client = inventory::InventoryClient::new(inventory_addr)?;
    let shop = shop::Shop::new(provider, provider_url.clone(), payments, inventory_client);
    let app = shop::router(Arc::new(shop));
    let listen = addrs.listen;
    println!(
        "checkout listening on http://{listen} (metrics: curl http://{listen}/metrics; payment provider: {provider_url}; inventory (gRPC): http://{inventory_addr}; simulated traffic: {traffic} req/s)"
    );
    // Supervisors and tests wait for this line; don't leave it in a pipe's buffer.
    std::io::Write::flush(&mut std::io::stdout())?;
    if traffic > 0 {
        tokio::spawn(traffic::run(app.clone(), traffic));
    }
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop.send(true);
    });
    // A connection that sends no request within 10 s is closed, and at most 1,024 are served at
    // once: the bounds `axum::serve` does not set.
    serve_service(listener, app, ServeLimits::default(), until_stopped()).await;
    if let Some(task) = provider_task {
        let _ = task.await;
    }
    if let Ok(Err(e)) = inventory.await {
        eprintln!("checkout: the inventory service failed: {e}");
    }
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
