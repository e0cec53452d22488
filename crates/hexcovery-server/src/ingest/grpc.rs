//! OTLP/gRPC: the Trace, Metrics and Logs services of the OpenTelemetry collector protocol,
//! authenticated by the `x-api-key` metadata, with gzip and a request-size limit.

use crate::auth::authenticate_ingest;
use crate::state::AppState;
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
use std::task::{Context, Poll};
use tonic::codec::CompressionEncoding;
use tonic::transport::server::{Server, TcpIncoming};
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct OtlpGrpc {
    state: AppState,
}

impl OtlpGrpc {
    async fn export(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        request: ExportRequest,
    ) -> Result<IngestReport, Status> {
        let key = authenticate_ingest(&self.state, &metadata.clone().into_headers()).await?;
        let size = request.encoded_len();
        super::export(&self.state, key.org_id, &request, None, size)
            .await
            .map_err(Status::from)
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
        let (metadata, _, message) = request.into_parts();
        let report = OtlpGrpc::export(self, &metadata, ExportRequest::Logs(message)).await?;
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
        let (metadata, _, message) = request.into_parts();
        let report = OtlpGrpc::export(self, &metadata, ExportRequest::Traces(message)).await?;
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
        let (metadata, _, message) = request.into_parts();
        let report = OtlpGrpc::export(self, &metadata, ExportRequest::Metrics(message)).await?;
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

/// Serves the three OTLP services on `listener` until `shutdown` resolves, then finishes
/// in-flight exports.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let limit = state.config.max_request_bytes;
    let service = OtlpGrpc { state };
    Server::builder()
        .layer(tower::layer::layer_fn(OversizeAsResourceExhausted))
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
