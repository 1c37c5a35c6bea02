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

use vitalsign::{ProcessCollector, RuleOptions, default_registry};

const USAGE: &str = "\
usage: checkout [--listen ADDR] [--traffic N]
       checkout alert-rules [--time-scale N]

  --listen ADDR     address to serve on (default 127.0.0.1:3000)
  --traffic N       simulated requests per second, 0 for none (default 20)
  alert-rules       print the Prometheus rules generated from the objectives
  --time-scale N    divide every rule window by N (60: an hour passes in a minute)";

enum Command {
    Serve { listen: SocketAddr, traffic: u32 },
    AlertRules { time_scale: f64 },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let value = |flag: &str| -> Result<Option<&String>, String> {
        match args.iter().position(|a| a == flag) {
            None => Ok(None),
            Some(i) => args
                .get(i + 1)
                .map(Some)
                .ok_or(format!("{flag} needs a value")),
        }
    };
    let known = ["--listen", "--traffic", "--time-scale", "alert-rules"];
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "alert-rules" => i += 1,
            flag if known.contains(&flag) => i += 2,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.first().is_some_and(|a| a == "alert-rules") {
        let time_scale = match value("--time-scale")? {
            Some(v) => v.parse::<f64>().ok().filter(|s| *s >= 1.0).ok_or(format!(
                "--time-scale must be a number of at least 1, got `{v}`"
            ))?,
            None => 1.0,
        };
        return Ok(Command::AlertRules { time_scale });
    }
    let listen = match value("--listen")? {
        Some(v) => v
            .parse()
            .map_err(|_| format!("--listen must be an address like 127.0.0.1:3000, got `{v}`"))?,
        None => SocketAddr::from(([127, 0, 0, 1], 3000)),
    };
    let traffic = match value("--traffic")? {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or(format!(
                "--traffic must be 0 to 10000 requests per second, got `{v}`"
            ))?,
        None => 20,
    };
    Ok(Command::Serve { listen, traffic })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse(&args) {
        Err(why) => {
            eprintln!("checkout: {why}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(Command::AlertRules { time_scale }) => {
            let options = RuleOptions {
                time_scale,
                ..RuleOptions::default()
            };
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
        Ok(Command::Serve { listen, traffic }) => match serve(listen, traffic) {
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
