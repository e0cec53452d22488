//! Snapshot tests over `tests/queries/*.oql`: the parse tree of each valid query, and for each
//! invalid one the error as a user sees it (position, message, hint).

use hexcovery_oql::{OqlError, parse};

fn render(text: &str, error: &OqlError) -> String {
    let at = error.span.line_col(text);
    let line = text.lines().nth(at.line - 1).unwrap_or("");
    let width = text[error.span.start.min(text.len())..error.span.end.min(text.len())]
        .chars()
        .count()
        .max(1);
    let mut out = format!(
        "{} at line {}, column {}: {}\n  {line}\n  {}{}",
        error.kind.code(),
        at.line,
        at.column,
        error.message,
        " ".repeat(at.column - 1),
        "^".repeat(width)
    );
    if let Some(hint) = &error.hint {
        out.push_str(&format!("\nhint: {hint}"));
    }
    out
}

#[test]
fn example_queries() {
    insta::glob!("queries/*.oql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.trim_end();
        match parse(text) {
            Ok(tree) => insta::assert_debug_snapshot!(tree),
            Err(error) => insta::assert_snapshot!(render(text, &error)),
        }
    });
}
