//! Building OTLP requests: the resource every record shares (`host.name`, `host.id`,
//! `os.type`, `service.name`) and log records from tailed lines.

use crate::tail::{Line, level};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The host's identity, read once: `/etc/machine-id` (systemd's stable id) or, lacking it,
/// D-Bus's copy.
#[derive(Clone, Debug)]
pub struct HostIdentity {
    pub name: String,
    pub id: Option<String>,
}

impl HostIdentity {
    pub fn new(name: String) -> Self {
        let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Self { name, id }
    }

    pub fn resource(&self, service: &str) -> Resource {
        let mut attributes = vec![kv("host.name", &self.name)];
        if let Some(id) = &self.id {
            attributes.push(kv("host.id", id));
        }
        attributes.push(kv("os.type", std::env::consts::OS));
        attributes.push(kv("service.name", service));
        Resource {
            attributes,
            ..Default::default()
        }
    }
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "hexcovery-agent".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    }
}

/// One request for `lines`, a resource per service, in reading order within each.
pub fn logs_request(host: &HostIdentity, lines: Vec<Line>) -> ExportLogsServiceRequest {
    let now = now_nanos();
    let mut groups: Vec<(std::sync::Arc<str>, Vec<LogRecord>)> = Vec::new();
    for line in lines {
        let (severity_number, severity_text) = level::detect(&line.body).unwrap_or((0, ""));
        let file_name = std::path::Path::new(&*line.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let record = LogRecord {
            time_unix_nano: now,
            observed_time_unix_nano: now,
            severity_number,
            severity_text: severity_text.to_string(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(line.body)),
            }),
            attributes: vec![
                kv("log.file.path", &*line.path),
                kv("log.file.name", file_name),
            ],
            ..Default::default()
        };
        match groups.iter_mut().find(|(s, _)| *s == line.service) {
            Some((_, records)) => records.push(record),
            None => groups.push((line.service, vec![record])),
        }
    }
    ExportLogsServiceRequest {
        resource_logs: groups
            .into_iter()
            .map(|(service, log_records)| ResourceLogs {
                resource: Some(host.resource(&service)),
                scope_logs: vec![ScopeLogs {
                    scope: Some(scope()),
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}
