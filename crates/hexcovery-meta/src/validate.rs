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

/// A machine name such as `deploy/myapp` or `nightly-backup`: 1–`max` characters of
/// letters, digits and `. _ - / :`, starting with a letter or digit.
pub fn machine_name(field: &'static str, value: &str, max: usize) -> Result<String, InvalidField> {
    let len = value.chars().count();
    if !(1..=max).contains(&len) {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters long, got {len}"),
        ));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(field, "must start with a letter or a digit"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:".contains(*c)))
    {
        return Err(invalid(
            field,
            format!("may contain only letters, digits and . _ - / :, found {bad:?}"),
        ));
    }
    Ok(value.to_string())
}

/// Free text (a description): at most `max` bytes; line breaks and tabs allowed, other
/// control characters not. Empty text is no text.
pub fn free_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<Option<String>, InvalidField> {
    if value.len() > max {
        return Err(invalid(
            field,
            format!("must be at most {max} bytes long, got {}", value.len()),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok((!value.trim().is_empty()).then(|| value.to_string()))
}

/// Tags: at most 20, each 1–64 characters of letters, digits and `. _ - / : =`; duplicates
/// are dropped, order kept.
pub fn tags(field: &'static str, values: &[String]) -> Result<Vec<String>, InvalidField> {
    if values.len() > 20 {
        return Err(invalid(
            field,
            format!("at most 20 tags, got {}", values.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for tag in values {
        let len = tag.chars().count();
        if !(1..=64).contains(&len) {
            return Err(invalid(
                field,
                format!("each tag must be 1 to 64 characters long, got {tag:?}"),
            ));
        }
        if let Some(bad) = tag
            .chars()
            .find(|c| !(c.is_alphanumeric() || "._-/:=".contains(*c)))
        {
            return Err(invalid(
                field,
                format!(
                    "tags may contain only letters, digits and . _ - / : =, found {bad:?} in {tag:?}"
                ),
            ));
        }
        if !out.contains(tag) {
            out.push(tag.clone());
        }
    }
    Ok(out)
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
    fn annotation_fields() {
        assert_eq!(
            machine_name("name", "deploy/myapp", 128).unwrap(),
            "deploy/myapp"
        );
        assert!(machine_name("name", "/deploy", 128).is_err());
        assert!(machine_name("name", "a b", 128).is_err());
        assert!(machine_name("name", "", 128).is_err());
        assert_eq!(free_text("text", "  ", 10).unwrap(), None);
        assert_eq!(
            free_text("text", "a\nb", 10).unwrap().as_deref(),
            Some("a\nb")
        );
        assert!(free_text("text", "\u{7}", 10).is_err());
        assert!(free_text("text", "0123456789x", 10).is_err());
        let t = |v: &[&str]| tags("tags", &v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["env=prod", "v2", "v2"]).unwrap(), ["env=prod", "v2"]);
        assert!(t(&["has space"]).is_err());
        assert!(t(&[""]).is_err());
        assert!(t(&["x"; 21]).is_err());
    }

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
