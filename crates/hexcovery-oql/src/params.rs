//! Query parameters: `$name` in a value position is bound from the request's `"params"` —
//! a string, number, boolean, null, or a list of those for `IN ($name)`. Values are bound as
//! literals of the resolved query (typed and checked as literals), never spliced into text.

use crate::ast::{Expr, ExprKind, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// Most values a list parameter may hold (as many as an `IN` list).
pub const MAX_LIST: usize = crate::parse::MAX_IN_LIST;

/// One parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Null,
    Boolean(bool),
    /// Whole numbers (JSON's, from -2^63 to 2^64 - 1).
    Integer(i128),
    Float(f64),
    String(String),
    /// For `IN ($name)`: scalars only.
    List(Vec<ParamValue>),
}

impl ParamValue {
    /// A JSON value as a parameter, or why it cannot be one (objects, lists in lists,
    /// lists longer than [`MAX_LIST`]).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        Ok(match value {
            Value::Array(items) => {
                if items.len() > MAX_LIST {
                    return Err(format!(
                        "a list parameter holds at most {MAX_LIST} values, this one {}",
                        items.len()
                    ));
                }
                let items = items
                    .iter()
                    .map(|item| match item {
                        Value::Array(_) | Value::Object(_) => {
                            Err("a list parameter holds strings, numbers, booleans or null, not lists or objects".to_string())
                        }
                        scalar => Self::from_json(scalar),
                    })
                    .collect::<Result<_, _>>()?;
                ParamValue::List(items)
            }
            Value::Null => ParamValue::Null,
            Value::Bool(b) => ParamValue::Boolean(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => ParamValue::Integer(i128::from(i)),
                (_, Some(u), _) => ParamValue::Integer(i128::from(u)),
                (_, _, Some(f)) => ParamValue::Float(f),
                _ => return Err(format!("{n} is not a number OQL can hold")),
            },
            Value::String(s) => ParamValue::String(s.clone()),
            Value::Object(_) => {
                return Err(
                    "a parameter is a string, number, boolean, null, or a list of those".into(),
                );
            }
        })
    }
}

/// The parameters a query is resolved with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Bound values by name (without the `$`). Names the query does not use are ignored.
    pub values: BTreeMap<String, ParamValue>,
    /// Names known to be bound later (checking a stored query whose values come at run time,
    /// e.g. a dashboard's variables): `$name` for these resolves, as NULL, without a value.
    pub declared: BTreeSet<String>,
}

impl Params {
    pub fn new(values: BTreeMap<String, ParamValue>) -> Self {
        Self {
            values,
            declared: BTreeSet::new(),
        }
    }
}

/// The parameters `statement` uses, by name, each once.
pub fn parameters(statement: &Statement) -> BTreeSet<String> {
    fn walk(e: &Expr, out: &mut BTreeSet<String>) {
        match &e.kind {
            ExprKind::Param(name) => {
                out.insert(name.clone());
            }
            ExprKind::Column(_) | ExprKind::Literal(_) | ExprKind::Wildcard => {}
            ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => walk(expr, out),
            ExprKind::Binary { left, right, .. } => {
                walk(left, out);
                walk(right, out);
            }
            ExprKind::Index { base, key } => {
                walk(base, out);
                walk(key, out);
            }
            ExprKind::Like { expr, pattern, .. } => {
                walk(expr, out);
                walk(pattern, out);
            }
            ExprKind::Function { args, .. } => args.iter().for_each(|a| walk(a, out)),
            ExprKind::InList { expr, list, .. } => {
                walk(expr, out);
                list.iter().for_each(|a| walk(a, out));
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Statement::Select(select) = statement {
        let exprs = select
            .items
            .iter()
            .map(|i| &i.expr)
            .chain(&select.filter)
            .chain(&select.group_by)
            .chain(&select.having)
            .chain(select.order_by.iter().map(|o| &o.expr));
        for e in exprs {
            walk(e, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_as_parameters() {
        assert_eq!(
            ParamValue::from_json(&json!("'; DROP TABLE logs --")),
            Ok(ParamValue::String("'; DROP TABLE logs --".into()))
        );
        assert_eq!(
            ParamValue::from_json(&json!(-5)),
            Ok(ParamValue::Integer(-5))
        );
        assert_eq!(
            ParamValue::from_json(&json!(u64::MAX)),
            Ok(ParamValue::Integer(i128::from(u64::MAX)))
        );
        assert_eq!(
            ParamValue::from_json(&json!(1.5)),
            Ok(ParamValue::Float(1.5))
        );
        assert_eq!(
            ParamValue::from_json(&json!(["a", 1, true, null])),
            Ok(ParamValue::List(vec![
                ParamValue::String("a".into()),
                ParamValue::Integer(1),
                ParamValue::Boolean(true),
                ParamValue::Null
            ]))
        );
        for bad in [json!({"a": 1}), json!([[1]]), json!([{"a": 1}])] {
            assert!(ParamValue::from_json(&bad).is_err(), "{bad}");
        }
        let long: Vec<u32> = (0..=MAX_LIST as u32).collect();
        let error = ParamValue::from_json(&json!(long)).unwrap_err();
        assert!(error.contains("at most 1000"), "{error}");
        assert!(ParamValue::from_json(&json!(long[1..])).is_ok());
    }

    #[test]
    fn parameters_used_by_a_statement() {
        let statement = crate::parse(
            "SELECT $a AS x, count(*) FROM logs WHERE service IN ($b, 'c') AND lower(body) LIKE $c GROUP BY 1 HAVING count(*) > $a",
        )
        .unwrap();
        let names: Vec<String> = parameters(&statement).into_iter().collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
