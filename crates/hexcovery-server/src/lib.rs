//! The Hexcovery server: the HTTP API (and, with ingest, the OTLP listeners), built from the
//! route policy table, over the metastore. Only this crate knows HTTP.

pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
mod ingest;
pub mod mail;
pub mod notify;
pub mod policy;
/// The query engine lives in `hexcovery-query`; re-exported so callers keep one path.
pub use hexcovery_query as query;
mod retry;
mod routes;
mod server_key;
pub mod state;
pub mod throttle;
mod usage;

pub use config::{ServerConfig, SignupMode, SmtpConfig};
pub use policy::{Access, app, route_policies};
pub use state::AppState;

use anyhow::Context as _;
use hexcovery_auth::JwtKeys;
use hexcovery_meta::SqliteMetastore;
use hexcovery_store::{StoreConfig, TelemetryStore};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long in-flight requests get to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Resolves once `stop` turns true.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `work` every `period` until `stop`; a slow run delays the next rather than stacking,
/// and `stop` interrupts a run (the queues it works on are durable: an interrupted delivery
/// is simply tried again after the restart).
async fn every<F, Fut>(period: Duration, stop: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            () = &mut stop => return,
            () = work() => {}
        }
    }
}

async fn bind(
    addr: SocketAddr,
    what: &str,
) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} to {addr}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Opens the data directory, metastore and telemetry store (replaying write-ahead logs),
/// binds the API, OTLP/gRPC and OTLP/HTTP listeners, and serves until `shutdown` resolves.
/// Then it stops accepting, finishes in-flight requests, flushes buffered telemetry and
/// usage, and closes the metastore.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Outgoing TLS (webhooks) uses ring; another provider may already be installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let server_key = server_key::load_or_create(&config)?;
    let mailer = config
        .smtp
        .as_ref()
        .map(mail::Mailer::new)
        .transpose()?
        .map(Arc::new);
    let meta_path = config.data_dir.join("meta.db");
    let meta = Arc::new(SqliteMetastore::open(&meta_path).await?);
    tracing::info!(path = %meta_path.display(), "metastore ready");
    let mut store_config = StoreConfig::new(&config.data_dir);
    store_config.max_buffered_bytes = config.max_buffer_bytes;
    store_config.flush_interval = config.flush_interval;
    store_config.idle_unload_after = config.idle_org_unload_after;
    store_config.max_loaded_orgs = config.max_loaded_orgs;
    // Files compaction replaced outlive the longest query that may be reading them.
    store_config.delete_grace = store_config
        .delete_grace
        .max(config.query_limits.timeout + Duration::from_secs(30));
    // Requests may grow when resource attributes repeat per record, but not without bound.
    store_config.max_expanded_bytes = (config.max_request_bytes as u64)
        .saturating_mul(16)
        .max(256 << 20);
    let telemetry = TelemetryStore::open(store_config).await?;
    tracing::info!("telemetry store ready");

    let queries = query::QueryEngine::new(config.query_limits.clone())?;
    // Previews are people's queries; the evaluator's run on the background slots.
    let alert_queries: Arc<dyn hexcovery_alerting::RunQuery> =
        Arc::new(hexcovery_alerting::EngineQueries {
            engine: queries.clone(),
            store: telemetry.clone(),
            priority: query::Priority::Interactive,
        });
    let evaluator_queries: Arc<dyn hexcovery_alerting::RunQuery> =
        Arc::new(hexcovery_alerting::EngineQueries {
            engine: queries.clone(),
            store: telemetry.clone(),
            priority: query::Priority::Background,
        });
    let state = AppState {
        meta: meta.clone(),
        jwt: Arc::new(JwtKeys::from_secret(&server_key.derive("jwt-signing"))),
        config: Arc::new(config.clone()),
        telemetry: telemetry.clone(),
        usage: usage::UsageMeter::default(),
        queries: queries.clone(),
        alert_queries: alert_queries.clone(),
        previews: Arc::default(),
        secrets: Arc::new(hexcovery_auth::SecretBox::new(
            server_key.derive("notification-secrets"),
        )),
        throttle: Arc::new(throttle::Throttle::default()),
        passwords: Arc::new(hexcovery_auth::PasswordPool::default()),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry::ATTEMPT_TIMEOUT)
            .user_agent(concat!("hexcovery/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the webhook HTTP client")?,
        mailer: mailer.clone(),
        clock: match &config.test_clock_file {
            Some(path) => {
                tracing::warn!(path = %path.display(), "heartbeat time comes from a test clock file");
                clock::Clock::File(path.clone())
            }
            None => clock::Clock::System,
        },
    };
    let (api_listener, http_addr) = bind(config.http_addr, "HTTP API").await?;
    let (grpc_listener, grpc_addr) = bind(config.grpc_addr, "OTLP/gRPC listener").await?;
    let (otlp_listener, otlp_http_addr) = bind(config.otlp_http_addr, "OTLP/HTTP listener").await?;
    tracing::info!(%http_addr, "HTTP API listening on http://{http_addr}");
    tracing::info!(%grpc_addr, "OTLP/gRPC listening on {grpc_addr}");
    tracing::info!(%otlp_http_addr, "OTLP/HTTP listening on http://{otlp_http_addr}");

    let (stop_listeners, listeners_stop) = watch::channel(false);
    // One in-flight budget for both OTLP listeners.
    let ingest_budget = ingest::Budget::new(config.max_inflight_bytes);
    let api = tokio::spawn(
        axum::serve(
            api_listener,
            app(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(listeners_stop.clone()))
        .into_future(),
    );
    let otlp_http = tokio::spawn(
        axum::serve(
            otlp_listener,
            ingest::http::router(state.clone(), ingest_budget.clone()).into_make_service(),
        )
        .with_graceful_shutdown(stopped(listeners_stop.clone()))
        .into_future(),
    );
    let grpc = tokio::spawn(ingest::grpc::serve(
        state.clone(),
        ingest_budget,
        grpc_listener,
        stopped(listeners_stop.clone()),
    ));

    let (stop_background, background_stop) = watch::channel(false);
    let maintenance = tokio::spawn(
        telemetry
            .clone()
            .run_maintenance(stopped(background_stop.clone())),
    );
    let dispatcher = tokio::spawn(notify::run(state.clone(), background_stop.clone()));
    let mail = mailer
        .map(|mailer| tokio::spawn(mail::run(state.clone(), mailer, background_stop.clone())));
    let evaluator = tokio::spawn(evaluate_alerts(
        state.clone(),
        evaluator_queries,
        background_stop.clone(),
    ));
    let upkeep = tokio::spawn(upkeep(state.clone(), background_stop));

    shutdown.await;
    let _ = stop_listeners.send(true);
    // In-flight requests finish; connections a client keeps open do not hold the stop up.
    let aborts = [
        api.abort_handle(),
        otlp_http.abort_handle(),
        grpc.abort_handle(),
    ];
    let drain = async {
        let (api, otlp_http, grpc) = tokio::join!(
            async {
                let r = api.await;
                tracing::debug!("HTTP API listener drained");
                r
            },
            async {
                let r = otlp_http.await;
                tracing::debug!("OTLP/HTTP listener drained");
                r
            },
            async {
                let r = grpc.await;
                tracing::debug!("OTLP/gRPC listener drained");
                r
            },
        );
        for (name, result) in [
            ("HTTP API", api.map(|r| r.map_err(anyhow::Error::from))),
            (
                "OTLP/HTTP",
                otlp_http.map(|r| r.map_err(anyhow::Error::from)),
            ),
            ("OTLP/gRPC", grpc.map(|r| r.map_err(anyhow::Error::from))),
        ] {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "{name} stopped with an error"),
                Err(e) if e.is_cancelled() => {}
                Err(e) => tracing::error!(error = %e, "{name} task failed"),
            }
        }
    };
    tokio::pin!(drain);
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut drain)
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {} s after the stop signal; closing them",
            SHUTDOWN_GRACE.as_secs()
        );
        aborts.iter().for_each(tokio::task::AbortHandle::abort);
        drain.await;
    }
    tracing::info!("HTTP API stopped; flushing telemetry");
    let _ = stop_background.send(true);
    maintenance.await?;
    upkeep.await?;
    evaluator.await?;
    dispatcher.await?;
    if let Some(mail) = mail {
        mail.await?;
    }
    if let Err(e) = state.usage.flush(meta.as_ref()).await {
        tracing::error!(error = %e, "could not record the last usage counts");
    }
    tracing::info!("closing the metastore");
    meta.close().await;
    Ok(())
}

