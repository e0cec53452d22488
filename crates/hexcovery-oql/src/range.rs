//! Time bounds given with a request rather than in the query text (`"from": "now-6h"`):
//! RFC 3339, epoch milliseconds (a JSON number or a string of digits), `now`, and `now-<d>` /
//! `now+<d>` with a duration of whole units (`s m h d w`). Dashboards evaluate their stored
//! range with this; `POST /api/v1/dsl` its `from`/`to`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// What a request bound may be, for error messages.
pub const ALLOWED: &str = "an RFC 3339 time (\"2026-11-22T10:00:00Z\"), epoch milliseconds \
     (1795000000000), \"now\", or \"now-<duration>\" / \"now+<duration>\" with a unit of s, m, h, \
     d or w (\"now-6h\")";

/// A request bound that is none of the accepted forms: `field` names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BoundError {
    pub field: String,
    pub message: String,
}

impl BoundError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads the instant `value` (of the request's field `field`) means at `now`.
pub fn parse_bound(
    field: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, BoundError> {
    match value {
        Value::String(text) => parse_bound_str(field, text, now),
        Value::Number(n) => match n.as_i64() {
            Some(ms) => epoch_millis(field, ms),
            None => Err(BoundError::new(
                field,
                format!("{n} is not whole epoch milliseconds; must be {ALLOWED}"),
            )),
        },
        other => Err(BoundError::new(
            field,
            format!("got {other}; must be {ALLOWED}"),
        )),
    }
}

/// [`parse_bound`] for text (a JSON string, a query-string parameter).
pub fn parse_bound_str(
    field: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, BoundError> {
    let trimmed = text.trim();
    let bad = |why: &str| BoundError::new(field, format!("{why}; must be {ALLOWED}"));
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = trimmed
            .parse()
            .map_err(|_| bad(&format!("{trimmed:?} is too large for epoch milliseconds")))?;
        return epoch_millis(field, ms);
    }
    if let Some(rest) = strip_prefix_ignore_case(trimmed, "now") {
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(now);
        }
        let (sign, duration) = match rest.as_bytes()[0] {
            b'-' => (-1, rest[1..].trim_start()),
            b'+' => (1, rest[1..].trim_start()),
            _ => return Err(bad(&format!("{text:?} is not a time"))),
        };
        let seconds = duration_seconds(duration)
            .ok_or_else(|| bad(&format!("{duration:?} is not a duration such as 6h")))?;
        let delta = i64::try_from(seconds)
            .ok()
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| bad(&format!("{duration:?} is too long")))?;
        let at = if sign < 0 {
            now.checked_sub_signed(delta)
        } else {
            now.checked_add_signed(delta)
        };
        return at.ok_or_else(|| bad(&format!("{text:?} is out of range")));
    }
    DateTime::parse_from_rfc3339(trimmed)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(&format!("{text:?} is not a time ({e})")))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `90s`, `5m`, `6h`, `7d`, `2w` in seconds; `None` for anything else.
pub fn duration_seconds(text: &str) -> Option<u64> {
    let digits = text.len().checked_sub(1)?;
    let (number, unit) = text.split_at(digits);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(unit)
}

fn epoch_millis(field: &str, ms: i64) -> Result<DateTime<Utc>, BoundError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        BoundError::new(
            field,
            format!("{ms} epoch milliseconds is out of range; must be {ALLOWED}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn bound(value: Value) -> Result<DateTime<Utc>, BoundError> {
        parse_bound("from", &value, now())
    }

    #[test]
    fn every_accepted_form() {
        let six_hours_ago = Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0).unwrap();
        assert_eq!(bound(json!("now")), Ok(now()));
        assert_eq!(bound(json!("NOW")), Ok(now()));
        assert_eq!(bound(json!("now-6h")), Ok(six_hours_ago));
        assert_eq!(bound(json!("now - 6h")), Ok(six_hours_ago));
        assert_eq!(bound(json!("now-360m")), Ok(six_hours_ago));
        assert_eq!(bound(json!("now+1w")), Ok(now() + TimeDelta::days(7)));
        assert_eq!(bound(json!("2026-11-22T06:00:00Z")), Ok(six_hours_ago));
        assert_eq!(bound(json!("2026-11-22T07:00:00+01:00")), Ok(six_hours_ago));
        let ms = six_hours_ago.timestamp_millis();
        assert_eq!(bound(json!(ms)), Ok(six_hours_ago));
        assert_eq!(bound(json!(ms.to_string())), Ok(six_hours_ago));
        assert_eq!(
            parse_bound_str("to", "1795000000123", now()).map(|t| t.timestamp_subsec_millis()),
            Ok(123)
        );
    }

    #[test]
    fn errors_name_the_field_and_what_is_allowed() {
        for value in [
            json!("yesterday"),
            json!("now-"),
            json!("now-6"),
            json!("now-6x"),
            json!("now*6h"),
            json!("now-1.5h"),
            json!("now-99999999999999999999w"),
            json!(1.5),
            json!(true),
            json!(null),
            json!([1]),
            json!(""),
            json!("-5"),
            json!(i64::MAX),
            json!("99999999999999999999"),
        ] {
            let error = bound(value.clone()).unwrap_err();
            assert_eq!(error.field, "from", "{value}");
            assert!(error.message.contains("now-<duration>"), "{value}: {error}");
            assert!(error.to_string().starts_with("from: "), "{error}");
        }
    }
}
