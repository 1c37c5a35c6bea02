//! The messages of `checkout.inventory.v1.Inventory`, written as prost generates them from
//! this definition (so building needs no `protoc`):
//!
//! ```proto
//! syntax = "proto3";
//! package checkout.inventory.v1;
//!
//! service Inventory {
//!   rpc Reserve(ReserveRequest) returns (Lines);
//!   rpc Release(Lines) returns (Released);
//! }
//! message Item { string sku = 1; uint32 quantity = 2; }
//! message ReserveRequest { repeated Item items = 1; }
//! message Line { string sku = 1; uint32 quantity = 2; uint64 unit_price_cents = 3; }
//! message Lines { repeated Line lines = 1; }
//! message Released {}
//! ```

use serde::Serialize;

/// The service's full name.
pub(crate) const SERVICE: &str = "checkout.inventory.v1.Inventory";

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Item {
    #[prost(string, tag = "1")]
    pub(crate) sku: String,
    #[prost(uint32, tag = "2")]
    pub(crate) quantity: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ReserveRequest {
    #[prost(message, repeated, tag = "1")]
    pub(crate) items: Vec<Item>,
}

/// A reserved line of an order (also the order's JSON).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub(crate) struct Line {
    #[prost(string, tag = "1")]
    pub(crate) sku: String,
    #[prost(uint32, tag = "2")]
    pub(crate) quantity: u32,
    #[prost(uint64, tag = "3")]
    pub(crate) unit_price_cents: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Lines {
    #[prost(message, repeated, tag = "1")]
    pub(crate) lines: Vec<Line>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Released {}
