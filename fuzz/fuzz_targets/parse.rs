//! Fuzz target: any input text lexes, parses and resolves to a value or an error — never a
//! panic, an overflow or a hang — with and without a request range and parameters.

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

/// Parameters of each kind: a string, a list (for `IN ($list)`), a number; `$later` is
/// declared (bound at run time).
fn params() -> hexcovery_oql::Params {
    use hexcovery_oql::ParamValue;
    let mut params = hexcovery_oql::Params::new(
        [
            ("s", ParamValue::String("'; DROP TABLE logs --".into())),
            (
                "list",
                ParamValue::List(vec![
                    ParamValue::String("a".into()),
                    ParamValue::Integer(-1),
                ]),
            ),
            ("n", ParamValue::Integer(5)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    params.declared.insert("later".into());
    params
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(statement) = hexcovery_oql::parse(text)
    {
        let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a valid time");
        let params = params();
        // Both with the request's range and parameters (a panel) and without.
        let panel = hexcovery_oql::Context::at(now)
            .with_range(now - chrono::TimeDelta::hours(6), now)
            .with_params(&params)
            .without_time_range();
        let _ = hexcovery_oql::resolve(text, &statement, &one_table(), &panel);
        let _ = hexcovery_oql::resolve(
            text,
            &statement,
            &one_table(),
            &hexcovery_oql::Context::at(now),
        );
    }
});
