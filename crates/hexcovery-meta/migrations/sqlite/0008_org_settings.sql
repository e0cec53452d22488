-- Org settings: error-rate thresholds (percent) for the overview, and the AI provider the
-- agent uses; its API key is sealed with a server-key-derived key and never returned.

ALTER TABLE orgs ADD COLUMN error_rate_warning REAL NOT NULL DEFAULT 1;
ALTER TABLE orgs ADD COLUMN error_rate_critical REAL NOT NULL DEFAULT 5;
ALTER TABLE orgs ADD COLUMN ai_provider TEXT;
ALTER TABLE orgs ADD COLUMN ai_model TEXT;
ALTER TABLE orgs ADD COLUMN ai_base_url TEXT;
ALTER TABLE orgs ADD COLUMN ai_key_sealed TEXT;
