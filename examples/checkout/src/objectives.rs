//! What the shop promises about payments; `cargo run -p checkout -- alert-rules` turns it into
//! `prometheus/alerts.yml`.

use vitalsign::Objective;

/// 99% of payments succeed, and 99% finish within 250 ms.
pub(crate) const PAYMENTS: Objective = Objective::new("payments")
    .success_rate(0.99)
    .latency(0.99, 0.25);
