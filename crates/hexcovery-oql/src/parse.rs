//! Stage 2: tokens → [`Statement`]. Recursive descent; expression precedence from loosest:
//! `OR`, `AND`, `NOT`, comparisons (`= != <> < <= > >=`, `[NOT] IN`, `[NOT] LIKE/ILIKE`,
//! `IS [NOT] NULL`), `+ -`, `* / %`, unary `-`, map access `[...]`.

use crate::ast::*;
use crate::error::OqlError;
use crate::lex::{Spanned, Token, lex};
use crate::span::Span;

const KEYWORDS: &[&str] = &[
    "select", "from", "where", "group", "by", "having", "order", "asc", "desc", "limit", "last",
    "since", "until", "between", "and", "or", "not", "in", "like", "ilike", "is", "null", "true",
    "false", "as", "show", "tables", "describe", "distinct",
];

const WRITE_WORDS: &[&str] = &[
    "insert", "update", "delete", "drop", "create", "alter", "truncate", "merge", "grant",
    "revoke", "copy", "attach", "pragma", "set", "call", "with", "explain",
];

/// Deepest nesting of parentheses and operators accepted (keeps hostile input from
/// exhausting the stack).
const MAX_DEPTH: usize = 32;

/// Most binary operators and map accesses in one statement. Chains (`a OR b OR …`) build trees
/// as deep as they are long, which every later stage walks recursively: the bound keeps
/// those walks shallow, whatever the input.
const MAX_OPERATORS: usize = 256;

/// Most values in one `IN (…)` list (a list parameter's values included).
pub const MAX_IN_LIST: usize = 1_000;

/// Parses one OQL statement.
pub fn parse(text: &str) -> Result<Statement, OqlError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let statement = parser.statement()?;
    parser.eat(&Token::Semicolon);
    parser.expect_end()?;
    Ok(statement)
}

struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    depth: usize,
    operators: usize,
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> &Spanned {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, offset: usize) -> &Token {
        &self.tokens[(self.pos + offset).min(self.tokens.len() - 1)].token
    }

    fn advance(&mut self) -> Spanned {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn previous_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().token, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn is_word_at(&self, offset: usize, word: &str) -> bool {
        matches!(self.peek_at(offset), Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        if &self.peek().token == token {
            self.advance();
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &str) -> OqlError {
        let found = self.peek();
        OqlError::syntax(
            found.span,
            format!("expected {expected}, found {}", found.token.describe()),
        )
    }

    fn expect_word(&mut self, word: &str) -> Result<Span, OqlError> {
        if self.is_word(word) {
            Ok(self.advance().span)
        } else {
            Err(self.unexpected(&word.to_uppercase()))
        }
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<Span, OqlError> {
        if self.peek().token == token {
            Ok(self.advance().span)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expect_end(&self) -> Result<(), OqlError> {
        if self.peek().token == Token::Eof {
            Ok(())
        } else {
            Err(self.unexpected("the end of the query").with_hint(
                "clauses go in the order WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, with one time range (LAST/SINCE/BETWEEN) anywhere after FROM",
            ))
        }
    }

    fn statement(&mut self) -> Result<Statement, OqlError> {
        let first = self.peek().clone();
        if self.is_word("select") {
            return Ok(Statement::Select(Box::new(self.select()?)));
        }
        if self.eat_word("show") {
            let end = self.expect_word("tables")?;
            return Ok(Statement::ShowTables {
                span: first.span.to(end),
            });
        }
        if self.eat_word("describe") {
            let table = self.ident("a table name")?;
            let span = first.span.to(table.span);
            return Ok(Statement::Describe { table, span });
        }
        if let Token::Word(w) = &first.token
            && WRITE_WORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
        {
            return Err(OqlError::syntax(
                first.span,
                format!("`{w}` is not allowed: OQL only reads"),
            )
            .with_hint("a query starts with SELECT, SHOW TABLES or DESCRIBE <table>"));
        }
        Err(self
            .unexpected("SELECT, SHOW TABLES or DESCRIBE")
            .with_hint("for example: SELECT count(*) FROM logs LAST 1h"))
    }

    fn ident(&mut self, what: &str) -> Result<Ident, OqlError> {
        let token = self.peek().clone();
        match token.token {
            Token::Word(w) if !is_keyword(&w) => {
                self.advance();
                Ok(Ident {
                    name: w,
                    quoted: false,
                    span: token.span,
                })
            }
            Token::QuotedIdent(w) => {
                self.advance();
                Ok(Ident {
                    name: w,
                    quoted: true,
                    span: token.span,
                })
            }
            Token::Word(w) => Err(OqlError::syntax(
                token.span,
                format!("expected {what}, found the keyword {}", w.to_uppercase()),
            )
            .with_hint(format!("to use it as a name, quote it: \"{w}\""))),
            _ => Err(self.unexpected(what)),
        }
    }

    fn select(&mut self) -> Result<Select, OqlError> {
        let start = self.expect_word("select")?;
        let distinct = self.eat_word("distinct");
        let mut items = vec![self.select_item()?];
        while self.eat(&Token::Comma) {
            items.push(self.select_item()?);
        }
        if !self.is_word("from") {
            return Err(self
                .unexpected("`,` or FROM")
                .with_hint("every query names its table: ... FROM logs"));
        }
        self.advance();
        let from = self.ident("a table name")?;
        let mut select = Select {
            distinct,
            items,
            from,
            filter: None,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            time_range: None,
            span: start,
        };
        // Clauses in SQL order; the time range may sit between any of them, once.
        let mut stage = 0;
        loop {
            if self.is_word("last") || self.is_word("since") || self.is_word("between") {
                let at = self.peek().span;
                if select.time_range.is_some() {
                    return Err(OqlError::syntax(at, "a query has at most one time range"));
                }
                select.time_range = Some(self.time_range()?);
                continue;
            }
            let clause = if self.is_word("where") {
                1
            } else if self.is_word("group") {
                2
            } else if self.is_word("having") {
                3
            } else if self.is_word("order") {
                4
            } else if self.is_word("limit") {
                5
            } else {
                break;
            };
            if clause <= stage {
                let word = self.peek().token.describe();
                return Err(OqlError::syntax(
                    self.peek().span,
                    format!("{word} is out of place or repeated"),
                )
                .with_hint("clauses go in the order WHERE, GROUP BY, HAVING, ORDER BY, LIMIT"));
            }
            stage = clause;
            match clause {
                1 => {
                    self.advance();
                    select.filter = Some(self.expr()?);
                }
                2 => {
                    self.advance();
                    self.expect_word("by")?;
                    select.group_by.push(self.expr()?);
                    while self.eat(&Token::Comma) {
                        select.group_by.push(self.expr()?);
                    }
                }
                3 => {
                    self.advance();
                    select.having = Some(self.expr()?);
                }
                4 => {
                    self.advance();
                    self.expect_word("by")?;
                    loop {
                        let expr = self.expr()?;
                        let descending = if self.eat_word("desc") {
                            true
                        } else {
                            self.eat_word("asc");
                            false
                        };
                        select.order_by.push(OrderItem { expr, descending });
                        if !self.eat(&Token::Comma) {
                            break;
                        }
                    }
                }
                _ => {
                    self.advance();
                    let token = self.advance();
                    match token.token {
                        Token::Integer(n) => select.limit = Some((n, token.span)),
                        _ => {
                            return Err(OqlError::syntax(
                                token.span,
                                format!(
                                    "expected a whole number after LIMIT, found {}",
                                    token.token.describe()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        select.span = start.to(self.previous_span());
        Ok(select)
    }

    fn select_item(&mut self) -> Result<SelectItem, OqlError> {
        let expr = self.expr()?;
        // `expr AS name`, or `expr name` (AS is optional, as in SQL).
        let explicit = self.eat_word("as");
        let bare_name = matches!(&self.peek().token, Token::Word(w) if !is_keyword(w))
            || matches!(self.peek().token, Token::QuotedIdent(_));
        let alias = if explicit || bare_name {
            Some(self.ident("a name for the column")?)
        } else {
            None
        };
        Ok(SelectItem { expr, alias })
    }

    fn time_range(&mut self) -> Result<TimeRange, OqlError> {
        let start = self.peek().span;
        if self.eat_word("last") {
            let duration = self.duration("a duration such as 1h")?;
            return Ok(TimeRange::Last {
                duration,
                span: start.to(duration.span),
            });
        }
        if self.eat_word("since") {
            let from = self.instant()?;
            let until = if self.eat_word("until") {
                Some(self.instant()?)
            } else {
                None
            };
            return Ok(TimeRange::Since {
                from,
                until,
                span: start.to(self.previous_span()),
            });
        }
        self.expect_word("between")?;
        let from = self.instant()?;
        self.expect_word("and")?;
        let to = self.instant()?;
        Ok(TimeRange::Between {
            from,
            to,
            span: start.to(self.previous_span()),
        })
    }

    fn duration(&mut self, what: &str) -> Result<Duration, OqlError> {
        let token = self.peek().clone();
        match token.token {
            Token::Duration(value, unit) => {
                self.advance();
                Ok(Duration {
                    value,
                    unit,
                    span: token.span,
                })
            }
            Token::Integer(_) => Err(self
                .unexpected(what)
                .with_hint("add a unit: s, m, h, d or w (e.g. 15m)")),
            _ => Err(self.unexpected(what)),
        }
    }

    fn instant(&mut self) -> Result<Instant, OqlError> {
        let token = self.peek().clone();
        match &token.token {
            Token::String(text) => {
                self.advance();
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| Instant::Absolute(t.with_timezone(&chrono::Utc), token.span))
                    .map_err(|e| {
                        OqlError::syntax(
                            token.span,
                            format!("'{text}' is not an RFC 3339 time: {e}"),
                        )
                        .with_hint("write times like '2026-11-22T10:00:00Z'")
                    })
            }
            Token::Word(w) if w.eq_ignore_ascii_case("now") => {
                self.advance();
                self.expect(Token::LParen, "`(` after now")?;
                let close = self.expect(Token::RParen, "`)`")?;
                let minus = if self.eat(&Token::Minus) {
                    Some(self.duration("a duration such as 1h")?)
                } else {
                    None
                };
                let end = minus.map_or(close, |d| d.span);
                Ok(Instant::Now {
                    minus,
                    span: token.span.to(end),
                })
            }
            _ => Err(self.unexpected("a time ('2026-11-22T10:00:00Z' or now() - 1h)")),
        }
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, OqlError>,
    ) -> Result<T, OqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(OqlError::syntax(
                self.peek().span,
                "the expression is nested too deeply",
            ));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn expr(&mut self) -> Result<Expr, OqlError> {
        self.nested(Self::or)
    }

    /// Counts one more operator (just read), refusing past [`MAX_OPERATORS`].
    fn operator(&mut self) -> Result<(), OqlError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            let at = self.tokens[self.pos.saturating_sub(1)].span;
            return Err(OqlError::syntax(
                at,
                format!("the query has more than {MAX_OPERATORS} operators"),
            )
            .with_hint(
                "compare with a list instead of a chain, e.g. level IN ('error', 'fatal')",
            ));
        }
        Ok(())
    }

    fn binary(left: Expr, op: BinaryOp, right: Expr) -> Expr {
        let span = left.span.to(right.span);
        Expr {
            kind: ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            span,
        }
    }

    fn or(&mut self) -> Result<Expr, OqlError> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            self.operator()?;
            let right = self.and()?;
            left = Self::binary(left, BinaryOp::Or, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, OqlError> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            self.operator()?;
            let right = self.not()?;
            left = Self::binary(left, BinaryOp::And, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, OqlError> {
        if self.is_word("not") {
            let start = self.advance().span;
            let expr = self.nested(Self::not)?;
            let span = start.to(expr.span);
            return Ok(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(expr),
                },
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, OqlError> {
        let left = self.additive()?;
        let op = match self.peek().token {
            Token::Eq => Some(BinaryOp::Eq),
            Token::NotEq => Some(BinaryOp::NotEq),
            Token::Lt => Some(BinaryOp::Lt),
            Token::LtEq => Some(BinaryOp::LtEq),
            Token::Gt => Some(BinaryOp::Gt),
            Token::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            self.operator()?;
            let right = self.additive()?;
            return Ok(Self::binary(left, op, right));
        }
        if self.is_word("is") {
            self.advance();
            let negated = self.eat_word("not");
            let end = self.expect_word("null")?;
            let span = left.span.to(end);
            return Ok(Expr {
                kind: ExprKind::IsNull {
                    expr: Box::new(left),
                    negated,
                },
                span,
            });
        }
        let negated = self.is_word("not")
            && (self.is_word_at(1, "in")
                || self.is_word_at(1, "like")
                || self.is_word_at(1, "ilike"));
        if negated {
            self.advance();
        }
        if self.eat_word("in") {
            self.expect(Token::LParen, "`(` and a list of values")?;
            let mut list = vec![self.expr()?];
            while self.eat(&Token::Comma) {
                if list.len() == MAX_IN_LIST {
                    return Err(OqlError::syntax(
                        self.peek().span,
                        format!("an IN list holds at most {MAX_IN_LIST} values"),
                    ));
                }
                list.push(self.expr()?);
            }
            let end = self.expect(Token::RParen, "`,` or `)`")?;
            let span = left.span.to(end);
            return Ok(Expr {
                kind: ExprKind::InList {
                    expr: Box::new(left),
                    list,
                    negated,
                },
                span,
            });
        }
        let case_insensitive = self.is_word("ilike");
        if self.eat_word("like") || self.eat_word("ilike") {
            let pattern = self.additive()?;
            let span = left.span.to(pattern.span);
            return Ok(Expr {
                kind: ExprKind::Like {
                    expr: Box::new(left),
                    pattern: Box::new(pattern),
                    negated,
                    case_insensitive,
                },
                span,
            });
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, OqlError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().token {
                Token::Plus => BinaryOp::Plus,
                Token::Minus => BinaryOp::Minus,
                _ => return Ok(left),
            };
            self.advance();
            self.operator()?;
            let right = self.multiplicative()?;
            left = Self::binary(left, op, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, OqlError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().token {
                Token::Star => BinaryOp::Multiply,
                Token::Slash => BinaryOp::Divide,
                Token::Percent => BinaryOp::Modulo,
                _ => return Ok(left),
            };
            self.advance();
            self.operator()?;
            let right = self.unary()?;
            left = Self::binary(left, op, right);
        }
    }

    fn unary(&mut self) -> Result<Expr, OqlError> {
        if self.peek().token == Token::Minus {
            let start = self.advance().span;
            let expr = self.nested(Self::unary)?;
            let span = start.to(expr.span);
            return Ok(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Negate,
                    expr: Box::new(expr),
                },
                span,
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, OqlError> {
        let mut expr = self.primary()?;
        while self.eat(&Token::LBracket) {
            self.operator()?;
            let key = self.expr()?;
            let end = self.expect(Token::RBracket, "`]`")?;
            let span = expr.span.to(end);
            expr = Expr {
                kind: ExprKind::Index {
                    base: Box::new(expr),
                    key: Box::new(key),
                },
                span,
            };
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, OqlError> {
        let token = self.peek().clone();
        let literal = |kind| {
            Ok(Expr {
                kind: ExprKind::Literal(kind),
                span: token.span,
            })
        };
        match &token.token {
            Token::Integer(n) => {
                self.advance();
                literal(Literal::Integer(*n))
            }
            Token::Float(f) => {
                self.advance();
                literal(Literal::Float(*f))
            }
            Token::String(s) => {
                self.advance();
                literal(Literal::String(s.clone()))
            }
            Token::Duration(value, unit) => {
                self.advance();
                literal(Literal::Duration(Duration {
                    value: *value,
                    unit: *unit,
                    span: token.span,
                }))
            }
            Token::Star => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Wildcard,
                    span: token.span,
                })
            }
            Token::Param(name) => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Param(name.clone()),
                    span: token.span,
                })
            }
            Token::LParen => {
                self.advance();
                let inner = self.expr()?;
                let end = self.expect(Token::RParen, "`)`")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: token.span.to(end),
                })
            }
            Token::Word(w) if w.eq_ignore_ascii_case("null") => {
                self.advance();
                literal(Literal::Null)
            }
            Token::Word(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                self.advance();
                literal(Literal::Boolean(w.eq_ignore_ascii_case("true")))
            }
            Token::Word(_) | Token::QuotedIdent(_) => {
                let name = self.ident("a column, value or function")?;
                if self.eat(&Token::LParen) {
                    let mut args = Vec::new();
                    if self.peek().token != Token::RParen {
                        args.push(self.expr()?);
                        while self.eat(&Token::Comma) {
                            args.push(self.expr()?);
                        }
                    }
                    let end = self.expect(Token::RParen, "`,` or `)`")?;
                    let span = name.span.to(end);
                    return Ok(Expr {
                        kind: ExprKind::Function { name, args },
                        span,
                    });
                }
                let span = name.span;
                Ok(Expr {
                    kind: ExprKind::Column(name),
                    span,
                })
            }
            _ => Err(self.unexpected("a column, value or function")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(text: &str) -> Select {
        match parse(text).unwrap() {
            Statement::Select(s) => *s,
            other => panic!("not a select: {other:?}"),
        }
    }

    #[test]
    fn the_product_examples_parse() {
        let s = select("SELECT avg(cpu_usage_pct) FROM host LAST 1h");
        assert_eq!(s.from.name, "host");
        assert!(matches!(
            s.time_range,
            Some(TimeRange::Last {
                duration: Duration { value: 1, .. },
                span: Span { start: 36, end: 43 }
            })
        ));
        let s = select("SELECT count(*) FROM logs WHERE level = 'error' LAST 1h");
        assert!(
            matches!(&s.items[0].expr.kind, ExprKind::Function { name, args } if name.name == "count" && args[0].kind == ExprKind::Wildcard)
        );
        assert!(matches!(
            &s.filter.unwrap().kind,
            ExprKind::Binary {
                op: BinaryOp::Eq,
                ..
            }
        ));
    }

    #[test]
    fn precedence_binds_and_tighter_than_or() {
        let s = select("SELECT x FROM logs WHERE a = 1 OR b = 2 AND NOT c = 3");
        let ExprKind::Binary {
            op: BinaryOp::Or,
            right,
            ..
        } = s.filter.unwrap().kind
        else {
            panic!()
        };
        assert!(matches!(
            right.kind,
            ExprKind::Binary {
                op: BinaryOp::And,
                ..
            }
        ));
    }

    #[test]
    fn all_clauses_and_time_ranges() {
        let s = select(
            "select service, bucket(5m) as t, p99(duration_ms) from spans since now() - 2h until now() \
             where attributes['http.route'] like '/api%' and status in ('error', 'unset') and parent_span_id is null \
             group by service, t having count(*) > 10 order by t desc, service limit 100;",
        );
        assert_eq!(s.items.len(), 3);
        assert_eq!(s.items[1].alias.as_ref().unwrap().name, "t");
        assert_eq!(s.group_by.len(), 2);
        assert!(s.order_by[0].descending && !s.order_by[1].descending);
        assert_eq!(s.limit.unwrap().0, 100);
        assert!(matches!(
            s.time_range,
            Some(TimeRange::Since { until: Some(_), .. })
        ));
        let s = select(
            "SELECT x FROM logs BETWEEN '2026-11-22T10:00:00Z' AND '2026-11-22T11:00:00+01:00'",
        );
        assert!(matches!(s.time_range, Some(TimeRange::Between { .. })));
    }

    #[test]
    fn star_distinct_and_parameters() {
        let s = select("SELECT DISTINCT * FROM logs");
        assert!(s.distinct);
        assert_eq!(s.items[0].expr.kind, ExprKind::Wildcard);
        let s = select("SELECT *, level FROM logs WHERE service IN ($svc) AND level = $level");
        assert!(!s.distinct);
        assert_eq!(s.items.len(), 2);
        let ExprKind::Binary { left, right, .. } = s.filter.unwrap().kind else {
            panic!("not AND")
        };
        let ExprKind::InList { list, .. } = &left.kind else {
            panic!("not IN")
        };
        assert_eq!(list[0].kind, ExprKind::Param("svc".into()));
        assert!(
            matches!(&right.kind, ExprKind::Binary { right, .. } if right.kind == ExprKind::Param("level".into()) && right.span == Span::new(62, 68))
        );
        let s = select("SELECT bucket() AS t, count(*) FROM logs GROUP BY t");
        assert!(
            matches!(&s.items[0].expr.kind, ExprKind::Function { args, .. } if args.is_empty())
        );
        // DISTINCT is a keyword: not a column name unquoted.
        assert!(parse("SELECT distinct FROM logs").is_err());
        assert!(parse("SELECT \"distinct\" FROM logs").is_ok());
    }

    #[test]
    fn other_statements() {
        assert!(matches!(
            parse("SHOW TABLES").unwrap(),
            Statement::ShowTables { .. }
        ));
        assert!(
            matches!(parse("describe logs").unwrap(), Statement::Describe { table, .. } if table.name == "logs")
        );
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let e = parse("SELECT count(*) FROM logs WHERE level = 'error' LAST 1").unwrap_err();
        assert_eq!(e.span.start, 53);
        assert!(e.hint.unwrap().contains("unit"));
        let e = parse("SELECT x logs").unwrap_err();
        assert!(e.message.contains("expected `,` or FROM"), "{}", e.message);
        let e = parse("DELETE FROM logs").unwrap_err();
        assert!(e.message.contains("only reads"));
        let e = parse("SELECT x FROM logs LIMIT 5 WHERE a = 1").unwrap_err();
        assert!(e.message.contains("out of place"));
        let e = parse("SELECT x FROM logs LAST 1h LAST 2h").unwrap_err();
        assert!(e.message.contains("at most one time range"));
        let e = parse("SELECT from FROM logs").unwrap_err();
        assert!(
            e.message.contains("found the keyword FROM") || e.message.contains("expected"),
            "{}",
            e.message
        );
        let e = parse("SELECT x FROM logs SINCE 'yesterday'").unwrap_err();
        assert!(e.hint.unwrap().contains("2026-11-22T10:00:00Z"));
        let e = parse("SELECT x FROM logs; SELECT y FROM logs").unwrap_err();
        assert!(e.message.contains("the end of the query"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!(
            "SELECT {}1{} FROM logs",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(
            parse(&text)
                .unwrap_err()
                .message
                .contains("nested too deeply")
        );
        let text = format!("SELECT {}1 FROM logs", "-".repeat(10_000));
        assert!(parse(&text).is_err());
        let text = format!("SELECT x FROM logs WHERE {}a", "NOT ".repeat(10_000));
        assert!(parse(&text).is_err());
    }

    #[test]
    fn long_chains_and_lists_are_refused_not_overflowed() {
        for text in [
            format!("SELECT 1{} FROM logs", "+1".repeat(5_000)),
            format!(
                "SELECT x FROM logs WHERE a = 1{}",
                " OR a = 1".repeat(5_000)
            ),
            format!("SELECT a{} FROM logs", "['k']".repeat(5_000)),
        ] {
            let error = parse(&text).unwrap_err();
            assert!(error.message.contains("operators"), "{}", error.message);
        }
        let list = vec!["1"; 1_001].join(", ");
        let error = parse(&format!("SELECT x FROM logs WHERE a IN ({list})")).unwrap_err();
        assert!(
            error.message.contains("at most 1000 values"),
            "{}",
            error.message
        );
        // Realistic sizes pass.
        let chain = vec!["a = 1"; 100].join(" OR ");
        assert!(parse(&format!("SELECT x FROM logs WHERE {chain}")).is_ok());
        let list = vec!["1"; 1_000].join(", ");
        assert!(parse(&format!("SELECT x FROM logs WHERE a IN ({list})")).is_ok());
    }
}
