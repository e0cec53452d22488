//! The alerting part of the metastore contract: rules, claims that let one evaluator take a
//! tick, evaluations recorded whole or not at all, transitions, instances and silences.

use super::*;
use serde_json::json;
use std::collections::BTreeMap;

fn rule_fields(name: &str, channels: Vec<Uuid>) -> AlertRuleFields {
    AlertRuleFields {
        name: name.into(),
        description: String::new(),
        query: "SELECT service, count(*) AS value FROM logs GROUP BY service".into(),
        definition: json!({"window": "5m", "interval": "1m"}),
        channels,
        paused: false,
        interval_ms: 60_000,
    }
}

fn actor(user: &User) -> Actor {
    Actor::user(user)
}

fn at(minute: i64) -> DateTime<Utc> {
    // 1_800_000_000 s is a whole minute.
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minute)
}

fn instance(
    rule_id: Uuid,
    fingerprint: &str,
    state: &str,
    since: DateTime<Utc>,
) -> AlertInstanceRecord {
    AlertInstanceRecord {
        rule_id,
        fingerprint: fingerprint.into(),
        labels: BTreeMap::from([("service".to_string(), fingerprint.to_string())]),
        state: state.into(),
        value: Some(61.0),
        since,
        last_eval_at: since,
        data: json!({"fingerprint": fingerprint}),
    }
}

