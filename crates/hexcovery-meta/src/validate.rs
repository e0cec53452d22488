//! Rules for the fields people type: org slugs and names, emails, display names. Each rule
//! returns the normalised value or a message that says what is allowed.

/// A field that broke its rule, with a sentence that says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        message: message.into(),
    }
}

/// Org slug: 3–40 characters of lowercase a–z, 0–9 and `-`.
pub fn slug(field: &'static str, value: &str) -> Result<String, InvalidField> {
    let len = value.chars().count();
    if !(3..=40).contains(&len) {
        return Err(invalid(
            field,
            format!("must be 3 to 40 characters long, got {len}"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(invalid(
            field,
            format!("may contain only lowercase letters a-z, digits 0-9 and '-', found {bad:?}"),
        ));
    }
    Ok(value.to_string())
}

/// Email: one `@` with a non-empty local part and a dotted domain, no spaces, at most 254
/// characters. Stored lower-cased so that uniqueness ignores case.
pub fn email(field: &'static str, value: &str) -> Result<String, InvalidField> {
    let value = value.trim();
    let message = "must be an email address such as name@example.com";
    if value.len() > 254 {
        return Err(invalid(field, "must be at most 254 characters long"));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(invalid(field, message));
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@');
    if local.is_empty() || !domain_ok || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(field, message));
    }
    Ok(value.to_lowercase())
}

/// A human-readable name (org, user, key): 1–`max` characters after trimming, no control
/// characters.
pub fn name(field: &'static str, value: &str, max: usize) -> Result<String, InvalidField> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let len = value.chars().count();
    if len > max {
        return Err(invalid(
            field,
            format!("must be at most {max} characters long, got {len}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

/// How many days of telemetry an org keeps: 1 to 3650.
pub fn retention_days(value: u32) -> Result<u32, InvalidField> {
    if (1..=3650).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            "retention_days",
            format!("must be between 1 and 3650 days, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("s", "acme-01").unwrap(), "acme-01");
        assert!(slug("s", "ab").unwrap_err().message.contains("3 to 40"));
        assert!(slug("s", &"a".repeat(41)).is_err());
        assert!(slug("s", "Acme").unwrap_err().message.contains("'A'"));
        assert!(slug("s", "ac me").is_err());
        assert!(slug("s", "acmé").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email("e", " Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@example",
            "ann@.com",
            "a b@x.io",
            "a@b@c.io",
        ] {
            assert!(email("e", bad).is_err(), "{bad:?} accepted");
        }
        assert!(email("e", &format!("{}@x.io", "a".repeat(250))).is_err());
    }

    #[test]
    fn retention() {
        assert_eq!(retention_days(30).unwrap(), 30);
        assert!(retention_days(0).is_err());
        assert!(retention_days(3651).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(name("n", "  Ann  ", 10).unwrap(), "Ann");
        assert!(name("n", "   ", 10).is_err());
        assert!(name("n", "abcdefghijk", 10).is_err());
        assert!(name("n", "a\u{0}b", 10).is_err());
        assert_eq!(name("n", "élan", 4).unwrap(), "élan");
    }
}
