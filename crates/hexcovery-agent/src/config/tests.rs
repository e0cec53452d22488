//! Config tests: the SPEC example, overrides, and errors that say what and where.

use super::*;

const EXAMPLE: &str = r#"
[server]
endpoint = "http://127.0.0.1:4317"
[host]
name = "web-1"
[metrics]
interval = "10s"
[[logs]]
include = ["/var/log/app/*.log"]
exclude = ["*.gz"]
start_at = "end"
service = "checkout"
[queue]
dir = "/var/lib/hexcovery-agent"
max_size = "1GiB"
"#;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("HEXCOVERY_AGENT_API_KEY".into())
        .or_insert_with(|| "hxk_test".into());
    map
}

fn problems(text: &str, vars: &[(&str, &str)]) -> String {
    parse("agent.toml", text, &env(vars))
        .unwrap_err()
        .to_string()
}

#[test]
fn the_spec_example_parses() {
    let config = parse("agent.toml", EXAMPLE, &env(&[])).unwrap();
    assert_eq!(config.host.name, "web-1");
    assert_eq!(config.metrics.interval, Duration::from_secs(10));
    assert_eq!(config.queue.max_size, 1 << 30);
    assert_eq!(config.logs[0].service, "checkout");
    assert_eq!(config.logs[0].start_at, StartAt::End);
    assert!(config.logs[0].include[0].matches(Path::new("/var/log/app/a.log")));
    assert!(!config.logs[0].include[0].matches(Path::new("/var/log/app/x/a.log")));
    assert!(config.logs[0].exclude[0].matches(Path::new("/var/log/app/a.log.2.gz")));
    assert_eq!(config.server.api_key.0, "hxk_test");
    assert_eq!(
        config.queue.fsync,
        Fsync::Interval(Duration::from_millis(200))
    );
}

#[test]
fn variables_override_the_file() {
    let config = parse(
        "agent.toml",
        EXAMPLE,
        &env(&[
            ("HEXCOVERY_AGENT_METRICS_INTERVAL", "2s"),
            ("HEXCOVERY_AGENT_QUEUE_MAX_SIZE", "64MiB"),
            ("HEXCOVERY_AGENT_QUEUE_FSYNC", "always"),
            ("HEXCOVERY_AGENT_HOST_NAME", "db-2"),
        ]),
    )
    .unwrap();
    assert_eq!(config.metrics.interval, Duration::from_secs(2));
    assert_eq!(config.queue.max_size, 64 << 20);
    assert_eq!(config.queue.fsync, Fsync::Always);
    assert_eq!(config.host.name, "db-2");
}

#[test]
fn errors_name_the_setting_and_its_place() {
    let bad = EXAMPLE.replace("interval = \"10s\"", "interval = \"10 parsecs\"");
    let text = problems(&bad, &[]);
    assert!(
        text.starts_with("agent.toml:7:12: [metrics] interval:"),
        "{text}"
    );

    let text = problems(EXAMPLE, &[("HEXCOVERY_AGENT_QUEUE_MAX_SIZE", "lots")]);
    assert!(
        text.starts_with("HEXCOVERY_AGENT_QUEUE_MAX_SIZE: [queue] max_size:"),
        "{text}"
    );

    let text = problems(EXAMPLE, &[("HEXCOVERY_AGENT_METRICS_INTERVL", "1s")]);
    assert!(
        text.contains("HEXCOVERY_AGENT_METRICS_INTERVL: not a setting"),
        "{text}"
    );

    let text = problems(
        &EXAMPLE.replace("start_at = \"end\"", "start_at = \"middle\""),
        &[],
    );
    assert!(
        text.contains("agent.toml:11:12: [[logs]] #1 start_at"),
        "{text}"
    );

    let text = problems(&EXAMPLE.replace("[host]", "[hots]"), &[]);
    assert!(text.contains("agent.toml:"), "{text}");
    assert!(text.contains("hots"), "{text}");

    let text = problems(
        &EXAMPLE.replace("name = \"web-1\"", "nmae = \"web-1\""),
        &[],
    );
    assert!(
        text.contains("agent.toml:5:8: unknown setting [host] nmae"),
        "{text}"
    );

    let text = problems(
        &EXAMPLE.replace("\"/var/log/app/*.log\"", "\"app/*.log\""),
        &[],
    );
    assert!(text.contains("must be an absolute path glob"), "{text}");

    let text = problems(&EXAMPLE.replace("max_size = \"1GiB\"", "max_size = ["), &[]);
    assert!(text.starts_with("agent.toml:"), "{text}");

    let no_key = parse("agent.toml", EXAMPLE, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(no_key.contains("no API key"), "{no_key}");
}

#[test]
fn sizes_and_durations() {
    assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
    assert_eq!(parse_size("4MiB").unwrap(), 4 << 20);
    assert_eq!(parse_size("1000").unwrap(), 1000);
    assert!(parse_size("1 gigabyte").is_err());
    assert!(parse_size("").is_err());
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert!(parse_duration("soon").is_err());
}

#[test]
fn walk_roots() {
    let p = Pattern::new("/var/log/app/*.log").unwrap();
    assert_eq!(p.walk_root(), (PathBuf::from("/var/log/app"), Some(1)));
    let p = Pattern::new("/var/log/**/*.log").unwrap();
    assert_eq!(p.walk_root(), (PathBuf::from("/var/log"), None));
    let p = Pattern::new("/var/log/syslog").unwrap();
    assert_eq!(p.walk_root(), (PathBuf::from("/var/log/syslog"), Some(0)));
}
