//! The vitalsign demo: an axum shop whose payment provider can be slowed down live, with
//! simulated customers, a live scoreboard at `/metrics`, and alert rules generated from the
//! objectives declared in code.
//!
//! Run with: cargo run --release -p checkout -- --listen 127.0.0.1:3000 --traffic 20
//! Alert rules: cargo run -p checkout -- alert-rules [--time-scale 60]
//! Its Grafana dashboard: cargo run -p checkout -- dashboard [--time-scale 60]
//! What it exports: cargo run -p checkout -- catalog [--json]

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
    /// Also push every series over Prometheus remote write to this receiver (a Prometheus with
    /// `--web.enable-remote-write-receiver`: `http://127.0.0.1:9090/api/v1/write`), with
    /// `job="checkout"` and the listen address as `instance`.
    #[arg(long, value_name = "URL")]
    remote_write: Option<String>,
    /// Seconds between two remote-write pushes.
    #[arg(long, value_name = "SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    remote_write_interval: u64,
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
    /// Print the shop's Grafana dashboard, generated from what it registers and its objectives.
    Dashboard {
        /// The time scale the alert rules were generated with (their windows name the series
        /// the objective panels read).
        #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = time_scale)]
        time_scale: f64,
    },
    /// Print the catalogue of every family the shop exports (Markdown, or JSON with --json).
    Catalog {
        /// JSON instead of Markdown.
        #[arg(long)]
        json: bool,
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
        Some(Command::Dashboard { time_scale }) => {
            let options = vitalsign::dashboard::Options::new("Checkout (vitalsign)")
                .uid("checkout-vitalsign")
                .job("checkout")
                .objectives(
                    RuleOptions::default().time_scale(time_scale),
                    &objectives::targets(objectives::PROVIDER_HOST),
                );
            print_generated(|catalog| vitalsign::dashboard::grafana(catalog, &options))
        }
        Some(Command::Catalog { json }) => print_generated(|catalog| {
            Ok(if json {
                catalog.to_json()
            } else {
                catalog.to_markdown()
            })
        }),
        None => match remote_write(&cli).map_err(Into::into).and_then(|_pushing| {
            serve(
                Addresses {
                    listen: cli.listen,
                    provider_listen: cli.provider_listen,
                    provider_url: cli.provider_url,
                    inventory_listen: cli.inventory_listen,
                },
                cli.traffic,
            )
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("checkout: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The remote-write pushes `--remote-write` asks for, running until the handle is dropped
/// (which pushes a last time).
fn remote_write(cli: &Cli) -> Result<Option<vitalsign_push::PeriodicPush>, String> {
    let Some(url) = &cli.remote_write else {
        return Ok(None);
    };
    let instance = cli.listen.to_string();
    vitalsign_push::RemoteWrite::new(url)
        .and_then(|c| c.label("job", "checkout"))
        .and_then(|c| c.label("instance", &instance))
        .and_then(|c| {
            let interval = std::time::Duration::from_secs(cli.remote_write_interval);
            c.push_every(default_registry(), interval)
        })
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Prints what `generate` makes of the catalogue of the shop's registry, assembled as it serves
/// (every layer, collector and facade family registered) on free loopback ports, serving
/// nothing.
fn print_generated(
    generate: impl FnOnce(&vitalsign::catalog::Catalog) -> vitalsign::Result<String>,
) -> ExitCode {
    let assembled = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(assemble(Addresses::ephemeral()))
                .map(drop)
                .map_err(|e| e.to_string())
        });
    let generated =
        assembled.and_then(|()| generate(&default_registry().catalog()).map_err(|e| e.to_string()));
    match generated {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))
}

/// The shop, its provider and its inventory, built and bound (every family registered), not yet
/// serving.
struct Assembled {
    listener: tokio::net::TcpListener,
    inventory_listener: tokio::net::TcpListener,
    inventory: inventory::Inventory,
    provider: Option<(tokio::net::TcpListener, axum::Router)>,
    provider_url: String,
    app: axum::Router,
}

impl Addresses {
    /// Free loopback ports for everything.
    fn ephemeral() -> Self {
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        Self {
            listen: any,
            provider_listen: any,
            provider_url: None,
            inventory_listen: any,
        }
    }
}

async fn assemble(addrs: Addresses) -> Result<Assembled, Box<dyn std::error::Error>> {
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

    let listener = bind(addrs.listen, "the shop").await?;
    let inventory_listener = bind(addrs.inventory_listen, "the inventory").await?;
    let inventory_addr = inventory_listener.local_addr()?;
    let inventory = inventory::Inventory::new();

    let (provider, provider_url, provider_server) = match addrs.provider_url {
        Some(url) => (None, url, None),
        None => {
            let provider_listener = bind(addrs.provider_listen, "the payment provider").await?;
            let url = format!("http://{}", provider_listener.local_addr()?);
            let provider = Arc::new(provider::Provider::new());
            let app = provider::router(provider.clone());
            (Some(provider), url, Some((provider_listener, app)))
        }
    };
    let payments = payment::PaymentClient::new(&provider_url)?;
    let inventory_client = inventory::InventoryClient::new(inventory_addr)?;
    let shop = shop::Shop::new(provider, provider_url.clone(), payments, inventory_client);
    let app = shop::router(Arc::new(shop));
    Ok(Assembled {
        listener,
        inventory_listener,
        inventory,
        provider: provider_server,
        provider_url,
        app,
    })
}

#[tokio::main]
async fn serve(addrs: Addresses, traffic: u32) -> Result<(), Box<dyn std::error::Error>> {
    random::seed();
    let listen = addrs.listen;
    let Assembled {
        listener,
        inventory_listener,
        inventory,
        provider,
        provider_url,
        app,
    } = assemble(addrs).await?;
    let listen = if listen.port() == 0 {
        listener.local_addr()?
    } else {
        listen
    };
    let inventory_addr = inventory_listener.local_addr()?;

    // One signal stops the shop, its provider and its inventory.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let inventory = tokio::spawn(inventory.serve(inventory_listener, until_stopped()));
    let provider_task = provider.map(|(provider_listener, provider_app)| {
        tokio::spawn(serve_service(
            provider_listener,
            provider_app,
            ServeLimits::default(),
            until_stopped(),
        ))
    });
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
        let terminate = tokio::signal::unix::SignalKind::terminate();
        let Ok(mut term) = tokio::signal::unix::signal(terminate) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
