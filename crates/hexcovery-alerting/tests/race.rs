//! Two evaluators (as on two nodes) share one metastore and race for the same ticks: each
//! tick is evaluated exactly once, by whichever claims it first.

use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_alerting::{EngineQueries, Evaluator, EvaluatorConfig, RunQuery};
use hexcovery_auth::Role;
use hexcovery_meta::*;
use hexcovery_query::{QueryEngine, QueryLimits};
use hexcovery_store::{StoreConfig, TelemetryStore};
use serde_json::json;
use std::sync::Arc;

fn minute(m: i64) -> DateTime<Utc> {
    // 1_800_000_000 s is a whole minute.
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_evaluators_racing_for_a_tick_evaluate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn Metastore> = Arc::new(
        SqliteMetastore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let store = TelemetryStore::open(StoreConfig::new(dir.path()))
        .await
        .unwrap();
    let queries: Arc<dyn RunQuery> = Arc::new(EngineQueries {
        engine: QueryEngine::new(QueryLimits::default()).unwrap(),
        store,
        priority: hexcovery_query::Priority::Background,
    });
    let (org, admin) = meta
        .create_org_with_admin(
            NewOrg {
                name: "Race".into(),
                slug: "race".into(),
                email: "ops@race.io".into(),
            },
            NewUser {
                email: "admin@race.io".into(),
                name: "Admin".into(),
                role: Role::Admin,
                password_hash: "$argon2id$fake".into(),
            },
        )
        .await
        .unwrap();
    for i in 0..20 {
        meta.create_alert_rule(
            org.id,
            AlertRuleFields {
                name: format!("rule {i}"),
                description: String::new(),
                query: "SELECT service, count(*) AS value FROM logs GROUP BY service".into(),
                definition: json!({"window": "5m", "interval": "1m",
                    "condition": {"op": ">", "threshold": i}}),
                channels: vec![],
                paused: false,
                interval_ms: 60_000,
            },
            Actor::user(&admin),
            minute(1),
        )
        .await
        .unwrap();
    }
    let one = Evaluator::new(meta.clone(), queries.clone(), EvaluatorConfig::default());
    let two = Evaluator::new(meta.clone(), queries.clone(), EvaluatorConfig::default());
    for tick in 1..=3 {
        let (a, b) = tokio::join!(one.run_due(minute(tick)), two.run_due(minute(tick)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.evaluated + b.evaluated, 20, "tick {tick}: {a:?} {b:?}");
        assert_eq!((a.lost, b.lost, a.failed, b.failed), (0, 0, 0, 0));
        // Nothing is left to claim at the same instant.
        assert_eq!(one.run_due(minute(tick)).await.unwrap().evaluated, 0);
    }
    let rules = meta
        .list_alert_rules(
            org.id,
            Page {
                limit: 100,
                before: None,
            },
        )
        .await
        .unwrap();
    assert!(rules.iter().all(|r| r.last_eval_at == Some(minute(3))
        && r.next_eval_at == minute(4)
        && r.health == "no_data"));
}
