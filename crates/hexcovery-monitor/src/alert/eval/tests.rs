//! The state machine, transition by transition and policy by policy, through a simulator
//! that stores instances as JSON between evaluations as the metastore does.

use super::*;
use crate::alert::{
    AlertStatus, MatchOp, Matcher, Notification, NotificationType, Silence, event_id,
};
use serde_json::{Value, json};

fn t(minute: i64) -> DateTime<Utc> {
    // 2026-11-22T12:00:00Z
    DateTime::from_timestamp(1_795_348_800 + minute * 60, 0).unwrap()
}

fn rule(patch: Value) -> AlertRule {
    let mut base = json!({
        "window": "5m", "interval": "1m",
        "condition": {"op": ">", "threshold": 50},
        "labels": {"team": "payments"},
        "annotations": {"summary": "{{labels.service}}: {{value}} errors in {{window}}"}
    });
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn series(pairs: &[(&str, f64)]) -> Outcome {
    Outcome::Series(
        pairs
            .iter()
            .map(|(service, v)| Series::new([("service", *service)], *v))
            .collect(),
    )
}

fn a(v: f64) -> Outcome {
    series(&[("a", v)])
}

fn none() -> Outcome {
    Outcome::Series(vec![])
}

fn failed() -> Outcome {
    Outcome::Failed("query timed out".into())
}

/// `service`, or `-` for the rule-level instance (no `service` label).
fn name(labels: &BTreeMap<String, String>) -> String {
    labels.get("service").cloned().unwrap_or_else(|| "-".into())
}

struct Sim {
    rule: AlertRule,
    instances: Vec<Instance>,
    silences: Vec<Silence>,
}

impl Sim {
    fn new(rule: AlertRule) -> Self {
        Sim {
            rule,
            instances: Vec::new(),
            silences: Vec::new(),
        }
    }

    fn tick(&mut self, minute: i64, outcome: Outcome) -> Evaluation {
        let stored: Vec<Instance> =
            serde_json::from_value(serde_json::to_value(&self.instances).unwrap()).unwrap();
        assert_eq!(stored, self.instances, "instances survive storage as JSON");
        let evaluation = evaluate(&self.rule, &stored, &outcome, t(minute), &self.silences);
        // Evaluating again (a retry) decides exactly the same.
        assert_eq!(
            evaluate(&self.rule, &stored, &outcome, t(minute), &self.silences),
            evaluation
        );
        self.instances = evaluation.instances.clone();
        evaluation
    }

    fn state(&self, service: &str) -> Option<State> {
        self.instance(service).map(|i| i.state)
    }

    fn instance(&self, service: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| name(&i.labels) == service)
    }

    fn silence(&mut self, service: &str, from: i64, to: i64) {
        self.silences.push(Silence {
            matchers: vec![Matcher {
                label: "service".into(),
                op: MatchOp::Equal,
                value: service.into(),
            }],
            rule_id: None,
            starts_at: t(from),
            ends_at: t(to),
        });
    }
}

fn moves(e: &Evaluation) -> Vec<(String, State, State)> {
    e.transitions
        .iter()
        .map(|tr| (name(&tr.labels), tr.from, tr.to))
        .collect()
}

/// The notification's type and its alerts as (name, status, state).
type Sent = (String, AlertStatus, State);

fn sent(e: &Evaluation) -> Option<(NotificationType, Vec<Sent>)> {
    e.notification.as_ref().map(|n| {
        (
            n.kind,
            n.alerts
                .iter()
                .map(|a| (name(&a.labels), a.status, a.state))
                .collect(),
        )
    })
}

fn firing(name: &str) -> (String, AlertStatus, State) {
    (name.into(), AlertStatus::Firing, State::Firing)
}

fn resolved(name: &str, state: State) -> (String, AlertStatus, State) {
    (name.into(), AlertStatus::Resolved, state)
}

use NotificationType as N;
use State::{Error as Err, Firing as F, NoData as ND, Normal as Nm, Pending as P};

