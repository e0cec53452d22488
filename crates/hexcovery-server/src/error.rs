//! `ApiError`: the one error type handlers return, and the table that maps every domain
//! error to its HTTP status. Internal errors are logged here and never shown to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hexcovery_meta::MetaError;
use hexcovery_meta::validate::InvalidField;
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// The kinds of failure a client can see. Each maps to exactly one HTTP status (and, for the
/// OTLP gRPC services, one gRPC code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    InvalidInput,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// A conditional write's precondition no longer holds (a stale version: 412).
    PreconditionFailed,
    /// A write that must be conditional came without its precondition (428).
    PreconditionRequired,
    TooLarge,
    UnsupportedMediaType,
    Unprocessable,
    Throttled,
    Unavailable,
    Internal,
}

impl ErrorClass {
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorClass::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorClass::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorClass::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorClass::NotFound => StatusCode::NOT_FOUND,
            ErrorClass::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorClass::Conflict => StatusCode::CONFLICT,
            ErrorClass::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorClass::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ErrorClass::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorClass::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorClass::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorClass::Throttled => StatusCode::TOO_MANY_REQUESTS,
            ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC status code for the same failure (OTLP/gRPC services).
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            ErrorClass::InvalidInput | ErrorClass::UnsupportedMediaType => Code::InvalidArgument,
            ErrorClass::Unauthenticated => Code::Unauthenticated,
            ErrorClass::PermissionDenied => Code::PermissionDenied,
            ErrorClass::NotFound => Code::NotFound,
            ErrorClass::MethodNotAllowed => Code::Unimplemented,
            ErrorClass::Conflict => Code::AlreadyExists,
            ErrorClass::TooLarge | ErrorClass::Throttled => Code::ResourceExhausted,
            ErrorClass::Unprocessable
            | ErrorClass::PreconditionFailed
            | ErrorClass::PreconditionRequired => Code::FailedPrecondition,
            ErrorClass::Unavailable => Code::Unavailable,
            ErrorClass::Internal => Code::Internal,
        }
    }
}

/// An error answer: `{"error":{"code":"snake_case","message":"...", ...extra}}`.
#[derive(Debug)]
pub struct ApiError {
    pub class: ErrorClass,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Extra members of the error object (e.g. `field`), never secrets.
    pub extra: Map<String, Value>,
    pub retry_after_secs: Option<u64>,
    /// For internal errors: what is logged instead of shown.
    internal: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(class: ErrorClass, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            code: Cow::Borrowed(code),
            message: message.into(),
            extra: Map::new(),
            retry_after_secs: None,
            internal: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::InvalidInput, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Unauthenticated, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::PermissionDenied, code, message)
    }

    /// The same answer whether the object is absent or belongs to another org.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorClass::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 400 `invalid_field`: `field` broke its rule; the message says what is allowed.
    pub fn invalid_field(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self::bad_request("invalid_field", format!("{field}: {message}")).with("field", field)
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self {
            internal: Some(error.into()),
            ..Self::new(
                ErrorClass::Internal,
                "internal",
                "internal error; it has been logged",
            )
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.class.http_status()
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::NotFound(what) => ApiError::not_found(what),
            MetaError::Conflict { code, message } => {
                ApiError::new(ErrorClass::Conflict, code, message)
            }
            MetaError::LastAdmin => ApiError::new(
                ErrorClass::Conflict,
                "last_admin",
                "an organization must keep at least one admin: promote another user first",
            ),
            MetaError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<InvalidField> for ApiError {
    fn from(e: InvalidField) -> Self {
        ApiError::invalid_field(e.field, e.message)
    }
}

impl ApiError {
    /// Logs an internal cause (never sent) and returns what a client may see.
    pub(crate) fn log_internal(&self) {
        if let Some(internal) = &self.internal {
            tracing::error!(error = ?internal, "internal error");
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        e.log_internal();
        tonic::Status::new(e.class.grpc_code(), e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_internal();
        let mut error = Map::new();
        error.insert("code".into(), Value::String(self.code.into_owned()));
        error.insert("message".into(), Value::String(self.message));
        error.extend(self.extra);
        let mut response = (
            self.class.http_status(),
            axum::Json(json!({ "error": error })),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let error = ApiError::internal(anyhow::anyhow!("password column exploded"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.message.contains("password"));
    }

    #[test]
    fn every_class_has_an_http_status_and_a_grpc_code() {
        assert_eq!(
            ErrorClass::TooLarge.grpc_code(),
            tonic::Code::ResourceExhausted
        );
        assert_eq!(
            ErrorClass::Unavailable.http_status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ErrorClass::InvalidInput.grpc_code(),
            tonic::Code::InvalidArgument
        );
        let status = tonic::Status::from(ApiError::internal(anyhow::anyhow!("disk on fire")));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("disk"));
    }

    #[test]
    fn meta_errors_map_to_statuses() {
        let cases = [
            (MetaError::NotFound("user"), StatusCode::NOT_FOUND),
            (MetaError::LastAdmin, StatusCode::CONFLICT),
            (
                MetaError::Conflict {
                    code: "slug_taken",
                    message: "taken".into(),
                },
                StatusCode::CONFLICT,
            ),
        ];
        for (meta, status) in cases {
            assert_eq!(ApiError::from(meta).status(), status);
        }
    }
}
