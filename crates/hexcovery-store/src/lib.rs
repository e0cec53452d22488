//! Telemetry storage: OTLP export requests become Arrow rows, made durable in a per-org
//! write-ahead log before they are acknowledged, buffered in memory, and written as Parquet
//! files under a per-org prefix of an object store; DataFusion tables expose one org's rows.
//! Knows nothing of HTTP or users: callers pass the org id their credential resolved to.

pub mod batch_ids;
pub mod convert;
pub mod counts;
pub mod manifest;
pub mod manifest_log;
pub mod otlp;
pub mod parquet_io;
pub mod promote;
pub mod query;
pub mod repair;
pub mod schema;
mod signal;
pub mod storage;
mod store;
mod table;
pub mod wal;

pub use otlp::{DecodeError, ExportRequest};
pub use signal::Signal;
pub use store::{IngestError, IngestReport, StoreConfig, TelemetryStore};
