//! Stage 1: text → tokens with spans. Keywords are case-insensitive; strings use single
//! quotes (`''` escapes a quote); identifiers may be double-quoted; `5m` is a duration;
//! `$name` is a parameter; `--` starts a comment.

use crate::error::OqlError;
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl DurationUnit {
    pub fn seconds(self) -> u64 {
        match self {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3_600,
            DurationUnit::Days => 86_400,
            DurationUnit::Weeks => 604_800,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare word: a keyword or an identifier, decided by the parser.
    Word(String),
    /// A `"double-quoted"` identifier: never a keyword.
    QuotedIdent(String),
    String(String),
    Integer(u64),
    Float(f64),
    Duration(u64, DurationUnit),
    /// `$name`: a value bound from the request's `params` (the name without `$`).
    Param(String),
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Semicolon,
    Eof,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("`{w}`"),
            Token::QuotedIdent(w) => format!("\"{w}\""),
            Token::String(s) => format!("string '{s}'"),
            Token::Integer(i) => format!("number {i}"),
            Token::Float(f) => format!("number {f}"),
            Token::Duration(n, u) => format!("duration {n}{}", unit_letter(*u)),
            Token::Param(name) => format!("parameter `${name}`"),
            Token::Eof => "the end of the query".into(),
            other => format!("`{}`", symbol_text(other)),
        }
    }
}

fn unit_letter(unit: DurationUnit) -> char {
    match unit {
        DurationUnit::Seconds => 's',
        DurationUnit::Minutes => 'm',
        DurationUnit::Hours => 'h',
        DurationUnit::Days => 'd',
        DurationUnit::Weeks => 'w',
    }
}

fn symbol_text(token: &Token) -> &'static str {
    match token {
        Token::Comma => ",",
        Token::LParen => "(",
        Token::RParen => ")",
        Token::LBracket => "[",
        Token::RBracket => "]",
        Token::Star => "*",
        Token::Plus => "+",
        Token::Minus => "-",
        Token::Slash => "/",
        Token::Percent => "%",
        Token::Eq => "=",
        Token::NotEq => "!=",
        Token::Lt => "<",
        Token::LtEq => "<=",
        Token::Gt => ">",
        Token::GtEq => ">=",
        Token::Semicolon => ";",
        _ => "?",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub span: Span,
}

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Splits `text` into tokens, ending with [`Token::Eof`].
pub fn lex(text: &str) -> Result<Vec<Spanned>, OqlError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(OqlError::syntax(
            Span::new(0, 0),
            format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let token = if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            Token::Word(text[start..i].to_string())
        } else if c == b'$' {
            i += 1;
            if !bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            {
                return Err(
                    OqlError::syntax(Span::new(start, i), "`$` starts a parameter name")
                        .with_hint("parameters look like $service; their values come from the request's \"params\""),
                );
            }
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Token::Param(text[start + 1..i].to_string())
        } else if c.is_ascii_digit() {
            lex_number(text, &mut i)?
        } else if c == b'\'' || c == b'"' {
            let quote = c;
            let mut value = String::new();
            i += 1;
            loop {
                let Some(ch) = text[i..].chars().next() else {
                    let what = if quote == b'\'' {
                        "string"
                    } else {
                        "quoted identifier"
                    };
                    return Err(OqlError::syntax(
                        Span::new(start, text.len()),
                        format!("this {what} is never closed"),
                    )
                    .with_hint(format!("close it with {}", quote as char)));
                };
                i += ch.len_utf8();
                if ch as u32 == u32::from(quote) {
                    if bytes.get(i) == Some(&quote) {
                        value.push(ch);
                        i += 1;
                        continue;
                    }
                    break;
                }
                value.push(ch);
            }
            if quote == b'\'' {
                Token::String(value)
            } else {
                Token::QuotedIdent(value)
            }
        } else {
            let two = bytes.get(i + 1).copied();
            let (token, len) = match (c, two) {
                (b'!', Some(b'=')) => (Token::NotEq, 2),
                (b'<', Some(b'>')) => (Token::NotEq, 2),
                (b'<', Some(b'=')) => (Token::LtEq, 2),
                (b'>', Some(b'=')) => (Token::GtEq, 2),
                (b'<', _) => (Token::Lt, 1),
                (b'>', _) => (Token::Gt, 1),
                (b'=', _) => (Token::Eq, 1),
                (b',', _) => (Token::Comma, 1),
                (b'(', _) => (Token::LParen, 1),
                (b')', _) => (Token::RParen, 1),
                (b'[', _) => (Token::LBracket, 1),
                (b']', _) => (Token::RBracket, 1),
                (b'*', _) => (Token::Star, 1),
                (b'+', _) => (Token::Plus, 1),
                (b'-', _) => (Token::Minus, 1),
                (b'/', _) => (Token::Slash, 1),
                (b'%', _) => (Token::Percent, 1),
                (b';', _) => (Token::Semicolon, 1),
                _ => {
                    let ch = text[i..].chars().next().expect("not at the end");
                    return Err(OqlError::syntax(Span::new(i, i + ch.len_utf8()), format!("unexpected character {ch:?}"))
                        .with_hint("strings go in single quotes, identifiers with special characters in double quotes"));
                }
            };
            i += len;
            token
        };
        tokens.push(Spanned {
            token,
            span: Span::new(start, i),
        });
    }
    tokens.push(Spanned {
        token: Token::Eof,
        span: Span::new(text.len(), text.len()),
    });
    Ok(tokens)
}

