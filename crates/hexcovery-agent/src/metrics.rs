//! Host metrics every `interval`, with the names, units and attributes of SPEC §9
//! (`host.cpu_usage_pct`, …) and, behind `[metrics] semconv = true`, the OpenTelemetry
//! semantic-convention figures (`system.cpu.utilization`, …) so stock dashboards work.

use crate::otlp::{HostIdentity, kv, now_nanos, scope};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric::Data, number_data_point::Value,
};
use sysinfo::{Disks, Networks, System};

pub struct Collector {
    system: System,
    disks: Disks,
    networks: Networks,
    boot_nanos: u64,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

fn point(time: u64, start: u64, value: f64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(Value::AsDouble(value)),
        ..Default::default()
    }
}

fn int_point(time: u64, start: u64, value: u64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        value: Some(Value::AsInt(value.min(i64::MAX as u64) as i64)),
        ..point(time, start, 0.0, attributes)
    }
}

fn gauge(name: &str, unit: &str, description: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: description.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

fn sum(
    name: &str,
    unit: &str,
    description: &str,
    monotonic: bool,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: description.into(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

/// (total − available) / total in percent, as `df` shows it.
fn used_pct(total: u64, available: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (total.saturating_sub(available)) as f64 * 100.0 / total as f64
    }
}

impl Collector {
    pub fn new() -> Self {
        let mut system = System::new();
        // CPU usage is the change between two refreshes: take the first one now.
        system.refresh_cpu_usage();
        Self {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            boot_nanos: System::boot_time() * 1_000_000_000,
        }
    }

    /// One sample of every figure.
    pub fn collect(&mut self, host: &HostIdentity, semconv: bool) -> ExportMetricsServiceRequest {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let now = now_nanos();
        let boot = self.boot_nanos;
        let cpu = self.system.global_cpu_usage() as f64;
        let total = self.system.total_memory();
        let available = self.system.available_memory();
        let load = System::load_average();

        let mut disks: Vec<(String, String, String, u64, u64)> = self
            .disks
            .iter()
            .filter(|d| d.total_space() > 0)
            .map(|d| {
                (
                    d.mount_point().display().to_string(),
                    d.name().to_string_lossy().into_owned(),
                    d.file_system().to_string_lossy().into_owned(),
                    d.total_space(),
                    d.available_space(),
                )
            })
            .collect();
        disks.sort();
        disks.dedup_by(|a, b| a.0 == b.0);
        let mut nets: Vec<(String, u64, u64)> = self
            .networks
            .iter()
            .map(|(name, n)| (name.clone(), n.total_received(), n.total_transmitted()))
            .collect();
        nets.sort();

        let mut metrics = vec![
            gauge(
                "host.cpu_usage_pct",
                "%",
                "CPU busy time across all cores",
                vec![point(now, 0, cpu, vec![])],
            ),
            gauge(
                "host.mem_used_pct",
                "%",
                "memory in use: (total - available) / total",
                vec![point(now, 0, used_pct(total, available), vec![])],
            ),
            gauge(
                "host.disk_used_pct",
                "%",
                "filesystem space in use: (total - available) / total, as df",
                disks
                    .iter()
                    .map(|(mount, _, _, t, a)| {
                        point(now, 0, used_pct(*t, *a), vec![kv("mountpoint", mount)])
                    })
                    .collect(),
            ),
            gauge(
                "host.load_1m",
                "1",
                "load average over 1 minute",
                vec![point(now, 0, load.one, vec![])],
            ),
            gauge(
                "host.load_5m",
                "1",
                "load average over 5 minutes",
                vec![point(now, 0, load.five, vec![])],
            ),
            gauge(
                "host.load_15m",
                "1",
                "load average over 15 minutes",
                vec![point(now, 0, load.fifteen, vec![])],
            ),
            sum(
                "host.network_rx_bytes",
                "By",
                "bytes received since boot",
                true,
                nets.iter()
                    .map(|(i, rx, _)| int_point(now, boot, *rx, vec![kv("interface", i)]))
                    .collect(),
            ),
            sum(
                "host.network_tx_bytes",
                "By",
                "bytes sent since boot",
                true,
                nets.iter()
                    .map(|(i, _, tx)| int_point(now, boot, *tx, vec![kv("interface", i)]))
                    .collect(),
            ),
        ];
        if semconv {
            metrics.push(gauge(
                "system.cpu.utilization",
                "1",
                "CPU busy time across all cores, 0 to 1",
                vec![point(now, 0, cpu / 100.0, vec![])],
            ));
            metrics.push(sum(
                "system.memory.usage",
                "By",
                "memory by state",
                false,
                vec![
                    int_point(
                        now,
                        boot,
                        total.saturating_sub(available),
                        vec![kv("system.memory.state", "used")],
                    ),
                    int_point(
                        now,
                        boot,
                        available,
                        vec![kv("system.memory.state", "free")],
                    ),
                ],
            ));
            metrics.push(sum(
                "system.filesystem.usage",
                "By",
                "filesystem space by state",
                false,
                disks
                    .iter()
                    .flat_map(|(mount, device, fs, t, a)| {
                        let attrs = |state: &str| {
                            vec![
                                kv("system.device", device),
                                kv("system.filesystem.mountpoint", mount),
                                kv("system.filesystem.type", fs),
                                kv("system.filesystem.state", state),
                            ]
                        };
                        [
                            int_point(now, boot, t.saturating_sub(*a), attrs("used")),
                            int_point(now, boot, *a, attrs("free")),
                        ]
                    })
                    .collect(),
            ));
            metrics.push(sum(
                "system.network.io",
                "By",
                "bytes through each interface",
                true,
                nets.iter()
                    .flat_map(|(i, rx, tx)| {
                        [
                            int_point(
                                now,
                                boot,
                                *rx,
                                vec![
                                    kv("network.interface.name", i),
                                    kv("network.io.direction", "receive"),
                                ],
                            ),
                            int_point(
                                now,
                                boot,
                                *tx,
                                vec![
                                    kv("network.interface.name", i),
                                    kv("network.io.direction", "transmit"),
                                ],
                            ),
                        ]
                    })
                    .collect(),
            ));
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(host.resource("hexcovery-agent")),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope()),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}
