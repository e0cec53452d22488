//! Byte spans into the query text, and their line/column for error messages.

/// A half-open byte range `[start, end)` of the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Where the span starts, as a person counts lines and columns.
    pub fn line_col(self, text: &str) -> LineCol {
        let before = &text[..self.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        LineCol { line, column }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "SELECT x\nFROM  logs";
        assert_eq!(
            Span::new(0, 1).line_col(text),
            LineCol { line: 1, column: 1 }
        );
        assert_eq!(
            Span::new(15, 19).line_col(text),
            LineCol { line: 2, column: 7 }
        );
        assert_eq!(
            Span::new(3, 4).line_col("é x y"),
            LineCol { line: 1, column: 3 }
        );
    }
}