fn lex_number(text: &str, i: &mut usize) -> Result<Token, OqlError> {
    let bytes = text.as_bytes();
    let start = *i;
    while *i < bytes.len() && bytes[*i].is_ascii_digit() {
        *i += 1;
    }
    let mut float = false;
    if bytes.get(*i) == Some(&b'.') && bytes.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        *i += 1;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    if matches!(bytes.get(*i), Some(b'e' | b'E'))
        && (bytes.get(*i + 1).is_some_and(u8::is_ascii_digit)
            || (matches!(bytes.get(*i + 1), Some(b'+' | b'-'))
                && bytes.get(*i + 2).is_some_and(u8::is_ascii_digit)))
    {
        float = true;
        *i += 2;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    let digits = &text[start..*i];
    let suffix_end = {
        let mut j = *i;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        j
    };
    let suffix = &text[*i..suffix_end];
    let span = Span::new(start, suffix_end);
    if suffix.is_empty() {
        return if float {
            digits
                .parse()
                .map(Token::Float)
                .map_err(|_| OqlError::syntax(span, format!("{digits} is not a number")))
        } else {
            digits.parse().map(Token::Integer).map_err(|_| {
                OqlError::syntax(span, format!("{digits} is too large"))
                    .with_hint("integers go up to 18446744073709551615")
            })
        };
    }
    let unit = match suffix {
        "s" => DurationUnit::Seconds,
        "m" => DurationUnit::Minutes,
        "h" => DurationUnit::Hours,
        "d" => DurationUnit::Days,
        "w" => DurationUnit::Weeks,
        _ => {
            return Err(OqlError::syntax(
                span,
                format!(
                    "{:?} is neither a number nor a duration",
                    &text[start..suffix_end]
                ),
            )
            .with_hint("durations are a whole number and a unit: 30s, 5m, 1h, 7d, 2w"));
        }
    };
    if float {
        return Err(OqlError::syntax(span, "durations take whole numbers")
            .with_hint("write 90m rather than 1.5h"));
    }
    let value: u64 = digits
        .parse()
        .map_err(|_| OqlError::syntax(span, "this duration is too large"))?;
    *i = suffix_end;
    Ok(Token::Duration(value, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        lex(text).unwrap().into_iter().map(|t| t.token).collect()
    }

    #[test]
    fn tokens_of_a_query() {
        assert_eq!(
            kinds("SELECT count(*) FROM logs WHERE level = 'it''s' AND x >= 1.5 LAST 1h -- done"),
            vec![
                Token::Word("SELECT".into()),
                Token::Word("count".into()),
                Token::LParen,
                Token::Star,
                Token::RParen,
                Token::Word("FROM".into()),
                Token::Word("logs".into()),
                Token::Word("WHERE".into()),
                Token::Word("level".into()),
                Token::Eq,
                Token::String("it's".into()),
                Token::Word("AND".into()),
                Token::Word("x".into()),
                Token::GtEq,
                Token::Float(1.5),
                Token::Word("LAST".into()),
                Token::Duration(1, DurationUnit::Hours),
                Token::Eof,
            ]
        );
    }

    #[test]
    fn spans_point_at_tokens() {
        let tokens = lex("a <> \"b c\"").unwrap();
        assert_eq!(tokens[1].span, Span::new(2, 4));
        assert_eq!(tokens[2].token, Token::QuotedIdent("b c".into()));
        assert_eq!(tokens[2].span, Span::new(5, 10));
    }

    #[test]
    fn parameters_are_one_token() {
        let tokens = lex("a IN ($service, $_x1) AND $b2").unwrap();
        assert_eq!(tokens[3].token, Token::Param("service".into()));
        assert_eq!(tokens[3].span, Span::new(6, 14));
        assert_eq!(tokens[5].token, Token::Param("_x1".into()));
        assert_eq!(tokens[8].token, Token::Param("b2".into()));
        for text in ["$", "$ x", "$1", "a = $'x'"] {
            let e = lex(text).unwrap_err();
            assert!(
                e.message.contains("parameter name"),
                "{text}: {}",
                e.message
            );
        }
    }

    #[test]
    fn errors_say_where_and_why() {
        let e = lex("SELECT 'open").unwrap_err();
        assert_eq!(e.span.start, 7);
        assert!(e.message.contains("never closed"));
        let e = lex("SELECT 5x").unwrap_err();
        assert!(e.hint.unwrap().contains("30s"));
        let e = lex("SELECT a # b").unwrap_err();
        assert_eq!(e.span, Span::new(9, 10));
        assert!(lex("SELECT 99999999999999999999").is_err());
        assert!(lex("SELECT 1.5h").is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "", "'", "\"", "é", "1e", "1e+", "--", "-", "1.", "ü'x", "\u{0}",
        ] {
            let _ = lex(text);
        }
    }
}
