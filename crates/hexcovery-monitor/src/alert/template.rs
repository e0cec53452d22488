//! Annotation templates: `{{labels.<name>}}`, `{{value}}`, `{{window}}`, `{{threshold}}` and
//! `{{state}}` (spaces inside the braces allowed), checked when a rule is saved and rendered
//! for every alert of a notification. Rendering never fails: a label the alert lacks renders
//! empty, and text that is not a known placeholder (an unclosed `{{`, an unknown name) stays
//! as written.

use std::collections::BTreeMap;

/// What a template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct TemplateContext<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub value: Option<f64>,
    pub window: &'a str,
    pub threshold: f64,
    pub state: &'a str,
}

enum Placeholder<'a> {
    Label(&'a str),
    Value,
    Window,
    Threshold,
    State,
}

fn placeholder(inner: &str) -> Option<Placeholder<'_>> {
    let name = inner.trim();
    Some(match name {
        "value" => Placeholder::Value,
        "window" => Placeholder::Window,
        "threshold" => Placeholder::Threshold,
        "state" => Placeholder::State,
        _ => {
            let label = name.strip_prefix("labels.")?;
            if label.is_empty() {
                return None;
            }
            Placeholder::Label(label)
        }
    })
}

/// In `{{{value}}}` the placeholder is the last two of the opening braces; the others are text.
fn skip_extra_braces(text: &str, mut open: usize) -> usize {
    while text[open + 2..].starts_with('{') {
        open += 1;
    }
    open
}

const ALLOWED: &str =
    "placeholders are {{labels.<name>}}, {{value}}, {{window}}, {{threshold}} and {{state}}";

/// Whether `text` is a template every placeholder of which is known; the error says where
/// (in characters from 1) and what is allowed.
pub fn validate(text: &str) -> Result<(), String> {
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let open = skip_extra_braces(rest, open);
        let at = text[..offset + open].chars().count() + 1;
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!(
                "the {{{{ at character {at} is not closed with }}}}; {ALLOWED}"
            ));
        };
        let inner = &after[..close];
        if inner.contains("{{") || placeholder(inner).is_none() {
            return Err(format!(
                "{{{{{inner}}}}} at character {at} is not a placeholder; {ALLOWED}"
            ));
        }
        offset += open + 2 + close + 2;
        rest = &text[offset..];
    }
    Ok(())
}

/// `text` with its placeholders filled in from `context`.
pub fn render(text: &str, context: &TemplateContext<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let open = skip_extra_braces(rest, open);
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        // `{{ {{value}}`: the first `{{` is text, the placeholder starts at the last one.
        if let Some(nested) = inner.rfind("{{") {
            out.push_str(&rest[open..open + 2 + nested]);
            rest = &rest[open + 2 + nested..];
            continue;
        }
        match placeholder(inner) {
            Some(Placeholder::Label(name)) => {
                out.push_str(context.labels.get(name).map_or("", String::as_str))
            }
            Some(Placeholder::Value) => {
                if let Some(v) = context.value {
                    out.push_str(&format_value(v));
                }
            }
            Some(Placeholder::Window) => out.push_str(context.window),
            Some(Placeholder::Threshold) => out.push_str(&format_value(context.threshold)),
            Some(Placeholder::State) => out.push_str(context.state),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A value for people: whole numbers without a fraction (`61`), others to six significant
/// digits without trailing zeros (`0.3`, `12.5`, `0.000001`).
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let magnitude = v.abs().log10().floor() as i64;
    let decimals = (5 - magnitude).clamp(0, 12) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(labels: &BTreeMap<String, String>) -> TemplateContext<'_> {
        TemplateContext {
            labels,
            value: Some(61.0),
            window: "5m",
            threshold: 50.0,
            state: "firing",
        }
    }

    #[test]
    fn renders_placeholders_and_odd_input() {
        let labels: BTreeMap<String, String> = [("service".into(), "checkout".into())].into();
        let c = ctx(&labels);
        let table = [
            (
                "{{labels.service}}: {{value}} errors in {{window}}",
                "checkout: 61 errors in 5m",
            ),
            (
                "{{ labels.service }} > {{threshold}} ({{state}})",
                "checkout > 50 (firing)",
            ),
            ("{{labels.missing}}|", "|"),
            ("no placeholders", "no placeholders"),
            ("", ""),
            ("{{", "{{"),
            ("}}", "}}"),
            ("{{value", "{{value"),
            ("a {{ {{value}} b", "a {{ 61 b"),
            ("{{unknown}} {{value}}", "{{unknown}} 61"),
            ("{{labels.}}", "{{labels.}}"),
            ("{{}}", "{{}}"),
            ("{{{value}}}", "{61}"),
            ("ünï {{value}} cödé", "ünï 61 cödé"),
            ("{{value}}{{value}}", "6161"),
        ];
        for (template, expected) in table {
            assert_eq!(render(template, &c), expected, "{template:?}");
        }
        let none = TemplateContext { value: None, ..c };
        assert_eq!(render("[{{value}}]", &none), "[]");
    }

    #[test]
    fn validation_says_where_and_what() {
        for good in [
            "",
            "plain",
            "{{labels.service}}: {{value}} in {{window}}",
            "{{ threshold }} {{state}} {{labels.http.route}}",
            "}} alone",
        ] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        let unclosed = validate("ab {{value").unwrap_err();
        assert!(
            unclosed.starts_with("the {{ at character 4 is not closed"),
            "{unclosed}"
        );
        let unknown = validate("é {{value}} {{ nope }}").unwrap_err();
        assert!(
            unknown.starts_with("{{ nope }} at character 13 is not a placeholder"),
            "{unknown}"
        );
        assert!(unknown.contains("{{labels.<name>}}"), "{unknown}");
        assert!(validate("{{ {{value}}").is_err());
        assert!(validate("{{labels.}}").is_err());
    }

    #[test]
    fn values_for_people() {
        let table = [
            (61.0, "61"),
            (-3.0, "-3"),
            (0.0, "0"),
            (0.1 + 0.2, "0.3"),
            (12.5, "12.5"),
            (2.0 / 3.0, "0.666667"),
            (123_456.7, "123457"),
            (0.000_001, "0.000001"),
            (1e20, "100000000000000000000"),
            (f64::NAN, "NaN"),
        ];
        for (v, expected) in table {
            assert_eq!(format_value(v), expected, "{v}");
        }
    }
}
