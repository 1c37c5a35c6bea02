//! A checkout's scoreboard, printed the way Prometheus would scrape it.
//!
//! Run with: cargo run -p vitalsign --example scoreboard [-- --openmetrics]

use std::time::Duration;

use vitalsign::{
    Buckets, Counter, Family, Format, Histogram, LabelSet, LabelValue, ProcessCollector,
    default_registry,
};

#[derive(Clone, Copy, LabelValue)]
enum Outcome {
    Paid,
    CardDeclined,
    ProviderTimeout,
}

#[derive(LabelSet)]
struct Checkout {
    outcome: Outcome,
}

vitalsign::metrics! {
    /// Checkouts by outcome.
    static CHECKOUTS: Family<Checkout, Counter> as "shop_checkouts";
    /// Time to charge the payment provider.
    static PAYMENT_SECONDS: Histogram as "shop_payment_duration_seconds" = Histogram::new(Buckets::latency());
}

fn main() -> Result<(), vitalsign::Error> {
    default_registry().register_collector(ProcessCollector::new())?;
    default_registry().register(
        "shop_build",
        "Build information.",
        vitalsign::build_info!().into_info(),
    )?;

    // A few simulated customers: most pay, one card is declined, one provider call times out.
    for (outcome, millis) in [
        (Outcome::Paid, 120),
        (Outcome::Paid, 180),
        (Outcome::CardDeclined, 90),
        (Outcome::Paid, 240),
        (Outcome::ProviderTimeout, 3000),
    ] {
        CHECKOUTS.get(&Checkout { outcome }).inc();
        PAYMENT_SECONDS.observe_duration(Duration::from_millis(millis));
    }

    let format = if std::env::args().any(|a| a == "--openmetrics") {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    print!("{}", default_registry().render(format));
    Ok(())
}
