//! The command line and operation: `check-config` (exit codes, what and where), a bad config
//! refused by `run` without a panic, the status page, SIGHUP reload, log record fields and
//! the SPEC's `FROM host` query over the agent's metrics.

mod common;

use common::{Agent, Server, append, logs, numbered};
use std::process::Command;
use std::time::Duration;

fn check(config: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexcovery-agent"))
        .arg("check-config")
        .arg("--config")
        .arg(&path)
        .env_remove("HEXCOVERY_AGENT_API_KEY")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "agent.toml"),
    )
}

const GOOD: &str = "[server]\nendpoint = \"http://127.0.0.1:4317\"\n[metrics]\ninterval = \"10s\"\n\
    [[logs]]\ninclude = [\"/var/log/app/*.log\"]\n[queue]\ndir = \"/tmp/q\"\nmax_size = \"1GiB\"\n";

#[test]
fn check_config_says_what_is_wrong_and_where() {
    let key = [("HEXCOVERY_AGENT_API_KEY", "hxk_x")];
    let (code, out, _) = check(GOOD, &key);
    assert_eq!(code, 0);
    assert!(out.contains("OK"), "{out}");

    let (code, _, err) = check(&GOOD.replace("\"10s\"", "\"ten\""), &key);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("agent.toml:4:12: [metrics] interval"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let (code, _, err) = check(
        GOOD,
        &[
            ("HEXCOVERY_AGENT_API_KEY", "hxk_x"),
            ("HEXCOVERY_AGENT_QUEUE_MAX_SIZE", "huge"),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("HEXCOVERY_AGENT_QUEUE_MAX_SIZE: [queue] max_size"),
        "{err}"
    );

    let (code, _, err) = check(GOOD, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("no API key"), "{err}");

    let (code, _, err) = check("[server\n", &key);
    assert_eq!(code, 2);
    assert!(err.starts_with("agent.toml:1:"), "{err}");
}

#[test]
fn run_refuses_a_bad_config_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(
        &path,
        GOOD.replace("max_size = \"1GiB\"", "max_size = \"1 gigabyte\""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexcovery-agent"))
        .args(["run", "--config"])
        .arg(&path)
        .env("HEXCOVERY_AGENT_API_KEY", "hxk_x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[queue] max_size") && !err.contains("panicked"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reload_records_and_host_metrics() {
    let server = Server::start();
    let org = server.org("operation").await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let mut agent = Agent::new(
        &server,
        &org.key,
        &logs(&format!("{}/*.log", a.display()), "first"),
        "",
    );
    agent.start();
    append(
        &a.join("app.log"),
        &[
            "2026-12-02T05:00:00Z ERROR boom".to_string(),
            "[warn] careful".into(),
            "plain".into(),
        ],
    );
    org.expect_exactly_once("first", 3, Duration::from_secs(30))
        .await;

    let rows = org
        .query("SELECT body, level, host, attributes['log.file.name'], attributes['log.file.path'] FROM logs WHERE service = 'first' ORDER BY body LAST 1d")
        .await
        .unwrap()["rows"]
        .clone();
    let path = a.join("app.log").display().to_string();
    assert_eq!(rows[0][0], "2026-12-02T05:00:00Z ERROR boom");
    assert_eq!(rows[0][1], "error");
    assert_eq!(rows[0][2], "test-host");
    assert_eq!(rows[0][3], "app.log");
    assert_eq!(rows[0][4], path.as_str());
    assert_eq!(rows[1][1], "warn");
    assert_eq!(rows[2][1], serde_json::Value::Null, "plain has no level");

    let status = agent.status();
    assert_eq!(status["files_tailed"], 1, "{status}");
    assert!(status["last_send"]["ok_at"].is_string(), "{status}");
    assert!(status["queue"]["depth"].is_u64(), "{status}");

    // SIGHUP: another directory and service.
    let text = std::fs::read_to_string(&agent.config)
        .unwrap()
        .replace(&a.display().to_string(), &b.display().to_string())
        .replace("\"first\"", "\"second\"");
    std::fs::write(&agent.config, text).unwrap();
    agent.signal("-HUP");
    common::wait_for("the reload", Duration::from_secs(10), || {
        agent.log().contains("config reloaded")
    })
    .await;
    append(&b.join("other.log"), &numbered("second", 0, 10));
    org.expect_exactly_once("second", 10, Duration::from_secs(30))
        .await;

    // A broken config on SIGHUP keeps the running one.
    std::fs::write(&agent.config, "[server\n").unwrap();
    agent.signal("-HUP");
    common::wait_for("the refusal", Duration::from_secs(10), || {
        agent.log().contains("keeping the running one")
    })
    .await;
    append(&b.join("other.log"), &numbered("second", 10, 5));
    org.expect_exactly_once("second", 15, Duration::from_secs(30))
        .await;

    // The SPEC's host query over the agent's metrics.
    common::wait_for("metrics", Duration::from_secs(1), || true).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body = org
            .query("SELECT host, avg(cpu_usage_pct) FROM host GROUP BY host")
            .await
            .unwrap();
        if body["rows"].as_array().is_some_and(|r| !r.is_empty()) {
            assert_eq!(body["rows"][0][0], "test-host", "{body}");
            assert!(body["rows"][0][1].as_f64().is_some(), "{body}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no host metrics: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(agent.stop().success());
}