#[test]
fn pending_then_firing_then_resolved() {
    let mut sim = Sim::new(rule(json!({"pending_for": "2m"})));
    let e = sim.tick(0, a(61.0));
    assert_eq!(moves(&e), [("a".into(), Nm, P)]);
    assert_eq!(sent(&e), None);
    let i = sim.instance("a").unwrap();
    assert_eq!((i.state, i.since, i.value), (P, t(0), Some(61.0)));
    assert_eq!(
        i.labels,
        BTreeMap::from([
            ("service".into(), "a".into()),
            ("team".into(), "payments".into())
        ])
    );
    assert_eq!(moves(&sim.tick(1, a(61.0))), []);
    assert_eq!(sim.state("a"), Some(P));
    let e = sim.tick(2, a(62.0));
    assert_eq!(moves(&e), [("a".into(), P, F)]);
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("a")])));
    let n = e.notification.as_ref().unwrap();
    assert_eq!(n.status, AlertStatus::Firing);
    let alert = &n.alerts[0];
    assert_eq!((alert.starts_at, alert.ends_at), (t(2), None));
    assert_eq!(alert.values, BTreeMap::from([("value".into(), 62.0)]));
    assert_eq!(alert.annotations["summary"], "a: 62 errors in 5m");
    let i = sim.instance("a").unwrap();
    assert_eq!(
        (i.since, i.started_at, i.last_eval_at),
        (t(2), Some(t(2)), t(2))
    );
    let e = sim.tick(3, a(10.0));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("a", Nm)])));
    let n = e.notification.as_ref().unwrap();
    assert_eq!(n.status, AlertStatus::Resolved);
    assert_eq!(
        (n.alerts[0].starts_at, n.alerts[0].ends_at),
        (t(2), Some(t(3)))
    );
    assert_eq!(n.alerts[0].annotations["summary"], "a: 10 errors in 5m");
    let e = sim.tick(4, a(10.0));
    assert_eq!((moves(&e), sent(&e)), (vec![], None));
    // A present normal series stays listed.
    assert_eq!(sim.state("a"), Some(Nm));
}

#[test]
fn pending_that_never_fires() {
    let mut sim = Sim::new(rule(json!({"pending_for": "5m"})));
    let all: Vec<Evaluation> = [61.0, 61.0, 61.0, 10.0, 61.0]
        .into_iter()
        .enumerate()
        .map(|(m, v)| sim.tick(m as i64, a(v)))
        .collect();
    let every: Vec<_> = all.iter().flat_map(moves).collect();
    assert_eq!(
        every,
        [
            ("a".into(), Nm, P),
            ("a".into(), P, Nm),
            ("a".into(), Nm, P)
        ]
    );
    assert!(all.iter().all(|e| e.notification.is_none()));
    // Pending restarted at minute 4.
    assert_eq!(sim.instance("a").unwrap().since, t(4));
}

#[test]
fn zero_pending_fires_at_once() {
    let mut sim = Sim::new(rule(json!({})));
    let e = sim.tick(0, a(51.0));
    assert_eq!(moves(&e), [("a".into(), Nm, F)]);
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("a")])));
    // On the threshold is not over it.
    let e = sim.tick(1, a(50.0));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
}

#[test]
fn keep_firing_for_delays_the_resolve() {
    let mut sim = Sim::new(rule(json!({"keep_firing_for": "2m"})));
    sim.tick(0, a(61.0));
    let quiet = |e: &Evaluation| moves(e).is_empty() && e.notification.is_none();
    assert!(quiet(&sim.tick(1, a(10.0))));
    assert_eq!(sim.instance("a").unwrap().recovering_since, Some(t(1)));
    // Breaching again starts the count over.
    assert!(quiet(&sim.tick(2, a(61.0))));
    assert_eq!(sim.instance("a").unwrap().recovering_since, None);
    assert!(quiet(&sim.tick(3, a(10.0))));
    assert!(quiet(&sim.tick(4, a(10.0))));
    assert_eq!(sim.state("a"), Some(F));
    let e = sim.tick(5, a(10.0));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    let n = e.notification.unwrap();
    assert_eq!(n.alerts[0].ends_at, Some(t(5)));
}

