-- Heartbeat monitors (cron-job monitoring): the monitor with its rules, the facts its pings
-- established and its state as last evaluated; the runs started with /start; every ping;
-- every state transition.

CREATE TABLE heartbeat_monitors (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    timezone         TEXT NOT NULL,
    grace_secs       INTEGER NOT NULL,
    max_runtime_secs INTEGER,
    paused_at        INTEGER,
    state            TEXT NOT NULL,
    state_since      INTEGER NOT NULL,
    -- When the state changes next by itself; the evaluator looks at monitors whose time came.
    next_check_at    INTEGER,
    last_ping_at     INTEGER,
    last_success_at  INTEGER,
    last_fail_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX heartbeat_monitors_to_check ON heartbeat_monitors(next_check_at)
    WHERE next_check_at IS NOT NULL;

CREATE TABLE heartbeat_runs (
    id          TEXT PRIMARY KEY,
    monitor_id  TEXT NOT NULL REFERENCES heartbeat_monitors(id) ON DELETE CASCADE,
    run_id      TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX heartbeat_runs_open ON heartbeat_runs(monitor_id, started_at) WHERE finished_at IS NULL;

CREATE TABLE heartbeat_pings (
    id          TEXT PRIMARY KEY,
    monitor_id  TEXT NOT NULL REFERENCES heartbeat_monitors(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('success', 'start', 'fail')),
    at          INTEGER NOT NULL,
    run_id      TEXT,
    duration_ms INTEGER,
    body        TEXT
);
CREATE INDEX heartbeat_pings_by_monitor ON heartbeat_pings(monitor_id, id);

CREATE TABLE heartbeat_events (
    id          TEXT PRIMARY KEY,
    monitor_id  TEXT NOT NULL REFERENCES heartbeat_monitors(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL
);
CREATE INDEX heartbeat_events_by_monitor ON heartbeat_events(monitor_id, at);
