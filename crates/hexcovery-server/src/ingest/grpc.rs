//! OTLP/gRPC: the Trace, Metrics and Logs services of the OpenTelemetry collector protocol,
//! authenticated by the `x-api-key` metadata before the message is read ([`Gate`]), with
//! gzip, a request-size limit and the server-wide in-flight budget.

use super::{Budget, Charge};
use crate::auth::authenticate_ingest;
use crate::error::ApiError;
use crate::state::AppState;
use hexcovery_meta::ApiKeyPrincipal;
use hexcovery_store::{ExportRequest, IngestReport};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tonic::codec::CompressionEncoding;
use tonic::transport::server::{Server, TcpIncoming};
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct OtlpGrpc {
    state: AppState,
}

/// What [`Gate`] hands the services: the caller's key, the request's charge and, when the
/// message came uncompressed, its protobuf bytes as sent.
#[derive(Clone)]
struct Admitted {
    key: ApiKeyPrincipal,
    charge: Arc<Mutex<Charge>>,
    wire: Option<bytes::Bytes>,
}

/// The protobuf bytes of a gRPC body holding exactly one uncompressed message (a zero flag
/// byte, its big-endian u32 length, then the message): what the write-ahead log stores, so
/// the request is not encoded again. `None` for a compressed or any other body.
fn uncompressed_message(body: &bytes::Bytes) -> Option<bytes::Bytes> {
    let header: [u8; 5] = body.get(..5)?.try_into().ok()?;
    let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    (header[0] == 0 && length == body.len() - 5).then(|| body.slice(5..))
}

impl OtlpGrpc {
    async fn export(
        &self,
        metadata: tonic::metadata::MetadataMap,
        extensions: &tonic::Extensions,
        request: ExportRequest,
    ) -> Result<IngestReport, Status> {
        let batch_id = super::batch_id(&metadata.into_headers()).map_err(super::status)?;
        let admitted = extensions.get::<Admitted>().ok_or_else(|| {
            super::status(ApiError::internal(anyhow::anyhow!(
                "an OTLP/gRPC request reached its service without passing the gate"
            )))
        })?;
        let size = request.encoded_len();
        admitted
            .charge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .grow_by_decoded(size)
            .map_err(super::status)?;
        super::export(
            &self.state,
            admitted.key.org_id,
            &request,
            admitted.wire.clone(),
            size,
            batch_id.as_deref(),
        )
        .await
        .map_err(super::status)
    }
}

fn rejected(report: &IngestReport) -> Option<(i64, String)> {
    (report.rejected > 0).then(|| {
        (
            report.rejected as i64,
            report.rejection.clone().unwrap_or_default(),
        )
    })
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let (metadata, extensions, message) = request.into_parts();
        let report =
            OtlpGrpc::export(self, metadata, &extensions, ExportRequest::Logs(message)).await?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: rejected(&report).map(|(n, m)| ExportLogsPartialSuccess {
                rejected_log_records: n,
                error_message: m,
            }),
        }))
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let (metadata, extensions, message) = request.into_parts();
        let report =
            OtlpGrpc::export(self, metadata, &extensions, ExportRequest::Traces(message)).await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: rejected(&report).map(|(n, m)| ExportTracePartialSuccess {
                rejected_spans: n,
                error_message: m,
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let (metadata, extensions, message) = request.into_parts();
        let report =
            OtlpGrpc::export(self, metadata, &extensions, ExportRequest::Metrics(message)).await?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: rejected(&report).map(|(n, m)| ExportMetricsPartialSuccess {
                rejected_data_points: n,
                error_message: m,
            }),
        }))
    }
}

/// tonic answers an over-size message with OutOfRange; OTLP says ResourceExhausted. This
/// layer rewrites that one answer.
#[derive(Clone)]
pub struct OversizeAsResourceExhausted<S>(S);