#[test]
fn recovery_is_hysteresis() {
    let mut sim = Sim::new(rule(
        json!({"condition": {"op": ">", "threshold": 50, "recovery": 30}}),
    ));
    let table = [
        (61.0, F),
        (40.0, F),
        (31.0, F),
        (30.0, Nm),
        (40.0, Nm),
        (51.0, F),
    ];
    for (m, (value, expected)) in table.into_iter().enumerate() {
        sim.tick(m as i64, a(value));
        assert_eq!(sim.state("a"), Some(expected), "{value}");
    }
    // No warning level: no severity label.
    assert!(!sim.instance("a").unwrap().labels.contains_key("severity"));
}

#[test]
fn warning_and_critical_severity() {
    let mut sim = Sim::new(rule(json!({
        "condition": {"op": ">", "threshold": 50, "warning": 20, "recovery": 30}
    })));
    let severity = |e: &Evaluation| -> Vec<String> {
        e.notification
            .iter()
            .flat_map(|n| &n.alerts)
            .map(|a| a.labels["severity"].clone())
            .collect()
    };
    let e = sim.tick(0, a(25.0));
    assert_eq!(moves(&e), [("a".into(), Nm, F)]);
    assert_eq!(severity(&e), ["warning"]);
    assert_eq!(sim.instance("a").unwrap().labels["severity"], "warning");
    // Escalation: recorded as firing → firing with the new label, and notified.
    let e = sim.tick(1, a(61.0));
    assert_eq!(moves(&e), [("a".into(), F, F)]);
    assert_eq!(e.transitions[0].labels["severity"], "critical");
    assert_eq!(severity(&e), ["critical"]);
    // Below the threshold but above recovery: still critical, nothing to say.
    let e = sim.tick(2, a(40.0));
    assert_eq!((moves(&e), severity(&e)), (vec![], vec![]));
    assert_eq!(
        sim.instance("a").unwrap().severity,
        Some(Severity::Critical)
    );
    let e = sim.tick(3, a(25.0));
    assert_eq!(moves(&e), [("a".into(), F, F)]);
    assert_eq!(severity(&e), ["warning"]);
    // The same fingerprint throughout: severity is not part of the identity.
    let fingerprint = sim.instance("a").unwrap().fingerprint.clone();
    let e = sim.tick(4, a(10.0));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    // The resolved alert carries the severity it was last notified with.
    assert_eq!(severity(&e), ["warning"]);
    assert_eq!(
        e.notification.as_ref().unwrap().alerts[0].fingerprint,
        fingerprint
    );
    assert!(!sim.instance("a").unwrap().labels.contains_key("severity"));
    // Pending carries a severity too.
    let mut pending = Sim::new(rule(json!({
        "pending_for": "1m",
        "condition": {"op": "<", "threshold": 10, "warning": 20}
    })));
    pending.tick(0, a(15.0));
    let i = pending.instance("a").unwrap();
    assert_eq!((i.state, i.labels["severity"].as_str()), (P, "warning"));
    pending.tick(1, a(5.0));
    let i = pending.instance("a").unwrap();
    assert_eq!((i.state, i.labels["severity"].as_str()), (F, "critical"));
}

#[test]
fn a_series_missing_once_keeps_its_state_twice_resolves() {
    let mut sim = Sim::new(rule(json!({})));
    sim.tick(0, series(&[("a", 61.0), ("b", 61.0), ("c", 1.0)]));
    let e = sim.tick(1, series(&[("b", 61.0)]));
    assert_eq!((moves(&e), sent(&e)), (vec![], None));
    let i = sim.instance("a").unwrap();
    assert_eq!((i.state, i.value, i.missing), (F, None, 1));
    assert_eq!(sim.state("c"), Some(Nm));
    // Back: the count starts over.
    sim.tick(2, series(&[("a", 61.0), ("b", 61.0)]));
    assert_eq!(sim.instance("a").unwrap().missing, 0);
    // c (normal) missed twice: dropped without a transition.
    assert_eq!(sim.state("c"), None);
    sim.tick(3, series(&[("b", 61.0)]));
    let e = sim.tick(4, series(&[("b", 61.0)]));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("a", Nm)])));
    assert!(e.notification.unwrap().alerts[0].values.is_empty());
    assert_eq!(sim.state("a"), None);
    assert_eq!(sim.state("b"), Some(F));
}

