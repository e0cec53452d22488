-- Outbox messages become a durable mail queue: with a mail server configured they are
-- `pending` until sent (retried with back-off); without one they are `not_sent` and the
-- outbox is where an admin reads them. Messages from before this migration were never sent.
-- A mailer claims a message (`sending`, leased until `next_attempt_at`) before it talks to
-- the mail server, so a message is sent by one mailer at a time and a failure to record the
-- outcome cannot make it go out again every second; an expired lease is due again.
-- Revoking an invite cancels its email if it has not gone out yet.

ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'not_sent'
    CHECK (status IN ('not_sent', 'pending', 'sending', 'sent', 'failed', 'cancelled'));
ALTER TABLE outbox ADD COLUMN invite_id TEXT;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
