-- Annotations: marks on the time axis (deploys, incidents) that dashboards draw on charts.

CREATE TABLE annotations (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    title           TEXT NOT NULL,
    text            TEXT,
    -- JSON array of strings; filtered with json_each.
    tags            TEXT NOT NULL DEFAULT '[]',
    time            INTEGER NOT NULL,
    time_end        INTEGER,
    created_by_kind TEXT NOT NULL,
    created_by_id   TEXT,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (time_end IS NULL OR time_end >= time)
);
CREATE INDEX annotations_by_org_time ON annotations(org_id, time DESC, id DESC);
CREATE INDEX annotations_by_org_name ON annotations(org_id, name, time DESC);
