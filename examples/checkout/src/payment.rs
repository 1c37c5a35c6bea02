//! The simulated payment provider, and `charge_payment`: the function whose latency the
//! `payments` objective watches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vitalsign::{LabelValue, instrument_metrics};

use crate::objectives::PAYMENTS;
use crate::random;

/// How the provider behaves; changed live with `PUT /admin/payment-provider`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderSettings {
    /// Typical latency; each call takes between 2/3 and 4/3 of it.
    pub(crate) latency_ms: u64,
    /// The share of calls that time out, from 0 to 1.
    pub(crate) error_rate: f64,
}

impl ProviderSettings {
    pub(crate) const BASELINE: Self = Self {
        latency_ms: 150,
        error_rate: 0.0,
    };

    /// `Err` with what is out of range.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.latency_ms > 60_000 {
            return Err(format!(
                "latency_ms must be at most 60000, got {}",
                self.latency_ms
            ));
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!(
                "error_rate must be between 0 and 1, got {}",
                self.error_rate
            ));
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct Provider {
    settings: RwLock<ProviderSettings>,
}

impl Provider {
    pub(crate) fn new() -> Self {
        Self {
            settings: RwLock::new(ProviderSettings::BASELINE),
        }
    }

    pub(crate) fn settings(&self) -> ProviderSettings {
        *self.settings.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set(&self, settings: ProviderSettings) {
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
    }
}

/// Why a charge failed: each variant is an `error` label value of `function_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, LabelValue)]
pub(crate) enum PaymentError {
    CardDeclined,
    ProviderTimeout,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Receipt {
    pub(crate) payment_id: u64,
    pub(crate) amount_cents: u64,
}

static PAYMENT_IDS: AtomicU64 = AtomicU64::new(1);

/// Charges a customer through the provider. Customers whose name starts with `declined` have
/// their card declined.
#[instrument_metrics(objective = PAYMENTS)]
pub(crate) async fn charge_payment(
    provider: &Provider,
    customer: &str,
    amount_cents: u64,
) -> Result<Receipt, PaymentError> {
    let settings = provider.settings();
    let jitter = 2.0 / 3.0 + random::unit() * 2.0 / 3.0;
    let wait = Duration::from_secs_f64(settings.latency_ms as f64 * jitter / 1000.0);
    tokio::time::sleep(wait).await;
    if customer.starts_with("declined") {
        return Err(PaymentError::CardDeclined);
    }
    if random::unit() < settings.error_rate {
        return Err(PaymentError::ProviderTimeout);
    }
    Ok(Receipt {
        payment_id: PAYMENT_IDS.fetch_add(1, Ordering::Relaxed),
        amount_cents,
    })
}
