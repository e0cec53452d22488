//! OTLP export requests: decoding from protobuf or OTLP/JSON, encoding for the write-ahead
//! log, and conversion to rows.

use crate::Signal;
use crate::convert::{self, Converted};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ExportRequest {
    Logs(ExportLogsServiceRequest),
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

/// Why a request body could not be decoded; the message says where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl ExportRequest {
    pub fn signal(&self) -> Signal {
        match self {
            ExportRequest::Logs(_) => Signal::Logs,
            ExportRequest::Traces(_) => Signal::Spans,
            ExportRequest::Metrics(_) => Signal::Metrics,
        }
    }

    pub fn decode_protobuf(signal: Signal, bytes: &[u8]) -> Result<Self, DecodeError> {
        let error = |e: prost::DecodeError| {
            DecodeError(format!(
                "the body is not a valid OTLP {signal} protobuf message: {e}"
            ))
        };
        Ok(match signal {
            Signal::Logs => {
                ExportRequest::Logs(ExportLogsServiceRequest::decode(bytes).map_err(error)?)
            }
            Signal::Spans => {
                ExportRequest::Traces(ExportTraceServiceRequest::decode(bytes).map_err(error)?)
            }
            Signal::Metrics => {
                ExportRequest::Metrics(ExportMetricsServiceRequest::decode(bytes).map_err(error)?)
            }
        })
    }

    /// Decodes OTLP/JSON. Explicit nulls and omitted empty members (which encoders produce
    /// and the generated decoders refuse) are normalised first.
    pub fn decode_json(signal: Signal, bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut value: Value = serde_json::from_slice(bytes)
            .map_err(|e| DecodeError(format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(DecodeError("an OTLP/JSON body is a JSON object".into()));
        }
        normalize_json(&mut value);
        let error = |e: serde_json::Error| {
            DecodeError(format!(
                "the body is not a valid OTLP/JSON {signal} request: {e}"
            ))
        };
        Ok(match signal {
            Signal::Logs => ExportRequest::Logs(serde_json::from_value(value).map_err(error)?),
            Signal::Spans => ExportRequest::Traces(serde_json::from_value(value).map_err(error)?),
            Signal::Metrics => {
                ExportRequest::Metrics(serde_json::from_value(value).map_err(error)?)
            }
        })
    }

    pub fn encode_protobuf(&self) -> Vec<u8> {
        match self {
            ExportRequest::Logs(r) => r.encode_to_vec(),
            ExportRequest::Traces(r) => r.encode_to_vec(),
            ExportRequest::Metrics(r) => r.encode_to_vec(),
        }
    }

    /// Size of the request as uncompressed protobuf (what usage metering counts).
    pub fn encoded_len(&self) -> usize {
        match self {
            ExportRequest::Logs(r) => r.encoded_len(),
            ExportRequest::Traces(r) => r.encoded_len(),
            ExportRequest::Metrics(r) => r.encoded_len(),
        }
    }

    /// An upper estimate of the bytes the request becomes as rows: each record repeats its
    /// resource's attributes, service, host and scope name (and, for metrics, the metric's
    /// name, unit and description). Checked before converting, so a small request cannot
    /// expand into gigabytes.
    pub fn expanded_bytes(&self) -> u64 {
        use opentelemetry_proto::tonic::common::v1::KeyValue;
        use opentelemetry_proto::tonic::resource::v1::Resource;
        fn attrs(kvs: &[KeyValue]) -> u64 {
            kvs.iter()
                .map(|kv| {
                    kv.key.len() as u64
                        + kv.value.as_ref().map_or(0, |v| v.encoded_len() as u64)
                        + 16
                })
                .sum()
        }
        fn shared(resource: Option<&Resource>) -> u64 {
            resource.map_or(0, |r| attrs(&r.attributes)) + 64
        }
        let repeated: u64 = match self {
            ExportRequest::Logs(r) => r.resource_logs.iter().map(|rl| {
                let per = shared(rl.resource.as_ref());
                rl.scope_logs.iter().map(|sl| {
                    let scope = sl.scope.as_ref().map_or(0, |s| s.name.len() as u64);
                    (per + scope).saturating_mul(sl.log_records.len() as u64)
                }).sum::<u64>()
            }).sum(),
            ExportRequest::Traces(r) => r.resource_spans.iter().map(|rs| {
                let per = shared(rs.resource.as_ref());
                rs.scope_spans.iter().map(|ss| {
                    let scope = ss.scope.as_ref().map_or(0, |s| s.name.len() as u64);
                    (per + scope).saturating_mul(ss.spans.len() as u64)
                }).sum::<u64>()
            }).sum(),
            ExportRequest::Metrics(r) => r.resource_metrics.iter().map(|rm| {
                let per = shared(rm.resource.as_ref());
                rm.scope_metrics.iter().map(|sm| {
                    let scope = sm.scope.as_ref().map_or(0, |s| s.name.len() as u64);
                    sm.metrics.iter().map(|m| {
                        let points = match &m.data {
                            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Gauge(g)) => g.data_points.len(),
                            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(s)) => s.data_points.len(),
                            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) => h.data_points.len(),
                            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
                            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Summary(s)) => s.data_points.len(),
                            None => 0,
                        } as u64;
                        let metric = (m.name.len() + m.unit.len() + m.description.len()) as u64;
                        (per + scope + metric).saturating_mul(points)
                    }).sum::<u64>()
                }).sum::<u64>()
            }).sum(),
        };
        repeated.saturating_add(self.encoded_len() as u64)
    }

    pub fn convert(&self, ingest_time: i64) -> Result<Converted, arrow::error::ArrowError> {
        match self {
            ExportRequest::Logs(r) => convert::logs(r, ingest_time),
            ExportRequest::Traces(r) => convert::spans(r, ingest_time),
            ExportRequest::Metrics(r) => convert::metrics(r, ingest_time),
        }
    }
}

