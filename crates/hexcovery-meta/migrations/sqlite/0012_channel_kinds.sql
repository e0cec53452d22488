-- no-transaction
-- Channels of three kinds (webhook, slack, email). The channel table is rebuilt to widen
-- its `kind` check (SQLite cannot alter a CHECK): with foreign keys off, so dropping the old
-- table does not cascade into the deliveries that reference it, inside one transaction.
-- sqlx records a no-transaction migration only after it ran, so a crash in between runs it
-- again at the next start. It is alone in its file and safe to repeat: before the server
-- serves, no channel can use the new columns, so copying the old ones loses nothing.

PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE notification_channels_v2 (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    -- webhook: the URL in clear; slack: NULL (the URL is a secret, sealed below).
    url             TEXT,
    url_sealed      TEXT,
    -- Sealed with a key derived from the server key; NULL when the channel signs nothing.
    secret_sealed   TEXT,
    -- email: a JSON list of addresses.
    emails          TEXT,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
INSERT INTO notification_channels_v2 (id, org_id, name, kind, url, secret_sealed,
    created_by_name, created_at)
    SELECT id, org_id, name, kind, url, secret_sealed, created_by_name, created_at
    FROM notification_channels;
DROP TABLE notification_channels;
ALTER TABLE notification_channels_v2 RENAME TO notification_channels;
CREATE INDEX notification_channels_by_org ON notification_channels(org_id, id);

COMMIT;
PRAGMA foreign_keys = ON;
