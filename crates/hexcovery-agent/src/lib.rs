//! hexcovery-agent: host metrics and log tailing shipped to a Hexcovery server over OTLP/gRPC,
//! through a disk queue so that no line is lost or sent twice (SPEC §9).

pub mod agent;
pub mod config;
pub mod metrics;
pub mod otlp;
pub mod producer;
pub mod queue;
pub mod send;
pub mod status;
pub mod tail;
