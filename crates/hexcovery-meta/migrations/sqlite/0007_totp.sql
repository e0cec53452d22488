-- Two-factor authentication: a user's TOTP secret (sealed with a server-key-derived key),
-- whether it is enabled, the last step accepted (each step is accepted once), and one-time
-- recovery codes stored as digests.

ALTER TABLE users ADD COLUMN totp_secret_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    digest  TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, digest)
);