#[test]
fn no_data_ok_resolves_as_missing_series_do() {
    let mut sim = Sim::new(rule(json!({"no_data": "ok"})));
    sim.tick(0, a(61.0));
    let e = sim.tick(1, none());
    assert_eq!(
        (e.health, moves(&e), sent(&e)),
        (Health::NoData, vec![], None)
    );
    let e = sim.tick(2, none());
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("a", Nm)])));
    assert!(sim.instances.is_empty());
}

#[test]
fn no_data_raises_a_no_data_instance() {
    let mut sim = Sim::new(rule(json!({"no_data": "no_data"})));
    sim.tick(0, a(61.0));
    let e = sim.tick(1, none());
    assert_eq!(moves(&e), [("-".into(), Nm, ND)]);
    assert_eq!(
        sent(&e),
        Some((N::NoData, vec![("-".into(), AlertStatus::Firing, ND)]))
    );
    let n = e.notification.as_ref().unwrap();
    assert_eq!(n.status, AlertStatus::Firing);
    assert_eq!(n.alerts[0].labels, rule(json!({})).labels);
    let raised = sim.instance("-").unwrap();
    assert_eq!(
        (raised.kind, raised.value, raised.since),
        (InstanceKind::NoData, None, t(1))
    );
    assert_eq!(sim.state("a"), Some(F));
    // Still no data: the raised instance stays (no repeat: only firing repeats); a resolves.
    let e = sim.tick(2, none());
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("a", Nm)])));
    // Data again: the no-data instance resolves at once.
    let e = sim.tick(3, a(10.0));
    assert_eq!(moves(&e), [("-".into(), ND, Nm)]);
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("-", Nm)])));
    assert_eq!(sim.instances.len(), 1);
    assert_eq!(sim.state("a"), Some(Nm));
}

#[test]
fn no_data_firing_fires_through_pending() {
    let mut sim = Sim::new(rule(json!({"no_data": "firing"})));
    let e = sim.tick(0, none());
    assert_eq!(moves(&e), [("-".into(), Nm, F)]);
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("-")])));
    assert_eq!(sim.instance("-").unwrap().kind, InstanceKind::NoData);
    let mut slow = Sim::new(rule(json!({"no_data": "firing", "pending_for": "2m"})));
    assert_eq!(moves(&slow.tick(0, none())), [("-".into(), Nm, P)]);
    assert_eq!(moves(&slow.tick(1, none())), []);
    assert_eq!(moves(&slow.tick(2, none())), [("-".into(), P, F)]);
    assert_eq!(moves(&slow.tick(3, a(1.0))), [("-".into(), F, Nm)]);
}

#[test]
fn no_data_keep_last_keeps_every_state() {
    let mut sim = Sim::new(rule(json!({"no_data": "keep_last", "pending_for": "1m"})));
    sim.tick(0, series(&[("a", 61.0), ("b", 1.0)]));
    sim.tick(1, series(&[("a", 61.0), ("b", 1.0)]));
    sim.tick(2, series(&[("a", 61.0), ("b", 61.0)]));
    assert_eq!((sim.state("a"), sim.state("b")), (Some(F), Some(P)));
    for m in 3..10 {
        let e = sim.tick(m, none());
        assert_eq!(
            (e.health, moves(&e), sent(&e)),
            (Health::NoData, vec![], None)
        );
    }
    assert_eq!((sim.state("a"), sim.state("b")), (Some(F), Some(P)));
    let a_now = sim.instance("a").unwrap();
    assert_eq!(
        (a_now.value, a_now.last_eval_at, a_now.missing),
        (Some(61.0), t(9), 0)
    );
}

