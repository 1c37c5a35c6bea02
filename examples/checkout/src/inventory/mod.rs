//! The inventory: a gRPC service of its own (`server`), and the shop's side of it,
//! `reserve_inventory`, which calls it through vitalsign's gRPC client layer
//! (`grpc_client_*`).

mod proto;
mod server;
mod stock;

pub(crate) use proto::Line;
pub(crate) use server::Inventory;
pub(crate) use stock::CATALOGUE;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic_prost::ProstCodec;
use vitalsign::{LabelValue, instrument_metrics};
use vitalsign_tower::grpc::{GrpcClientLayer, GrpcClientService};

use proto::{Item, Lines, Released, ReserveRequest};

/// A connection to the inventory service, every call measured.
#[derive(Clone, Debug)]
pub(crate) struct InventoryClient {
    grpc: tonic::client::Grpc<GrpcClientService<Channel>>,
}

impl InventoryClient {
    /// A client of the inventory at `addr`; connects on first use.
    pub(crate) fn new(addr: std::net::SocketAddr) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("invalid inventory address {addr}: {e}"))?
            .timeout(std::time::Duration::from_secs(2));
        let channel = endpoint.connect_lazy();
        let layer = GrpcClientLayer::new(&server::methods());
        Ok(Self {
            grpc: tonic::client::Grpc::new(tower::Layer::layer(&layer, channel)),
        })
    }

    async fn unary<Req, Res>(
        &self,
        method: &'static str,
        request: Req,
    ) -> Result<Res, tonic::Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Res: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = PathAndQuery::from_static(method);
        let codec = ProstCodec::<Req, Res>::default();
        Ok(grpc
            .unary(tonic::Request::new(request), path, codec)
            .await?
            .into_inner())
    }

    /// Puts reserved lines back (an order whose payment failed).
    pub(crate) async fn release(&self, lines: &[Line]) {
        let request = Lines {
            lines: lines.to_vec(),
        };
        let _: Result<Released, _> = self
            .unary("/checkout.inventory.v1.Inventory/Release", request)
            .await;
    }
}

/// Why stock could not be reserved.
#[derive(Debug, Clone, Copy, PartialEq, LabelValue)]
pub(crate) enum InventoryError {
    UnknownSku,
    OutOfStock,
    Unavailable,
}

/// Takes every line out of stock, or none of them.
#[instrument_metrics]
pub(crate) async fn reserve_inventory(
    inventory: &InventoryClient,
    items: &[(String, u32)],
) -> Result<Vec<Line>, InventoryError> {
    let request = ReserveRequest {
        items: items
            .iter()
            .map(|(sku, quantity)| Item {
                sku: sku.clone(),
                quantity: *quantity,
            })
            .collect(),
    };
    match inventory
        .unary::<_, Lines>("/checkout.inventory.v1.Inventory/Reserve", request)
        .await
    {
        Ok(reply) => Ok(reply.lines),
        Err(status) => Err(match status.code() {
            tonic::Code::NotFound => InventoryError::UnknownSku,
            tonic::Code::FailedPrecondition => InventoryError::OutOfStock,
            _ => InventoryError::Unavailable,
        }),
    }
}
