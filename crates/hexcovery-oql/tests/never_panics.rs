//! Robustness: any text — random bytes, or random sequences of OQL's own tokens — lexes,
//! parses and resolves to a value or an error, never a panic. Deterministic (fixed seed), so
//! a failure reproduces; `fuzz/` holds the coverage-guided version of the same property.

use chrono::{TimeZone, Utc};
use hexcovery_oql::catalog::{ColumnDef, TableDef, TableKind, ValueType};
use hexcovery_oql::{parse, resolve};

/// xorshift64*: small, fast, good enough to vary inputs.
/// xorshift64*: small, fast, good enough to vary inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

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

const PIECES: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "LAST",
    "SINCE",
    "UNTIL",
    "BETWEEN",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ILIKE",
    "IS",
    "NULL",
    "AS",
    "DESC",
    "SHOW",
    "TABLES",
    "DESCRIBE",
    "logs",
    "level",
    "n",
    "attributes",
    "count",
    "p99",
    "bucket",
    "percentile",
    "coalesce",
    "now",
    "(",
    ")",
    "[",
    "]",
    ",",
    "*",
    "+",
    "-",
    "/",
    "%",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    ";",
    "'x'",
    "'2026-11-22T10:00:00Z'",
    "\"q\"",
    "1",
    "0",
    "1.5",
    "5m",
    "1h",
    "99999999999999999999",
    "'",
    "\"",
    "--",
    "é",
    "\u{0}",
];

fn check(text: &str) {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    if let Ok(statement) = parse(text) {
        let _ = resolve(text, &statement, &one_table(), now);
    }
}

#[test]
fn random_token_sequences_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = 1 + rng.below(24);
        let text: Vec<&str> = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        check(&text.join(" "));
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn valid_shapes_with_random_holes_never_panic() {
    let base = "SELECT level, count(*) AS c, p99(n) FROM logs WHERE attributes['k'] >= 5 AND level IN ('a', 'b') GROUP BY level HAVING c > 1 ORDER BY 2 DESC LIMIT 10 SINCE now() - 1h";
    let mut rng = Rng(7);
    for _ in 0..5_000 {
        let mut text = base.to_string();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, PIECES[rng.below(PIECES.len())]);
            }
        }
        check(&text);
    }
}
