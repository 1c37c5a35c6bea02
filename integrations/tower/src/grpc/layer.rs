//! [`GrpcServerLayer`], [`GrpcClientLayer`] and the builder they share.

use std::marker::PhantomData;
use std::sync::Arc;

use tower::Layer;
use vitalsign::Registry;

use crate::options::{DurationBuckets, duration_bucket_options};

use super::methods::GrpcMethods;
use super::metrics::{Families, GrpcMetrics, Side};
use super::service::{GrpcClientService, GrpcServerService};

/// Instruments every call a gRPC server serves with `grpc_server_*` (see the
/// [module docs](super)).
///
/// [`GrpcServerLayer::new`] records into families in the default registry that every layer made
/// that way shares; [`GrpcServerLayer::builder`] chooses the registry and buckets.
#[derive(Clone, Debug)]
pub struct GrpcServerLayer {
    metrics: Arc<GrpcMetrics>,
}

/// Instruments every call a gRPC client makes with `grpc_client_*` (see the
/// [module docs](super)).
#[derive(Clone, Debug)]
pub struct GrpcClientLayer {
    metrics: Arc<GrpcMetrics>,
}

macro_rules! layer {
    ($layer:ident, $service:ident, $side:expr) => {
        impl $layer {
            /// A layer for `methods`, recording into the default registry. Every method x
            /// code series exists, at zero, once this returns.
            pub fn new(methods: &GrpcMethods) -> Self {
                let families = Families::shared_default($side);
                Self {
                    metrics: Arc::new(GrpcMetrics::new($side, &families, methods)),
                }
            }

            /// A builder for a layer with families of its own.
            pub fn builder(methods: GrpcMethods) -> GrpcLayerBuilder<'static, Self> {
                GrpcLayerBuilder::new(methods)
            }
        }

        impl<S> Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service::new(inner, self.metrics.clone())
            }
        }

        impl GrpcLayerBuilder<'_, $layer> {
            /// Registers the families (and every declared series, at zero); fails if a name is
            /// taken in the registry.
            pub fn build(self) -> vitalsign::Result<$layer> {
                let registry = self
                    .registry
                    .unwrap_or_else(|| vitalsign::default_registry());
                let families =
                    Families::registered(registry, $side, self.durations, self.handling_time)?;
                let metrics = GrpcMetrics::new($side, &families, &self.methods);
                Ok($layer {
                    metrics: Arc::new(metrics),
                })
            }
        }
    };
}

layer!(GrpcServerLayer, GrpcServerService, Side::Server);
layer!(GrpcClientLayer, GrpcClientService, Side::Client);

/// Configures a [`GrpcServerLayer`] or a [`GrpcClientLayer`] with families of its own.
///
/// ```
/// use vitalsign::{Buckets, Format, Registry};
/// use vitalsign_tower::grpc::{GrpcMethods, GrpcServerLayer, GrpcType};
///
/// let registry = Registry::new();
/// let methods = GrpcMethods::new().method("shop.v1.Inventory", "Reserve", GrpcType::Unary);
/// let layer = GrpcServerLayer::builder(methods)
///     .registry(&registry)
///     .buckets(Buckets::new([0.1, 1.0])?)
///     .classic_only()
///     .build()?;
/// let text = registry.render(Format::Prometheus);
/// // Every declared method x code is there before the first call, and one row for the rest.
/// assert!(text.contains(concat!(
///     "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"shop.v1.Inventory\",",
///     "grpc_method=\"Reserve\",grpc_code=\"NotFound\"} 0\n",
/// )));
/// assert_eq!(text.lines().filter(|l| l.starts_with("grpc_server_handled_total{")).count(), 34);
/// assert!(text.contains(concat!(
///     "grpc_server_started_total{grpc_type=\"unknown\",grpc_service=\"_OTHER\",",
///     "grpc_method=\"_OTHER\"} 0\n",
/// )));
/// # let _ = layer;
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct GrpcLayerBuilder<'r, L> {
    methods: GrpcMethods,
    registry: Option<&'r Registry>,
    durations: DurationBuckets,
    handling_time: bool,
    layer: PhantomData<fn() -> L>,
}

impl<L> std::fmt::Debug for GrpcLayerBuilder<'_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcLayerBuilder")
            .field("methods", &self.methods)
            .field("durations", &self.durations)
            .field("handling_time", &self.handling_time)
            .finish_non_exhaustive()
    }
}

impl<L> GrpcLayerBuilder<'_, L> {
    fn new(methods: GrpcMethods) -> Self {
        Self {
            methods,
            registry: None,
            durations: DurationBuckets::default(),
            handling_time: true,
            layer: PhantomData,
        }
    }

    /// Registers the families in `registry` instead of the default one.
    pub fn registry<'s>(self, registry: &'s Registry) -> GrpcLayerBuilder<'s, L> {
        GrpcLayerBuilder {
            methods: self.methods,
            registry: Some(registry),
            durations: self.durations,
            handling_time: self.handling_time,
            layer: PhantomData,
        }
    }

    // The buckets of `*_handling_seconds` (Prometheus' latency buckets by default, as Go's).
    duration_bucket_options!();

    /// No `*_handling_seconds` histogram: calls and messages are still counted by method and
    /// code. The histogram is most of a layer's series (each declared method's buckets); Go's
    /// middleware leaves it off unless asked, this layer keeps it unless told.
    pub fn without_handling_time(mut self) -> Self {
        self.handling_time = false;
        self
    }
}
