-- Saved queries, dashboards and the versions every dashboard save keeps.

CREATE TABLE saved_queries (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- The name case-folded (Unicode, in Rust) for the `q` filter.
    name_folded TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    query       TEXT NOT NULL,
    -- JSON array of strings; filtered with json_each.
    tags        TEXT NOT NULL DEFAULT '[]',
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX saved_queries_by_org ON saved_queries(org_id, id DESC);

CREATE TABLE dashboards (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]',
    -- The current version; saves compare-and-set it in the UPDATE itself.
    version      INTEGER NOT NULL CHECK (version >= 1),
    -- The current version's whole document (JSON), also kept in dashboard_versions.
    document     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX dashboards_by_org ON dashboards(org_id, id DESC);

CREATE TABLE dashboard_versions (
    dashboard_id  TEXT NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    document      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    restored_from INTEGER,
    PRIMARY KEY (dashboard_id, version)
);
