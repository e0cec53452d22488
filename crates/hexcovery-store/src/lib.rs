//! Telemetry storage: OTLP export requests become Arrow rows, made durable in a per-org
//! write-ahead log before they are acknowledged, buffered in memory, and written as Parquet
//! files under a per-org prefix of an object store; DataFusion tables expose one org's rows.
//! Knows nothing of HTTP or users: callers pass the org id their credential resolved to.

pub mod convert;
pub mod schema;
mod signal;
pub mod wal;

pub use signal::Signal;
