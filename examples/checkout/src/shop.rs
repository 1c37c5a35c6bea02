//! The HTTP side of the shop: routes, request validation, and orders kept in a bounded store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use vitalsign_tower::{MetricsHandler, MetricsLayer};

use crate::inventory::{InventoryClient, InventoryError, Line, reserve_inventory};
use crate::payment::{PaymentClient, PaymentError, charge_payment};
use crate::provider::{Provider, ProviderSettings};

/// Orders kept for `GET /orders/{id}`; older ones are forgotten.
const MAX_ORDERS: usize = 10_000;
/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024;
const MAX_ITEMS: usize = 20;
const MAX_QUANTITY: u32 = 100;
const MAX_CUSTOMER: usize = 64;

#[derive(Debug)]
pub(crate) struct Shop {
    /// The payment provider this process runs, if it runs one (`--provider-url` points
    /// elsewhere).
    provider: Option<Arc<Provider>>,
    provider_url: String,
    payments: PaymentClient,
    inventory: InventoryClient,
    orders: Orders,
}

/// The last `MAX_ORDERS` orders, each in the slot its id picks. A fixed table keeps the store's
/// memory what it was at start, where a map kept at a size by insert-and-evict grows its table
/// (or its nodes) as it churns.
#[derive(Debug)]
struct Orders {
    slots: Mutex<Box<[Option<Order>]>>,
    next: AtomicU64,
}

#[derive(Debug, Clone, Serialize)]
struct Order {
    id: u64,
    customer: String,
    items: Vec<Line>,
    total_cents: u64,
    payment_id: u64,
    status: &'static str,
}

#[derive(Debug, Deserialize)]
struct CheckoutRequest {
    customer: String,
    items: Vec<ItemRequest>,
}

#[derive(Debug, Deserialize)]
struct ItemRequest {
    sku: String,
    quantity: u32,
}

impl Shop {
    pub(crate) fn new(
        provider: Option<Arc<Provider>>,
        provider_url: String,
        payments: PaymentClient,
        inventory: InventoryClient,
    ) -> Self {
        Self {
            provider,
            provider_url,
            payments,
            inventory,
            orders: Orders::new(),
        }
    }
}

impl Orders {
    fn new() -> Self {
        Self {
            slots: Mutex::new((0..MAX_ORDERS).map(|_| None).collect()),
            next: AtomicU64::new(1),
        }
    }

    fn store(&self, order: Order) {
        let mut orders = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut orders[slot_of(order.id)];
        // Ids are taken just before storing, so a newer order in the slot means this one was
        // stored unusually late; it is the one to forget.
        if slot.as_ref().is_none_or(|kept| kept.id < order.id) {
            *slot = Some(order);
        }
    }

    fn order(&self, id: u64) -> Option<Order> {
        let orders = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        orders[slot_of(id)].as_ref().filter(|o| o.id == id).cloned()
    }
}

fn slot_of(id: u64) -> usize {
    (id % MAX_ORDERS as u64) as usize
}

/// The whole app: routes, the metrics layer, and `/metrics`.
pub(crate) fn router(shop: Arc<Shop>) -> Router {
    Router::new()
        .route("/checkout", axum::routing::post(checkout))
        .route("/orders/{id}", get(order))
        .route("/healthz", get(|| async { "ok\n" }))
        // Made here rather than at the first scrape (as `metrics_handler` does), so the
        // scrape's own families are registered, and in the series bound, from the start.
        .route_service(
            "/metrics",
            MetricsHandler::for_default_registry().timeout(std::time::Duration::from_secs(10)),
        )
        .route(
            "/admin/payment-provider",
            get(provider_settings).put(set_provider_settings),
        )
        .route("/admin/series-bound", get(series_bound))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such page") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(MetricsLayer::new())
        .with_state(shop)
}

/// The most series `/metrics` can ever hold, family by family: one `name bound` line each
/// (`unbounded` where a family cannot say), then the total.
async fn series_bound() -> String {
    let bound = vitalsign::default_registry().series_bound();
    let mut text = String::new();
    for (name, b) in bound.families() {
        let b = b.map_or_else(|| "unbounded".to_owned(), |b| b.to_string());
        text.push_str(&format!("{name} {b}\n"));
    }
    text.push_str(&format!("{bound}\n"));
    text
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the finished response, returned as it is"
)]
fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Response> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body is larger than {MAX_BODY} bytes")
        } else {
            "request body could not be read".to_owned()
        };
        error(status, message)
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))
}

