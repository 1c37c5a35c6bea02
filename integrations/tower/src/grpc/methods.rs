//! The methods a gRPC server serves (or a client may call): the only values the `grpc_service`
//! and `grpc_method` labels take, besides the one shared by every path that names none.

use super::descriptor::{self, DescriptorError};

/// The kind of a gRPC method: the `grpc_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrpcType {
    /// One request, one response: `unary`.
    Unary,
    /// A stream of requests, one response: `client_stream`.
    ClientStream,
    /// One request, a stream of responses: `server_stream`.
    ServerStream,
    /// Streams both ways: `bidi_stream`.
    BidiStream,
}

impl GrpcType {
    /// The `grpc_type` label value, as Go's middleware writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrpcType::Unary => "unary",
            GrpcType::ClientStream => "client_stream",
            GrpcType::ServerStream => "server_stream",
            GrpcType::BidiStream => "bidi_stream",
        }
    }

    /// The type of a method that streams its requests, its responses, both or neither.
    pub const fn from_streaming(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => GrpcType::Unary,
            (true, false) => GrpcType::ClientStream,
            (false, true) => GrpcType::ServerStream,
            (true, true) => GrpcType::BidiStream,
        }
    }
}

/// The labels of calls whose path names no declared method: `grpc_type="unknown"`,
/// `grpc_service="_OTHER"`, `grpc_method="_OTHER"`. Random paths all land here.
pub const OTHER: &str = "_OTHER";
pub(crate) const UNKNOWN_TYPE: &str = "unknown";

/// One declared method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Method {
    pub(crate) service: Box<str>,
    pub(crate) method: Box<str>,
    pub(crate) kind: GrpcType,
}

/// The methods a gRPC layer knows, from a list you give, from a protobuf descriptor set (what
/// `tonic-build` writes with `file_descriptor_set_path`, and what `tonic-health` and
/// `tonic-reflection` ship), or both.
///
/// ```
/// use vitalsign_tower::grpc::{GrpcMethods, GrpcType};
///
/// let methods = GrpcMethods::new()
///     .method("shop.v1.Inventory", "Reserve", GrpcType::Unary)
///     .method("shop.v1.Inventory", "WatchStock", GrpcType::ServerStream);
/// assert_eq!(methods.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct GrpcMethods {
    pub(crate) methods: Vec<Method>,
}

impl GrpcMethods {
    /// No methods yet: every call would be `_OTHER`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `service`'s (fully qualified, `package.Service`) method `method`. Declaring a
    /// method again keeps the first declaration.
    #[must_use]
    pub fn method(mut self, service: &str, method: &str, kind: GrpcType) -> Self {
        if !self
            .methods
            .iter()
            .any(|m| &*m.service == service && &*m.method == method)
        {
            self.methods.push(Method {
                service: service.into(),
                method: method.into(),
                kind,
            });
        }
        self
    }

    /// Declares every method of every service in an encoded `google.protobuf.FileDescriptorSet`.
    ///
    /// ```
    /// use vitalsign_tower::grpc::GrpcMethods;
    ///
    /// // An empty set holds no service.
    /// assert_eq!(GrpcMethods::new().file_descriptor_set(&[])?.len(), 0);
    /// // Bytes that are not a descriptor set are an error that says so.
    /// let err = GrpcMethods::new().file_descriptor_set(&[0xff, 0xff]).unwrap_err();
    /// assert!(err.to_string().starts_with("not a protobuf FileDescriptorSet: "));
    /// # Ok::<(), vitalsign_tower::grpc::DescriptorError>(())
    /// ```
    pub fn file_descriptor_set(mut self, bytes: &[u8]) -> Result<Self, DescriptorError> {
        for m in descriptor::methods(bytes)? {
            let kind = GrpcType::from_streaming(m.client_streaming, m.server_streaming);
            self = self.method(&m.service, &m.method, kind);
        }
        Ok(self)
    }

    /// How many methods are declared.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// Whether no method is declared.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// Every declared method's path, `/package.Service/Method`, in declaration order.
    pub(crate) fn paths(&self) -> Vec<Box<str>> {
        self.methods
            .iter()
            .map(|m| format!("/{}/{}", m.service, m.method).into())
            .collect()
    }
}
