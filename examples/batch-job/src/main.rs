//! A batch job that ends before any scrape could see it, so it pushes its metrics to a
//! Prometheus Pushgateway: when it last succeeded, how long it took, what it processed.
//!
//! `cargo run -p batch-job -- --pushgateway http://127.0.0.1:9091 --job nightly [--instance db-1]`
//! runs the job and pushes (replacing the group `job="nightly", instance="db-1"`); `--delete`
//! removes that group instead. A Prometheus scraping the gateway with `honor_labels: true`
//! keeps the job's labels; alert on `time() - batch_last_success_timestamp_seconds`.

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use vitalsign::{Counter, FloatGauge, Registry};
use vitalsign_push::Pushgateway;

/// Runs a small batch job and pushes its metrics to a Pushgateway.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The gateway, as `http://host:port`.
    #[arg(long, value_name = "URL")]
    pushgateway: String,
    /// The `job` label of the pushed group.
    #[arg(long, value_name = "NAME")]
    job: String,
    /// An `instance` label for the group (values with `/` or empty ones are fine).
    #[arg(long, value_name = "VALUE")]
    instance: Option<String>,
    /// How many records the job processes.
    #[arg(long, default_value_t = 1000)]
    records: u64,
    /// Remove the group from the gateway instead of running the job.
    #[arg(long)]
    delete: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("batch-job: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut gateway = Pushgateway::new(&args.pushgateway, &args.job)?;
    if let Some(instance) = &args.instance {
        gateway = gateway.grouping("instance", instance);
    }
    if args.delete {
        gateway.delete()?;
        println!("deleted {}", gateway.path());
        return Ok(());
    }

    let registry = Registry::new();
    let processed = registry.register(
        "batch_records_processed",
        "Records the job processed.",
        Counter::new(),
    )?;
    let failed = registry.register(
        "batch_records_failed",
        "Records the job could not process.",
        Counter::new(),
    )?;
    let duration = registry.register(
        "batch_duration_seconds",
        "How long the last run took.",
        FloatGauge::new(),
    )?;
    let last_success = registry.register(
        "batch_last_success_timestamp_seconds",
        "When the job last finished without failing (Unix time).",
        FloatGauge::new(),
    )?;

    let started = Instant::now();
    for record in 0..args.records {
        // Every 97th record is malformed.
        if record % 97 == 96 {
            failed.inc();
        } else {
            processed.inc();
        }
    }
    duration.set(started.elapsed().as_secs_f64());
    last_success.set(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64());
    gateway.push(&registry)?;
    println!(
        "pushed {} processed, {} failed to {}",
        processed.get(),
        failed.get(),
        gateway.path()
    );
    Ok(())
}
