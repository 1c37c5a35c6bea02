//! The simulated payment provider: a real HTTP server on its own loopback port, which the shop
//! calls through vitalsign's outbound HTTP layer. Its latency and failure rate change live with
//! `PUT /admin/payment-provider` on the shop.
//!
//! `POST /charge` with `{"customer": "c1", "amount_cents": 700}` answers, after its latency,
//! `200 {"payment_id": 1}`, `402` for customers whose name starts with `declined`, or `504`
//! (the provider's bank timed out) for the share of calls its error rate says.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;

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
    payment_ids: AtomicU64,
}

impl Provider {
    pub(crate) fn new() -> Self {
        Self {
            settings: RwLock::new(ProviderSettings::BASELINE),
            payment_ids: AtomicU64::new(1),
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

#[derive(Debug, Deserialize)]
struct Charge {
    customer: String,
    #[allow(dead_code, reason = "a real provider would charge it")]
    amount_cents: u64,
}

/// The provider's routes.
pub(crate) fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/charge", post(charge))
        .with_state(provider)
}

async fn charge(State(provider): State<Arc<Provider>>, body: axum::body::Bytes) -> Response {
    let Ok(charge) = serde_json::from_slice::<Charge>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "malformed charge"})),
        )
            .into_response();
    };
    let settings = provider.settings();
    let jitter = 2.0 / 3.0 + random::unit() * 2.0 / 3.0;
    let wait = Duration::from_secs_f64(settings.latency_ms as f64 * jitter / 1000.0);
    tokio::time::sleep(wait).await;
    if charge.customer.starts_with("declined") {
        return (
            StatusCode::PAYMENT_REQUIRED,
            axum::Json(json!({"error": "card declined"})),
        )
            .into_response();
    }
    if random::unit() < settings.error_rate {
        let body = json!({"error": "the bank timed out"});
        return (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response();
    }
    let payment_id = provider.payment_ids.fetch_add(1, Ordering::Relaxed);
    axum::Json(json!({ "payment_id": payment_id })).into_response()
}
