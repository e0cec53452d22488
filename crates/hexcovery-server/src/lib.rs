//! The Hexcovery server: the HTTP API (and, with ingest, the OTLP listeners), built from the
//! route policy table, over the metastore. Only this crate knows HTTP.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod policy;
mod routes;
mod server_key;
pub mod state;

pub use config::{ServerConfig, SignupMode};
pub use policy::{Access, app, route_policies};
pub use state::AppState;

use anyhow::Context as _;
use hexcovery_auth::JwtKeys;
use hexcovery_meta::SqliteMetastore;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Opens the data directory and metastore, binds the listeners, and serves until `shutdown`
/// resolves; then stops accepting, finishes in-flight requests and closes the metastore.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let server_key = server_key::load_or_create(&config)?;
    let meta_path = config.data_dir.join("meta.db");
    let meta = Arc::new(SqliteMetastore::open(&meta_path).await?);
    tracing::info!(path = %meta_path.display(), "metastore ready");

    let state = AppState {
        meta: meta.clone(),
        jwt: Arc::new(JwtKeys::from_secret(&server_key.derive("jwt-signing"))),
        config: Arc::new(config.clone()),
    };
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http_addr))?;
    let http_addr = listener.local_addr()?;
    tracing::info!(%http_addr, "HTTP API listening on http://{http_addr}");

    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")?;
    tracing::info!("HTTP API stopped; closing the metastore");
    meta.close().await;
    Ok(())
}