#[test]
fn on_error_error_raises_an_error_instance() {
    let mut sim = Sim::new(rule(json!({})));
    sim.tick(0, a(61.0));
    let e = sim.tick(1, failed());
    assert_eq!(
        (e.health, e.last_error.as_deref()),
        (Health::Error, Some("query timed out"))
    );
    assert_eq!(moves(&e), [("-".into(), Nm, Err)]);
    assert_eq!(
        sent(&e),
        Some((N::Error, vec![("-".into(), AlertStatus::Firing, Err)]))
    );
    assert_eq!(sim.instance("-").unwrap().kind, InstanceKind::Error);
    let e = sim.tick(2, failed());
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    let n = e.notification.as_ref().unwrap();
    assert_eq!((n.kind, n.status), (N::Resolved, AlertStatus::Resolved));
    // Recovered: the error resolves and a fires again, in one message.
    let e = sim.tick(3, a(61.0));
    // Sorted by labels: {service: a, team} before {team}.
    assert_eq!(moves(&e), [("a".into(), Nm, F), ("-".into(), Err, Nm)]);
    assert_eq!(
        sent(&e),
        Some((N::Firing, vec![firing("a"), resolved("-", Nm)]))
    );
    assert_eq!(e.last_error, None);
    assert_eq!(e.health, Health::Ok);
}

#[test]
fn on_error_ok_firing_and_keep_last() {
    let mut ok = Sim::new(rule(json!({"on_error": "ok"})));
    ok.tick(0, a(61.0));
    let e = ok.tick(1, failed());
    assert_eq!(
        (e.health, moves(&e), sent(&e)),
        (Health::Error, vec![], None)
    );
    let e = ok.tick(2, failed());
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    assert!(ok.instances.is_empty());

    let mut fires = Sim::new(rule(json!({"on_error": "firing"})));
    let e = fires.tick(0, failed());
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("-")])));
    assert_eq!(fires.instance("-").unwrap().kind, InstanceKind::Error);
    assert_eq!(moves(&fires.tick(1, failed())), []);
    // A success with no rows (no_data ok) resolves it.
    let e = fires.tick(2, none());
    assert_eq!(moves(&e), [("-".into(), F, Nm)]);
    assert!(fires.instances.is_empty());

    let mut keep = Sim::new(rule(json!({"on_error": "keep_last"})));
    keep.tick(0, a(61.0));
    for m in 1..5 {
        let e = keep.tick(m, failed());
        assert_eq!((moves(&e), sent(&e)), (vec![], None));
        assert_eq!(e.last_error.as_deref(), Some("query timed out"));
    }
    assert_eq!(keep.state("a"), Some(F));
}

#[test]
fn repeat_interval_exactly_at_the_boundary() {
    let mut sim = Sim::new(rule(json!({"repeat_interval": "1h"})));
    let notified: Vec<i64> = (0..=121)
        .filter(|&m| sim.tick(m, a(61.0)).notification.is_some())
        .collect();
    assert_eq!(notified, [0, 60, 120]);
    // A repeat is the same episode: same startsAt.
    let mut sim = Sim::new(rule(json!({"repeat_interval": "1h"})));
    sim.tick(0, a(61.0));
    let e = sim.tick(60, a(61.0));
    assert_eq!(e.notification.unwrap().alerts[0].starts_at, t(0));
}

#[test]
fn a_silence_holds_notifications_then_releases_them() {
    let mut sim = Sim::new(rule(json!({})));
    sim.silence("a", 1, 5);
    sim.tick(0, series(&[("a", 10.0), ("b", 10.0)]));
    let e = sim.tick(1, series(&[("a", 61.0), ("b", 61.0)]));
    // States are recorded; only b notifies.
    assert_eq!(moves(&e), [("a".into(), Nm, F), ("b".into(), Nm, F)]);
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("b")])));
    for m in 2..5 {
        assert_eq!(
            sent(&sim.tick(m, series(&[("a", 61.0), ("b", 61.0)]))),
            None
        );
    }
    // The silence ends at 5 (exclusive): a notifies, with its real start.
    let e = sim.tick(5, series(&[("a", 61.0), ("b", 61.0)]));
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("a")])));
    assert_eq!(e.notification.unwrap().alerts[0].starts_at, t(1));
}

