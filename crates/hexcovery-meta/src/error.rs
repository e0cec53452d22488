//! Errors the metastore reports; the server maps each to an HTTP status in its error table.

/// What went wrong in a metastore call.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The object does not exist in the caller's org (or exists only in another org: the two
    /// are deliberately indistinguishable).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken, e.g. a slug or email already in use.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The change would leave the org without an admin.
    #[error("an organization must keep at least one admin")]
    LastAdmin,
    /// The database failed; details are logged, never shown to clients.
    #[error("metastore failure: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for MetaError {
    fn from(e: sqlx::Error) -> Self {
        MetaError::Internal(e.into())
    }
}

impl From<sqlx::migrate::MigrateError> for MetaError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        MetaError::Internal(e.into())
    }
}

pub type MetaResult<T> = Result<T, MetaError>;
