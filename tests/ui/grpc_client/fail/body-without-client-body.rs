// A channel whose request body the client layer cannot hand back (as tonic's is without the
// `tonic` feature): the error names the feature.
use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use vitalsign_tower::grpc::{GrpcClientLayer, GrpcMethods};

/// What a gRPC client (tonic's `Grpc::new`) asks of the service it is given.
fn grpc_client<S: Service<Request<Full<Bytes>>>>(service: S) -> S {
    service
}

fn main() {
    let channel = service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let _ = grpc_client(GrpcClientLayer::new(&GrpcMethods::new()).layer(channel));
}
