//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` with protobuf or JSON bodies,
//! optionally gzip-compressed, answered as the OTLP specification says: the export response
//! (with partial success when records were rejected) in the request's encoding, or a
//! `google.rpc.Status` with the matching HTTP status.

use super::Budget;
use crate::auth::authenticate_ingest;
use crate::error::{ApiError, ErrorClass};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hexcovery_store::{ExportRequest, IngestReport, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::io::Read as _;
use tower_http::trace::TraceLayer;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// `google.rpc.Status`, the body of OTLP/HTTP error answers.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

/// The OTLP/HTTP routes; `budget` is the in-flight budget the gRPC services share.
pub fn router(state: AppState, budget: Budget) -> Router {
    let route = |signal: Signal| {
        let budget = budget.clone();
        post(move |State(s): State<AppState>, r: Request| export(s, budget, r, signal))
    };
    Router::new()
        .route("/v1/logs", route(Signal::Logs))
        .route("/v1/traces", route(Signal::Spans))
        .route("/v1/metrics", route(Signal::Metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn error_response(error: ApiError, encoding: Encoding) -> Response {
    let status = RpcStatus {
        code: error.class.grpc_code() as i32,
        message: error.message.clone(),
    };
    error.log_internal();
    let mut response = match encoding {
        Encoding::Protobuf => {
            ([(header::CONTENT_TYPE, PROTOBUF)], status.encode_to_vec()).into_response()
        }
        Encoding::Json => (
            [(header::CONTENT_TYPE, JSON)],
            serde_json::json!({ "code": status.code, "message": status.message }).to_string(),
        )
            .into_response(),
    };
    *response.status_mut() = error.class.http_status();
    if let Some(secs) = error.retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn media_type(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        PROTOBUF | "application/protobuf" => Ok(Encoding::Protobuf),
        JSON => Ok(Encoding::Json),
        other => Err(ApiError::new(
            ErrorClass::UnsupportedMediaType,
            "unsupported_media_type",
            format!(
                "Content-Type {other:?} is not supported: send application/x-protobuf or application/json"
            ),
        )),
    }
}

/// Whether the body is gzip-compressed (`Content-Encoding: gzip`), or 415 for another coding.
fn content_encoding(headers: &HeaderMap) -> Result<bool, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(false),
        "gzip" => Ok(true),
        other => Err(ApiError::new(
            ErrorClass::UnsupportedMediaType,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported: send gzip or no encoding"),
        )),
    }
}

/// Inflates every member of a gzip body (RFC 1952 allows several, concatenated), refusing
/// to inflate past `limit` bytes in all.
fn gunzip(body: &[u8], limit: usize) -> Result<Bytes, ApiError> {
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_gzip",
                format!("the gzip body could not be decompressed: {e}"),
            )
        })?;
    if inflated.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Bytes::from(inflated))
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorClass::TooLarge,
        "request_too_large",
        format!(
            "the request is larger than the {limit}-byte limit (uncompressed); send smaller batches"
        ),
    )
}

fn partial<T>(report: &IngestReport, make: impl FnOnce(i64, String) -> T) -> Option<T> {
    (report.rejected > 0).then(|| {
        make(
            report.rejected as i64,
            report.rejection.clone().unwrap_or_default(),
        )
    })
}

fn success(report: &IngestReport, encoding: Encoding) -> Response {
    macro_rules! answer {
        ($response:expr) => {{
            let response = $response;
            match encoding {
                Encoding::Protobuf => {
                    ([(header::CONTENT_TYPE, PROTOBUF)], response.encode_to_vec()).into_response()
                }
                // Full success is `{}` in OTLP/JSON; partial success names the rejections.
                Encoding::Json if report.rejected == 0 => {
                    ([(header::CONTENT_TYPE, JSON)], "{}").into_response()
                }
                Encoding::Json => (
                    [(header::CONTENT_TYPE, JSON)],
                    serde_json::to_string(&response).unwrap_or_else(|_| "{}".into()),
                )
                    .into_response(),
            }
        }};
    }
    match report.signal {
        Signal::Logs => answer!(ExportLogsServiceResponse {
            partial_success: partial(report, |n, m| ExportLogsPartialSuccess {
                rejected_log_records: n,
                error_message: m
            }),
        }),
        Signal::Spans => answer!(ExportTraceServiceResponse {
            partial_success: partial(report, |n, m| ExportTracePartialSuccess {
                rejected_spans: n,
                error_message: m
            }),
        }),
        Signal::Metrics => answer!(ExportMetricsServiceResponse {
            partial_success: partial(report, |n, m| ExportMetricsPartialSuccess {
                rejected_data_points: n,
                error_message: m
            }),
        }),
    }
}

