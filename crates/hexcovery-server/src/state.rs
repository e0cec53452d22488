//! `AppState`: what every handler shares — the metastore, telemetry store, usage meter,
//! query engine, token keys and configuration.

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::query::QueryEngine;
use crate::usage::UsageMeter;
use hexcovery_auth::JwtKeys;
use hexcovery_meta::{Metastore, NewAuditEvent};
use hexcovery_store::TelemetryStore;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub meta: Arc<dyn Metastore>,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<ServerConfig>,
    pub telemetry: TelemetryStore,
    pub usage: UsageMeter,
    pub queries: QueryEngine,
    /// Runs alert queries for previews (at people's priority; the evaluator has its own, on
    /// the background slots).
    pub alert_queries: Arc<dyn hexcovery_alerting::RunQuery>,
    /// Orgs with a backtest preview running: one at a time per org, so a loop of previews
    /// cannot hold the background query slots the evaluator needs.
    pub previews: Arc<std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>>,
    pub clock: Clock,
    /// Seals secrets the server must read back (webhook signing secrets).
    pub secrets: Arc<hexcovery_auth::SecretBox>,
    /// Login failures per account and client address.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// The bounded pool every password hash and verification runs on (login, signup, invite
    /// accept, re-authentication).
    pub passwords: Arc<hexcovery_auth::PasswordPool>,
    /// Outgoing HTTP (webhooks): no redirects, a timeout per attempt.
    pub http: reqwest::Client,
    /// The mail server, when one is configured; otherwise messages stay in the outbox.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
}

impl AppState {
    /// Records an audit event. The action it describes has already happened, so a failure to
    /// record is logged loudly rather than turned into an error for the client.
    pub async fn audit(&self, event: NewAuditEvent) {
        let action = event.action;
        if let Err(error) = self.meta.record_audit(event).await {
            tracing::error!(%action, error = ?error, "failed to record an audit event");
        }
    }
}
