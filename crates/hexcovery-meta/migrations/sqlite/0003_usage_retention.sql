-- How long an org keeps telemetry, and what it ingested per day and signal.

ALTER TABLE orgs ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30;

CREATE TABLE usage_daily (
    org_id   TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    day      TEXT NOT NULL,  -- YYYY-MM-DD, UTC
    signal   TEXT NOT NULL CHECK (signal IN ('logs', 'spans', 'metrics')),
    records  INTEGER NOT NULL DEFAULT 0,
    bytes    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, signal)
);
