-- Alert rules, their instances (one per result series) and transitions, silences, and the
-- outbox columns alert emails need (an HTML part and threading headers).

CREATE TABLE alert_rules (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    query           TEXT NOT NULL,
    -- The rule's window, interval, condition and policies as JSON (validated by the server).
    definition      TEXT NOT NULL,
    -- A JSON list of channel ids of the same org.
    channels        TEXT NOT NULL,
    paused          INTEGER NOT NULL DEFAULT 0,
    interval_ms     INTEGER NOT NULL,
    -- The next tick to evaluate; ticks are multiples of the interval since the epoch.
    next_eval_at    INTEGER NOT NULL,
    -- Bumped when the query or condition changes: instances of older generations are reset.
    generation      INTEGER NOT NULL DEFAULT 1,
    health          TEXT NOT NULL DEFAULT 'unknown',
    last_eval_at    INTEGER,
    last_error      TEXT,
    -- An evaluator's claim on the rule's due tick: one evaluator per tick cluster-wide.
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_by_kind TEXT NOT NULL,
    created_by_id   TEXT,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX alert_rules_by_org ON alert_rules(org_id, id);
CREATE INDEX alert_rules_due ON alert_rules(next_eval_at) WHERE paused = 0;

CREATE TABLE alert_instances (
    rule_id         TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    labels          TEXT NOT NULL,
    state           TEXT NOT NULL,
    value           REAL,
    since           INTEGER NOT NULL,
    last_eval_at    INTEGER NOT NULL,
    -- The state machine's full record of the instance (bookkeeping included), as JSON.
    data            TEXT NOT NULL,
    PRIMARY KEY (rule_id, fingerprint)
);
CREATE INDEX alert_instances_by_org_state ON alert_instances(org_id, state);

CREATE TABLE alert_transitions (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    rule_id         TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    fingerprint     TEXT NOT NULL,
    labels          TEXT NOT NULL,
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    value           REAL
);
CREATE INDEX alert_transitions_by_org_time ON alert_transitions(org_id, at);
CREATE INDEX alert_transitions_by_rule_time ON alert_transitions(rule_id, at);

CREATE TABLE silences (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rule_id         TEXT REFERENCES alert_rules(id) ON DELETE CASCADE,
    matchers        TEXT NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    comment         TEXT NOT NULL,
    created_by_kind TEXT NOT NULL,
    created_by_id   TEXT,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX silences_by_org ON silences(org_id, id);

ALTER TABLE outbox ADD COLUMN html_body TEXT;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;