impl<S, B> tower::Service<axum::http::Request<B>> for OversizeAsResourceExhausted<S>
where
    S: tower::Service<axum::http::Request<B>, Response = axum::http::Response<tonic::body::Body>>
        + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let future = self.0.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let oversize = response.extensions().get::<Status>().is_some_and(|s| {
                s.code() == tonic::Code::OutOfRange
                    && s.message().contains("message length too large")
            });
            if oversize {
                let code = axum::http::HeaderValue::from(tonic::Code::ResourceExhausted as i32);
                response.headers_mut().insert("grpc-status", code);
            }
            Ok(response)
        })
    }
}

/// In front of the services: authenticates from the request's headers (`x-api-key`) before
/// any of the body is read, then reads the body frame by frame against the in-flight
/// [`Budget`] and hands tonic the whole message with the caller's key and the charge, which
/// is held until the answer is made.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    state: AppState,
    budget: Budget,
}

type Answer = axum::http::Response<tonic::body::Body>;

impl<S> tower::Service<axum::http::Request<tonic::body::Body>> for Gate<S>
where
    S: tower::Service<axum::http::Request<tonic::body::Body>, Response = Answer>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<tonic::body::Body>) -> Self::Future {
        // The clone is ready only if polled; keep the polled one for this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        let budget = self.budget.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let key = match authenticate_ingest(&state, &parts.headers).await {
                Ok(key) => key,
                Err(error) => return Ok(super::status(error).into_http()),
            };
            // A gzip message may be a little larger than its content; the uncompressed limit
            // is tonic's to enforce once it has inflated it.
            let limit = state.config.max_request_bytes;
            let wire_limit = limit + limit / 64 + 1024;
            let mut charge = budget.charge(key.org_id, limit);
            let body =
                super::read_body(axum::body::Body::new(body), &mut charge, wire_limit, || {
                    super::http::too_large(limit)
                })
                .await;
            let body = match body {
                Ok(body) => body,
                Err(error) => return Ok(super::status(error).into_http()),
            };
            let charge = Arc::new(Mutex::new(charge));
            parts.extensions.insert(Admitted {
                key,
                charge: Arc::clone(&charge),
                wire: uncompressed_message(&body),
            });
            let request = axum::http::Request::from_parts(
                parts,
                tonic::body::Body::new(axum::body::Body::from(body)),
            );
            let answer = inner.call(request).await;
            drop(charge);
            answer
        })
    }
}

/// Serves the three OTLP services on `listener` until `shutdown` resolves, then finishes
/// in-flight exports.
pub async fn serve(
    state: AppState,
    budget: Budget,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let limit = state.config.max_request_bytes;
    let gate_state = state.clone();
    let service = OtlpGrpc { state };
    Server::builder()
        .layer(tower::layer::layer_fn(OversizeAsResourceExhausted))
        .layer(tower::layer::layer_fn(move |inner| Gate {
            inner,
            state: gate_state.clone(),
            budget: budget.clone(),
        }))
        .add_service(
            LogsServiceServer::new(service.clone())
                .max_decoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            TraceServiceServer::new(service.clone())
                .max_decoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            MetricsServiceServer::new(service)
                .max_decoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip),
        )
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::uncompressed_message;
    use bytes::Bytes;

    #[test]
    fn only_a_whole_uncompressed_frame_yields_its_message() {
        let frame = |flag: u8, length: u32, message: &[u8]| {
            let mut body = vec![flag];
            body.extend_from_slice(&length.to_be_bytes());
            body.extend_from_slice(message);
            Bytes::from(body)
        };
        assert_eq!(
            uncompressed_message(&frame(0, 3, b"abc")).as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(
            uncompressed_message(&frame(0, 0, b"")).as_deref(),
            Some(&b""[..])
        );
        // Compressed, a length that is not the rest of the body (two frames, or cut short),
        // and a body shorter than a frame header.
        assert_eq!(uncompressed_message(&frame(1, 3, b"abc")), None);
        assert_eq!(uncompressed_message(&frame(0, 2, b"abc")), None);
        assert_eq!(uncompressed_message(&frame(0, 4, b"abc")), None);
        assert_eq!(uncompressed_message(&Bytes::from_static(&[0, 0, 0])), None);
    }
}