async fn export(state: AppState, budget: Budget, request: Request, signal: Signal) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // Errors answer in the request's encoding when it is a known one.
    let answer_as = media_type(&headers).unwrap_or(Encoding::Json);
    let limit = state.config.max_request_bytes;
    let result = async {
        // Credentials and headers first: nothing of the body is read for a caller without a
        // key, or for a request refused on its headers.
        let key = authenticate_ingest(&state, &headers).await?;
        let encoding = media_type(&headers)?;
        let gzip = content_encoding(&headers)?;
        let batch_id = super::batch_id(&headers)?;
        let mut charge = budget.charge(key.org_id, limit);
        if let Some(declared) = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            if declared > limit as u64 {
                return Err(too_large(limit));
            }
            charge.grow_to(declared as usize)?;
        }
        let body = super::read_body(body, &mut charge, limit, || too_large(limit)).await?;
        let body = if gzip {
            let inflated = gunzip(&body, limit)?;
            charge.grow_to(body.len() + inflated.len())?;
            inflated
        } else {
            body
        };
        match encoding {
            Encoding::Protobuf => charge.grow_by_decoded(body.len())?,
            Encoding::Json => charge.grow_by_decoded_json(body.len())?,
        }
        let request = match encoding {
            Encoding::Protobuf => ExportRequest::decode_protobuf(signal, &body),
            Encoding::Json => ExportRequest::decode_json(signal, &body),
        }
        .map_err(|e| ApiError::bad_request("invalid_otlp", e.0))?;
        let wire = (encoding == Encoding::Protobuf).then(|| body.clone());
        let report = super::export(
            &state,
            key.org_id,
            &request,
            wire,
            body.len(),
            batch_id.as_deref(),
        )
        .await?;
        drop(charge);
        Ok::<_, ApiError>(success(&report, encoding))
    }
    .await;
    result.unwrap_or_else(|error| error_response(error, answer_as))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn media_types_follow_otlp() {
        assert!(
            media_type(&headers(&[("content-type", "application/x-protobuf")]))
                .is_ok_and(|e| e == Encoding::Protobuf)
        );
        assert!(
            media_type(&headers(&[(
                "content-type",
                "application/json; charset=utf-8"
            )]))
            .is_ok_and(|e| e == Encoding::Json)
        );
        let refused = media_type(&headers(&[("content-type", "text/plain")])).unwrap_err();
        assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn gzip_is_inflated_within_the_limit() {
        use flate2::write::GzEncoder;
        use std::io::Write as _;
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&[b'a'; 10_000]).unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(gunzip(&gz, 10_000).unwrap().len(), 10_000);
        assert_eq!(
            gunzip(&gz, 9_999).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            gunzip(b"not gzip", 100).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
        assert!(content_encoding(&headers(&[("content-encoding", "gzip")])).unwrap());
        assert!(!content_encoding(&headers(&[])).unwrap());
        let br = headers(&[("content-encoding", "br")]);
        assert_eq!(
            content_encoding(&br).unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn every_gzip_member_is_inflated_and_the_limit_covers_them_all() {
        use flate2::write::GzEncoder;
        use std::io::Write as _;
        let member = |data: &[u8]| {
            let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        };
        let mut body = member(b"first ");
        body.extend(member(b"second"));
        assert_eq!(gunzip(&body, 100).unwrap().as_ref(), b"first second");
        assert_eq!(
            gunzip(&body, 11).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
