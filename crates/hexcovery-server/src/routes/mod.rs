//! HTTP handlers, one module per resource. Each handler takes the org from the principal the
//! auth layer resolved, never from the request.

pub mod api_keys;
pub mod audit;
pub mod health;
pub mod invites;
pub mod org;
pub mod session_auth;
pub mod sessions;
pub mod usage;
pub mod users;

use crate::error::ApiError;
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
}
