//! Robustness: any text — random bytes, or random sequences of OQL's own tokens — lexes,
//! parses and resolves to a value or an error, never a panic; and whatever resolves also
//! plans (the resolver never accepts what DataFusion cannot express). Deterministic (fixed seed), so
//! a failure reproduces; `fuzz/` holds the coverage-guided version of the same property.

use chrono::{TimeZone, Utc};
mod common;

use common::{catalog, example_params, plan_over_empty_tables};
use datafusion::prelude::SessionContext;
use hexcovery_oql::resolve::Resolved;
use hexcovery_oql::{Context, PlanError, parse, resolve};

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
    "DISTINCT",
    "logs",
    "spans",
    "host",
    "level",
    "severity_number",
    "duration_ms",
    "timestamp",
    "body",
    "cpu_usage_pct",
    "attributes",
    "lower",
    "round",
    "count_distinct",
    "count",
    "p99",
    "bucket",
    "bucket()",
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
    "$service",
    "$services",
    "$n",
    "$neg",
    "$empty",
    "$later",
    "$unbound",
    "$",
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

/// Whether `text` got as far as a plan.
fn check(text: &str) -> bool {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let Ok(statement) = parse(text) else {
        return false;
    };
    let params = example_params();
    // Half the texts run with a request range (a dashboard's), half without.
    let mut context = Context::at(now).with_params(&params);
    if text.len().is_multiple_of(2) {
        context = context.with_range(now - chrono::TimeDelta::hours(6), now);
    }
    let Ok(Resolved::Select(query)) = resolve(text, &statement, &catalog(), &context) else {
        return false;
    };
    match plan_over_empty_tables(&query) {
        Ok(plan) => {
            // The analyzer (type coercion) and optimizer accept it too, as execution needs.
            let state = SessionContext::new().state();
            if let Err(e) = state.optimize(&plan) {
                panic!("{text:?} plans but does not optimize: {e}\n{plan}");
            }
            true
        }
        Err(PlanError::DataFusion(e)) => panic!("{text:?} resolves but does not plan: {e}"),
        Err(PlanError::Oql(_)) => false,
    }
}

#[test]
fn random_token_sequences_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = 1 + rng.below(24);
        let text: Vec<&str> = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        let _ = check(&text.join(" "));
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn valid_shapes_with_random_holes_never_panic() {
    let base = "SELECT level, count(*) AS c, p99(severity_number) FROM logs WHERE attributes['k'] >= 5 AND level IN ('a', 'b') GROUP BY level HAVING c > 1 ORDER BY 2 DESC LIMIT 10 SINCE now() - 1h";
    let mut rng = Rng(7);
    let mut planned = 0;
    for _ in 0..5_000 {
        let mut text = base.to_string();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, PIECES[rng.below(PIECES.len())]);
            }
        }
        planned += usize::from(check(&text));
    }
    assert!(planned > 50, "only {planned} of 5000 variants planned");
}

const ROW_ITEMS: &[&str] = &[
    "level",
    "service",
    "timestamp",
    "upper(service)",
    "length(body)",
    "round(severity_number / 3, 1)",
    "abs(-severity_number)",
    "floor(attributes['k'])",
    "coalesce(body, 'none')",
    "attributes['k']",
    "resource['r']",
    "bucket(1m)",
    "bucket()",
    "$service",
    "severity_number % 2",
    "contains(body, 'a')",
    "severity_number + 1.5",
    "NULL",
    "'text'",
];

const AGGREGATES: &[&str] = &[
    "count(*)",
    "count(body)",
    "count_distinct(service)",
    "sum(severity_number)",
    "sum(attributes['k'])",
    "avg(severity_number)",
    "min(timestamp)",
    "max(body)",
    "p50(severity_number)",
    "p99(attributes['k'])",
    "percentile(severity_number, 12.5)",
    "count(*) * 2 + 1",
    "round(avg(severity_number), 2)",
];

const FILTERS: &[&str] = &[
    "level = 'error'",
    "attributes['k'] > 2",
    "attributes['k'] IN ('a', 5)",
    "timestamp > '2026-11-22T11:00:00Z'",
    "body LIKE '%a%'",
    "service NOT ILIKE 'A%'",
    "severity_number IN (1, 2)",
    "body IS NOT NULL",
    "NOT starts_with(body, 'x')",
    "severity_number BETWEEN_SKIP",
    "ends_with(lower(body), 'z') OR level != 'info'",
    "service IN ($services)",
    "service NOT IN ($empty, $service, 'x')",
    "severity_number > $neg",
    "body != $injection AND level = $later",
    "attributes['k'] >= $n",
];

/// Picks 1..=max distinct entries of `pool`.
fn some<'a>(rng: &mut Rng, pool: &[&'a str], max: usize) -> Vec<&'a str> {
    let mut picked: Vec<&str> = Vec::new();
    for _ in 0..1 + rng.below(max) {
        let p = pool[rng.below(pool.len())];
        if !picked.contains(&p) {
            picked.push(p);
        }
    }
    picked
}

/// Well-formed queries built from valid pieces: every one must resolve and plan.
#[test]
fn generated_valid_queries_resolve_and_plan() {
    let mut rng = Rng(11);
    for _ in 0..1_000 {
        let keys = some(&mut rng, ROW_ITEMS, 3);
        let grouped = rng.below(3) > 0;
        let mut items = keys.clone();
        if grouped {
            items.extend(some(&mut rng, AGGREGATES, 3));
        } else if rng.below(4) == 0 {
            items.insert(0, "*");
        }
        // DISTINCT compares whole rows: not with `*` (logs have map columns).
        let distinct = items[0] != "*" && rng.below(4) == 0;
        let mut text = format!(
            "SELECT {}{} FROM logs",
            if distinct { "DISTINCT " } else { "" },
            items.join(", ")
        );
        let filters: Vec<&str> = some(&mut rng, FILTERS, 3)
            .into_iter()
            .filter(|f| !f.contains("SKIP"))
            .collect();
        if !filters.is_empty() {
            text += &format!(" WHERE {}", filters.join(" AND "));
        }
        if grouped {
            text += &format!(" GROUP BY {}", keys.join(", "));
            if rng.below(2) == 0 {
                text += " HAVING count(*) > 1";
            }
        }
        if rng.below(2) == 0 && items[0] != "*" {
            text += &format!(" ORDER BY {} DESC", 1 + rng.below(items.len()));
        }
        if rng.below(2) == 0 {
            text += " LIMIT 7";
        }
        text += [
            " LAST 2h",
            "",
            " SINCE now() - 30m",
            " BETWEEN '2026-11-22T10:00:00Z' AND now()",
        ][rng.below(4)];
        assert!(check(&text), "{text} does not resolve");
    }
}
