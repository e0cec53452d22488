-- Invitations to join an org, and the outbox of messages (invite emails) the server produced.

CREATE TABLE invites (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email               TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    token_digest        TEXT NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    invited_by_user_id  TEXT,
    invited_by_name     TEXT NOT NULL,
    accepted_at         INTEGER,
    revoked_at          INTEGER
);
CREATE INDEX invites_by_org ON invites(org_id, id);

-- Messages for people; kept so an admin can read them when no mail server is configured.
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX outbox_by_org ON outbox(org_id, id);
