//! The OQL syntax tree. Every node keeps the span of the text it came from, so later stages
//! can point at the exact place an error is about.

use crate::lex::DurationUnit;
use crate::span::Span;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Box<Select>),
    ShowTables { span: Span },
    Describe { table: Ident, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT DISTINCT`: one row per distinct answer row.
    pub distinct: bool,
    /// An item that is `*` alone stands for every column of the table.
    pub items: Vec<SelectItem>,
    pub from: Ident,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<(u64, Span)>,
    pub time_range: Option<TimeRange>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub value: u64,
    pub unit: DurationUnit,
    pub span: Span,
}

impl Duration {
    pub fn seconds(&self) -> Option<u64> {
        self.value.checked_mul(self.unit.seconds())
    }
}

/// A point in time in a time range.
#[derive(Debug, Clone, PartialEq)]
pub enum Instant {
    Absolute(DateTime<Utc>, Span),
    /// `now()` or `now() - <duration>`.
    Now {
        minus: Option<Duration>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimeRange {
    Last {
        duration: Duration,
        span: Span,
    },
    Since {
        from: Instant,
        until: Option<Instant>,
        span: Span,
    },
    Between {
        from: Instant,
        to: Instant,
        span: Span,
    },
}

impl TimeRange {
    /// The whole clause, keyword included.
    pub fn span(&self) -> Span {
        match self {
            TimeRange::Last { span, .. }
            | TimeRange::Since { span, .. }
            | TimeRange::Between { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Integer(u64),
    Float(f64),
    Boolean(bool),
    Null,
    Duration(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Column(Ident),
    Literal(Literal),
    /// `$name`: a value from the request's parameters (the name without `$`).
    Param(String),
    /// `*`, as in `count(*)` and `SELECT *`.
    Wildcard,
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Function {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `attributes['http.route']`
    Index {
        base: Box<Expr>,
        key: Box<Expr>,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
}
