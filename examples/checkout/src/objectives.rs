//! What the shop promises about payments; `cargo run -p checkout -- alert-rules` turns it into
//! `prometheus/alerts.yml`.
//!
//! The promise is about what customers wait for: the shop's call to its payment provider, as
//! the outbound HTTP layer measures it (`http_client_request_duration_seconds`), failures
//! included when the provider answers with an error or not at all.

use vitalsign::Objective;
use vitalsign::objective::Target;

/// 99% of payments succeed, and 99% finish within 250 ms.
pub(crate) const PAYMENTS: Objective = Objective::new("payments")
    .success_rate(0.99)
    .latency(0.99, 0.25);

/// The host of the payment provider the shop runs itself.
pub(crate) const PROVIDER_HOST: &str = "127.0.0.1";

/// Each objective and what it is measured on: payments are the shop's `POST`s to the
/// provider at `provider_host`.
pub(crate) fn targets(provider_host: &str) -> [(Objective, Target); 1] {
    [(PAYMENTS, Target::http_client("POST", provider_host))]
}