async fn webhook(store: &dyn Metastore, org: Uuid) -> NotificationChannel {
    store
        .create_notification_channel(
            org,
            NewNotificationChannel {
                name: "ops".into(),
                kind: ChannelKind::Webhook,
                url: Some("http://127.0.0.1:9/hook".into()),
                url_sealed: None,
                secret_sealed: None,
                emails: Vec::new(),
                created_by: "admin".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap()
}

fn evaluation(claim: &AlertClaim, tick: DateTime<Utc>, channel: Uuid) -> AlertEvaluationRecord {
    AlertEvaluationRecord {
        rule_id: claim.rule.id,
        owner: claim.owner,
        generation: claim.rule.generation,
        tick,
        evaluated_at: tick,
        next_eval_at: tick + Duration::minutes(1),
        health: "ok".into(),
        last_error: None,
        instances: vec![instance(claim.rule.id, "checkout", "firing", tick)],
        transitions: vec![NewAlertTransition {
            at: tick,
            fingerprint: "checkout".into(),
            labels: BTreeMap::from([("service".to_string(), "checkout".to_string())]),
            from: "normal".into(),
            to: "firing".into(),
            value: Some(61.0),
        }],
        deliveries: vec![NewDelivery {
            channel_id: channel,
            event: "alert.firing".into(),
            payload: "{\"status\":\"firing\"}".into(),
        }],
        emails: vec![NewAlertEmail {
            recipient: "oncall@example.com".into(),
            subject: "[FIRING:1] errors".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            message_id: "<alert-1@hexcovery>".into(),
            in_reply_to: None,
            send: true,
        }],
    }
}

pub(crate) async fn alert_rules_are_per_org_and_check_channels(store: &dyn Metastore) {
    let (org_a, admin_a) = org_with_admin(store, "alerts-a").await;
    let (org_b, admin_b) = org_with_admin(store, "alerts-b").await;
    let channel_b = webhook(store, org_b.id).await;
    // A channel of another org is not found.
    assert!(matches!(
        store
            .create_alert_rule(
                org_a.id,
                rule_fields("x", vec![channel_b.id]),
                actor(&admin_a),
                at(1)
            )
            .await,
        Err(MetaError::NotFound("notification_channel"))
    ));
    let channel_a = webhook(store, org_a.id).await;
    let first = store
        .create_alert_rule(
            org_a.id,
            rule_fields("first", vec![channel_a.id]),
            actor(&admin_a),
            at(1),
        )
        .await
        .unwrap();
    let second = store
        .create_alert_rule(
            org_a.id,
            rule_fields("second", vec![]),
            actor(&admin_a),
            at(1),
        )
        .await
        .unwrap();
    store
        .create_alert_rule(
            org_b.id,
            rule_fields("theirs", vec![]),
            actor(&admin_b),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(first.channels, vec![channel_a.id]);
    assert_eq!(first.health, "unknown");
    assert_eq!(first.next_eval_at, at(1));
    assert_eq!(store.count_alert_rules(org_a.id).await.unwrap(), 2);
    let page = |before| Page { limit: 1, before };
    let listed = store.list_alert_rules(org_a.id, page(None)).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let listed = store
        .list_alert_rules(org_a.id, page(Some(second.id)))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    // Another org's rule behaves as a missing one everywhere.
    for result in [
        store.get_alert_rule(org_b.id, first.id).await.map(|_| ()),
        store
            .replace_alert_rule(org_b.id, first.id, rule_fields("x", vec![]), false, at(2))
            .await
            .map(|_| ()),
        store
            .delete_alert_rule(org_b.id, first.id)
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(MetaError::NotFound("alert_rule"))),
            "{result:?}"
        );
    }
    assert!(
        store
            .list_alert_instances(org_b.id, first.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Replacing keeps the schedule unless asked to reset or the interval changes.
    let mut fields = rule_fields("renamed", vec![]);
    let renamed = store
        .replace_alert_rule(org_a.id, first.id, fields.clone(), false, at(5))
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.next_eval_at,
            renamed.generation
        ),
        ("renamed", at(1), first.generation + 1)
    );
    fields.interval_ms = 120_000;
    let rescheduled = store
        .replace_alert_rule(org_a.id, first.id, fields, false, at(6))
        .await
        .unwrap();
    assert_eq!(rescheduled.next_eval_at, at(6));
    assert_eq!(rescheduled.generation, first.generation + 2);
    store.delete_alert_rule(org_a.id, first.id).await.unwrap();
    assert!(matches!(
        store.get_alert_rule(org_a.id, first.id).await,
        Err(MetaError::NotFound(_))
    ));
}

pub(crate) async fn one_evaluator_claims_a_tick_and_records_it_whole(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "alerts-claim").await;
    let channel = webhook(store, org.id).await;
    let rule = store
        .create_alert_rule(
            org.id,
            rule_fields("errors", vec![channel.id]),
            actor(&admin),
            at(1),
        )
        .await
        .unwrap();
    // Not due yet.
    let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(
        store
            .claim_alert_rules(one, at(0), at(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Two evaluators race for the tick: exactly one wins.
    let claims = store
        .claim_alert_rules(one, at(1), at(2), 10)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    assert!(
        store
            .claim_alert_rules(two, at(1), at(2), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claim = &claims[0];
    assert_eq!((claim.rule.id, claim.owner), (rule.id, one));
    assert!(claim.instances.is_empty());

    // A record under someone else's claim writes nothing.
    let mut stolen = evaluation(claim, at(1), channel.id);
    stolen.owner = two;
    assert_eq!(
        store.record_alert_evaluation(stolen, at(1)).await.unwrap(),
        RecordOutcome::ClaimLost
    );
    assert!(
        store
            .list_alert_instances(org.id, rule.id)
            .await
            .unwrap()
            .is_empty()
    );

    // The holder's record lands: instances, transition, delivery and email together.
    assert_eq!(
        store
            .record_alert_evaluation(evaluation(claim, at(1), channel.id), at(1))
            .await
            .unwrap(),
        RecordOutcome::Recorded
    );
    // Recording the same tick again (a retry after a lost answer) writes nothing more.
    assert_eq!(
        store
            .record_alert_evaluation(evaluation(claim, at(1), channel.id), at(1))
            .await
            .unwrap(),
        RecordOutcome::ClaimLost
    );
    let instances = store.list_alert_instances(org.id, rule.id).await.unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(
        (instances[0].state.as_str(), instances[0].value),
        ("firing", Some(61.0))
    );
    assert_eq!(instances[0].data, json!({"fingerprint": "checkout"}));
    let firing = store
        .list_org_alert_instances(org.id, Some("firing"), 100)
        .await
        .unwrap();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].rule_name, "errors");
    assert!(
        store
            .list_org_alert_instances(org.id, Some("pending"), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let history = store
        .list_alert_transitions(org.id, Some(rule.id), at(0), at(10), 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].from.as_str(),
            history[0].to.as_str(),
            history[0].at
        ),
        ("normal", "firing", at(1))
    );
    let deliveries = store.list_deliveries(org.id, channel.id, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event, "alert.firing");
    let outbox = store
        .list_outbox(
            org.id,
            Page {
                limit: 10,
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].subject, "[FIRING:1] errors");
    assert_eq!(outbox[0].status, OutboxStatus::Pending);
    let rule_now = store.get_alert_rule(org.id, rule.id).await.unwrap();
    assert_eq!(
        (
            rule_now.next_eval_at,
            rule_now.last_eval_at,
            rule_now.health.as_str()
        ),
        (at(2), Some(at(1)), "ok")
    );

    // Another org sees none of it.
    let (other, _) = org_with_admin(store, "alerts-claim-b").await;
    assert!(
        store
            .list_org_alert_instances(other.id, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_alert_transitions(other.id, None, at(0), at(10), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // An expired lease may be taken over; the old holder's late record is then refused.
    let first = store
        .claim_alert_rules(one, at(2), at(3), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_alert_rules(two, at(2) + Duration::seconds(30), at(4), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken = store
        .claim_alert_rules(two, at(3), at(4), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        taken[0].instances.len(),
        1,
        "the claim carries the previous instances"
    );
    assert_eq!(
        store
            .record_alert_evaluation(evaluation(&first[0], at(2), channel.id), at(3))
            .await
            .unwrap(),
        RecordOutcome::ClaimLost
    );
    // Editing the rule's query resets it: the evaluation in flight records nothing and the
    // instances are gone.
    store
        .replace_alert_rule(
            org.id,
            rule.id,
            rule_fields("errors", vec![channel.id]),
            true,
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .record_alert_evaluation(evaluation(&taken[0], at(2), channel.id), at(3))
            .await
            .unwrap(),
        RecordOutcome::ClaimLost
    );
    assert!(
        store
            .list_alert_instances(org.id, rule.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Paused rules are not claimed.
    let mut paused = rule_fields("errors", vec![]);
    paused.paused = true;
    store
        .replace_alert_rule(org.id, rule.id, paused, false, at(5))
        .await
        .unwrap();
    assert!(
        store
            .claim_alert_rules(one, at(9), at(10), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A claim in flight when the rule is paused records nothing; released claims are free.
    store
        .replace_alert_rule(org.id, rule.id, rule_fields("errors", vec![]), false, at(5))
        .await
        .unwrap();
    let claimed = store
        .claim_alert_rules(one, at(9), at(10), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut paused = rule_fields("errors", vec![]);
    paused.paused = true;
    store
        .replace_alert_rule(org.id, rule.id, paused, false, at(5))
        .await
        .unwrap();
    let mut late = evaluation(&claimed[0], claimed[0].rule.next_eval_at, channel.id);
    late.generation = claimed[0].rule.generation;
    assert_eq!(
        store.record_alert_evaluation(late, at(9)).await.unwrap(),
        RecordOutcome::ClaimLost
    );
    store
        .replace_alert_rule(org.id, rule.id, rule_fields("errors", vec![]), false, at(5))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_alert_rules(one, at(9), at(10), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .claim_alert_rules(two, at(9), at(10), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.release_alert_claims(two, None).await.unwrap(), 0);
    assert_eq!(store.release_alert_claims(one, None).await.unwrap(), 1);
    assert_eq!(
        store
            .claim_alert_rules(two, at(9), at(10), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub(crate) async fn silences_apply_to_their_rule_and_time(store: &dyn Metastore) {
    let (org, admin) = org_with_admin(store, "silences-a").await;
    let (other, other_admin) = org_with_admin(store, "silences-b").await;
    let rule = store
        .create_alert_rule(org.id, rule_fields("errors", vec![]), actor(&admin), at(1))
        .await
        .unwrap();
    let rule_2 = store
        .create_alert_rule(org.id, rule_fields("latency", vec![]), actor(&admin), at(1))
        .await
        .unwrap();
    let fields = |rule_id, from, to| SilenceFields {
        matchers: vec![SilenceMatcher {
            label: "service".into(),
            op: "=".into(),
            value: "checkout".into(),
        }],
        rule_id,
        starts_at: at(from),
        ends_at: at(to),
        comment: "deploy".into(),
    };
    // Another org's rule is not found.
    assert!(matches!(
        store
            .create_silence(
                other.id,
                fields(Some(rule.id), 0, 10),
                actor(&other_admin),
                at(0)
            )
            .await,
        Err(MetaError::NotFound("alert_rule"))
    ));
    let scoped = store
        .create_silence(org.id, fields(Some(rule.id), 0, 10), actor(&admin), at(0))
        .await
        .unwrap();
    let org_wide = store
        .create_silence(org.id, fields(None, 5, 20), actor(&admin), at(0))
        .await
        .unwrap();
    let ids = |s: Vec<Silence>| s.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.active_silences(org.id, rule.id, at(1)).await.unwrap()),
        vec![scoped.id]
    );
    assert_eq!(
        ids(store.active_silences(org.id, rule.id, at(6)).await.unwrap()),
        vec![scoped.id, org_wide.id]
    );
    assert_eq!(
        ids(store
            .active_silences(org.id, rule_2.id, at(6))
            .await
            .unwrap()),
        vec![org_wide.id]
    );
    assert!(
        store
            .active_silences(org.id, rule.id, at(20))
            .await
            .unwrap()
            .is_empty(),
        "ends_at is exclusive"
    );
    assert_eq!(store.count_silences(org.id, at(15)).await.unwrap(), 1);
    assert_eq!(
        ids(store
            .list_silences(
                org.id,
                Page {
                    limit: 10,
                    before: None
                }
            )
            .await
            .unwrap()),
        vec![org_wide.id, scoped.id]
    );
    let changed = store
        .replace_silence(org.id, scoped.id, fields(None, 0, 1), at(2))
        .await
        .unwrap();
    assert_eq!((changed.rule_id, changed.ends_at), (None, at(1)));
    for result in [
        store.get_silence(other.id, scoped.id).await.map(|_| ()),
        store
            .replace_silence(other.id, scoped.id, fields(None, 0, 1), at(2))
            .await
            .map(|_| ()),
        store.delete_silence(other.id, scoped.id).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(MetaError::NotFound("silence"))),
            "{result:?}"
        );
    }
    store.delete_silence(org.id, scoped.id).await.unwrap();
    // Deleting a rule removes the silences scoped to it.
    let scoped_2 = store
        .create_silence(org.id, fields(Some(rule_2.id), 0, 10), actor(&admin), at(0))
        .await
        .unwrap();
    store.delete_alert_rule(org.id, rule_2.id).await.unwrap();
    assert!(matches!(
        store.get_silence(org.id, scoped_2.id).await,
        Err(MetaError::NotFound(_))
    ));
}
