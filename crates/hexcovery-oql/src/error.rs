//! OQL errors: what went wrong, where (a span), and a hint; rendered by the caller.

use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OqlErrorKind {
    /// The text is not OQL (`oql_syntax`).
    Syntax,
    /// A table, column or function that the caller's org does not have (`oql_unknown`).
    Unknown,
    /// Operands or arguments of the wrong type (`oql_type`).
    Type,
    /// A time range written in a query that takes its range from elsewhere — a dashboard
    /// panel's or an alert rule's (`oql_time_range_not_allowed`).
    TimeRangeNotAllowed,
}

impl OqlErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            OqlErrorKind::Syntax => "oql_syntax",
            OqlErrorKind::Unknown => "oql_unknown",
            OqlErrorKind::Type => "oql_type",
            OqlErrorKind::TimeRangeNotAllowed => "oql_time_range_not_allowed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct OqlError {
    pub kind: OqlErrorKind,
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
}

impl OqlError {
    pub fn syntax(span: Span, message: impl Into<String>) -> Self {
        Self {
            kind: OqlErrorKind::Syntax,
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