async fn checkout(State(shop): State<Arc<Shop>>, body: Result<Bytes, BytesRejection>) -> Response {
    let request: CheckoutRequest = match parse(body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    if request.customer.is_empty() || request.customer.len() > MAX_CUSTOMER {
        return error(
            StatusCode::BAD_REQUEST,
            format!("customer must be 1 to {MAX_CUSTOMER} bytes"),
        );
    }
    if request.items.is_empty() || request.items.len() > MAX_ITEMS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("an order has 1 to {MAX_ITEMS} items"),
        );
    }
    if let Some(bad) = request
        .items
        .iter()
        .find(|i| i.quantity == 0 || i.quantity > MAX_QUANTITY)
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "quantity of `{}` must be 1 to {MAX_QUANTITY}, got {}",
                bad.sku, bad.quantity
            ),
        );
    }
    let items: Vec<(String, u32)> = request
        .items
        .into_iter()
        .map(|i| (i.sku, i.quantity))
        .collect();
    let lines = match reserve_inventory(&shop.inventory, &items).await {
        Ok(lines) => lines,
        Err(InventoryError::UnknownSku) => {
            return error(StatusCode::BAD_REQUEST, "an item has an unknown sku");
        }
        Err(InventoryError::OutOfStock) => {
            return error(StatusCode::CONFLICT, "an item is out of stock");
        }
        Err(InventoryError::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the inventory is unavailable; try again",
            );
        }
    };
    let total_cents = lines
        .iter()
        .map(|l| l.unit_price_cents * u64::from(l.quantity))
        .sum();
    match charge_payment(&shop.payments, &request.customer, total_cents).await {
        Ok(receipt) => {
            let order = Order {
                id: shop.orders.next.fetch_add(1, Ordering::Relaxed),
                customer: request.customer,
                items: lines,
                total_cents,
                payment_id: receipt.payment_id,
                status: "paid",
            };
            shop.orders.store(order.clone());
            (StatusCode::OK, axum::Json(order)).into_response()
        }
        Err(e) => {
            shop.inventory.release(&lines).await;
            match e {
                PaymentError::CardDeclined => error(StatusCode::PAYMENT_REQUIRED, "card declined"),
                PaymentError::ProviderTimeout => error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the payment provider timed out; try again",
                ),
                PaymentError::ProviderUnavailable => error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the payment provider is unavailable; try again",
                ),
            }
        }
    }
}

async fn order(State(shop): State<Arc<Shop>>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>().ok().and_then(|id| shop.orders.order(id)) {
        Some(order) => axum::Json(order).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no order `{id}`")),
    }
}

/// The answer of the admin endpoint when the provider runs elsewhere.
fn not_ours(shop: &Shop) -> Response {
    error(
        StatusCode::CONFLICT,
        format!(
            "the payment provider at {} is not run by this shop; change it there",
            shop.provider_url
        ),
    )
}

async fn provider_settings(State(shop): State<Arc<Shop>>) -> Response {
    match &shop.provider {
        Some(provider) => axum::Json(provider.settings()).into_response(),
        None => not_ours(&shop),
    }
}

async fn set_provider_settings(
    State(shop): State<Arc<Shop>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let settings: ProviderSettings = match parse(body) {
        Ok(s) => s,
        Err(response) => return response,
    };
    if let Err(why) = settings.validate() {
        return error(StatusCode::BAD_REQUEST, why);
    }
    let Some(provider) = &shop.provider else {
        return not_ours(&shop);
    };
    provider.set(settings);
    axum::Json(settings).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64) -> Order {
        Order {
            id,
            customer: format!("c{id}"),
            items: Vec::new(),
            total_cents: 100,
            payment_id: id,
            status: "paid",
        }
    }

    #[test]
    fn the_store_keeps_the_newest_orders_and_forgets_the_oldest() {
        let shop = Orders::new();
        let last = MAX_ORDERS as u64 + 5;
        for id in 1..=last {
            shop.store(order(id));
        }
        let kept: Vec<u64> = (0..=last + 1)
            .filter(|&id| shop.order(id).is_some())
            .collect();
        assert_eq!(kept.len(), MAX_ORDERS);
        assert_eq!((kept[0], kept[MAX_ORDERS - 1]), (6, last));
        assert_eq!(shop.order(last).unwrap().customer, format!("c{last}"));
    }

    #[test]
    fn an_order_stored_late_does_not_replace_a_newer_one() {
        let shop = Orders::new();
        let newer = MAX_ORDERS as u64 + 1;
        shop.store(order(newer));
        shop.store(order(1));
        assert_eq!(shop.order(newer).map(|o| o.id), Some(newer));
        assert_eq!(shop.order(1).map(|o| o.id), None);
    }
}
