//! The `level` of a log line: a leading or bracketed level word (`ERROR`, `[warn]`, `<info>`),
//! or `level=info` / `"level":"info"`, as OTLP severity number and text.

/// (severity_number, severity_text) for a recognised level word.
fn word(text: &str) -> Option<(i32, &'static str)> {
    let lower = text.to_ascii_lowercase();
    Some(match lower.as_str() {
        "trace" | "trc" => (1, "TRACE"),
        "debug" | "dbg" => (5, "DEBUG"),
        "info" | "inf" | "information" | "notice" => (9, "INFO"),
        "warn" | "wrn" | "warning" => (13, "WARN"),
        "error" | "err" | "eror" => (17, "ERROR"),
        "fatal" | "crit" | "critical" | "panic" | "emerg" | "alert" => (21, "FATAL"),
        _ => return None,
    })
}

/// The level of `line`, if it names one where levels are written.
pub fn detect(line: &str) -> Option<(i32, &'static str)> {
    let head = &line[..floor_char_boundary(line, 256)];
    // key=value and JSON forms anywhere near the start.
    for key in [
        "level=",
        "lvl=",
        "severity=",
        "\"level\":",
        "\"level\": ",
        "\"severity\":",
    ] {
        if let Some(at) = find_ascii_ci(head, key) {
            let rest = head[at + key.len()..].trim_start_matches(['"', ' ']);
            let end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            if let Some(found) = word(&rest[..end]) {
                return Some(found);
            }
        }
    }
    // The first few tokens: a bracketed word anywhere among them, a bare word only in
    // capitals (so "an error occurred" stays unlevelled), or any case as the very first.
    for (index, token) in head.split_whitespace().take(5).enumerate() {
        let bracketed = token.len() > 2
            && matches!(
                (token.as_bytes()[0], token.as_bytes()[token.len() - 1]),
                (b'[', b']') | (b'<', b'>') | (b'(', b')')
            );
        let inner = if bracketed {
            &token[1..token.len() - 1]
        } else {
            token.trim_end_matches([':', ',', '|', '-'])
        };
        let upper = inner.chars().all(|c| c.is_ascii_uppercase());
        if (bracketed || upper || index == 0)
            && let Some(found) = word(inner)
        {
            return Some(found);
        }
    }
    None
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn levels() {
        assert_eq!(detect("ERROR something broke"), Some((17, "ERROR")));
        assert_eq!(
            detect("2026-12-02T05:00:00Z [warn] disk"),
            Some((13, "WARN"))
        );
        assert_eq!(detect("ts=1 level=info msg=hi"), Some((9, "INFO")));
        assert_eq!(detect(r#"{"level":"debug","msg":"x"}"#), Some((5, "DEBUG")));
        assert_eq!(
            detect("2026-12-02 10:00:00 INFO started"),
            Some((9, "INFO"))
        );
        assert_eq!(detect("error: no such file"), Some((17, "ERROR")));
        assert_eq!(detect("an error occurred"), None);
        assert_eq!(detect("line 42 of the test"), None);
        assert_eq!(detect(""), None);
        assert_eq!(detect("é[é]"), None);
    }
}
