//! The inventory gRPC server: `checkout.inventory.v1.Inventory` over the stock, beside the
//! standard `grpc.health.v1.Health`, on its own loopback port, every call through vitalsign's
//! gRPC server layer (`grpc_server_*`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use vitalsign_tower::grpc::{GrpcMethods, GrpcServerLayer};

use super::proto::{Lines, Released, ReserveRequest, SERVICE};
use super::stock::{Refusal, Stock};

/// The service, routing by path as tonic's generated servers do.
#[derive(Clone, Debug)]
pub(crate) struct InventoryServer {
    stock: Arc<Stock>,
}

impl tonic::server::NamedService for InventoryServer {
    const NAME: &'static str = SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

impl<B> tower::Service<http::Request<B>> for InventoryServer
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let stock = self.stock.clone();
        let method = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(SERVICE))
            .unwrap_or("")
            .to_owned();
        Box::pin(async move {
            Ok(match method.as_str() {
                "/Reserve" => {
                    let reserve = tower::service_fn(move |r: Request<ReserveRequest>| {
                        let stock = stock.clone();
                        async move { reserve(&stock, r.into_inner()) }
                    });
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                    grpc.unary(reserve, request).await
                }
                "/Release" => {
                    let release = tower::service_fn(move |r: Request<Lines>| {
                        stock.release(&r.into_inner().lines);
                        async { Ok::<_, Status>(Response::new(Released {})) }
                    });
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                    grpc.unary(release, request).await
                }
                _ => Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

fn reserve(stock: &Stock, request: ReserveRequest) -> Result<Response<Lines>, Status> {
    let items: Vec<(String, u32)> = request
        .items
        .into_iter()
        .map(|i| (i.sku, i.quantity))
        .collect();
    match stock.reserve(&items) {
        Ok(lines) => Ok(Response::new(Lines { lines })),
        Err(Refusal::UnknownSku) => Err(Status::not_found("an item has an unknown sku")),
        Err(Refusal::OutOfStock) => Err(Status::failed_precondition("an item is out of stock")),
    }
}

/// The inventory's methods and the health service's, as the gRPC layers are told them.
pub(crate) fn methods() -> GrpcMethods {
    use vitalsign_tower::grpc::GrpcType::Unary;
    let methods = GrpcMethods::new()
        .method(SERVICE, "Reserve", Unary)
        .method(SERVICE, "Release", Unary);
    // The health service's own descriptor set declares `Check` and `Watch` with their types.
    methods
        .clone()
        .file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .unwrap_or(methods)
}

/// The inventory service with its stock and its metrics layer, made (and its families
/// registered) before it serves, so the shop's registry is whole from the start.
pub(crate) struct Inventory {
    layer: GrpcServerLayer,
    server: InventoryServer,
}

impl Inventory {
    pub(crate) fn new() -> Self {
        Self {
            layer: GrpcServerLayer::new(&methods()),
            server: InventoryServer {
                stock: Arc::new(Stock::new()),
            },
        }
    }

    /// Serves the inventory and its health on `listener` until `shutdown` completes.
    pub(crate) async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), tonic::transport::Error> {
        let (health, health_server) = tonic_health::server::health_reporter();
        health.set_serving::<InventoryServer>().await;
        tonic::transport::Server::builder()
            .layer(self.layer)
            .add_service(health_server)
            .add_service(self.server)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                shutdown,
            )
            .await
    }
}
