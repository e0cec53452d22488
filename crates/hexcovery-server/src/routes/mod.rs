//! HTTP handlers, one module per resource. Each handler takes the org from the principal the
//! auth layer resolved, never from the request.

pub mod alerts;
pub mod annotations;
pub mod api_keys;
pub mod audit;
pub mod channels;
pub mod dashboards;
pub mod dsl;
pub mod health;
pub mod heartbeats;
pub mod invites;
pub mod org;
pub mod reauth;
pub mod saved_queries;
pub mod session_auth;
pub mod sessions;
pub mod silences;
pub mod teams;
pub mod totp;
pub mod usage;
pub mod users;

use crate::error::ApiError;
use hexcovery_meta::Page;
use serde::Deserialize;
use uuid::Uuid;

/// `?limit=&before=` for newest-first listings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub limit: Option<u32>,
    /// Cursor: the id of the last item of the previous page.
    pub before: Option<Uuid>,
}

impl ListParams {
    /// The page size: `default` when absent, and 1 to `max` when given.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {max}, got {n}"),
            )
            .with("field", "limit")),
        }
    }

    /// The page these parameters ask for.
    pub fn page(&self, default: u32, max: u32) -> Result<Page, ApiError> {
        Ok(Page {
            limit: self.limit(default, max)?,
            before: self.before,
        })
    }
}

/// The cursor for the page after one that ended with `last_id`: only a full page may have
/// more behind it.
pub fn next_cursor(page: Page, returned: usize, last_id: Option<Uuid>) -> Option<Uuid> {
    (returned == page.limit as usize)
        .then_some(last_id)
        .flatten()
}

/// An `http://` or `https://` URL with a host, at most 2048 characters (webhooks, AI
/// provider endpoints).
pub fn http_url(field: &'static str, text: &str) -> Result<String, ApiError> {
    if text.len() > 2048 {
        return Err(ApiError::invalid_field(
            field,
            "must be at most 2048 characters long",
        ));
    }
    let url = reqwest::Url::parse(text).map_err(|e| {
        ApiError::invalid_field(
            field,
            format!("is not a URL ({e}), e.g. https://hooks.example.com/hexcovery"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid_field(
            field,
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url.to_string())
}