#[test]
fn a_resolve_of_a_never_notified_instance_sends_nothing() {
    let mut sim = Sim::new(rule(json!({})));
    sim.silence("a", 0, 10);
    sim.tick(1, a(61.0));
    let e = sim.tick(3, a(10.0));
    assert_eq!(moves(&e), [("a".into(), F, Nm)]);
    for m in 4..15 {
        assert_eq!(sent(&sim.tick(m, a(10.0))), None, "{m}");
    }
    assert_eq!(sim.instance("a").unwrap().notified, None);
}

#[test]
fn a_resolve_under_a_silence_goes_out_when_it_ends() {
    let mut sim = Sim::new(rule(json!({})));
    sim.tick(0, a(61.0));
    sim.silence("a", 1, 5);
    let e = sim.tick(2, none());
    assert_eq!(sent(&e), None);
    // Missing twice: resolved, but kept until its resolve is sent.
    assert_eq!(moves(&sim.tick(3, none())), [("a".into(), F, Nm)]);
    assert_eq!(sent(&sim.tick(4, none())), None);
    assert_eq!(sim.state("a"), Some(Nm));
    let e = sim.tick(5, none());
    assert_eq!(sent(&e), Some((N::Resolved, vec![resolved("a", Nm)])));
    assert_eq!(e.notification.unwrap().alerts[0].ends_at, Some(t(3)));
    assert!(sim.instances.is_empty());
}

#[test]
fn without_send_resolved_a_resolve_sends_nothing() {
    let mut sim = Sim::new(rule(json!({"send_resolved": false})));
    sim.tick(0, a(61.0));
    let e = sim.tick(1, a(1.0));
    assert_eq!((moves(&e).len(), sent(&e)), (1, None));
    assert_eq!(sim.instance("a").unwrap().notified, None);
}

#[test]
fn one_message_per_evaluation_holds_every_change() {
    let mut sim = Sim::new(rule(json!({})));
    let e = sim.tick(0, series(&[("b", 61.0), ("a", 61.0)]));
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("a"), firing("b")])));
    let e = sim.tick(1, series(&[("a", 1.0), ("b", 61.0), ("c", 99.0)]));
    assert_eq!(
        sent(&e),
        Some((N::Firing, vec![firing("c"), resolved("a", Nm)]))
    );
    let e = sim.tick(2, series(&[("a", 1.0), ("b", 1.0), ("c", 1.0)]));
    assert_eq!(
        sent(&e),
        Some((N::Resolved, vec![resolved("b", Nm), resolved("c", Nm)]))
    );
}

#[test]
fn a_repeat_and_an_error_share_a_message_typed_by_the_most_severe() {
    let mut sim = Sim::new(rule(json!({"repeat_interval": "1h"})));
    sim.tick(0, a(61.0));
    let e = sim.tick(60, failed());
    assert_eq!(
        sent(&e),
        Some((
            N::Firing,
            vec![firing("a"), ("-".into(), AlertStatus::Firing, Err)]
        ))
    );
}

#[test]
fn the_group_is_the_rule_from_first_notification_to_last_resolve() {
    let mut sim = Sim::new(rule(json!({})));
    let group = |e: &Evaluation| {
        let n = e.notification.as_ref().unwrap();
        (n.group_started_at, n.opens_group)
    };
    assert_eq!(group(&sim.tick(0, series(&[("a", 61.0)]))), (t(0), true));
    assert_eq!(
        group(&sim.tick(5, series(&[("a", 61.0), ("b", 61.0)]))),
        (t(0), false)
    );
    assert_eq!(
        group(&sim.tick(6, series(&[("a", 1.0), ("b", 61.0)]))),
        (t(0), false)
    );
    // a is normal and notified resolved; b still holds the group open.
    assert_eq!(
        group(&sim.tick(7, series(&[("a", 1.0), ("b", 1.0)]))),
        (t(0), false)
    );
    assert_eq!(group(&sim.tick(8, series(&[("c", 61.0)]))), (t(8), true));
}

