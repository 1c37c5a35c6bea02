//! A checkout's scoreboard, printed the way Prometheus would scrape it.
//!
//! Run with: cargo run -p vitalsign --example scoreboard [-- --openmetrics]

use std::time::Duration;

use vitalsign::{
    Buckets, Counter, Family, Format, Histogram, LabelSet, LabelValue, ProcessCollector,
    default_registry,
};

#[derive(Clone, Copy)]
enum Outcome {
    Paid,
    CardDeclined,
    ProviderTimeout,
}

impl LabelValue for Outcome {
    const CARDINALITY: usize = 3;
    fn index(&self) -> usize {
        *self as usize
    }
    fn from_index(i: usize) -> Option<Self> {
        [Self::Paid, Self::CardDeclined, Self::ProviderTimeout]
            .get(i)
            .copied()
    }
    fn value_at(i: usize) -> &'static str {
        ["paid", "card_declined", "provider_timeout"]
            .get(i)
            .copied()
            .unwrap_or("")
    }
}

struct Checkout {
    outcome: Outcome,
}

impl LabelSet for Checkout {
    const CARDINALITY: usize = Outcome::CARDINALITY;
    const NAMES: &'static [&'static str] = &["outcome"];
    fn index(&self) -> usize {
        self.outcome.index()
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("outcome", Outcome::value_at(i));
    }
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
