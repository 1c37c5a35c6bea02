//! `charge_payment`: the shop's call to its payment provider, over HTTP through vitalsign's
//! outbound layer, so `/metrics` has `http_client_request_duration_seconds` for it (the series
//! the `payments` objective reads) beside the function's own `function_calls_*`.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tower::timeout::Timeout;
use tower::{ServiceBuilder, ServiceExt};
use vitalsign::{LabelValue, instrument_metrics};
use vitalsign_tower::client::{HttpClientLayer, HttpClientService};

/// How long the shop waits for the provider.
const TIMEOUT: Duration = Duration::from_secs(2);

type Http = HttpClientService<Timeout<Client<HttpConnector, Full<Bytes>>>>;

/// The provider's address, and an HTTP client whose every call is measured.
#[derive(Clone, Debug)]
pub(crate) struct PaymentClient {
    http: Http,
    charge_url: http::Uri,
}

impl PaymentClient {
    /// A client of the provider at `base` (`http://host:port`).
    pub(crate) fn new(base: &str) -> Result<Self, String> {
        let uri: http::Uri = base
            .parse()
            .map_err(|e| format!("invalid provider URL `{base}`: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "invalid provider URL `{base}`: an `http://host:port` URL is needed"
            ));
        }
        let charge_url = format!("{}/charge", base.trim_end_matches('/'))
            .parse()
            .map_err(|e| format!("invalid provider URL `{base}`: {e}"))?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let http = ServiceBuilder::new()
            .layer(HttpClientLayer::new())
            .timeout(TIMEOUT)
            .service(client);
        Ok(Self { http, charge_url })
    }
}

/// Why a charge failed: each variant is an `error` label value of `function_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, LabelValue)]
pub(crate) enum PaymentError {
    CardDeclined,
    ProviderTimeout,
    ProviderUnavailable,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Receipt {
    pub(crate) payment_id: u64,
}

/// Charges a customer through the provider.
#[instrument_metrics]
pub(crate) async fn charge_payment(
    client: &PaymentClient,
    customer: &str,
    amount_cents: u64,
) -> Result<Receipt, PaymentError> {
    let body = serde_json::json!({ "customer": customer, "amount_cents": amount_cents });
    let request = http::Request::post(client.charge_url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::from(body.to_string()))
        .map_err(|_| PaymentError::ProviderUnavailable)?;
    let response = client.http.clone().oneshot(request).await.map_err(|e| {
        if e.is::<tower::timeout::error::Elapsed>() {
            PaymentError::ProviderTimeout
        } else {
            PaymentError::ProviderUnavailable
        }
    })?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|_| PaymentError::ProviderUnavailable)?
        .to_bytes();
    match status.as_u16() {
        200 => serde_json::from_slice(&body).map_err(|_| PaymentError::ProviderUnavailable),
        402 => Err(PaymentError::CardDeclined),
        504 => Err(PaymentError::ProviderTimeout),
        _ => Err(PaymentError::ProviderUnavailable),
    }
}
