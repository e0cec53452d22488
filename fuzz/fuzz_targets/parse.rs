//! Fuzz target: any input text lexes, parses and resolves to a value or an error — never a
//! panic, an overflow or a hang.

#![no_main]

use hexcovery_oql::catalog::{ColumnDef, TableDef, TableKind, ValueType};
use libfuzzer_sys::fuzz_target;

/// One table with a column of each kind the resolver treats differently.
fn one_table() -> Vec<TableDef> {
    let columns = [
        ("timestamp", ValueType::Timestamp),
        ("level", ValueType::String),
        ("n", ValueType::Float),
        ("attributes", ValueType::Map),
    ]
    .iter()
    .map(|(name, ty)| ColumnDef {
        name: name.to_string(),
        ty: *ty,
    })
    .collect();
    vec![TableDef {
        name: "logs".into(),
        kind: TableKind::Logs,
        columns,
    }]
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(statement) = hexcovery_oql::parse(text)
    {
        let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time");
        let _ = hexcovery_oql::resolve(text, &statement, &one_table(), now);
    }
});
