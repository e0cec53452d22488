//! Issue #14, test 6: the metric names, units, kinds and attributes as a snapshot (values
//! and machine-specific attribute values left out), and values compared with `/proc`.

use hexcovery_agent::metrics::Collector;
use hexcovery_agent::otlp::HostIdentity;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint};
use std::collections::BTreeSet;
use std::time::Duration;

fn sample(semconv: bool) -> ExportMetricsServiceRequest {
    let mut collector = Collector::new();
    std::thread::sleep(Duration::from_millis(300));
    collector.collect(&HostIdentity::new("snap-host".into()), semconv)
}

fn points(metric: &Metric) -> &[NumberDataPoint] {
    match metric.data.as_ref().unwrap() {
        Data::Gauge(g) => &g.data_points,
        Data::Sum(s) => &s.data_points,
        _ => &[],
    }
}

fn value(p: &NumberDataPoint) -> f64 {
    match p.value.unwrap() {
        Value::AsDouble(v) => v,
        Value::AsInt(v) => v as f64,
    }
}

fn attr<'a>(p: &'a NumberDataPoint, key: &str) -> Option<&'a str> {
    p.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(Any::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
}

fn shape(request: &ExportMetricsServiceRequest) -> String {
    let rm = &request.resource_metrics[0];
    let mut out = String::from("resource:\n");
    for kv in &rm.resource.as_ref().unwrap().attributes {
        let shown = match kv.key.as_str() {
            "service.name" | "os.type" | "host.name" => {
                format!("{:?}", kv.value.as_ref().unwrap().value)
            }
            _ => "…".into(),
        };
        out.push_str(&format!("  {} = {shown}\n", kv.key));
    }
    for m in &rm.scope_metrics[0].metrics {
        let kind = match m.data.as_ref().unwrap() {
            Data::Gauge(_) => "gauge".to_string(),
            Data::Sum(s) => format!(
                "sum(cumulative={}, monotonic={})",
                s.aggregation_temporality == 2,
                s.is_monotonic
            ),
            _ => "other".into(),
        };
        let keys: BTreeSet<String> = points(m)
            .iter()
            .flat_map(|p| p.attributes.iter().map(|kv| kv.key.clone()))
            .collect();
        out.push_str(&format!(
            "{} [{}] {kind} attributes={keys:?}\n",
            m.name, m.unit
        ));
    }
    out
}

#[test]
fn names_units_and_attributes() {
    insta::assert_snapshot!("spec_names", shape(&sample(false)));
    insta::assert_snapshot!("with_semconv", shape(&sample(true)));
}

fn find<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn meminfo(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// (busy, total) jiffies from the first line of /proc/stat.
fn cpu_jiffies() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap();
    let fields: Vec<f64> = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap())
        .collect();
    let idle = fields[3] + fields[4];
    let total: f64 = fields.iter().take(8).sum();
    (total - idle, total)
}

#[test]
fn values_match_proc() {
    let mut collector = Collector::new();
    let (busy0, total0) = cpu_jiffies();
    let rx_before: f64 = std::fs::read_to_string("/sys/class/net/lo/statistics/rx_bytes")
        .map_or(0.0, |s| s.trim().parse().unwrap());
    std::thread::sleep(Duration::from_secs(1));
    let request = collector.collect(&HostIdentity::new("h".into()), true);
    let (busy1, total1) = cpu_jiffies();
    let rx_after: f64 = std::fs::read_to_string("/sys/class/net/lo/statistics/rx_bytes")
        .map_or(0.0, |s| s.trim().parse().unwrap());

    let cpu = value(&points(find(&request, "host.cpu_usage_pct"))[0]);
    let proc_cpu = (busy1 - busy0) * 100.0 / (total1 - total0).max(1.0);
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    // Other processes on the machine change the figure between the two readings.
    assert!(
        (cpu - proc_cpu).abs() < 25.0,
        "cpu {cpu} vs /proc/stat {proc_cpu}"
    );
    let utilization = value(&points(find(&request, "system.cpu.utilization"))[0]);
    assert!((utilization * 100.0 - cpu).abs() < 1e-6);

    let mem = value(&points(find(&request, "host.mem_used_pct"))[0]);
    let proc_mem = (meminfo("MemTotal") - meminfo("MemAvailable")) * 100.0 / meminfo("MemTotal");
    assert!(
        (mem - proc_mem).abs() < 2.0,
        "mem {mem} vs /proc/meminfo {proc_mem}"
    );

    let load: Vec<f64> = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|f| f.parse().unwrap())
        .collect();
    for (name, proc_value) in ["host.load_1m", "host.load_5m", "host.load_15m"]
        .iter()
        .zip(load)
    {
        let v = value(&points(find(&request, name))[0]);
        assert!(
            (v - proc_value).abs() < 0.5 + proc_value * 0.2,
            "{name} {v} vs /proc/loadavg {proc_value}"
        );
    }

    let disk = find(&request, "host.disk_used_pct");
    for p in points(disk) {
        let mount = attr(p, "mountpoint").unwrap();
        let c = std::ffi::CString::new(mount).unwrap();
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed struct for the kernel to fill.
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 || st.f_blocks == 0 {
            continue;
        }
        let df = (st.f_blocks - st.f_bavail) as f64 * 100.0 / st.f_blocks as f64;
        assert!(
            (value(p) - df).abs() < 1.0,
            "{mount}: {} vs statvfs {df}",
            value(p)
        );
    }

    if rx_after > 0.0 {
        let rx = points(find(&request, "host.network_rx_bytes"))
            .iter()
            .find(|p| attr(p, "interface") == Some("lo"))
            .map(value)
            .expect("lo is reported");
        assert!(
            rx >= rx_before && rx <= rx_after,
            "lo rx {rx} outside [{rx_before}, {rx_after}]"
        );
    }
}
