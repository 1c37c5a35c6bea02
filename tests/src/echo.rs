//! `vitalsign.test.Echo`, a gRPC service written as tonic's generated code would be (no
//! `protoc`), for the gRPC layers' tests: a unary method, and one method of each streaming kind.
//!
//! Every request says how to answer: `count` replies on a stream, a pause of `delay_ms` before
//! each, then the status `fail_code` (0 is OK). A unary reply's text is the request's, or the
//! trace id current in the handler when the text is `"trace"`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::codegen::http;
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

/// A request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoRequest {
    /// Echoed back.
    #[prost(string, tag = "1")]
    pub text: String,
    /// Replies on a server stream.
    #[prost(uint32, tag = "2")]
    pub count: u32,
    /// The status to end with, 0 for OK.
    #[prost(int32, tag = "3")]
    pub fail_code: i32,
    /// A pause before each reply.
    #[prost(uint32, tag = "4")]
    pub delay_ms: u32,
}

/// A reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoReply {
    /// The request's text.
    #[prost(string, tag = "1")]
    pub text: String,
}

/// The service's name.
pub const SERVICE: &str = "vitalsign.test.Echo";

/// Its methods, as the layers are told them.
pub fn methods() -> vitalsign_tower::grpc::GrpcMethods {
    use vitalsign_tower::grpc::GrpcType;
    vitalsign_tower::grpc::GrpcMethods::new()
        .method(SERVICE, "Unary", GrpcType::Unary)
        .method(SERVICE, "ServerStream", GrpcType::ServerStream)
        .method(SERVICE, "ClientStream", GrpcType::ClientStream)
        .method(SERVICE, "Bidi", GrpcType::BidiStream)
}

fn status(request: &EchoRequest) -> Result<(), Status> {
    match request.fail_code {
        0 => Ok(()),
        code => Err(Status::new(tonic::Code::from_i32(code), "asked to fail")),
    }
}

async fn pause(request: &EchoRequest) {
    if request.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(request.delay_ms))).await;
    }
}

async fn unary(request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
    let request = request.into_inner();
    pause(&request).await;
    status(&request)?;
    let text = match request.text.as_str() {
        "trace" => vitalsign::trace::current().map_or_else(String::new, |cx| cx.to_string()),
        _ => request.text,
    };
    Ok(Response::new(EchoReply { text }))
}

type ReplyStream = Pin<Box<dyn futures_core::Stream<Item = Result<EchoReply, Status>> + Send>>;

async fn server_stream(request: Request<EchoRequest>) -> Result<Response<ReplyStream>, Status> {
    let request = request.into_inner();
    let stream = async_stream(request);
    Ok(Response::new(Box::pin(stream)))
}

/// `count` replies, then the request's status.
fn async_stream(
    request: EchoRequest,
) -> impl futures_core::Stream<Item = Result<EchoReply, Status>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for i in 0..request.count {
            pause(&request).await;
            let reply = EchoReply {
                text: format!("{} {i}", request.text),
            };
            if tx.send(Ok(reply)).await.is_err() {
                return;
            }
        }
        if let Err(status) = status(&request) {
            let _ = tx.send(Err(status)).await;
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

async fn client_stream(
    request: Request<Streaming<EchoRequest>>,
) -> Result<Response<EchoReply>, Status> {
    let mut stream = request.into_inner();
    let mut text = Vec::new();
    while let Some(message) = stream.message().await? {
        text.push(message.text);
    }
    Ok(Response::new(EchoReply {
        text: text.join(" "),
    }))
}

async fn bidi(request: Request<Streaming<EchoRequest>>) -> Result<Response<ReplyStream>, Status> {
    let mut stream = request.into_inner();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let reply = match stream.message().await {
                Ok(Some(m)) => Ok(EchoReply { text: m.text }),
                Ok(None) => return,
                Err(status) => Err(status),
            };
            if tx.send(reply).await.is_err() {
                return;
            }
        }
    });
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    )))
}

/// The server: route by path, as generated code does.
#[derive(Clone, Debug, Default)]
pub struct EchoServer;

impl tonic::server::NamedService for EchoServer {
    const NAME: &'static str = SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

impl<B> tower::Service<http::Request<B>> for EchoServer
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
        let path = request.uri().path();
        let path = path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(SERVICE))
            .unwrap_or("")
            .to_owned();
        Box::pin(async move {
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<EchoReply, EchoRequest>::default());
            Ok(match path.as_str() {
                "/Unary" => grpc.unary(tower::service_fn(unary), request).await,
                "/ServerStream" => {
                    grpc.server_streaming(tower::service_fn(server_stream), request)
                        .await
                }
                "/ClientStream" => {
                    grpc.client_streaming(tower::service_fn(client_stream), request)
                        .await
                }
                "/Bidi" => grpc.streaming(tower::service_fn(bidi), request).await,
                _ => Status::unimplemented("no such method").into_http(),
            })
        })
    }
}