/// Periodic work that needs the metastore: writing usage counts, evaluating heartbeats (each
/// second) and enforcing each org's
/// telemetry retention.
async fn upkeep(state: AppState, stop: watch::Receiver<bool>) {
    let mut usage_tick = tokio::time::interval(Duration::from_secs(5));
    let mut retention_tick = tokio::time::interval(Duration::from_secs(3_600));
    let mut heartbeat_tick = tokio::time::interval(Duration::from_secs(1));
    heartbeat_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = usage_tick.tick() => {
                if let Err(e) = state.usage.flush(state.meta.as_ref()).await {
                    tracing::error!(error = %e, "recording usage failed; will retry");
                }
            }
            _ = retention_tick.tick() => enforce_retention(&state).await,
            _ = heartbeat_tick.tick() => evaluate_heartbeats(&state).await,
        }
    }
}

/// Evaluates due alert rules every second until `stop`. A stop interrupts an evaluation in
/// flight: its claim expires and the tick is evaluated again, whole, after the restart.
async fn evaluate_alerts(
    state: AppState,
    queries: Arc<dyn hexcovery_alerting::RunQuery>,
    stop: watch::Receiver<bool>,
) {
    let evaluator = hexcovery_alerting::Evaluator::new(
        state.meta.clone(),
        queries,
        hexcovery_alerting::EvaluatorConfig {
            external_url: state.config.public_url.clone(),
            mail_enabled: state.mailer.is_some(),
            // Three tries at the query's time limit, and room to record.
            lease: state.config.query_limits.timeout * 3 + Duration::from_secs(30),
            ..hexcovery_alerting::EvaluatorConfig::default()
        },
    );
    every(Duration::from_secs(1), stop, || async {
        match evaluator.run_due(state.clock.now()).await {
            Ok(summary) if summary.evaluated + summary.lost + summary.failed > 0 => {
                tracing::debug!(?summary, "alert rules evaluated");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %format!("{e:#}"), "claiming alert rules failed; will retry"),
        }
    })
    .await;
    // Claims this evaluator still holds are given back, so another node (or this one after
    // a restart) takes those ticks at once instead of after the lease.
    if let Err(e) = evaluator.release_claims().await {
        tracing::warn!(error = %e, "releasing alert claims at stop failed; they expire with their lease");
    }
}

/// Records the heartbeat transitions time caused (late, down, a run past its maximum).
async fn evaluate_heartbeats(state: &AppState) {
    match state.meta.evaluate_heartbeats(state.clock.now()).await {
        Ok(events) => notify::on_transitions(&events),
        Err(e) => tracing::error!(error = %e, "evaluating heartbeats failed; will retry"),
    }
}

async fn enforce_retention(state: &AppState) {
    let orgs = match state.meta.list_retention().await {
        Ok(orgs) => orgs,
        Err(e) => return tracing::error!(error = %e, "listing retention settings failed"),
    };
    for (org, days) in orgs {
        match state.telemetry.enforce_retention(org, days).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(%org, rows, days, "deleted telemetry past its retention"),
            Err(e) => tracing::error!(%org, error = format!("{e:#}"), "enforcing retention failed"),
        }
    }
}
