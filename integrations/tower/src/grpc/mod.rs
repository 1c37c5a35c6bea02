//! gRPC servers and clients: tower layers that record what Go's
//! `go-grpc-middleware/providers/prometheus` records, under its names, so its dashboards work.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `grpc_server_started_total` | counter | `grpc_type`, `grpc_service`, `grpc_method` |
//! | `grpc_server_handled_total` | counter | the same and `grpc_code` |
//! | `grpc_server_msg_received_total`, `grpc_server_msg_sent_total` | counter | as started |
//! | `grpc_server_handling_seconds` | histogram (classic and native) | as started |
//! | `grpc_client_*` | the same five, seen by the caller | the same |
//!
//! gRPC is HTTP/2 with a path `/package.Service/Method` and a `grpc-status`, so the layers
//! need no gRPC library: [`GrpcServerLayer`] goes on tonic's `Server::builder().layer(..)` (or
//! any tower HTTP server), [`GrpcClientLayer`] around a tonic `Channel` — which needs this
//! crate's `tonic` feature (`features = ["tonic"]`), so the layer can hand tonic's request
//! body back to the channel ([`ClientBody`]).
//!
//! - **Methods** are the ones you declare ([`GrpcMethods`], by hand or from a descriptor set);
//!   a path that names none is `grpc_service="_OTHER"`, `grpc_method="_OTHER"`,
//!   `grpc_type="unknown"`, so random paths add no series. Every declared method x code exists
//!   at zero from the start.
//! - **The status** is the one the peer sees: the `grpc-status` of a Trailers-Only response's
//!   headers, else of the trailers at the end of the body; an HTTP status other than 200
//!   without one maps as gRPC says (404 is `Unimplemented`, 503 `Unavailable`, ...); a body
//!   that ends without a status is `Unknown`; a call abandoned before its end (response future
//!   or body dropped) is `Canceled`, or `DeadlineExceeded` once its `grpc-timeout` has passed.
//!   On a client, a call the channel fails (no response at all) is `Unavailable`.
//! - **Durations** run from the request to the end of the response stream.
//! - **Messages** are counted in the bodies as they pass, each length-prefixed gRPC message
//!   once, however frames split it.
//! - **Trace context**: a server makes the request's `traceparent` current for the handler
//!   (and its exemplars); a client sends the current context as `traceparent`.
//! - For objectives, [`Code::is_server_error`] is the split between a server's failures and a
//!   caller's mistakes.
//!
//! **Declaring methods.** With `tonic-build` (or `tonic-prost-build`), have it write a
//! descriptor set next to the generated code (`.file_descriptor_set_path(out_dir.join("shop.bin"))`)
//! and declare every method of it at once:
//! `GrpcMethods::new().file_descriptor_set(include_bytes!(concat!(env!("OUT_DIR"), "/shop.bin")))?`
//! ([`GrpcMethods::file_descriptor_set`], which reads the set off the protobuf wire: the layers
//! depend on no protobuf crate); `tonic-health` ships its own descriptor set for `grpc.health.v1.Health`. Without a build
//! step (no `protoc`), declare methods by hand with [`GrpcMethods::method`], as the checkout
//! example's inventory service does: it is written as `tonic-build` would generate it, with
//! `prost`'s derive for the messages.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use vitalsign_tower::grpc::{GrpcClientLayer, GrpcMethods, GrpcServerLayer, GrpcType};
//!
//! let methods = GrpcMethods::new()
//!     .method("shop.v1.Inventory", "Reserve", GrpcType::Unary);
//! // Server: tonic::transport::Server::builder().layer(GrpcServerLayer::new(&methods))
//! let server_layer = GrpcServerLayer::new(&methods);
//! // Client (feature `tonic`):
//! // tower::ServiceBuilder::new().layer(GrpcClientLayer::new(&methods)).service(channel)
//! let client_layer = GrpcClientLayer::new(&methods);
//! # let _ = (server_layer, client_layer);
//! # Ok(())
//! # }
//! ```

mod body;
mod code;
mod descriptor;
mod future;
mod layer;
mod methods;
mod metrics;
mod service;

pub use body::{GrpcRequestBody, GrpcResponseBody};
pub use code::Code;
pub use descriptor::DescriptorError;
pub use future::GrpcResponseFuture;
pub use layer::{GrpcClientLayer, GrpcLayerBuilder, GrpcServerLayer};
pub use methods::{GrpcMethods, GrpcType, OTHER};
pub use service::{ClientBody, GrpcClientService, GrpcServerService};