#[test]
fn event_ids_are_stable_and_distinct() {
    let r = rule(json!({}));
    let n = |minute: i64, value: f64| -> Notification {
        evaluate(&r, &[], &a(value), t(minute), &[])
            .notification
            .unwrap()
    };
    let id = event_id("rule-1", &n(0, 61.0));
    assert_eq!(id.len(), 32);
    assert_eq!(id, event_id("rule-1", &n(0, 61.0)));
    assert_ne!(id, event_id("rule-2", &n(0, 61.0)));
    assert_ne!(id, event_id("rule-1", &n(1, 61.0)));
    let other = evaluate(&r, &[], &series(&[("b", 61.0)]), t(0), &[])
        .notification
        .unwrap();
    assert_ne!(id, event_id("rule-1", &other));
}

#[test]
fn labels_come_from_the_result_over_the_rule() {
    let mut sim = Sim::new(rule(json!({"no_data": "no_data"})));
    // No GROUP BY: the one series has exactly the rule's labels…
    sim.tick(0, Outcome::Series(vec![Series::new([], 61.0)]));
    assert_eq!(sim.instance("-").unwrap().kind, InstanceKind::Series);
    // …so the no-data instance is the same one: firing → no_data.
    let e = sim.tick(1, none());
    assert_eq!(moves(&e), [("-".into(), F, ND)]);
    assert_eq!(sent(&e).unwrap().0, N::NoData);
    assert_eq!(sim.instances.len(), 1);
    let e = evaluate(
        &rule(json!({})),
        &[],
        &Outcome::Series(vec![Series::new([("team", "search")], 61.0)]),
        t(0),
        &[],
    );
    assert_eq!(e.instances[0].labels["team"], "search");
}

#[test]
fn a_result_without_a_value_is_the_rules_error() {
    let outcome = Outcome::from_result(
        &[("service", "string")],
        &[vec![json!("a")]],
        None,
        Reducer::Last,
    );
    let e = evaluate(&rule(json!({})), &[], &outcome, t(0), &[]);
    assert_eq!(e.health, Health::Error);
    assert!(
        e.last_error
            .as_deref()
            .unwrap()
            .contains("no numeric column")
    );
    assert_eq!(sent(&e).unwrap().0, N::Error);
}

#[test]
fn duplicate_previous_instances_count_once() {
    let r = rule(json!({}));
    let first = evaluate(&r, &[], &a(61.0), t(0), &[]);
    let doubled = [first.instances.clone(), first.instances].concat();
    let e = evaluate(&r, &doubled, &a(61.0), t(1), &[]);
    assert_eq!(e.instances.len(), 1);
    assert_eq!((moves(&e), sent(&e)), (vec![], None));
}

#[test]
fn the_rule_level_instance_moves_between_no_data_and_error() {
    let mut sim = Sim::new(rule(json!({"no_data": "no_data", "on_error": "error"})));
    assert_eq!(moves(&sim.tick(0, none())), [("-".into(), Nm, ND)]);
    let e = sim.tick(1, failed());
    assert_eq!(moves(&e), [("-".into(), ND, Err)]);
    assert_eq!(sent(&e).unwrap().0, N::Error);
    assert_eq!(sim.instance("-").unwrap().kind, InstanceKind::Error);
    assert_eq!(sim.instances.len(), 1);
}

#[test]
fn silences_match_the_labels_notifications_carry() {
    let mut sim = Sim::new(rule(json!({
        "condition": {"op": ">", "threshold": 50, "warning": 20}
    })));
    sim.silences.push(Silence {
        matchers: vec![Matcher {
            label: "severity".into(),
            op: MatchOp::Equal,
            value: "warning".into(),
        }],
        rule_id: None,
        starts_at: t(0),
        ends_at: t(60),
    });
    // Warnings are held back; the escalation to critical is not.
    assert_eq!(sent(&sim.tick(0, a(25.0))), None);
    let e = sim.tick(1, a(61.0));
    assert_eq!(sent(&e), Some((N::Firing, vec![firing("a")])));
    assert_eq!(e.notification.unwrap().alerts[0].starts_at, t(0));
}