/// Drops explicit nulls, and gives `arrayValue`/`kvlistValue` their `values` and key-value
/// pairs their `key` when an encoder left the empty member out.
fn normalize_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (key, member) in map.iter_mut() {
                if (key == "arrayValue" || key == "kvlistValue")
                    && let Some(object) = member.as_object_mut()
                {
                    object
                        .entry("values")
                        .or_insert_with(|| Value::Array(Vec::new()));
                }
                let pairs = match key.as_str() {
                    "attributes" | "filteredAttributes" | "metadata" => Some(&mut *member),
                    "kvlistValue" => member.get_mut("values"),
                    _ => None,
                };
                if let Some(Value::Array(items)) = pairs {
                    for pair in items.iter_mut().filter_map(Value::as_object_mut) {
                        pair.entry("key")
                            .or_insert_with(|| Value::String(String::new()));
                    }
                }
                normalize_json(member);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_LOGS: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
      "scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0"},"logRecords":[{"timeUnixNano":"1544712660300000000",
      "observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
      "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{"stringValue":"Example log record"},
      "attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},{"key":"int.attribute","value":{"intValue":"10"}},
      {"key":"array","value":{"arrayValue":{}}},{"key":"nothing","value":null}]}]}]}]}"#;

    #[test]
    fn otlp_json_as_the_spec_writes_it_decodes() {
        let request = ExportRequest::decode_json(Signal::Logs, SPEC_LOGS.as_bytes()).unwrap();
        let ExportRequest::Logs(logs) = &request else {
            panic!()
        };
        let record = &logs.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.time_unix_nano, 1_544_712_660_300_000_000);
        assert_eq!(record.trace_id.len(), 16);
        assert_eq!(record.attributes.len(), 4);
        // and survives the protobuf round trip the WAL makes
        let bytes = request.encode_protobuf();
        assert_eq!(
            ExportRequest::decode_protobuf(Signal::Logs, &bytes).unwrap(),
            request
        );
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let e = ExportRequest::decode_json(Signal::Logs, b"{\"resourceLogs\": [").unwrap_err();
        assert!(e.0.contains("not valid JSON"), "{e}");
        let e = ExportRequest::decode_json(Signal::Spans, b"[]").unwrap_err();
        assert!(e.0.contains("JSON object"));
        let e = ExportRequest::decode_json(Signal::Logs, br#"{"resourceLogs": 5}"#).unwrap_err();
        assert!(e.0.contains("OTLP/JSON logs"), "{e}");
        let e = ExportRequest::decode_protobuf(Signal::Metrics, &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(e.0.contains("protobuf"), "{e}");
    }
}
