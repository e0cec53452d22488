//! The three telemetry signals and their names in paths and tables.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Logs,
    Spans,
    Metrics,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Logs, Signal::Spans, Signal::Metrics];

    /// The name used in storage paths, usage rows and table names.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Spans => "spans",
            Signal::Metrics => "metrics",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The one-byte tag in write-ahead-log records.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// Whether this table's files keep frequent map keys as columns of their own (see
    /// `promote`). Metrics do not: their rows are grouped into series by whole maps, so a
    /// query needs every map whole anyway.
    pub fn promotes_keys(self) -> bool {
        !matches!(self, Signal::Metrics)
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        Signal::ALL.get(usize::from(tag)).copied()
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
