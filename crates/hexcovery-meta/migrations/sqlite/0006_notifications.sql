-- Notification channels (webhooks) and the durable queue of deliveries to them: a delivery
-- survives restarts and is retried with back-off until it succeeds or gives up.

CREATE TABLE notification_channels (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('webhook')),
    url             TEXT NOT NULL,
    -- Sealed with a key derived from the server key; NULL when the channel signs nothing.
    secret_sealed   TEXT,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX notification_channels_by_org ON notification_channels(org_id, id);

CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notification_deliveries_by_channel ON notification_deliveries(channel_id, id);
