//! OQL: Hexcovery's read-only, tenant-scoped, SQL-like query language, compiled in visible
//! stages — [`lex`] → [`parse`] → [`resolve`] → [`plan`] — each with one entry function. Errors carry a
//! span and a hint and are rendered only at the edge.

pub mod ast;
pub mod catalog;
mod error;
pub mod lex;
pub mod params;
pub mod parse;
pub mod plan;
pub mod range;
pub mod rebucket;
pub mod resolve;
mod span;
pub mod tables;

pub use error::{OqlError, OqlErrorKind};
pub use lex::lex;
pub use params::{ParamValue, Params};
pub use parse::parse;
pub use plan::{PlanError, plan};
pub use resolve::{Context, resolve};
pub use span::{LineCol, Span};
