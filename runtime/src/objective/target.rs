//! What an objective is measured on: an instrumented function, or a call one of vitalsign's
//! layers measures (an outbound HTTP call, an HTTP route, a gRPC method on either end). Each
//! says which series count its calls, which of those are failures, and which histogram times
//! them.

/// What an objective is measured on.
///
/// ```
/// use vitalsign::objective::Target;
///
/// // The payment provider the shop calls: `http_client_request_duration_seconds` with
/// // `http_request_method="POST"` and `server_address="payments.example.com"`.
/// let call = Target::http_client("POST", "payments.example.com");
/// assert_eq!(call.to_string(), "POST to payments.example.com");
/// let method = Target::grpc_server("shop.v1.Inventory", "Reserve");
/// assert_eq!(method.to_string(), "shop.v1.Inventory/Reserve");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Target {
    /// An `#[instrument_metrics]` function: `function_calls_total`, failures `result="error"`,
    /// timed by `function_calls_duration_seconds`.
    Function {
        /// The `function` label.
        function: String,
        /// The `module` label.
        module: String,
    },
    /// Calls a client makes through `vitalsign_tower::client::HttpClientLayer`: counted and
    /// timed by `http_client_request_duration_seconds`; failures are calls that got no
    /// response (`error_type` `timeout`, `connect`, ...) or a 5xx or 429 status. Other 4xx
    /// answers are the caller's (a declined card is the provider working), not the callee
    /// failing.
    HttpClient {
        /// The `http_request_method` label.
        method: String,
        /// The `server_address` label.
        server_address: String,
        /// The `server_port` label, when the objective is about one port of the host (two
        /// services on one host, everything on `127.0.0.1`); every port when `None`.
        server_port: Option<u16>,
        /// The `url_template` label (a layer built with `url_templates`), when the objective is
        /// about one API of the host; every path when `None`.
        url_template: Option<String>,
    },
    /// Requests a server answers through `vitalsign_tower::MetricsLayer`: counted and timed by
    /// `http_server_request_duration_seconds`; failures are 5xx responses.
    HttpServer {
        /// The `http_request_method` label.
        method: String,
        /// The `http_route` label.
        route: String,
    },
    /// A gRPC method a server serves through `vitalsign_tower::grpc::GrpcServerLayer`:
    /// `grpc_server_handled_total`, timed by `grpc_server_handling_seconds`; failures are the
    /// codes that mean the server failed (`Unknown`, `DeadlineExceeded`, `Unimplemented`,
    /// `Internal`, `Unavailable`, `DataLoss`), not a caller's `NotFound` or `InvalidArgument`.
    GrpcServer {
        /// The `grpc_service` label.
        service: String,
        /// The `grpc_method` label.
        method: String,
    },
    /// A gRPC method a client calls through `vitalsign_tower::grpc::GrpcClientLayer`:
    /// `grpc_client_handled_total` and `grpc_client_handling_seconds`, failures as for
    /// [`Target::GrpcServer`].
    GrpcClient {
        /// The `grpc_service` label.
        service: String,
        /// The `grpc_method` label.
        method: String,
    },
}

/// The gRPC codes that mean the server failed, as OpenTelemetry's RPC conventions split them.
const GRPC_SERVER_ERRORS: &str =
    r#"grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss""#;

impl Target {
    /// An instrumented function (what `#[instrument_metrics(objective = ..)]` attaches).
    pub fn function(function: &str, module: &str) -> Self {
        Target::Function {
            function: function.into(),
            module: module.into(),
        }
    }

    /// Outbound HTTP calls with `method` to `server_address`, whatever the port and path
    /// (narrow it with [`port`](Self::port) and [`url_template`](Self::url_template)).
    pub fn http_client(method: &str, server_address: &str) -> Self {
        Target::HttpClient {
            method: method.into(),
            server_address: server_address.into(),
            server_port: None,
            url_template: None,
        }
    }

