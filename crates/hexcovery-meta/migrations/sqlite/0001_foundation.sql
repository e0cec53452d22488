-- Orgs, users, sessions and refresh tokens, API keys, audit events.
-- Times are Unix epoch milliseconds (UTC). Ids are UUIDv7 text (time-ordered).

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX users_by_org ON users(org_id, id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    client_addr   TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id, id);

-- One row per refresh token ever issued; a used token is kept so that presenting it again
-- is recognised as reuse (and revokes the session).
CREATE TABLE refresh_tokens (
    token_digest  TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

CREATE TABLE api_keys (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    key_digest          TEXT NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    created_by_user_id  TEXT,
    created_by_name     TEXT NOT NULL,
    last_used_at        INTEGER,
    revoked_at          INTEGER
);
CREATE INDEX api_keys_by_org ON api_keys(org_id, id);

CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    time         INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'anonymous')),
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_addr  TEXT,
    detail       TEXT
);
CREATE INDEX audit_events_by_org ON audit_events(org_id, id);