    /// An outbound HTTP target on `port` only: one of several services one host serves. Other
    /// targets are returned as they are.
    ///
    /// ```
    /// use vitalsign::objective::Target;
    ///
    /// let charges = Target::http_client("POST", "127.0.0.1")
    ///     .port(8443)
    ///     .url_template("/v1/charges");
    /// assert_eq!(charges.to_string(), "POST to 127.0.0.1:8443/v1/charges");
    /// ```
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        if let Target::HttpClient { server_port, .. } = &mut self {
            *server_port = Some(port);
        }
        self
    }

    /// An outbound HTTP target on the calls whose path matched `template` (the
    /// `url_template` label of a client layer built with `url_templates`): one API of a host.
    /// Other targets are returned as they are.
    #[must_use]
    pub fn url_template(mut self, template: &str) -> Self {
        if let Target::HttpClient { url_template, .. } = &mut self {
            *url_template = Some(template.to_owned());
        }
        self
    }

    /// Requests to an HTTP server's `route` (its template) with `method`.
    pub fn http_server(method: &str, route: &str) -> Self {
        Target::HttpServer {
            method: method.into(),
            route: route.into(),
        }
    }

    /// gRPC `service`/`method` as its server sees it.
    pub fn grpc_server(service: &str, method: &str) -> Self {
        Target::GrpcServer {
            service: service.into(),
            method: method.into(),
        }
    }

    /// gRPC `service`/`method` as its callers see it.
    pub fn grpc_client(service: &str, method: &str) -> Self {
        Target::GrpcClient {
            service: service.into(),
            method: method.into(),
        }
    }

    /// The label matchers that select this target's series: `function="f",module="m"`.
    pub(crate) fn selector(&self) -> String {
        let pair = |a: &str, x: &str, b: &str, y: &str| {
            format!("{a}=\"{}\",{b}=\"{}\"", quote(x), quote(y))
        };
        match self {
            Target::Function { function, module } => pair("function", function, "module", module),
            Target::HttpClient {
                method,
                server_address,
                server_port,
                url_template,
            } => {
                let mut sel = pair(
                    "http_request_method",
                    method,
                    "server_address",
                    server_address,
                );
                if let Some(port) = server_port {
                    sel.push_str(&format!(",server_port=\"{port}\""));
                }
                if let Some(template) = url_template {
                    sel.push_str(&format!(",url_template=\"{}\"", quote(template)));
                }
                sel
            }
            Target::HttpServer { method, route } => {
                pair("http_request_method", method, "http_route", route)
            }
            Target::GrpcServer { service, method } | Target::GrpcClient { service, method } => {
                pair("grpc_service", service, "grpc_method", method)
            }
        }
    }

    /// The histogram that times the target's calls.
    pub(crate) fn duration(&self) -> &'static str {
        match self {
            Target::Function { .. } => "function_calls_duration_seconds",
            Target::HttpClient { .. } => "http_client_request_duration_seconds",
            Target::HttpServer { .. } => "http_server_request_duration_seconds",
            Target::GrpcServer { .. } => "grpc_server_handling_seconds",
            Target::GrpcClient { .. } => "grpc_client_handling_seconds",
        }
    }

    /// The counter of the target's calls, if it has one; HTTP calls are counted by their
    /// duration histogram.
    pub(crate) fn counter(&self) -> Option<&'static str> {
        match self {
            Target::Function { .. } => Some("function_calls_total"),
            Target::GrpcServer { .. } => Some("grpc_server_handled_total"),
            Target::GrpcClient { .. } => Some("grpc_client_handled_total"),
            Target::HttpClient { .. } | Target::HttpServer { .. } => None,
        }
    }

    /// The matcher that selects the failed calls among them.
    pub(crate) fn failures(&self) -> &'static str {
        match self {
            Target::Function { .. } => r#"result="error""#,
            Target::HttpClient { .. } => r#"error_type=~"5..|429|[^0-9].*""#,
            Target::HttpServer { .. } => r#"http_response_status_code=~"5..""#,
            Target::GrpcServer { .. } | Target::GrpcClient { .. } => GRPC_SERVER_ERRORS,
        }
    }

    /// Whether every failure series exists from the start (at zero), so a failure ratio over
    /// them is 0 rather than absent before the first failure.
    pub(crate) fn failures_exist_at_zero(&self) -> bool {
        self.counter().is_some()
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Function { function, .. } => f.write_str(function),
            Target::HttpClient {
                method,
                server_address,
                server_port,
                url_template,
            } => {
                write!(f, "{method} to {server_address}")?;
                if let Some(port) = server_port {
                    write!(f, ":{port}")?;
                }
                f.write_str(url_template.as_deref().unwrap_or(""))
            }
            Target::HttpServer { method, route } => write!(f, "{method} {route}"),
            Target::GrpcServer { service, method } | Target::GrpcClient { service, method } => {
                write!(f, "{service}/{method}")
            }
        }
    }
}

/// `s` as a PromQL double-quoted string's content.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
